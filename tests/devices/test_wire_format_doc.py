"""docs/wire-format.md: its worked example and schema agree with the code."""

import re
from pathlib import Path

import jsonschema
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc import jws
from joserfc.jwk import OKPKey

from devices.wire import WireError, b64url_decode, decode_payload, sign_reading

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "wire-format.md").read_text()
SCHEMA = orjson.loads((ROOT / "devices" / "schema" / "reading-v1.schema.json").read_bytes())
RFC8032_TEST1_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


def block(tag: str) -> str:
    return re.search(rf"```\w+ {tag}\n(.*?)\n```", DOC, re.S).group(1).strip()


def test_example_verifies_with_a_standard_jose_library():
    key = OKPKey.import_key(orjson.loads(block("jwk")))
    message = jws.deserialize_compact(block("jws"), key, algorithms=["EdDSA"])
    assert orjson.loads(message.payload) == orjson.loads(block("payload"))


def test_example_verifies_with_cryptography_alone():
    header, payload, signature = block("jws").encode().split(b".")
    public = Ed25519PublicKey.from_public_bytes(
        b64url_decode(orjson.loads(block("jwk"))["x"].encode())
    )
    public.verify(b64url_decode(signature), header + b"." + payload)


def test_example_is_what_our_signer_produces_from_the_documented_key():
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032_TEST1_SECRET))
    assert sign_reading(key, orjson.loads(block("payload"))).decode() == block("jws")


def test_example_payload_is_valid_under_the_schema():
    jsonschema.validate(orjson.loads(block("payload")), SCHEMA)


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"seq": -1},
        {"temp_c": 101},
        {"extra": 1},
        {"door_open": "yes"},
        {"ts": "yesterday"},
    ],
)
def test_schema_and_parser_refuse_the_same_payloads(change):
    document = {**orjson.loads(block("payload")), **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)
    with pytest.raises(WireError):
        decode_payload(orjson.dumps(document))
