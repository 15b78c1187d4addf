"""What the model registry holds must equal what the log holds (run by verify_ledger)."""

from __future__ import annotations

from collections.abc import Iterator

from analytics.models import ModelActivation, ModelVersion
from analytics.registry import (
    MODEL_ACTIVATED,
    MODEL_REGISTERED,
    activation_claims,
    model_version_artifact,
    registration_claims,
    sha256_file,
)
from ledger.checkers import EntryRow, Problem
from ledger.jws import JwsError
from ledger.platform_entries import platform_entry_open, platform_public_key, platform_timestamp


def _platform_claims(row: EntryRow, what: str) -> dict | Problem:
    try:
        return platform_entry_open(row.data, platform_public_key())
    except JwsError as error:
        return Problem(row.index, f"{what} entry invalid: {error.detail}")


def _differences(logged: dict, stored: dict) -> list[str]:
    return [
        f"{name} logged {logged.get(name)!r}, stored {stored.get(name)!r}"
        for name in sorted(logged.keys() | stored.keys())
        if logged.get(name) != stored.get(name)
    ]


def _latest_activations(tasks: set[str]) -> dict[str, int]:
    """Each task's latest activation: its version's id, by task.

    Activations of a task are serialised by a row lock, so a later one has a
    higher id and a later entry.
    """
    latest: dict[str, int] = {}
    for task, version_id in (
        ModelActivation.objects.filter(version__task__in=tasks)
        .order_by("id")
        .values_list("version__task", "version_id")
    ):
        latest[task] = version_id
    return latest


def _artifact_problem(version: ModelVersion, logged_sha256: object) -> str | None:
    path = model_version_artifact(version)
    if not path.is_file():
        return f"model {version}: artifact {version.artifact_path} is missing"
    actual = sha256_file(path)
    if actual != logged_sha256:
        return (
            f"model {version}: artifact {version.artifact_path} has SHA-256 {actual}, "
            f"the log registered {logged_sha256}"
        )
    return None


def check_registrations(rows: list[EntryRow]) -> Iterator[Problem]:
    """Each registration entry equals its registry row, and the file still hashes to it."""
    versions = {
        version.registration_entry_id: version
        for version in ModelVersion.objects.filter(
            registration_entry_id__in=[row.entry_id for row in rows]
        )
    }
    latest = _latest_activations({version.task for version in versions.values()})
    for row in rows:
        claims = _platform_claims(row, "model registration")
        if isinstance(claims, Problem):
            yield claims
            continue
        version = versions.get(row.entry_id)
        if version is None:
            yield Problem(
                row.index,
                f"model {claims.get('task')} v{claims.get('version')} is logged but not in "
                "the registry",
            )
            continue
        stored = {
            "kind": MODEL_REGISTERED,
            "at": platform_timestamp(version.created_at),
            **registration_claims(version),
        }
        differing = _differences(claims, stored)
        if differing:
            yield Problem(
                row.index,
                f"the registry row of model {version} differs from its logged registration: "
                + "; ".join(differing),
            )
        problem = _artifact_problem(version, claims.get("artifact_sha256"))
        if problem:
            yield Problem(row.index, problem)
        # An active flag set behind the log's back has no activation entry of its own.
        if version.active and latest.get(version.task) != version.pk:
            yield Problem(
                row.index,
                f"model {version} is active, but the log's latest activation of "
                f"{version.task} is not of it",
            )


def check_activations(rows: list[EntryRow]) -> Iterator[Problem]:
    """Each activation entry equals its activation row; the latest is the active version."""
    activations = {
        activation.entry_id: activation
        for activation in ModelActivation.objects.filter(
            entry_id__in=[row.entry_id for row in rows]
        ).select_related("version", "previous")
    }
    latest = _latest_activations({a.version.task for a in activations.values()})
    for row in rows:
        claims = _platform_claims(row, "model activation")
        if isinstance(claims, Problem):
            yield claims
            continue
        activation = activations.get(row.entry_id)
        if activation is None:
            yield Problem(
                row.index,
                f"the activation of model {claims.get('task')} v{claims.get('version')} is "
                "logged but not in the registry's history",
            )
            continue
        version = activation.version
        stored = {
            "kind": MODEL_ACTIVATED,
            "at": platform_timestamp(activation.activated_at),
            **activation_claims(activation),
        }
        differing = _differences(claims, stored)
        if differing:
            yield Problem(
                row.index,
                f"the activation history of model {version} differs from this entry: "
                + "; ".join(differing),
            )
        if latest.get(version.task) == version.pk and not version.active:
            yield Problem(
                row.index,
                f"the log's latest activation of {version.task} is model {version}, "
                "but the registry does not mark it active",
            )
