"""The log and a real ``manage.py witness`` process speaking C2SP tlog-witness over HTTP.

The witness runs as its own process with its own state directory and key, on
a free loopback port; the log side (ledger.witnessing) runs here, on the test
database. The witness never touches that database, so plain ``django_db``
suffices.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from ledger import tasks
from ledger.checkpoint import format_checkpoint
from ledger.cosignature import parse_witness_vkey, verify_cosignature
from ledger.log_key import log_signer, log_vkey
from ledger.models import Checkpoint, Cosignature, Entry, LogState, TreeChunk, WitnessState
from ledger.note import generate_key, new_signer, open_note, sign_note
from ledger.services import consistency_proof_for, entries_append, log_seal
from ledger.witness import SIZE_CONTENT_TYPE, WitnessStore, format_add_checkpoint
from ledger.witnessing import witnesses_push
from tests.support.brokers import free_port
from tests.support.processes import ROOT, wait_until

pytestmark = pytest.mark.django_db
API = "/api/v1/ledger/"
WITNESS_NAME = "witness.test/w1"


class WitnessProcess:
    """``manage.py witness`` on a free loopback port with its own state directory."""

    def __init__(self, work_dir: Path, port: int | None = None) -> None:
        self.work_dir = work_dir
        self.state_dir = work_dir / "state"
        self.log_path = work_dir / "witness.log"
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.vkey = ""

    @property
    def prefix(self) -> str:
        return f"http://127.0.0.1:{self.port}/w1"

    def start(self) -> WitnessProcess:
        seen = self.log().count("listening on")
        argv = [
            sys.executable, "manage.py", "witness", "--state", str(self.state_dir),
            "--listen", f"127.0.0.1:{self.port}", "--prefix", "/w1",
            "--log-vkey", log_vkey(), "--name", WITNESS_NAME,
        ]  # fmt: skip
        env = {
            **os.environ,
            # The witness's Django settings must not share the platform's var dir.
            "COLDCHAIN_VAR_DIR": str(self.work_dir / "var"),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        if not wait_until(lambda: self.log().count("listening on") > seen, timeout=30):
            self.stop()
            raise RuntimeError(f"witness did not start:\n{self.log()}")
        self.vkey = re.findall(r"witness: vkey (\S+)", self.log())[-1]
        return self

    def stop(self) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # our own child only
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def recorded_size(self) -> int | None:
        store = WitnessStore(self.state_dir / "witness.sqlite3")
        try:
            record = store.get(log_signer().name)
            return record.size if record else None
        finally:
            store.close()

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        request = urllib.request.Request(f"{self.prefix}/add-checkpoint", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get_content_type(), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers.get_content_type(), exc.read()


@pytest.fixture
def witness(tmp_path, settings):
    process = WitnessProcess(tmp_path).start()
    settings.LEDGER_WITNESSES = [f"{process.vkey}={process.prefix}"]
    yield process
    assert process.stop() == 0, process.log()
    assert "witness: stopped after" in process.log()


def append(count: int, tag: str = "entry") -> None:
    entries_append(items=[(f"{tag} {n}".encode(), "test") for n in range(count)])


def rewrite_history(count: int, tag: str) -> Checkpoint:
    """Throw the log away and build another one, signed with the same key:
    what an operator rewriting history would do."""
    Checkpoint.objects.all().delete()  # cascades to the cosignatures
    Entry.objects.all().delete()
    TreeChunk.objects.all().delete()
    LogState.objects.all().delete()
    append(count, tag)
    return log_seal().checkpoint


def only_outcome():
    (outcome,) = witnesses_push(force=True)
    return outcome


def test_log_pushes_checkpoints_to_a_witness_process_and_serves_its_cosignatures(witness, client):
    append(5)
    log_seal()
    outcome = only_outcome()
    assert (outcome.result, outcome.size) == ("cosigned", 5)
    row = Cosignature.objects.get(checkpoint__size=5)
    assert row.witness == WITNESS_NAME
    text = open_note(Checkpoint.objects.get(size=5).note, [log_signer().verifier()]).text
    verify_cosignature(text, row.signature_line, witness.vkey)

    served = client.get(API + "checkpoint").content.decode()
    opened = open_note(served, [log_signer().verifier(), parse_witness_vkey(witness.vkey)])
    assert [s.name for s in opened.sigs] == [log_signer().name, WITNESS_NAME]

    # More entries: the push proves consistency from the size the witness has.
    append(9, "more")
    log_seal()
    assert only_outcome().result == "cosigned"
    assert WitnessState.objects.get().size == 14
    assert witness.recorded_size() == 14
    served = client.get(API + "checkpoint").content.decode()
    open_note(served, [log_signer().verifier(), parse_witness_vkey(witness.vkey)])
    assert "\n14\n" in served

    # Nothing new: nothing to push.
    assert only_outcome().result == "up-to-date"


def test_seal_command_ends_with_the_checkpoint_cosigned_by_the_configured_witness(witness, capsys):
    append(4)
    call_command("seal")
    row = Cosignature.objects.get(checkpoint__size=4)
    assert row.witness == WITNESS_NAME
    text = open_note(Checkpoint.objects.get(size=4).note, [log_signer().verifier()]).text
    verify_cosignature(text, row.signature_line, witness.vkey)
    assert f"witness {WITNESS_NAME}: cosigned at size 4" in capsys.readouterr().out


def test_seal_task_queues_the_push_and_the_push_task_stores_the_cosignature(witness, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.witness_push_task, "apply_async", lambda: queued.append(1))
    append(3)
    assert tasks.log_seal_task()["size"] == 3
    assert queued == [1]
    (result,) = tasks.witness_push_task()  # what the worker runs
    assert (result["result"], result["size"], result["status"]) == ("cosigned", 3, 200)
    tasks.log_seal_task()  # no new checkpoint and nothing missing: nothing queued
    assert queued == [1]


def test_a_log_that_lost_track_of_the_witness_retries_from_the_size_in_the_409(witness):
    append(4)
    log_seal()
    only_outcome()
    WitnessState.objects.update(size=None)  # as if the log's record were lost
    append(6, "more")
    log_seal()
    outcome = only_outcome()
    assert (outcome.result, outcome.size) == ("cosigned", 10)
    assert WitnessState.objects.get().size == 10


def test_rewritten_history_is_refused_loudly_and_no_cosignature_is_stored(witness):
    append(8)
    log_seal()
    assert only_outcome().result == "cosigned"
    cosigned_root = base64.b64encode(bytes(Checkpoint.objects.get(size=8).root_hash)).decode()

    forged = rewrite_history(12, "rewritten")
    outcome = only_outcome()
    assert (outcome.result, outcome.status) == ("refused", 422)
    assert not Cosignature.objects.exists()
    forged_root = base64.b64encode(bytes(forged.root_hash)).decode()
    assert wait_until(lambda: "INCONSISTENT" in witness.log(), timeout=5)
    (line,) = [line for line in witness.log().splitlines() if "INCONSISTENT" in line]
    assert " ERROR " in line
    assert f"cosigned size 8 root {cosigned_root}" in line
    assert f"got size 12 root {forged_root}" in line
    assert witness.recorded_size() == 8
    state = WitnessState.objects.get()
    assert (state.failures, state.size) == (1, 8)
    assert state.last_error.startswith("refused")

    # The same when the log also forgot what the witness had: the 409 tells it,
    # the retry with a proof from 8 is refused all the same.
    WitnessState.objects.update(size=None)
    assert only_outcome().status == 422
    assert not Cosignature.objects.exists()


def test_a_different_tree_of_the_same_size_is_a_fork_refused_with_409(witness):
    append(6)
    log_seal()
    only_outcome()
    rewrite_history(6, "fork")
    outcome = only_outcome()
    assert (outcome.result, outcome.status) == ("refused", 409)
    assert "forked" in outcome.detail
    assert not Cosignature.objects.exists()
    assert wait_until(lambda: "ERROR ledger.witness witness: FORK of log" in witness.log(), 5)


def test_a_shrunk_log_is_refused_and_reported_on_both_sides(witness, caplog):
    append(9)
    log_seal()
    only_outcome()
    rewrite_history(4, "short")
    outcome = only_outcome()
    assert (outcome.result, outcome.status) == ("refused", 409)
    assert "lost or rewrote history" in outcome.detail
    assert "last cosigned size 9 is larger than the log's latest 4" in caplog.text
    assert not Cosignature.objects.exists()
    assert wait_until(lambda: "SHRINK of log" in witness.log(), timeout=5)
    assert witness.recorded_size() == 9


def test_witness_answers_with_the_documented_status_codes(witness):
    append(7)
    log_seal()
    note = Checkpoint.objects.get(size=7).note

    # Unknown origin: 404.
    other = new_signer(generate_key("other.example/log")[0])
    other_note = sign_note(format_checkpoint(other.name, 1, bytes(32)), other)
    assert witness.post(format_add_checkpoint(0, [], other_note))[0] == 404
    # The log's origin, another key: 403.
    impostor = new_signer(generate_key(log_signer().name)[0])
    forged = sign_note(format_checkpoint(impostor.name, 7, bytes(32)), impostor)
    assert witness.post(format_add_checkpoint(0, [], forged))[0] == 403
    # Malformed: 400.
    assert witness.post(b"old x\n\n" + note.encode())[0] == 400
    assert witness.post(b"")[0] == 400
    # First contact: cosigned.
    status, _, body = witness.post(format_add_checkpoint(0, [], note))
    assert status == 200
    assert body.decode().startswith(f"\u2014 {WITNESS_NAME} ")
    # A stale old size: 409 with the witness's size.
    assert witness.post(format_add_checkpoint(3, consistency_proof_for(3, 7), note)) == (
        409,
        SIZE_CONTENT_TYPE,
        b"7\n",
    )
    # A bad consistency proof: 422, and the good one still works afterwards.
    append(5, "more")
    log_seal()
    newer = Checkpoint.objects.get(size=12).note
    proof = consistency_proof_for(7, 12)
    bad = [bytes(32), *proof[1:]]
    assert witness.post(format_add_checkpoint(7, bad, newer))[0] == 422
    assert witness.post(format_add_checkpoint(7, proof, newer))[0] == 200
    # A smaller checkpoint than the one cosigned: refused.
    assert witness.post(format_add_checkpoint(7, [], note))[0] == 409
    assert witness.recorded_size() == 12


def test_concurrent_requests_from_one_size_advance_the_witness_once(witness):
    append(2)
    log_seal()
    only_outcome()
    append(30, "more")
    log_seal(batch_size=4)  # checkpoints at 6, 10, ... 30, 32
    sizes = list(Checkpoint.objects.filter(size__gt=2).values_list("size", flat=True))
    bodies = [
        format_add_checkpoint(2, consistency_proof_for(2, s), Checkpoint.objects.get(size=s).note)
        for s in sizes
    ]
    statuses = [0] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(i: int) -> None:
        barrier.wait()
        statuses[i] = witness.post(bodies[i])[0]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] + [409] * (len(sizes) - 1)
    assert witness.recorded_size() == sizes[statuses.index(200)]


def test_an_unreachable_witness_never_breaks_sealing_and_is_retried(witness, monkeypatch, caplog):
    witness.stop()
    pushed = []
    # The queued push runs at once, as a worker would run it.
    monkeypatch.setattr(
        tasks.witness_push_task, "apply_async", lambda: pushed.extend(tasks.witness_push_task())
    )
    append(3)
    assert tasks.log_seal_task()["size"] == 3
    assert [p["result"] for p in pushed] == ["unreachable"]
    state = WitnessState.objects.get()
    assert (state.failures, state.next_attempt_at is not None) == (1, True)
    assert "unreachable" in caplog.text
    # Backing off: the next seal does not try again at once.
    assert witnesses_push()[0].result == "deferred"

    witness.start()  # same port, same state directory, same key
    assert only_outcome().result == "cosigned"
    state.refresh_from_db()
    assert (state.failures, state.size, state.last_error) == (0, 3, "")


def test_witness_keeps_its_key_and_state_across_restarts(witness):
    append(5)
    log_seal()
    only_outcome()
    vkey = witness.vkey
    assert witness.stop() == 0
    witness.start()
    assert witness.vkey == vkey
    assert "created a new key" not in witness.log().split("witness: stopped")[-1]
    note = Checkpoint.objects.get(size=5).note
    assert witness.post(format_add_checkpoint(0, [], note))[:2] == (409, SIZE_CONTENT_TYPE)
