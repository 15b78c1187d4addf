"""The default model shipped with the code: checked against its record, installed once."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.management import call_command

from analytics.default_model import (
    RECORD,
    ShippedModelError,
    default_model_check,
    default_model_install,
    default_model_write,
)
from analytics.features import FEATURES
from analytics.models import ModelVersion
from analytics.registry import model_version_active, sha256_file
from analytics.training import TrainedModels
from tests.analytics.boosters import DATA_SHA256, breach_booster, breach_soon_booster

DATA_CONFIG = {"trucks": 2, "days": 1, "seed": 9, "fault_rate": 1.0}


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"


@pytest.fixture
def shipped(tmp_path):
    trained = TrainedModels(
        breach=breach_booster(),
        breach_soon=breach_soon_booster(),
        params={
            "breach": {"objective": "multi:softprob", "decision": {"breach": 0.6}},
            "breach_soon": {"objective": "binary:logistic", "decision": {"breach_soon": 0.7}},
        },
        metrics={"breach": {"recall": 1.0}, "breach_soon": {"roc_auc": 0.9}},
        training_data_sha256=DATA_SHA256,
        validation_shipments=pd.Index([]),
    )
    directory = tmp_path / "shipped"
    default_model_write(trained, data_config=DATA_CONFIG, directory=directory)
    return directory


def test_the_shipped_default_model_is_the_one_its_record_names_and_takes_todays_features():
    record = default_model_check()
    assert record["features"] == list(FEATURES)
    assert record["training_data_config"]["trucks"] >= 100


@pytest.mark.django_db
def test_installing_registers_and_activates_both_shipped_versions_with_their_record(shipped):
    versions = default_model_install(shipped)

    for task, version in versions.items():
        assert model_version_active(task=task) == version
        assert version.artifact_sha256 == sha256_file(shipped / f"{task}.ubj")
        assert version.training_data_sha256 == DATA_SHA256
    assert versions["breach"].params["decision"] == {"breach": 0.6}
    assert versions["breach_soon"].metrics == {"roc_auc": 0.9}


@pytest.mark.django_db
def test_installing_again_does_nothing(shipped):
    default_model_install(shipped)
    assert default_model_install(shipped) is None
    assert ModelVersion.objects.count() == 2


@pytest.mark.django_db
def test_an_altered_shipped_file_is_refused_and_nothing_is_registered(shipped):
    artifact = shipped / "breach_soon.ubj"
    artifact.write_bytes(artifact.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ShippedModelError, match=r"breach_soon model .* is not the one its record"):
        default_model_install(shipped)
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_a_shipped_model_for_other_features_is_refused(shipped):
    record = (shipped / RECORD).read_text()
    (shipped / RECORD).write_text(record.replace('"probe_excess_c"', '"retired_feature_c"'))
    with pytest.raises(ShippedModelError, match="other features"):
        default_model_install(shipped)


@pytest.mark.django_db
def test_the_command_installs_the_shipped_default_on_a_fresh_database(capsys):
    call_command("install_default_model")
    assert all(model_version_active(task=task) for task in ModelVersion.Task.values)
    call_command("install_default_model")
    assert "active models exist; nothing to do" in capsys.readouterr().out
