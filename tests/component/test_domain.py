"""Custom domains: an own domain (existing or DNS-validated certificate) or a shared mapping."""

from __future__ import annotations

from tests.support.helpers import evaluate_socket

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"


def test_no_domain_means_no_domain_resources(chat_recording):
    types = {r.type for r in chat_recording.resources}
    assert not {t for t in types if "domainName" in t or "apiMapping" in t or "acm" in t}


def test_own_domain_with_existing_certificate():
    rec = evaluate_socket("chat", domain={"name": "ws.example.com", "certificate_arn": CERT})
    domain = rec.named("chat-domain")
    assert domain.inputs["domainName"] == "ws.example.com"
    assert domain.inputs["domainNameConfiguration"] == {
        "certificateArn": CERT,
        "endpointType": "REGIONAL",
        "securityPolicy": "TLS_1_2",
    }
    mapping = rec.named("chat-api-mapping")
    assert mapping.inputs["apiId"] == rec.named("chat-api").id
    assert mapping.inputs["stage"] == rec.named("chat-stage").id
    assert mapping.inputs["domainName"] == "ws.example.com"
    assert "apiMappingKey" not in mapping.inputs
    assert rec.exports["custom_url"] == "wss://ws.example.com"
    assert not rec.of_type("aws:acm/certificate:Certificate")
    assert not rec.of_type("aws:route53/record:Record")


def test_own_domain_with_dns_validated_certificate_and_alias():
    rec = evaluate_socket(
        "chat", domain={"name": "ws.example.com", "hosted_zone_id": "Z123", "mapping_key": "v1"}
    )
    cert = rec.named("chat-certificate")
    assert (cert.inputs["domainName"], cert.inputs["validationMethod"]) == (
        "ws.example.com",
        "DNS",
    )
    record = rec.named("chat-certificate-validation-record")
    assert record.inputs["zoneId"] == "Z123"
    option = cert.outputs["domainValidationOptions"][0]
    assert record.inputs["name"] == option["resourceRecordName"]
    assert record.inputs["records"] == [option["resourceRecordValue"]]
    validation = rec.named("chat-certificate-validation")
    assert validation.inputs["certificateArn"] == cert.outputs["arn"]
    domain = rec.named("chat-domain")
    assert domain.inputs["domainNameConfiguration"]["certificateArn"] == cert.outputs["arn"]
    assert domain.inputs["domainNameConfiguration"]["securityPolicy"] == "TLS_1_2"
    alias = rec.named("chat-alias-record")
    assert (alias.inputs["type"], alias.inputs["zoneId"]) == ("A", "Z123")
    target = domain.outputs["domainNameConfiguration"]
    assert alias.inputs["aliases"][0]["name"] == target["targetDomainName"]
    assert alias.inputs["aliases"][0]["zoneId"] == target["hostedZoneId"]
    assert rec.named("chat-api-mapping").inputs["apiMappingKey"] == "v1"
    assert rec.exports["custom_url"] == "wss://ws.example.com/v1"


def test_mapping_onto_a_shared_domain():
    rec = evaluate_socket("chat", mapping={"domain_name": "ws.example.com", "mapping_key": "chat"})
    mapping = rec.named("chat-api-mapping")
    assert (mapping.inputs["domainName"], mapping.inputs["apiMappingKey"]) == (
        "ws.example.com",
        "chat",
    )
    assert not rec.of_type("aws:apigatewayv2/domainName:DomainName")
    assert rec.exports["custom_url"] == "wss://ws.example.com/chat"
