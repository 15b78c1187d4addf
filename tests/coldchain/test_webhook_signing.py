"""The webhook signature scheme, as a receiver checks it (coldchain.webhooks.signing)."""

import string

from hypothesis import given
from hypothesis import strategies as st

from coldchain.webhooks.signing import (
    signature_header_format,
    signature_header_parse,
    webhook_signature,
    webhook_signature_verify,
)

SECRET = "s3cr3t-of-the-receiver"
NOW = 1_780_000_000
BODY = b'{"id":"e1","type":"alert.opened"}'

hex_signatures = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


def signed_header(secret: str = SECRET, timestamp: int = NOW, body: bytes = BODY) -> str:
    return signature_header_format([webhook_signature(secret, timestamp, body)])


@given(secret=st.text(min_size=1), body=st.binary(), timestamp=st.integers(0, 10**12))
def test_a_signed_request_verifies(secret, body, timestamp):
    header = signed_header(secret, timestamp, body)
    assert webhook_signature_verify(secret, str(timestamp), body, header, now=timestamp)


def test_a_changed_body_does_not_verify():
    assert not webhook_signature_verify(SECRET, NOW, BODY + b" ", signed_header(), now=NOW)


def test_a_signature_under_another_secret_does_not_verify():
    header = signed_header(secret="someone else's secret")
    assert not webhook_signature_verify(SECRET, NOW, BODY, header, now=NOW)


def test_the_timestamp_is_signed_too():
    assert not webhook_signature_verify(SECRET, NOW + 1, BODY, signed_header(), now=NOW)


def test_a_request_older_than_the_tolerance_is_refused_as_a_replay():
    header = signed_header()
    assert webhook_signature_verify(SECRET, NOW, BODY, header, tolerance_s=300, now=NOW + 300)
    assert not webhook_signature_verify(SECRET, NOW, BODY, header, tolerance_s=300, now=NOW + 301)


def test_a_request_from_the_future_beyond_the_tolerance_is_refused():
    assert not webhook_signature_verify(SECRET, NOW, BODY, signed_header(), now=NOW - 301)


def test_any_one_of_several_signatures_may_match():
    header = signature_header_format(
        [webhook_signature("the old secret", NOW, BODY), webhook_signature(SECRET, NOW, BODY)]
    )
    assert webhook_signature_verify(SECRET, NOW, BODY, header, now=NOW)


def test_signatures_of_other_schemes_are_ignored():
    signature = webhook_signature(SECRET, NOW, BODY)
    assert signature_header_parse(f"v0={signature}, v2=xyz , v1={signature}") == [signature]
    assert not webhook_signature_verify(SECRET, NOW, BODY, f"v2={signature}", now=NOW)


def test_a_timestamp_that_is_not_plain_digits_does_not_verify():
    for timestamp in (f"+{NOW}", f" {NOW}", f"{NOW}.0", "", "1e9", f"{NOW}\n"):
        header = signed_header(timestamp=timestamp)
        assert not webhook_signature_verify(SECRET, timestamp, BODY, header, now=NOW)


@given(st.lists(hex_signatures, max_size=5))
def test_header_parser_reads_back_what_the_formatter_writes(signatures):
    assert signature_header_parse(signature_header_format(signatures)) == signatures


@given(st.text(alphabet=string.printable + "=,v1é\u00a0"))
def test_header_parser_never_fails_and_returns_only_well_formed_signatures(header):
    for signature in signature_header_parse(header):
        assert len(signature) == 64
        assert set(signature) <= set("0123456789abcdef")
        assert f"v1={signature}" in header


@given(st.lists(hex_signatures, min_size=1, max_size=3), st.sampled_from([" ", "\t", ""]))
def test_header_parser_tolerates_spaces_around_items(signatures, space):
    header = ",".join(f"{space}v1={signature}{space}" for signature in signatures)
    assert signature_header_parse(header) == signatures
