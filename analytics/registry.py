"""The model registry: boosters saved by content hash, each version anchored in the log.

Registering a version writes its ``.ubj`` file, its row and a platform-signed
``model.registered`` entry; activating one writes a ``model.activated`` entry.
Row and entry commit in one transaction, so the log names every version the
platform can score with, and which one it scores with.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy
import orjson
import xgboost
from django.conf import settings
from django.db import transaction

from analytics.models import ModelActivation, ModelVersion
from ledger.platform_entries import platform_entry_sign
from ledger.services import entry_append

MODEL_REGISTERED = "model.registered"
MODEL_ACTIVATED = "model.activated"
ARTIFACT_SUFFIX = ".ubj"
PACKAGE_DIR = Path(__file__).resolve().parent


class ModelRegistryError(ValueError):
    pass


class ModelArtifactError(ModelRegistryError):
    """A version's file is missing or is not the file that was registered."""


def model_dir() -> Path:
    return Path(settings.ANALYTICS_MODEL_DIR)


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def analytics_source_sha256() -> str:
    """SHA-256 over the analytics package's Python sources, by relative path.

    Deterministic across machines and checkouts: files in sorted order, each
    framed by its path and length so that moving code between files changes
    the hash. Migrations are left out: they describe the tables, not a model.
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        if relative.startswith("migrations/"):
            continue
        content = path.read_bytes()
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def code_version() -> str:
    """``git:<commit>`` when the analytics sources are committed as they are,
    else ``sha256:<analytics_source_sha256>``.

    A commit names the code only if the working tree does not differ from it
    there: with local changes (or no git, as in a container) the sources'
    own hash is the honest name.
    """
    commit = _git("rev-parse", "HEAD")
    if commit and _git("status", "--porcelain", "--", ".") == "":
        return f"git:{commit}"
    return f"sha256:{analytics_source_sha256()}"


def _all_finite(value: object) -> bool:
    if isinstance(value, dict):
        return all(_all_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_all_finite(item) for item in value)
    if isinstance(value, numpy.ndarray):
        return value.dtype.kind != "f" or bool(numpy.isfinite(value).all())
    if isinstance(value, float | numpy.floating):
        return math.isfinite(value)
    return True


def _as_json(name: str, value: object) -> object:
    """``value`` as the log will sign it and the database store it.

    Both must hold the same thing for verify_ledger to compare them, and the
    log must hold what the trainer reported: NaN or infinity would be signed
    as null, so they are refused. NumPy scalars and arrays, as metrics often
    are, become plain numbers and lists; tuples become lists.
    """
    if not _all_finite(value):
        raise ModelRegistryError(f"{name} must not hold NaN or infinity: {value!r}")
    try:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))
    except orjson.JSONEncodeError as error:
        raise ModelRegistryError(f"{name} must be JSON: {error}") from None


def _save_artifact(booster: xgboost.Booster) -> tuple[str, str]:
    """Save ``booster`` as UBJSON under its SHA-256; (relative path, SHA-256).

    Saved under a temporary name in the same directory and renamed into
    place, so a reader never sees half a file. Written before the registry
    row commits: a failed registration leaves at worst an unreferenced file,
    never a row without its file. Equal boosters share one file.
    """
    directory = model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # save_model picks the format from the suffix: .ubj is UBJSON, never pickle.
    temporary = directory / f".{uuid.uuid4().hex}{ARTIFACT_SUFFIX}"
    try:
        booster.save_model(str(temporary))
        # On disk before the row that names it commits: a crash must not
        # leave a logged version whose file was still in the page cache.
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        artifact_sha256 = sha256_file(temporary)
        name = f"{artifact_sha256}{ARTIFACT_SUFFIX}"
        os.replace(temporary, directory / name)
    finally:
        temporary.unlink(missing_ok=True)
    return name, artifact_sha256


def registration_claims(version: ModelVersion) -> dict:
    """The claims of a version's ``model.registered`` entry, as the row holds them."""
    return {
        "task": version.task,
        "version": version.version,
        "artifact_sha256": version.artifact_sha256,
        "training_data_sha256": version.training_data_sha256,
        "features": version.features,
        "params": version.params,
        "metrics": version.metrics,
        "code_version": version.code_version,
        "xgboost_version": version.xgboost_version,
    }


def activation_claims(activation: ModelActivation) -> dict:
    """The claims of a ``model.activated`` entry, as the activation row holds them."""
    previous = activation.previous
    return {
        "task": activation.version.task,
        "version": activation.version.version,
        "artifact_sha256": activation.version.artifact_sha256,
        "previous_version": previous.version if previous else None,
    }


def _entry_instant() -> datetime:
    """Now, in the precision entries sign (milliseconds), so row and entry agree."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def model_version_register(
    *,
    task: str,
    booster: xgboost.Booster,
    features: list[str],
    params: dict,
    metrics: dict,
    training_data_sha256: str,
    activate: bool = True,
) -> ModelVersion:
    """Save ``booster``, record its provenance, log it; activate it unless told not to."""
    if task not in ModelVersion.Task.values:
        raise ModelRegistryError(f"task must be one of {', '.join(ModelVersion.Task.values)}")
    if len(training_data_sha256) != 64 or set(training_data_sha256) - set("0123456789abcdef"):
        raise ModelRegistryError("training_data_sha256 must be 64 lowercase hex digits")
    if booster.num_features() != len(features):
        raise ModelRegistryError(
            f"the booster takes {booster.num_features()} features, {len(features)} are named"
        )
    features = _as_json("features", list(features))
    params = _as_json("params", params)
    metrics = _as_json("metrics", metrics)
    artifact_path, artifact_sha256 = _save_artifact(booster)
    with transaction.atomic():
        # Locking the task's versions orders concurrent registrations; the
        # unique (task, version) constraint catches the first-ever race, when
        # there is no row to lock yet.
        latest = (
            ModelVersion.objects.select_for_update()
            .filter(task=task)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        version = ModelVersion(
            task=task,
            version=(latest or 0) + 1,
            artifact_path=artifact_path,
            artifact_sha256=artifact_sha256,
            training_data_sha256=training_data_sha256,
            features=features,
            params=params,
            metrics=metrics,
            code_version=code_version(),
            xgboost_version=xgboost.__version__,
            created_at=_entry_instant(),
        )
        version.registration_entry = entry_append(
            data=platform_entry_sign(
                kind=MODEL_REGISTERED, claims=registration_claims(version), at=version.created_at
            ),
            kind=MODEL_REGISTERED,
        )
        version.save()
        if activate:
            model_version_activate(version=version)
    return version


def model_version_activate(*, version: ModelVersion) -> ModelActivation | None:
    """Make ``version`` its task's active model, logged; None if it already is.

    Refuses a version whose file is missing or changed: scoring would fail
    on it (or, worse, score with another model than the log names).
    """
    model_version_artifact_bytes(version=version)
    with transaction.atomic():
        # The task's rows locked: two activations at once would otherwise both
        # read the same previous version and one would fail on the constraint.
        rows = list(ModelVersion.objects.select_for_update().filter(task=version.task))
        previous = next((row for row in rows if row.active), None)
        if previous is not None and previous.pk == version.pk:
            return None
        activation = ModelActivation(
            version=version, previous=previous, activated_at=_entry_instant()
        )
        activation.entry = entry_append(
            data=platform_entry_sign(
                kind=MODEL_ACTIVATED,
                claims=activation_claims(activation),
                at=activation.activated_at,
            ),
            kind=MODEL_ACTIVATED,
        )
        if previous is not None:
            ModelVersion.objects.filter(pk=previous.pk).update(active=False)
        ModelVersion.objects.filter(pk=version.pk).update(active=True)
        version.active = True
        activation.save()
    return activation


def model_version_active(*, task: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(task=task, active=True).first()


def model_version_artifact(version: ModelVersion) -> Path:
    return model_dir() / version.artifact_path


def model_version_artifact_bytes(*, version: ModelVersion) -> bytes:
    """The bytes of the version's file, if they still hash to its registry row."""
    try:
        data = model_version_artifact(version).read_bytes()
    except FileNotFoundError:
        raise ModelArtifactError(
            f"model {version}: artifact {version.artifact_path} is missing"
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != version.artifact_sha256:
        raise ModelArtifactError(
            f"model {version}: artifact {version.artifact_path} has SHA-256 {actual}, "
            f"the registry says {version.artifact_sha256}; refusing it"
        )
    return data


def model_version_load(*, version: ModelVersion) -> xgboost.Booster:
    """The version's booster, from a file that still hashes to its registry row.

    Built from the very bytes that were hashed, so the file cannot change
    between the check and the load.
    """
    booster = xgboost.Booster()
    booster.load_model(bytearray(model_version_artifact_bytes(version=version)))
    return booster
