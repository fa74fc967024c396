"""Authorizer benchmark: refusing each hostile token costs no more than accepting a valid one.

Times ``handlers.authorizer.handle`` (HS256, secret cached as in a warm container) for a
valid token and for every token of the attack matrix (bench/scenarios/attacks.py),
round-robin, median of N calls each, and prints each against the valid token's time.

    .venv/bin/python -m bench.authorizer
    .venv/bin/python -m bench.authorizer --quick
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from typing import Any

from bench.scenarios.attacks import attack_tokens
from bench.scenarios.tokens import AUDIENCE, ISSUER, SECRET, mint
from bench.support import results_path, write_results
from realtime_socket import contract
from realtime_socket.handlers import authorizer, tokens

ENV = {
    contract.Env.JWT_CARRIERS: "query",
    contract.Env.JWT_QUERY_PARAMETER: contract.DEFAULT_QUERY_PARAMETER,
}


def connect_event(token: str) -> dict[str, Any]:
    """The REQUEST authorizer event API Gateway sends on ``$connect``."""
    return {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/live/$connect",
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "queryStringParameters": {"room_id": "lobby", contract.DEFAULT_QUERY_PARAMETER: token},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "stage": "live",
            "connectionId": "conn-A=",
            "apiId": "abc123",
            "identity": {"sourceIp": "127.0.0.1"},
        },
    }


def call(verifier: tokens.Verifier, event: dict[str, object]) -> tuple[float, str]:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's log line
        try:
            answer = authorizer.handle(event, verifier, ENV)
            outcome = answer["policyDocument"]["Statement"][0]["Effect"]
        except Exception as exc:
            outcome = str(exc)  # "Unauthorized" is the expected answer to an attack
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=results_path("authorizer"))
    args = parser.parse_args()
    runs = 20 if args.quick else args.runs
    config = tokens.VerifierConfig(algorithms=("HS256",), issuer=ISSUER, audience=(AUDIENCE,))
    verifier = tokens.Verifier(config, secret_loader=lambda: SECRET)
    cases = {"valid token": mint(), **dict(sorted(attack_tokens("http://127.0.0.1:1/").items()))}
    events = {name: connect_event(token) for name, token in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    answers: dict[str, str] = {}
    for _ in range(runs):  # round-robin, so drift in machine speed hits every case alike
        for name, event in events.items():
            seconds, answers[name] = call(verifier, event)
            samples[name].append(seconds)
    valid_us = statistics.median(samples["valid token"]) * 1e6
    rows = []
    for name in cases:
        us = statistics.median(samples[name]) * 1e6
        rows.append(
            {"case": name, "median_us": us, "answer": answers[name], "ratio": us / valid_us}
        )
    print(f"HS256 authorizer, median of {runs} calls (warm container)\n")
    print(f"{'token':<34} {'median us':>10} {'x valid':>8}  answer")
    for r in rows:
        print(f"{r['case']:<34} {r['median_us']:>10.1f} {r['ratio']:>8.2f}  {r['answer']}")
    slowest = max(rows[1:], key=lambda r: r["ratio"])
    print(f"\nslowest refusal: {slowest['case']} at {slowest['ratio']:.2f}x a valid token")
    write_results(args.json, {"runs": runs, "rows": rows})
    if any(r["answer"] != "Unauthorized" for r in rows[1:]):
        sys.exit("FAIL: an attack token was not refused")


if __name__ == "__main__":
    main()
