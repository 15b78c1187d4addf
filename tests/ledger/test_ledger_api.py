"""/api/v1/ledger/: checkpoint, verifier key, entries and proofs."""

import base64

import pytest

from ledger import merkle
from ledger.checkpoint import parse_checkpoint
from ledger.note import new_verifier, open_note
from ledger.services import entries_append, log_seal

pytestmark = pytest.mark.django_db
API = "/api/v1/ledger/"


@pytest.fixture
def sealed_log():
    entries_append(items=[(f"entry {n}".encode(), "test") for n in range(20)])
    log_seal(batch_size=8)


def test_checkpoint_is_a_signed_note_that_the_published_vkey_verifies(client, sealed_log):
    response = client.get(API + "checkpoint")
    vkey = client.get(API + "vkey").content.decode().strip()
    assert response["Content-Type"].startswith("text/plain")
    text = open_note(response.content.decode(), [new_verifier(vkey)]).text
    assert parse_checkpoint(text).size == 20


def test_checkpoint_before_any_seal_is_a_404(client):
    assert client.get(API + "checkpoint").status_code == 404


def test_inclusion_proof_by_index_verifies_against_the_checkpoint(client, sealed_log, admin_client):
    checkpoint = parse_checkpoint(
        client.get(API + "checkpoint").content.decode().split("\n\n")[0] + "\n"
    )
    entry = admin_client.get(API + "entries/13").json()
    proof = client.get(API + "proof/inclusion", {"index": 13, "size": 20}).json()["proof"]
    assert merkle.verify_inclusion(
        base64.b64decode(entry["leaf_hash"]),
        13,
        20,
        [base64.b64decode(h) for h in proof],
        checkpoint.root_hash,
    )
    assert base64.b64decode(entry["data"]) == b"entry 13"


def test_inclusion_proof_by_leaf_hash_finds_the_index(client, sealed_log):
    leaf = base64.b64encode(merkle.leaf_hash(b"entry 5")).decode()
    body = client.get(API + "proof/inclusion", {"leaf_hash": leaf, "size": 16}).json()
    assert (body["index"], body["size"]) == (5, 16)


def test_consistency_proof_between_two_checkpoints_verifies(client, sealed_log):
    body = client.get(API + "proof/consistency", {"size1": 8, "size2": 20}).json()
    assert len(body["proof"]) > 0


@pytest.mark.parametrize(
    "query",
    [{"index": 3}, {"index": "x", "size": 8}, {"index": 30, "size": 20}, {"index": 1, "size": 19}],
)
def test_bad_proof_requests_get_a_clear_400(client, sealed_log, query):
    response = client.get(API + "proof/inclusion", query)
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_unknown_leaf_hash_is_a_404(client, sealed_log):
    leaf = base64.b64encode(b"\0" * 32).decode()
    assert client.get(API + "proof/inclusion", {"leaf_hash": leaf, "size": 20}).status_code == 404


def test_entry_bytes_need_an_account(client, sealed_log):
    assert client.get(API + "entries/0").status_code == 401
