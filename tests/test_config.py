"""Settings from WATCHKEEPER_* variables: defaults, parsing, and clear refusals."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from watchkeeper.cli import app
from watchkeeper.config import SETTINGS, Settings
from watchkeeper.errors import UsageError


def test_defaults_without_variables() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    limits = settings.limits()
    assert (limits.max_input_bytes, limits.max_effects, limits.budget_seconds) == (
        32 * 1024 * 1024,
        10_000,
        0.25,
    )


def test_variables_are_read_and_parsed() -> None:
    settings = Settings.from_env(
        {"WATCHKEEPER_MAX_INPUT_BYTES": "2048", "WATCHKEEPER_ANALYZER_BUDGET_MS": "50"}
    )
    assert (settings.max_input_bytes, settings.limits().budget_seconds) == (2048, 0.05)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("WATCHKEEPER_MAX_INPUT_BYTES", "lots", "it is not a whole number"),
        ("WATCHKEEPER_MAX_INPUT_BYTES", "0", "it must be greater than zero"),
        ("WATCHKEEPER_ANALYZER_BUDGET_MS", "-1", "it must be a finite number greater than zero"),
        ("WATCHKEEPER_ANALYZER_BUDGET_MS", "inf", "it must be a finite number greater than zero"),
        ("WATCHKEEPER_ANALYZER_BUDGET_MS", "soon", "it is not a number"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_the_fix(
    variable: str, value: str, reason: str
) -> None:
    with pytest.raises(UsageError) as info:
        Settings.from_env({variable: value})
    assert str(info.value).startswith(
        f"{variable}={value!r} cannot be used: {reason}. Set it to a valid value, "
        "or unset it to use the default ("
    )


def test_every_setting_is_a_settings_field() -> None:
    assert [s.name for s in SETTINGS] == list(Settings.__dataclass_fields__)


def test_the_cli_applies_the_input_limit(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WATCHKEEPER_MAX_INPUT_BYTES", "16")
    action = json.dumps({"tool": "Read", "input": {"file_path": "/a/long/enough/path"}})
    result = CliRunner().invoke(app, ["check", "--json", "-"], input=action)
    assert result.exit_code == 0, result.output
    assert "over the 16-byte limit" in json.loads(result.stdout)["reasons"][0]


def test_the_cli_refuses_a_bad_setting(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WATCHKEEPER_MAX_EFFECTS", "many")
    result = CliRunner().invoke(app, ["check", "-"], input='{"tool": "x"}')
    assert result.exit_code == 2, result.output
    assert "WATCHKEEPER_MAX_EFFECTS='many' cannot be used" in result.output


def test_the_peoples_commands_read_their_server_and_token_as_declared_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from watchkeeper.cli.approvals import approvals_app

    settings = Settings.from_env(
        {"WATCHKEEPER_SERVER": "http://wk.example:8470", "WATCHKEEPER_TOKEN": "wkt_x"}
    )
    assert (settings.server, settings.token) == ("http://wk.example:8470", "wkt_x")
    # The commands take the same variables: no name is written twice.
    monkeypatch.setenv("WATCHKEEPER_SERVER", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("WATCHKEEPER_TOKEN", "wkt_not_a_token")
    answer = CliRunner().invoke(approvals_app, ["list"])
    assert answer.exit_code != 0
    assert "127.0.0.1:9" in answer.output  # it went where the setting said, with a token
