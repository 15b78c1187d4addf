"""Settings, all from the environment (see docker/.env.example for every variable).

With nothing set the platform runs on the embedded default: SQLite, the
kombu filesystem transport for Celery and an embedded MQTT broker, all under
``var/``. Set DATABASE_URL, CELERY_BROKER_URL (or REDIS_URL) and MQTT_URL to
run on PostgreSQL, Redis and Mosquitto.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url

from coldchain.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("COLDCHAIN_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into var/."""
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ledger",
    "devices",
    "analytics",
    "coldchain.apps.ColdchainConfig",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "coldchain.urls"
WSGI_APPLICATION = "coldchain.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'coldchain.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two workers
    # checking for the same reading cannot both decide it is new; WAL lets the
    # web process read while a worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The readings index covers its columns (INCLUDE) on PostgreSQL; SQLite
    # keeps it as a plain (device, ts) index, which is all the embedded
    # default needs, so its warning on every command is noise.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Browser packages installed by bin/setup (npm ci --prefix frontend), served as
# they were published: nothing of theirs is copied into the repository.
FRONTEND_PACKAGES = BASE_DIR / "frontend" / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", FRONTEND_PACKAGES / "htmx.org" / "dist"),
    ("vendor/uplot", FRONTEND_PACKAGES / "uplot" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    # Token first: an unauthenticated request gets a 401 with
    # "WWW-Authenticate: Token" (session authentication alone would say 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "coldchain.api.pagination.LimitOffsetPage",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "coldchain.api.errors.api_exception_handler",
    # Only views that name a scope are throttled (token endpoint, ingest).
    "DEFAULT_THROTTLE_CLASSES": ["coldchain.api.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_str("API_THROTTLE_AUTH", "10/minute"),
        "ingest": env_str("API_THROTTLE_INGEST", "600/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "coldchain API",
    "DESCRIPTION": (
        "Shipments, devices, readings, assessments, alerts, contracts, claims, payments, "
        "webhooks and the ledger. See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from installed static files: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models name their choices Kind or Status: each set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "ShipmentStatusEnum": "coldchain.models.shipments.Shipment.Status",
        "ContractActionKindEnum": "coldchain.models.contracts.ContractAction.Kind",
        "WebhookDeliveryStatusEnum": "coldchain.models.webhooks.WebhookDelivery.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "coldchain.api.schema.error_responses",
    ],
}

# Throttle counters live in the default cache: Redis when REDIS_URL is set,
# shared by every web process; otherwise each process counts on its own
# (local memory), so the embedded default enforces a rate per process.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL")}
        if env_str("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery -----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_QUEUE_DIR = VAR_DIR / "celery-queue"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_QUEUE_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        # Broadcast (pidbox) state; kombu's default is ./control in the cwd.
        "control_folder": str(VAR_DIR / "celery-control"),
    }
else:
    # Redis hands an unacknowledged message to another worker only after the
    # visibility timeout; it must exceed the longest task or work runs twice.
    # The sweep that hands such messages back runs every restore interval;
    # kombu's default throttle makes it every 10th sweep (100 s), so it is
    # set to 1 and the interval alone decides.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 600),
        "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL_S", 10),
        "unacked_restore_throttle": 1,
        # The sweep holds a Redis lock that outlives a killed worker by this
        # long (kombu's default: 300 s, during which nothing is recovered).
        "unacked_mutex_expire": env_int("CELERY_RESTORE_LOCK_S", 30),
    }
CELERY_TASK_ACKS_LATE = True
# Without this Celery acknowledges the message of a worker killed mid-task
# (SIGKILL, OOM) and the batch is lost; with it the message is requeued.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")

# --- MQTT -------------------------------------------------------------------
EMBEDDED_MQTT_PORT = env_int("EMBEDDED_MQTT_PORT", 18830)
# The embedded broker keeps messages for offline sessions of named clients only.
MQTT_URL = env_str("MQTT_URL", f"mqtt://coldchain@127.0.0.1:{EMBEDDED_MQTT_PORT}")
# The embedded broker speaks MQTT 3.1.1 only; Mosquitto and EMQX speak 5.
MQTT_PROTOCOL = env_str("MQTT_PROTOCOL", "5" if env_str("MQTT_URL") else "3.1.1")
MQTT_CLIENT_ID = env_str("MQTT_CLIENT_ID", "coldchain-bridge-1")
# "none": a plain persistent subscription, for a single bridge (see docs/operations.md).
_share_group = env_str("MQTT_SHARE_GROUP", "coldchain-ingest")
MQTT_SHARE_GROUP = "" if _share_group == "none" else _share_group
MQTT_SESSION_EXPIRY_S = env_int("MQTT_SESSION_EXPIRY_S", 7 * 24 * 3600)

# --- Ingest -----------------------------------------------------------------
INGEST_BATCH_SIZE = env_int("INGEST_BATCH_SIZE", 500)
INGEST_BATCH_MAX_DELAY_S = env_float("INGEST_BATCH_MAX_DELAY_S", 0.05)
INGEST_MAX_FUTURE_SKEW_S = env_float("INGEST_MAX_FUTURE_SKEW_S", 300.0)
# A kept batch not ingested this long after it was queued is queued again
# (its Celery message was lost); well above the normal queue wait.
INGEST_REQUEUE_AFTER_S = env_float("INGEST_REQUEUE_AFTER_S", 60.0)
INGEST_REQUEUE_INTERVAL_S = env_float("INGEST_REQUEUE_INTERVAL_S", 10.0)
DEVICE_KEY_DIR = Path(env_str("DEVICE_KEY_DIR", str(VAR_DIR / "device-keys")))

# --- Ledger -----------------------------------------------------------------
# A file holding the log's C2SP signer key string (PRIVATE+KEY+...); made on first use.
LEDGER_SIGNING_KEY_PATH = Path(
    env_str("LEDGER_SIGNING_KEY_PATH", str(VAR_DIR / "ledger-signing.key"))
)

# --- Analytics ----------------------------------------------------------------
# Registered boosters, one <artifact SHA-256>.ubj file each; the registry rows
# and the ledger hold their hashes, so this directory must be kept with the database.
ANALYTICS_MODEL_DIR = Path(env_str("ANALYTICS_MODEL_DIR", str(VAR_DIR / "models")))
# Generated training and evaluation data sets, reused while their files match their manifest.
ANALYTICS_DATASET_DIR = Path(env_str("ANALYTICS_DATASET_DIR", str(VAR_DIR / "datasets")))
# XGBoost threads for training. One: on the 2-core host, shared with the worker
# and other jobs, a second OpenMP thread made training several times slower
# (docs/benchmarks.md, "Analytics training").
ANALYTICS_TRAIN_THREADS = env_int("ANALYTICS_TRAIN_THREADS", 1)

# --- Evaluation (docs/evaluation.md) ------------------------------------------
# The evaluation tick: shipments whose devices stored readings since the last
# tick get one evaluation each, so a shipment is scored at most this often.
EVALUATION_DEBOUNCE_S = env_float("EVALUATION_DEBOUNCE_S", 5.0)
# An instant is assessed once every device has reported past it, or this long
# after it (a silent device must not hold the assessment back forever);
# equal to the quorum's max_age_s, after which a missing reading counts as a gap.
EVALUATION_SETTLE_S = env_float("EVALUATION_SETTLE_S", 180.0)
# Instants assessed per shipment per run (288: one day); the rest in the next runs.
EVALUATION_MAX_INSTANTS = env_int("EVALUATION_MAX_INSTANTS", 288)
# An evaluation queued this long ago and not finished is queued again (lost message).
EVALUATION_REQUEUE_AFTER_S = env_float("EVALUATION_REQUEUE_AFTER_S", 300.0)
# An alert closes at the first assessment without its flag this long (cargo
# time) after the last one with it: one ok instant does not end a breach.
ALERT_CLOSE_AFTER_S = env_float("ALERT_CLOSE_AFTER_S", 900.0)
# An open alert nobody acknowledged for this long is escalated.
ALERT_ESCALATE_AFTER_S = env_float("ALERT_ESCALATE_AFTER_S", 900.0)
ALERT_ESCALATE_INTERVAL_S = env_float("ALERT_ESCALATE_INTERVAL_S", 60.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "fleet"
LOGOUT_REDIRECT_URL = "login"
LEDGER_SIGNING_KEY = env_str("LEDGER_SIGNING_KEY")  # C2SP signer key string; else the file
LEDGER_ORIGIN = env_str("LEDGER_ORIGIN", "coldchain.localhost/log")
LEDGER_SEAL_INTERVAL_S = env_float("LEDGER_SEAL_INTERVAL_S", 1.0)
CONTRACTS_DUE_INTERVAL_S = env_float("CONTRACTS_DUE_INTERVAL_S", 60.0)
LEDGER_SEAL_BACKLOG = env_int("LEDGER_SEAL_BACKLOG", 1000)
LEDGER_SEAL_BATCH = env_int("LEDGER_SEAL_BATCH", 50_000)

# --- Webhooks (docs/webhooks.md) ------------------------------------------------
WEBHOOK_TIMEOUT_S = env_float("WEBHOOK_TIMEOUT_S", 10.0)
WEBHOOK_RETRY_BASE_S = env_float("WEBHOOK_RETRY_BASE_S", 30.0)
WEBHOOK_RETRY_MAX_DELAY_S = env_float("WEBHOOK_RETRY_MAX_DELAY_S", 4 * 3600.0)
WEBHOOK_RETRY_WINDOW_S = env_float("WEBHOOK_RETRY_WINDOW_S", 24 * 3600.0)
WEBHOOK_SWEEP_INTERVAL_S = env_float("WEBHOOK_SWEEP_INTERVAL_S", 10.0)
# A due delivery whose Celery message is this old is queued again (lost message).
WEBHOOK_REQUEUE_AFTER_S = env_float("WEBHOOK_REQUEUE_AFTER_S", 300.0)


def _beat_tick(task: str, interval_s: float) -> dict:
    # Each tick expires after one interval: while workers are down, ticks do not
    # pile up in the queue (the next tick does the same work).
    return {"task": task, "schedule": interval_s, "options": {"expires": interval_s}}


CELERY_BEAT_SCHEDULE = {
    # Seal pending ledger entries into the tree and sign a checkpoint; the
    # ingest task also asks for a seal when its backlog passes LEDGER_SEAL_BACKLOG.
    "ledger-seal": _beat_tick("ledger.seal", LEDGER_SEAL_INTERVAL_S),
    # Queue again the ingest batches whose Celery message was lost (devices.inbox).
    "ingest-requeue": _beat_tick("devices.requeue_stalled_batches", INGEST_REQUEUE_INTERVAL_S),
    # Queue the webhook deliveries that are due (coldchain.webhooks.deliveries).
    "webhooks-sweep": _beat_tick("coldchain.webhooks_sweep", WEBHOOK_SWEEP_INTERVAL_S),
    # Queue one evaluation per shipment with new readings (coldchain.evaluation_queue).
    "evaluation-tick": _beat_tick("coldchain.evaluate_dirty_shipments", EVALUATION_DEBOUNCE_S),
    "alerts-escalate": _beat_tick("coldchain.escalate_alerts", ALERT_ESCALATE_INTERVAL_S),
    # Settle contracts whose dispute window has ended; attach claims' evidence bundles.
    "contracts-due": _beat_tick("coldchain.evaluate_due_contracts", CONTRACTS_DUE_INTERVAL_S),
}

# --- Witnesses (C2SP tlog-witness) --------------------------------------------
# The log side: after each new checkpoint the log pushes it to these witnesses,
# comma-separated "<witness vkey>=<submission URL prefix>" entries, and serves
# the cosignatures it gets back with /api/v1/ledger/checkpoint.
LEDGER_WITNESSES = env_list("LEDGER_WITNESSES", [])
LEDGER_WITNESS_TIMEOUT_S = env_float("LEDGER_WITNESS_TIMEOUT_S", 5.0)
# A witness that failed is retried after 1, 2, 4 ... seconds, at most this long.
LEDGER_WITNESS_RETRY_MAX_S = env_float("LEDGER_WITNESS_RETRY_MAX_S", 60.0)
# The witness side ("manage.py witness"), normally run by another stakeholder:
# its own state directory (SQLite, never the platform database) and key.
WITNESS_STATE_DIR = Path(env_str("WITNESS_STATE_DIR", str(VAR_DIR / "witness")))
WITNESS_SIGNING_KEY = env_str("WITNESS_SIGNING_KEY")  # C2SP signer key; else <state>/witness.key
WITNESS_NAME = env_str("WITNESS_NAME", "witness.localhost/coldchain")  # names a new key
WITNESS_LOG_VKEYS = env_list("WITNESS_LOG_VKEYS", [])  # empty: this platform's own log key
WITNESS_LOG_ORIGIN = env_str("WITNESS_LOG_ORIGIN")  # empty: each vkey's name
WITNESS_LISTEN = env_str("WITNESS_LISTEN", "127.0.0.1:7380")
WITNESS_PREFIX = env_str("WITNESS_PREFIX", "")
# Celery's Django fixup closes the database connection before and after every
# task unless told to reuse it: a new PostgreSQL session (about 2.6 ms) per
# ingest batch otherwise.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

# --- API ----------------------------------------------------------------------
# Base of the URIs that name shipments, devices and the extension vocabulary
# in EPCIS exports (the platform has no GS1 keys for them).
EPCIS_BASE_URI = env_str("EPCIS_BASE_URI", "https://coldchain.localhost")
