"""Settings read from the environment fail loudly on bad values."""

import pytest

from coldchain.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str


def test_unset_variable_gives_the_default(monkeypatch):
    monkeypatch.delenv("COLDCHAIN_X", raising=False)
    assert env_int("COLDCHAIN_X", 7) == 7


def test_bad_integer_names_the_variable(monkeypatch):
    monkeypatch.setenv("COLDCHAIN_X", "ten")
    with pytest.raises(ImproperlyConfiguredEnv, match="COLDCHAIN_X must be an integer"):
        env_int("COLDCHAIN_X", 1)


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("off", False)])
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("COLDCHAIN_X", raw)
    assert env_bool("COLDCHAIN_X", not value) is value


def test_unrecognised_boolean_is_an_error(monkeypatch):
    monkeypatch.setenv("COLDCHAIN_X", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_bool("COLDCHAIN_X", False)


def test_secret_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("COLDCHAIN_X_FILE", str(secret))
    assert env_str("COLDCHAIN_X") == "s3cret"


def test_missing_secret_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("COLDCHAIN_X_FILE", str(tmp_path / "nope"))
    with pytest.raises(ImproperlyConfiguredEnv, match="COLDCHAIN_X_FILE"):
        env_str("COLDCHAIN_X")


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("COLDCHAIN_X", "a.example, b.example,")
    assert env_list("COLDCHAIN_X", []) == ["a.example", "b.example"]
