"""The model registry: content-addressed .ubj files, provenance rows, anchored in the log."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import xgboost
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from analytics.models import ModelVersion
from analytics.registry import (
    MODEL_ACTIVATED,
    MODEL_REGISTERED,
    ModelArtifactError,
    ModelRegistryError,
    model_version_activate,
    model_version_active,
    model_version_artifact,
    model_version_load,
    model_version_register,
)
from ledger.platform_entries import platform_entry_open, platform_public_key
from ledger.services import log_seal

pytestmark = pytest.mark.django_db

FEATURES = ["temp_c", "slope_c_per_min", "ambient_gap_c", "door_open"]
DATA_SHA256 = hashlib.sha256(b"training data").hexdigest()
PICKLE_PROTOCOL_2_OR_LATER = b"\x80"


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"
    return settings.ANALYTICS_MODEL_DIR


@pytest.fixture
def rows() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(200, len(FEATURES)))


def train(rows: np.ndarray, *, seed: int = 0) -> xgboost.Booster:
    """A tiny binary booster: a few shallow trees on 200 rows, one thread."""
    labels = (rows[:, 0] + rows[:, 1] > 0).astype(int)
    params = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1, "seed": seed}
    return xgboost.train(params, xgboost.DMatrix(rows, labels), num_boost_round=3 + seed)


def register(booster: xgboost.Booster, **overrides) -> ModelVersion:
    arguments = {
        "task": ModelVersion.Task.BREACH_SOON,
        "booster": booster,
        "features": FEATURES,
        "params": {"max_depth": 2, "num_boost_round": 3},
        "metrics": {"auc": 0.93, "recall": 0.961},
        "training_data_sha256": DATA_SHA256,
        **overrides,
    }
    return model_version_register(**arguments)


def logged_claims(entry) -> dict:
    return platform_entry_open(bytes(entry.data), platform_public_key())


def test_register_saves_the_ubj_by_its_hash_and_logs_a_signed_entry_with_its_provenance(rows):
    version = register(train(rows))

    path = model_version_artifact(version)
    assert path.name == f"{version.artifact_sha256}.ubj"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == version.artifact_sha256
    assert version.registration_entry.kind == MODEL_REGISTERED
    claims = logged_claims(version.registration_entry)
    assert claims == {
        "kind": MODEL_REGISTERED,
        "at": claims["at"],
        "task": "breach_soon",
        "version": 1,
        "artifact_sha256": version.artifact_sha256,
        "training_data_sha256": DATA_SHA256,
        "features": FEATURES,
        "params": {"max_depth": 2, "num_boost_round": 3},
        "metrics": {"auc": 0.93, "recall": 0.961},
        "code_version": version.code_version,
        "xgboost_version": xgboost.__version__,
    }
    assert version.code_version.startswith(("git:", "sha256:"))


def test_the_saved_artifact_is_ubjson_not_a_pickle(rows):
    data = model_version_artifact(register(train(rows))).read_bytes()

    assert not data.startswith(PICKLE_PROTOCOL_2_OR_LATER)
    assert data.startswith(b"{")  # a UBJSON object: the booster's JSON model, in binary


def test_a_loaded_model_predicts_exactly_what_the_registered_one_did(rows):
    booster = train(rows)
    version = register(booster)

    loaded = model_version_load(version=ModelVersion.objects.get(pk=version.pk))

    assert np.array_equal(loaded.inplace_predict(rows), booster.inplace_predict(rows))


def test_load_refuses_an_artifact_with_one_byte_changed(rows):
    version = register(train(rows))
    path = model_version_artifact(version)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(ModelArtifactError, match="refusing"):
        model_version_load(version=version)


def test_load_refuses_a_missing_artifact(rows):
    version = register(train(rows))
    model_version_artifact(version).unlink()

    with pytest.raises(ModelArtifactError, match="missing"):
        model_version_load(version=version)


def test_activating_a_second_version_deactivates_the_first_and_logs_the_handover(rows):
    first = register(train(rows))
    second = register(train(rows, seed=1))

    first.refresh_from_db()
    assert (first.active, second.active) == (False, True)
    assert model_version_active(task=ModelVersion.Task.BREACH_SOON) == second
    handover = second.activations.get()
    assert handover.entry.kind == MODEL_ACTIVATED
    assert logged_claims(handover.entry) | {"at": None} == {
        "kind": MODEL_ACTIVATED,
        "at": None,
        "task": "breach_soon",
        "version": 2,
        "artifact_sha256": second.artifact_sha256,
        "previous_version": 1,
    }


def test_the_database_allows_one_active_version_per_task(rows):
    first = register(train(rows))
    second = register(train(rows, seed=1), activate=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(active=True)
    assert model_version_active(task=first.task) == first


def test_activation_refuses_a_version_whose_artifact_changed(rows):
    first = register(train(rows))
    second = register(train(rows, seed=1), activate=False)
    model_version_artifact(second).write_bytes(b"{}")

    with pytest.raises(ModelArtifactError):
        model_version_activate(version=second)
    assert model_version_active(task=first.task) == first


def test_metrics_with_nan_are_refused_before_anything_is_written(rows, model_dir):
    with pytest.raises(ModelRegistryError, match="NaN"):
        register(train(rows), metrics={"auc": float("nan")})

    assert not ModelVersion.objects.exists()
    assert not model_dir.exists() or not any(model_dir.iterdir())


def verify_ledger_failure() -> str:
    log_seal()
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    return str(error.value)


def test_verify_ledger_passes_on_a_clean_registry(rows, capsys):
    register(train(rows))
    register(train(rows, seed=1))
    log_seal()

    call_command("verify_ledger")

    assert "ledger verified: 4 entries" in capsys.readouterr().out


def test_verify_ledger_names_the_registration_whose_metrics_were_edited(rows):
    version = register(train(rows))
    ModelVersion.objects.filter(pk=version.pk).update(metrics={"auc": 0.99, "recall": 0.961})

    message = verify_ledger_failure()

    assert f"entry {version.registration_entry.index}:" in message
    assert "metrics logged {'auc': 0.93" in message


def test_verify_ledger_names_the_registration_whose_artifact_changed(rows):
    version = register(train(rows))
    model_version_artifact(version).write_bytes(b"{}")

    message = verify_ledger_failure()

    assert f"entry {version.registration_entry.index}:" in message
    assert f"the log registered {version.artifact_sha256}" in message


def test_verify_ledger_names_the_registration_whose_artifact_is_missing(rows):
    version = register(train(rows))
    model_version_artifact(version).unlink()

    message = verify_ledger_failure()

    assert f"entry {version.registration_entry.index}:" in message
    assert "is missing" in message


def test_verify_ledger_finds_a_version_made_active_behind_the_logs_back(rows):
    first = register(train(rows))
    second = register(train(rows, seed=1), activate=False)
    ModelVersion.objects.filter(pk=first.pk).update(active=False)
    ModelVersion.objects.filter(pk=second.pk).update(active=True)

    message = verify_ledger_failure()

    assert "is active, but the log's latest activation of breach_soon is not of it" in message


def test_verify_ledger_names_the_activation_whose_version_was_deactivated_behind_its_back(rows):
    version = register(train(rows))
    ModelVersion.objects.filter(pk=version.pk).update(active=False)

    message = verify_ledger_failure()

    assert f"entry {version.activations.get().entry.index}:" in message
    assert "but the registry does not mark it active" in message


def test_admin_lists_versions_with_their_metrics_and_artifact_hash(admin_client, rows):
    version = register(train(rows))

    page = admin_client.get("/admin/analytics/modelversion/").content.decode()

    assert "auc 0.93, recall 0.961" in page
    assert version.artifact_sha256 in page


def test_admin_activate_action_activates_through_the_registry(admin_client, rows):
    first = register(train(rows))
    second = register(train(rows, seed=1), activate=False)

    admin_client.post(
        "/admin/analytics/modelversion/",
        {"action": "activate", "_selected_action": [second.pk]},
    )

    assert model_version_active(task=first.task) == second
    assert second.activations.get().previous == first
    history = admin_client.get("/admin/analytics/modelactivation/").content.decode()
    assert "breach_soon v2" in history
    assert "breach_soon v1" in history
