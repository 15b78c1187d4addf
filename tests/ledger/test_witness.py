"""The witness's logic (ledger.witness) without HTTP or the platform database.

Status codes and body formats are those of C2SP tlog-witness, "add-checkpoint";
the cosignatures those of C2SP tlog-cosignature (cosignature/v1).
"""

from __future__ import annotations

import base64
import http.client
import logging
import stat
import threading
import time

import pytest

from ledger.checkpoint import format_checkpoint
from ledger.cosignature import CosignatureV1Signer, parse_witness_vkey, verify_cosignature
from ledger.merkle import consistency_proof_from_leaves, leaf_hash, root
from ledger.note import generate_key, new_signer, new_verifier, open_note, sign_note
from ledger.witness import (
    MAX_PROOF_LINES,
    SIZE_CONTENT_TYPE,
    BadProofError,
    BadSignatureError,
    ConflictError,
    MalformedRequestError,
    UnknownLogError,
    Witness,
    WitnessStore,
    format_add_checkpoint,
    load_or_create_witness_key,
    log_verifiers,
    parse_add_checkpoint,
)
from ledger.witness_server import WitnessHTTPServer

ORIGIN = "example.com/log"
LOG_SKEY, LOG_VKEY = generate_key(ORIGIN)
NOW = 1_700_000_000


class FakeLog:
    """A log in memory: leaves, signed checkpoints and consistency proofs."""

    def __init__(self, skey: str = LOG_SKEY, tag: str = "entry") -> None:
        self.signer = new_signer(skey)
        self.tag = tag
        self.leaves: list[bytes] = []

    def append(self, count: int) -> FakeLog:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"{self.tag} {n}".encode()) for n in range(start, start + count)]
        return self

    @property
    def size(self) -> int:
        return len(self.leaves)

    def text(self, size: int | None = None) -> str:
        size = self.size if size is None else size
        return format_checkpoint(self.signer.name, size, root(self.leaves[:size]))

    def note(self, size: int | None = None) -> str:
        return sign_note(self.text(size), self.signer)

    def proof(self, old: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        return consistency_proof_from_leaves(old, size, self.leaves) if old else []

    def request(self, old: int, size: int | None = None) -> bytes:
        return format_add_checkpoint(old, self.proof(old, size), self.note(size))


@pytest.fixture
def store(tmp_path):
    store = WitnessStore(tmp_path / "witness.sqlite3")
    yield store
    store.close()


@pytest.fixture
def signer():
    return CosignatureV1Signer("witness.example/w1", bytes([7]) * 32, clock=lambda: NOW)


@pytest.fixture
def witness(signer, store):
    return Witness(signer, log_verifiers([LOG_VKEY]), store)


@pytest.fixture
def log():
    return FakeLog().append(10)


def test_first_checkpoint_is_cosigned_with_a_verifying_cosignature_v1_line(witness, log, signer):
    line = witness.add_checkpoint(log.request(0))
    assert line.startswith("\u2014 witness.example/w1 ")
    assert line.endswith("\n")
    cosignature = verify_cosignature(log.text(), line, signer.vkey)
    assert cosignature.timestamp == NOW
    record = witness.store.get(ORIGIN)
    assert (record.size, record.root_hash) == (10, root(log.leaves))
    assert record.note == log.note()


def test_cosigned_note_opens_with_the_log_and_witness_keys(witness, log, signer):
    note = log.note() + witness.add_checkpoint(log.request(0))
    opened = open_note(note, [new_verifier(LOG_VKEY), parse_witness_vkey(signer.vkey)])
    assert [s.name for s in opened.sigs] == [ORIGIN, "witness.example/w1"]


def test_growth_with_a_valid_consistency_proof_is_cosigned(witness, log):
    witness.add_checkpoint(log.request(0))
    log.append(27)
    witness.add_checkpoint(log.request(10))
    assert witness.store.get(ORIGIN).size == 37


def test_the_same_checkpoint_again_is_cosigned_again(witness, log):
    witness.add_checkpoint(log.request(0))
    witness.add_checkpoint(log.request(10))
    assert witness.store.get(ORIGIN).size == 10


def test_stale_old_size_is_a_409_whose_body_is_the_cosigned_size(witness, log):
    witness.add_checkpoint(log.request(0))
    log.append(5)
    with pytest.raises(ConflictError) as refused:
        witness.add_checkpoint(log.request(3))
    assert refused.value.known_size == 10
    response = witness.respond(log.request(0))  # old 0: how a client learns the size
    assert (response.status, response.content_type, response.body) == (
        409,
        SIZE_CONTENT_TYPE,
        "10\n",
    )


def test_unknown_origin_is_a_404(witness):
    other = FakeLog(generate_key("other.example/log")[0]).append(3)
    with pytest.raises(UnknownLogError):
        witness.add_checkpoint(other.request(0))
    assert witness.respond(other.request(0)).status == 404


def test_checkpoint_signed_by_another_key_of_the_same_name_is_a_403(witness):
    impostor = FakeLog(generate_key(ORIGIN)[0]).append(3)
    with pytest.raises(BadSignatureError):
        witness.add_checkpoint(impostor.request(0))
    assert witness.respond(impostor.request(0)).status == 403


def test_checkpoint_whose_text_was_altered_after_signing_is_a_403(witness, log):
    note = log.note().replace("\n10\n", "\n11\n", 1)
    with pytest.raises(BadSignatureError):
        witness.add_checkpoint(format_add_checkpoint(0, [], note))


def test_signatures_by_unknown_keys_are_ignored(witness, log):
    stranger = CosignatureV1Signer("witness.example/other", bytes([9]) * 32, clock=lambda: NOW)
    note = sign_note(log.text(), [log.signer, stranger])
    assert witness.respond(format_add_checkpoint(0, [], note)).status == 200


def test_bad_consistency_proof_is_a_422_logged_and_kept_as_evidence(witness, log, caplog):
    witness.add_checkpoint(log.request(0))
    log.append(6)
    proof = log.proof(10)
    proof[0] = bytes(32)
    with caplog.at_level(logging.ERROR, logger="ledger.witness"), pytest.raises(BadProofError):
        witness.add_checkpoint(format_add_checkpoint(10, proof, log.note()))
    assert witness.store.get(ORIGIN).size == 10
    message = caplog.records[-1].getMessage()
    assert "INCONSISTENT" in message
    assert "size 10 root " + base64.b64encode(root(log.leaves[:10])).decode() in message
    assert "size 16 root " + base64.b64encode(root(log.leaves)).decode() in message
    (evidence,) = witness.store.evidence()
    assert (evidence["kind"], evidence["cosigned_size"], evidence["size"]) == (
        "inconsistent",
        10,
        16,
    )


def test_rewritten_history_with_the_same_key_is_refused(witness, log, caplog):
    witness.add_checkpoint(log.request(0))
    rewritten = FakeLog(tag="rewritten").append(20)  # same key, other entries
    with caplog.at_level(logging.ERROR, logger="ledger.witness"):
        response = witness.respond(rewritten.request(10))
    assert response.status == 422
    assert witness.store.get(ORIGIN).root_hash == root(log.leaves)
    assert "INCONSISTENT checkpoint of log example.com/log" in caplog.text


def test_same_size_with_another_root_is_a_fork_refused_with_409(witness, log, caplog):
    witness.add_checkpoint(log.request(0))
    fork = FakeLog(tag="fork").append(10)
    with caplog.at_level(logging.ERROR, logger="ledger.witness"):
        response = witness.respond(fork.request(10))
    assert (response.status, response.body) == (409, "10\n")
    assert "FORK of log example.com/log" in caplog.text
    assert base64.b64encode(root(fork.leaves)).decode() in caplog.text
    assert [e["kind"] for e in witness.store.evidence()] == ["fork"]
    assert witness.store.get(ORIGIN).root_hash == root(log.leaves)


@pytest.mark.parametrize(("old", "status"), [(4, 409), (10, 400)])
def test_a_smaller_checkpoint_is_a_shrink_refused_and_logged(witness, log, caplog, old, status):
    witness.add_checkpoint(log.request(0))
    note = log.note(4)
    with caplog.at_level(logging.ERROR, logger="ledger.witness"):
        response = witness.respond(format_add_checkpoint(old, [], note))
    assert response.status == status
    assert "SHRINK of log example.com/log refused: cosigned size 10" in caplog.text
    assert witness.store.get(ORIGIN).size == 10
    assert [e["kind"] for e in witness.store.evidence()] == ["shrink"]


def test_old_size_larger_than_the_checkpoint_is_a_400(witness, log):
    with pytest.raises(MalformedRequestError, match="old size 12 > size 10"):
        witness.add_checkpoint(format_add_checkpoint(12, [bytes(32)], log.note()))


def _body(head: str, note: str) -> bytes:
    return (head + "\n" + note).encode()


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda note: note.encode(), id="no-old-line"),
        pytest.param(lambda note: b"old 0\n" + note.encode(), id="no-blank-line"),
        pytest.param(lambda note: _body("old 01\n", note), id="leading-zero"),
        pytest.param(lambda note: _body("old -1\n", note), id="negative"),
        pytest.param(lambda note: _body("new 0\n", note), id="not-old"),
        pytest.param(lambda note: _body("old  0\n", note), id="two-spaces"),
        pytest.param(lambda note: _body("old 5\nnot base64!\n", note), id="proof-not-base64"),
        pytest.param(lambda note: _body("old 5\nAAAA\n", note), id="proof-hash-too-short"),
        pytest.param(
            lambda note: _body("old 5\n" + ("A" * 43 + "=\n") * (MAX_PROOF_LINES + 1), note),
            id="64-proof-lines",
        ),
        pytest.param(lambda note: _body("old 0\n" + "A" * 43 + "=\n", note), id="proof-with-0"),
        pytest.param(lambda note: b"old 0\n\n\xff\xfe", id="not-utf8"),
        pytest.param(lambda note: _body("old 0\n", note.split("\n\n")[0] + "\n"), id="unsigned"),
    ],
)
def test_malformed_requests_are_a_400(witness, log, make_body):
    with pytest.raises(MalformedRequestError):
        witness.add_checkpoint(make_body(log.note()))
    assert witness.respond(make_body(log.note())).status == 400
    assert witness.store.get(ORIGIN) is None


def test_signed_note_that_is_not_a_checkpoint_is_a_400(witness, log):
    note = sign_note(f"{ORIGIN}\nnot a size\n", log.signer)
    with pytest.raises(MalformedRequestError, match="bad checkpoint"):
        witness.add_checkpoint(format_add_checkpoint(0, [], note))


def test_the_spec_example_request_parses():
    # The example body of C2SP tlog-witness, "add-checkpoint".
    body = (
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n"
        "20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        "\n"
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7"
        "u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    )
    request = parse_add_checkpoint(body.encode())
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    assert all(len(h) == 32 for h in request.proof)
    assert request.note.startswith("example.com/behind-the-sofa\n20852163\n")
    assert format_add_checkpoint(request.old_size, request.proof, request.note) == body.encode()


def test_state_survives_a_restart(tmp_path, signer, log):
    path = tmp_path / "state.sqlite3"
    first = WitnessStore(path)
    Witness(signer, log_verifiers([LOG_VKEY]), first).add_checkpoint(log.request(0))
    first.close()
    second = WitnessStore(path)
    with pytest.raises(ConflictError) as refused:
        Witness(signer, log_verifiers([LOG_VKEY]), second).add_checkpoint(log.request(0))
    assert refused.value.known_size == 10
    second.close()


def test_origin_can_be_given_when_it_differs_from_the_key_name(store, signer):
    skey, vkey = generate_key("key-name.example")
    log = FakeLog(skey).append(2)
    witness = Witness(signer, log_verifiers([vkey], origin="key-name.example"), store)
    assert witness.respond(log.request(0)).status == 200
    renamed = Witness(signer, log_verifiers([vkey], origin="other.example/log"), store)
    assert renamed.respond(log.request(0)).status == 404


# --------------------------------------------------------------------------- atomicity


def _race(witnesses: list[Witness], bodies: list[bytes]) -> list[int]:
    """Send each body through its witness at the same moment; the statuses."""
    statuses: list[int] = [0] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(i: int) -> None:
        barrier.wait()
        statuses[i] = witnesses[i].respond(bodies[i]).status

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def _stall() -> None:
    # Between "checks passed" and "persisted": without one transaction around
    # both, every racing request would pass its checks here and be cosigned.
    time.sleep(0.2)


def test_racing_requests_from_one_size_advance_the_state_once(tmp_path, signer, log):
    store = WitnessStore(tmp_path / "state.sqlite3")
    witness = Witness(signer, log_verifiers([LOG_VKEY]), store, before_persist=_stall)
    witness.add_checkpoint(log.request(0))
    log.append(40)
    sizes = [12, 20, 33, 50, 15, 41, 29, 44]
    statuses = _race([witness] * len(sizes), [log.request(10, size) for size in sizes])
    assert sorted(statuses) == [200] + [409] * 7
    winner = sizes[statuses.index(200)]
    assert store.get(ORIGIN).size == winner
    store.close()


def test_two_processes_on_one_state_file_cannot_both_advance(tmp_path, signer, log):
    # Two stores are two SQLite connections with two locks, as two witness
    # processes on one directory would be: only BEGIN IMMEDIATE orders them.
    path = tmp_path / "state.sqlite3"
    stores = [WitnessStore(path), WitnessStore(path)]
    witnesses = [
        Witness(signer, log_verifiers([LOG_VKEY]), s, before_persist=_stall) for s in stores
    ]
    witnesses[0].add_checkpoint(log.request(0))
    log.append(10)
    statuses = _race(witnesses, [log.request(10, 20), log.request(10, 13)])
    assert sorted(statuses) == [200, 409]
    winner = [20, 13][statuses.index(200)]
    assert stores[1].get(ORIGIN).size == winner
    # The loser learns the winner's size and can continue from it.
    follow_up = witnesses[0].respond(log.request(winner, 20))
    assert follow_up.status == 200
    for s in stores:
        s.close()


# --------------------------------------------------------------------------- keys


def test_witness_key_is_created_once_private_and_reloaded(tmp_path):
    path = tmp_path / "state" / "witness.key"
    signer, created = load_or_create_witness_key(path, default_name="witness.example/w9")
    assert created
    assert signer.name == "witness.example/w9"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("PRIVATE+KEY+witness.example/w9+")
    again, created_again = load_or_create_witness_key(path, default_name="ignored.example")
    assert (again.vkey, created_again) == (signer.vkey, False)
    assert parse_witness_vkey(signer.vkey).key_hash == signer.key_hash


def test_witness_key_with_another_name_than_asked_is_an_error(tmp_path):
    path = tmp_path / "witness.key"
    load_or_create_witness_key(path, "witness.example/a")
    with pytest.raises(ValueError, match=r"named 'witness\.example/a'"):
        load_or_create_witness_key(path, "witness.example/b")


def test_witness_key_from_a_signer_key_string_wins_over_the_file(tmp_path):
    skey, _ = generate_key("witness.example/env", alg=0x04)
    signer, created = load_or_create_witness_key(tmp_path / "absent.key", skey=skey)
    assert (signer.name, created) == ("witness.example/env", False)
    assert not (tmp_path / "absent.key").exists()


def test_bad_log_vkey_is_a_value_error():
    with pytest.raises(ValueError, match="bad log vkey"):
        log_verifiers(["not a vkey"])


# --------------------------------------------------------------------------- HTTP front


@pytest.fixture
def server(witness):
    server = WitnessHTTPServer(("127.0.0.1", 0), witness, "/w1/")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)
    assert server.close()


def _post(connection: http.client.HTTPConnection, path: str, body: bytes):
    connection.request("POST", path, body=body)
    response = connection.getresponse()
    return response.status, response.getheader("Content-Type"), response.read()


def test_http_front_keeps_the_connection_alive_across_requests(server, log, signer):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    status, _, body = _post(connection, "/w1/add-checkpoint", log.request(0))
    assert status == 200
    verify_cosignature(log.text(), body.decode(), signer.vkey)
    status, content_type, body = _post(connection, "/w1/add-checkpoint", log.request(0))
    assert (status, content_type, body) == (409, SIZE_CONTENT_TYPE, b"10\n")
    assert server.connections == 1
    connection.close()


def test_http_front_answers_other_paths_and_methods(server, log):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    assert _post(connection, "/add-checkpoint", log.request(0))[0] == 404
    connection.request("GET", "/w1/add-checkpoint")
    response = connection.getresponse()
    response.read()
    assert (response.status, response.getheader("Allow")) == (405, "POST")
    connection.close()
    assert server.url.endswith("/w1/add-checkpoint")
