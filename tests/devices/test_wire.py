"""The wire format: compact JWS, EdDSA only, the v1 reading schema."""

import contextlib

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

from devices.keys import raw_public_key
from devices.wire import (
    MAX_MESSAGE_BYTES,
    WireError,
    b64url_encode,
    decode_payload,
    parse_compact,
    sign_compact,
    sign_reading,
    verify_signature,
)

KEY = Ed25519PrivateKey.generate()
READING = {
    "v": 1,
    "device": "truck-1-logger",
    "seq": 7,
    "ts": "2026-01-05T10:00:00Z",
    "temp_c": 4.25,
}


def header_token(header: bytes, payload: bytes = b'{"v":1}') -> bytes:
    return (
        b64url_encode(header).encode() + b"." + b64url_encode(payload).encode() + b"." + b"A" * 86
    )


def test_signed_reading_verifies_with_the_device_key():
    message = parse_compact(sign_reading(KEY, READING))
    verify_signature(message, raw_public_key(KEY))
    assert message.kid == "truck-1-logger"
    assert decode_payload(message.payload).temp_c == 4.25


def test_a_standard_jose_library_verifies_our_tokens():
    token = sign_reading(KEY, READING).decode()
    jwk = OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw_public_key(KEY))}
    )
    verified = jws.deserialize_compact(token, jwk, algorithms=["EdDSA"])
    assert verified.headers() == {"alg": "EdDSA", "kid": "truck-1-logger"}


def test_signature_from_another_key_is_rejected():
    message = parse_compact(sign_reading(Ed25519PrivateKey.generate(), READING))
    with pytest.raises(WireError) as error:
        verify_signature(message, raw_public_key(KEY))
    assert error.value.reason == "bad_signature"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES256", "Ed25519", None])
def test_any_algorithm_but_eddsa_is_refused(alg):
    header = (
        b'{"alg":null,"kid":"d1"}' if alg is None else b'{"alg":"%s","kid":"d1"}' % alg.encode()
    )
    with pytest.raises(WireError) as error:
        parse_compact(header_token(header))
    assert error.value.reason == "wrong_alg"


@pytest.mark.parametrize(
    "token",
    [b"", b"abc", b"a.b", b"a.b.c.d", b"!!.e30.AA", b"e30.e30.AA=", b"bm90IGpzb24.e30.AA"],
)
def test_malformed_compact_serialization_is_refused(token):
    with pytest.raises(WireError) as error:
        parse_compact(token)
    assert error.value.reason in {"malformed_jws", "bad_signature"}


def test_kid_must_name_a_device():
    with pytest.raises(WireError) as error:
        parse_compact(header_token(b'{"alg":"EdDSA","kid":"../etc/passwd"}'))
    assert error.value.reason == "malformed_jws"


def test_critical_header_parameters_are_refused():
    with pytest.raises(WireError) as error:
        parse_compact(header_token(b'{"alg":"EdDSA","kid":"d1","crit":["exp"]}'))
    assert error.value.reason == "malformed_jws"


def test_oversized_message_is_refused_before_parsing():
    with pytest.raises(WireError) as error:
        parse_compact(b"x" * (MAX_MESSAGE_BYTES + 1))
    assert error.value.reason == "oversized"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"v": 2}, "schema_violation"),
        ({"seq": -1}, "schema_violation"),
        ({"seq": 1.5}, "schema_violation"),
        ({"seq": True}, "schema_violation"),
        ({"ts": "2026-01-05 10:00"}, "schema_violation"),
        ({"ts": "2026-01-05T10:00:00+02:00"}, "schema_violation"),
        ({"ts": "\uff12026-01-05T10:00:00Z"}, "schema_violation"),
        ({"ts": "2026-01-05T10:00:00Z\n"}, "schema_violation"),
        ({"temp_c": "4"}, "schema_violation"),
        ({"temp_c": None}, "schema_violation"),
        ({"door_open": 1}, "schema_violation"),
        ({"colour": "blue"}, "schema_violation"),
        ({"temp_c": 250.0}, "implausible"),
        ({"humidity_pct": 140}, "implausible"),
        ({"lat": 95.0}, "implausible"),
    ],
)
def test_payload_outside_the_schema_is_refused(change, reason):
    with pytest.raises(WireError) as error:
        decode_payload(orjson.dumps({**READING, **change}))
    assert error.value.reason == reason


def test_missing_required_fields_are_named():
    with pytest.raises(WireError) as error:
        decode_payload(b'{"v":1,"device":"d1"}')
    assert "seq, ts, temp_c" in error.value.detail


@pytest.mark.parametrize("payload", [b"not json", b"[1,2]", b"\xff\xfe", b'"text"'])
def test_payload_that_is_not_a_json_object_is_malformed_json(payload):
    with pytest.raises(WireError) as error:
        decode_payload(payload)
    assert error.value.reason == "malformed_json"


def test_optional_channels_are_decoded():
    reading = decode_payload(
        orjson.dumps(
            {**READING, "door_open": True, "reefer_on": False, "setpoint_c": 5, "lat": 48.1}
        )
    )
    assert (reading.door_open, reading.reefer_on, reading.setpoint_c, reading.lat) == (
        True,
        False,
        5.0,
        48.1,
    )


@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_wire_errors(data):
    for parse in (parse_compact, decode_payload):
        with contextlib.suppress(WireError):
            parse(data)


@given(st.binary(max_size=300))
def test_arbitrary_signed_payloads_raise_only_wire_errors(payload):
    message = parse_compact(sign_compact(KEY, "d1", payload))
    verify_signature(message, raw_public_key(KEY))
    with contextlib.suppress(WireError):
        decode_payload(message.payload)
