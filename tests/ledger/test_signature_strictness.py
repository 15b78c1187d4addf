"""Ingest verifies with libsodium, the offline verifier with OpenSSL: whatever
ingest accepts, the offline verifier must accept too, or the log would hold
entries that a court's copy of ``ledger.verify`` calls forged. libsodium may
reject more (small-order keys and R, non-canonical keys), never less."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.keys import raw_public_key
from ledger.jws import JwsError, SignedMessage, verify_signature
from ledger.verify import Jws
from tests.support import edwards25519 as ed

# RFC 8032 section 7.1, TEST 1-3: secret key, public key, message, signature (hex).
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]  # fmt: skip


def ingest_accepts(public_key: bytes, message: bytes, signature: bytes) -> bool:
    signed = SignedMessage(
        header={"alg": "EdDSA"}, kid="device", signing_input=message, payload=b"",
        signature=signature,
    )  # fmt: skip
    try:
        verify_signature(signed, public_key)
    except JwsError:
        return False
    return True


def offline_accepts(public_key: bytes, message: bytes, signature: bytes) -> bool:
    return Jws({"alg": "EdDSA"}, "device", b"", message, signature).verifies_with(public_key)


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_vectors_verify_in_both(secret, public, message, signature):
    public_key, message, signature = map(bytes.fromhex, (public, message, signature))
    private_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert raw_public_key(private_key) == public_key
    assert private_key.sign(message) == signature
    assert ingest_accepts(public_key, message, signature)
    assert offline_accepts(public_key, message, signature)


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
@pytest.mark.parametrize("bit", [0, 7, 255, 256, 511])
def test_rfc8032_vectors_with_a_flipped_signature_bit_fail_in_both(
    secret, public, message, signature, bit
):
    public_key, message, signature = map(bytes.fromhex, (public, message, signature))
    flipped = bytearray(signature)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert not ingest_accepts(public_key, message, bytes(flipped))
    assert not offline_accepts(public_key, message, bytes(flipped))


def test_a_forgery_on_a_small_order_key_is_refused_by_ingest_though_openssl_takes_it():
    # With the identity as key, R = identity and S = 0 "sign" any message.
    identity = ed.encode(ed.IDENTITY)
    forged = ed.signature(identity, 0)
    for message in (b"", b"any reading at all"):
        assert offline_accepts(identity, message, forged)
        assert not ingest_accepts(identity, message, forged)


def test_a_non_canonical_s_is_refused_by_both():
    public, message, signature = (bytes.fromhex(v) for v in RFC8032_VECTORS[0][1:])
    s = int.from_bytes(signature[32:], "little")
    malleated = ed.signature(signature[:32], s + ed.L)
    assert not ingest_accepts(public, message, malleated)
    assert not offline_accepts(public, message, malleated)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_a_key_of_the_wrong_size_is_a_bad_signature_not_a_crash(size):
    signed = SignedMessage({"alg": "EdDSA"}, "device", b"input", b"", bytes(64))
    with pytest.raises(JwsError, match=r"bad_signature.*want 32"):
        verify_signature(signed, bytes(size))


@pytest.mark.parametrize("size", [0, 63, 65])
def test_a_signature_of_the_wrong_size_is_a_bad_signature_not_a_crash(size):
    public = bytes.fromhex(RFC8032_VECTORS[0][1])
    signed = SignedMessage({"alg": "EdDSA"}, "device", b"input", b"", bytes(size))
    with pytest.raises(JwsError, match=r"bad_signature.*want 64"):
        verify_signature(signed, public)


@st.composite
def crafted_signatures(draw) -> tuple[bytes, bytes, bytes]:
    """Signatures a cheating signer can make: keys and R with a small-order
    part (or only that), any encoding of a small-order key, S + L, a flipped bit."""
    message = draw(st.binary(max_size=48))
    # Half the time no small-order part, so that many cases verify somewhere.
    torsion = st.just(ed.IDENTITY) | st.sampled_from(ed.SMALL_ORDER_POINTS)
    if draw(st.booleans()):
        a = draw(st.integers(1, ed.L - 1))
        key = ed.point_add(ed.point_mul(a, ed.BASE), draw(torsion))
        key_bytes = ed.encode(key)
    else:
        a, key_bytes = 0, draw(st.sampled_from(ed.small_order_encodings()))
    r = draw(st.integers(0, ed.L - 1))
    nonce = ed.point_add(ed.point_mul(r, ed.BASE), draw(torsion))
    r_bytes = ed.encode(nonce)
    s = (r + ed.challenge(r_bytes, key_bytes, message) * a) % ed.L
    s += ed.L * draw(st.sampled_from([0, 0, 0, 1]))
    signature = ed.signature(r_bytes, s)
    if draw(st.integers(0, 3)) == 0:
        bit = draw(st.integers(0, 8 * (32 + 64 + len(message)) - 1))
        whole = bytearray(key_bytes + signature + message)
        whole[bit // 8] ^= 1 << (bit % 8)
        key_bytes, signature, message = bytes(whole[:32]), bytes(whole[32:96]), bytes(whole[96:])
    return key_bytes, message, signature


@settings(max_examples=300, deadline=None)
@given(crafted_signatures())
def test_whatever_ingest_accepts_the_offline_verifier_accepts(case):
    key, message, signature = case
    if ingest_accepts(key, message, signature):
        assert offline_accepts(key, message, signature)


@settings(max_examples=300, deadline=None)
@given(crafted_signatures())
def test_ingest_refuses_more_only_for_small_order_points_and_non_canonical_keys(case):
    key, message, signature = case
    if offline_accepts(key, message, signature) and not ingest_accepts(key, message, signature):
        assert (
            ed.is_small_order_encoding(key)
            or ed.is_small_order_encoding(signature[:32])
            or not ed.is_canonical_encoding(key)
        )


def test_mixed_order_keys_are_judged_alike_by_both():
    # A key with a small-order component verifies, cofactorless, when h
    # cancels it; both libraries must then agree whichever way it goes.
    key = ed.point_add(ed.point_mul(12345, ed.BASE), ed.SMALL_ORDER_POINTS[1])
    key_bytes = ed.encode(key)
    verdicts = set()
    for n in range(64):
        message = n.to_bytes(2, "big")
        r_bytes = ed.encode(ed.point_mul(777 + n, ed.BASE))
        s = (777 + n + ed.challenge(r_bytes, key_bytes, message) * 12345) % ed.L
        signature = ed.signature(r_bytes, s)
        verdict = ingest_accepts(key_bytes, message, signature)
        assert verdict == offline_accepts(key_bytes, message, signature)
        verdicts.add(verdict)
    assert verdicts == {True, False}
