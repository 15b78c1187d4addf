"""docs/webhooks.md: its worked example and receiver code agree with the platform."""

import json
import re
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from coldchain.models import Shipment
from coldchain.webhooks.deliveries import event_body, retry_at
from coldchain.webhooks.signing import signature_header_format, webhook_signature

DOC = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()


def block(language: str, tag: str) -> str:
    return re.search(rf"```{language} {tag}\n(.*?)\n```", DOC, re.S).group(1)


SECRET = block("text", "example-secret")
TIMESTAMP = block("text", "example-timestamp")
BODY = block("json", "example-body").encode()
SIGNATURE_HEADER = block("text", "example-signature")


def python_verifier():
    namespace: dict = {}
    exec(block("python", "verify"), namespace)
    return namespace["verify_coldchain_webhook"]


def test_example_body_is_what_the_platform_sends_for_that_event():
    envelope = json.loads(BODY)
    body = event_body(
        event_id=uuid.UUID(envelope["id"]),
        event_type=envelope["type"],
        shipment=Shipment(reference=envelope["shipment"]),
        payload=envelope["data"],
        at=datetime.fromisoformat(envelope["created_at"]),
    )
    assert body == BODY


def test_example_signature_is_what_the_platform_signs():
    signature = webhook_signature(SECRET, TIMESTAMP, BODY)
    assert signature_header_format([signature]) == SIGNATURE_HEADER


def test_python_receiver_code_accepts_the_example_and_refuses_a_changed_body():
    verify = python_verifier()
    now = int(TIMESTAMP) + 60
    assert verify(SECRET, TIMESTAMP, BODY, SIGNATURE_HEADER, now=now)
    assert not verify(SECRET, TIMESTAMP, BODY.replace(b"17", b"18"), SIGNATURE_HEADER, now=now)
    assert not verify(SECRET, TIMESTAMP, BODY, SIGNATURE_HEADER, now=now + 300)
    assert not verify(SECRET, TIMESTAMP, BODY, "v1=é" + SIGNATURE_HEADER[3:], now=now)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_nodejs_receiver_code_accepts_the_example_and_refuses_a_changed_body(tmp_path):
    (tmp_path / "verify.js").write_text(block("javascript", "verify"))
    check = """
const { verifyColdchainWebhook: verify } = require("./verify.js");
const [secret, timestamp, body, header] = process.argv.slice(2);
const now = Number(timestamp) + 60;
console.log(JSON.stringify([
  verify(secret, timestamp, Buffer.from(body), header, 300, now),
  verify(secret, timestamp, Buffer.from(body.replace("17", "18")), header, 300, now),
  verify(secret, timestamp, Buffer.from(body), header, 300, now + 300),
]));
"""
    (tmp_path / "check.js").write_text(check)
    result = subprocess.run(
        ["node", "check.js", SECRET, TIMESTAMP, BODY.decode(), SIGNATURE_HEADER],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(result.stdout) == [True, False, False]


def test_retry_table_is_the_schedule_without_jitter():
    rows = re.findall(r"^\| (\d+) \| ([^|]+?)(?: \(last\))? \|$", DOC, re.M)
    start = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
    attempted = [start]
    while (following := retry_at(start, attempted[-1], jitter=1.0)) is not None:
        attempted.append(following)
    assert [int(number) for number, _ in rows] == list(range(1, len(attempted) + 1))
    assert [_duration(text) for _, text in rows] == [
        (at - start).total_seconds() for at in attempted
    ]


def _duration(text: str) -> float:
    units = {"h": 3600, "min": 60, "s": 1}
    return sum(int(n) * units[unit] for n, unit in re.findall(r"(\d+) (h|min|s)", text))
