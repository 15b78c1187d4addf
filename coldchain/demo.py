"""The demo: every process of the platform on one machine, embedded or real servers."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from coldchain.supervisor import ProcessSpec
from ledger.log_key import log_vkey
from ledger.witness import load_or_create_witness_key

DEMO_USERNAME = "demo"


def demo_user_ensure(password_file: Path) -> tuple[str, str]:
    """A staff account for the demo whose password is generated once, never committed."""
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(12))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return DEMO_USERNAME, password


def demo_witness(port: int) -> str:
    """A witness for the demo, as another stakeholder would run one; returns the
    LEDGER_WITNESSES entry that makes the log push its checkpoints to it."""
    signer, _ = load_or_create_witness_key(
        settings.WITNESS_STATE_DIR / "witness.key", default_name=settings.WITNESS_NAME
    )
    return f"{signer.vkey}=http://127.0.0.1:{port}"


def demo_processes(
    *,
    embedded_broker: bool,
    web_port: int,
    witness_port: int,
    trucks: int,
    interval_s: float,
    speedup: float,
) -> list[ProcessSpec]:
    python = sys.executable
    manage = [python, str(Path(settings.BASE_DIR) / "manage.py")]
    bin_dir = Path(python).parent
    specs = []
    if embedded_broker:
        specs.append(ProcessSpec("broker", [*manage, "mqtt_broker"], settle_s=2.0))
    worker_pool = ["--pool", "solo"] if settings.CELERY_BROKER_URL.startswith("filesystem") else []
    specs += [
        ProcessSpec(
            "witness",
            [*manage, "witness", "--listen", f"127.0.0.1:{witness_port}", "--log-vkey", log_vkey()],
        ),
        ProcessSpec(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "coldchain.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
        ),
        ProcessSpec(
            "worker",
            [str(bin_dir / "celery"), "-A", "coldchain", "worker", "-l", "info", *worker_pool],
            settle_s=2.0,
        ),
        ProcessSpec(
            "beat",
            [
                str(bin_dir / "celery"),
                "-A",
                "coldchain",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        ),
        ProcessSpec("bridge", [*manage, "ingest"], settle_s=1.0),
        ProcessSpec(
            "simulator",
            [
                *manage,
                "simulate",
                "--trucks",
                str(trucks),
                "--interval",
                str(interval_s),
                "--speedup",
                str(speedup),
                # Start in the past and catch up: fast at first, then live,
                # never ahead of the platform clock.
                "--start",
                "now-6h",
                "--catch-up",
                "--fault-rate",
                "2",
            ],
        ),
    ]
    return specs
