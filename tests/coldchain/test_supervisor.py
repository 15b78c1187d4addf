"""The demo supervisor: processes start together and stop together."""

import io
import sys
import threading
import time

from coldchain.supervisor import ProcessSpec, Supervisor


def python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


SLEEPER = python("import time\nprint('up')\nwhile True: time.sleep(0.1)")


def test_output_of_each_process_is_prefixed_with_its_name():
    out = io.StringIO()
    supervisor = Supervisor(
        [ProcessSpec("alpha", python("print('hello')")), ProcessSpec("beta", SLEEPER)], out=out
    )
    assert supervisor.run() == 1
    assert "alpha | hello" in out.getvalue()


def test_one_process_exiting_stops_all_the_others():
    supervisor = Supervisor(
        [ProcessSpec("sleeper", SLEEPER), ProcessSpec("crasher", python("raise SystemExit(3)"))],
        out=io.StringIO(),
    )
    assert supervisor.run() == 1
    assert all(process.poll() is not None for process in supervisor.processes.values())
    assert supervisor.processes["crasher"].returncode == 3


def test_stop_request_stops_every_process_and_returns_success():
    supervisor = Supervisor(
        [ProcessSpec("a", SLEEPER), ProcessSpec("b", SLEEPER)], out=io.StringIO()
    )
    threading.Timer(1.5, supervisor.request_stop).start()
    started = time.monotonic()
    assert supervisor.run() == 0
    assert time.monotonic() - started < 15
    assert all(process.poll() is not None for process in supervisor.processes.values())


def test_process_ignoring_sigterm_is_killed_after_the_grace_period(monkeypatch):
    monkeypatch.setattr("coldchain.supervisor.STOP_GRACE_S", 0.5)
    stubborn = python(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up')\n"
        "while True: time.sleep(0.1)"
    )
    supervisor = Supervisor([ProcessSpec("stubborn", stubborn, settle_s=0.5)], out=io.StringIO())
    threading.Timer(1.5, supervisor.request_stop).start()
    assert supervisor.run() == 0
    assert supervisor.processes["stubborn"].returncode == -9
