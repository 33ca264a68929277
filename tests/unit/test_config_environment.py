"""The environment as a whole: a misspelled SEI_BRIDGE_* variable is refused naming the nearest
setting (it would otherwise be ignored, its setting left at the default), and the default store
and work directory sit under one absolute state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from sei_bridge import config, errors


def test_a_misspelled_variable_is_refused_with_the_nearest_setting() -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        config.load_settings({"SEI_BRIDGE_SIGRC_TOKN": "segredo-123"})
    message = str(caught.value)
    assert message == (
        "SEI_BRIDGE_SIGRC_TOKN is not a sei-bridge setting: did you mean SEI_BRIDGE_SIGRC_TOKEN?"
    )
    assert "segredo" not in message


def test_an_unknown_variable_without_a_near_setting_points_to_the_readme() -> None:
    with pytest.raises(errors.ConfigurationError, match="section Configuration"):
        config.load_settings({"SEI_BRIDGE_COLOUR": "blue"})


@pytest.mark.parametrize(
    "variable",
    [
        "SEI_BRIDGE_CONFIG",
        "SEI_BRIDGE_STATE_DIR",
        "SEI_BRIDGE_TEST_POSTGRES_URL",
        "SEI_BRIDGE_SANDBOX_SEI_ACCESS_KEY",
        "OTHER_VARIABLE",
    ],
)
def test_variables_that_are_not_settings_are_left_alone(variable: str, tmp_path: Path) -> None:
    value = str(tmp_path / "settings.yaml") if variable == "SEI_BRIDGE_CONFIG" else str(tmp_path)
    if variable == "SEI_BRIDGE_CONFIG":
        Path(value).write_text("log_level: DEBUG\n", encoding="utf-8")
    config.load_settings({variable: value})


def test_the_default_store_and_work_dir_are_under_the_state_directory(tmp_path: Path) -> None:
    settings = config.load_settings({"SEI_BRIDGE_STATE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'sei-bridge.db'}"
    assert settings.work_dir == str(tmp_path / ".sei-bridge")
    # systemd's StateDirectory= when nothing else is said; an explicit setting wins
    systemd = config.load_settings(
        {"STATE_DIRECTORY": "/var/lib/sei-bridge", "SEI_BRIDGE_WORK_DIR": str(tmp_path)}
    )
    assert systemd.database_url == "sqlite:////var/lib/sei-bridge/sei-bridge.db"
    assert systemd.work_dir == str(tmp_path)


def test_logging_follows_the_environment_else_the_settings_file(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("log_level: debug\nlog_format: json\n", encoding="utf-8")
    env = {"SEI_BRIDGE_CONFIG": str(settings_file)}
    assert config.logging_choice(env) == ("debug", "json")
    assert config.logging_choice({**env, "SEI_BRIDGE_LOG_LEVEL": "ERROR"}) == ("ERROR", "json")
    assert config.logging_choice({}) == ("INFO", "text")
