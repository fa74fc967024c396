"""Custom domains: a domain of the socket's own, or a mapping onto a shared one.

API mappings work for WebSocket APIs (``wss://ws.example.com/chat``); a WebSocket API
cannot share a domain with an HTTP or REST API.
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-mappings.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

__all__ = ["custom_domain"]


def _validation(cert: aws.acm.Certificate, field: str) -> pulumi.Output[str]:
    """A field of the certificate's (one) DNS validation record; None where generic test
    mocks give no ``domain_validation_options`` (ACM always does)."""
    return cert.domain_validation_options.apply(
        lambda options: getattr(options[0], field) if options else None
    )


def _own_domain(
    name: str, spec: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> aws.apigatewayv2.DomainName:
    certificate_arn: pulumi.Input[str]
    zone = spec.get("hosted_zone_id")
    if spec.get("certificate_arn") is not None:
        certificate_arn = spec["certificate_arn"]
    else:
        cert = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=spec["name"],
            validation_method="DNS",
            opts=opts,
        )
        record = aws.route53.Record(
            f"{name}-certificate-validation-record",
            zone_id=zone,
            name=_validation(cert, "resource_record_name"),
            type=_validation(cert, "resource_record_type"),
            records=[_validation(cert, "resource_record_value")],
            ttl=300,
            allow_overwrite=True,
            opts=opts,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=cert.arn,
            validation_record_fqdns=[record.fqdn],
            opts=opts,
        )
        certificate_arn = validation.certificate_arn
    domain = aws.apigatewayv2.DomainName(
        f"{name}-domain",
        domain_name=spec["name"],
        domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
            certificate_arn=certificate_arn,
            endpoint_type="REGIONAL",
            security_policy="TLS_1_2",
        ),
        opts=opts,
    )
    if zone is not None:
        config = domain.domain_name_configuration
        aws.route53.Record(
            f"{name}-alias-record",
            zone_id=zone,
            name=spec["name"],
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=config.target_domain_name,
                    zone_id=config.hosted_zone_id,
                    evaluate_target_health=False,
                )
            ],
            opts=opts,
        )
    return domain


def custom_domain(
    name: str,
    *,
    api_id: pulumi.Input[str],
    stage: pulumi.Input[str],
    domain: Mapping[str, Any] | None,
    mapping: Mapping[str, Any] | None,
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[str] | None:
    """Create the domain resources; return the custom ``wss://`` URL, or None without one."""
    if domain is None and mapping is None:
        return None
    if domain is not None:
        domain_name: pulumi.Input[str] = _own_domain(name, domain, opts).domain_name
        key = domain.get("mapping_key")
    else:
        assert mapping is not None
        domain_name = mapping["domain_name"]
        key = mapping["mapping_key"]
    aws.apigatewayv2.ApiMapping(
        f"{name}-api-mapping",
        api_id=api_id,
        domain_name=domain_name,
        stage=stage,
        api_mapping_key=key,
        opts=opts,
    )
    suffix = f"/{key}" if key else ""
    return pulumi.Output.concat("wss://", domain_name, suffix)
