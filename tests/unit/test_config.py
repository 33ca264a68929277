"""Every SEI_BRIDGE_* value is checked at start-up by its rule (config.FIELD_RULES): one line
naming the variable and what it accepts, never a secret's value, never more than an excerpt
of any other."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from sei_bridge import config, errors
from sei_bridge.ops.server import OpsServer

SECRET = "s3gr3d0-do-sigrc-Ú"


def _error(environ: dict[str, str]) -> str:
    with pytest.raises(errors.ConfigurationError) as caught:
        config.load_settings(environ)
    text = str(caught.value)
    assert "\n" not in text and len(text) < 300, text
    return text


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("LEASE_SECONDS", "nan", "is not a number"),
        ("LEASE_SECONDS", "inf", "is not a number"),
        ("LEASE_SECONDS", "-5", "must be at least 1"),
        ("LEASE_SECONDS", "1e9", "is more than 86400"),
        ("SEI_READ_TIMEOUT", "0", "must be more than 0"),
        ("SEI_READ_TIMEOUT", "1e999", "is more than 3600"),
        ("SEI_CONNECT_TIMEOUT", "301", "is more than 300"),
        ("SIGRC_READ_TIMEOUT", "NaN", "is not a number"),
        ("SIGRC_CONNECT_TIMEOUT", "-0.1", "must be more than 0"),
        ("SEI_BREAKER_RESET_SECONDS", "Infinity", "is not a number"),
        ("SEI_RATE_LIMIT", "-1", "must be at least 0"),
        ("SEI_RATE_LIMIT", "1e6", "is more than 10000"),
        ("SEI_CONCURRENCY", "0", "is not from 1 to 64"),
        ("SEI_CONCURRENCY", "1000", "is not from 1 to 64"),
        ("SEI_CONCURRENCY", "\u0661\u0662", "is not a whole number"),
        ("SEI_CONCURRENCY", "4.0", "is not a whole number"),
        ("SEI_CHUNK_BYTES", "0", "is not from 1 to 67108864"),
        ("SEI_CHUNKED_UPLOAD", "maybe", "is not a yes/no value"),
        ("METRICS_PORT", "0", "is not from 1 to 65535"),
        ("METRICS_PORT", "70000", "is not from 1 to 65535"),
        ("METRICS_PORT", "http", "is not a whole number"),
        ("LOG_LEVEL", "LOUD", "is not a log level"),
        ("SIGRC_ORGAO", "S\x1bF", "control character U+001B"),
        ("SEI_SIGLA_SISTEMA", "SEI BRIDGE", "holds a space"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str, problem: str) -> None:
    variable = "SEI_BRIDGE_" + name
    text = _error({variable: value})
    assert text.startswith(variable) and problem in text and ": set it to " in text
    assert "\x1b" not in text


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SIGRC_TOKEN", SECRET, "holds U+00DA, which is not printable ASCII"),
        ("SIGRC_TOKEN", f"Bearer {SECRET}", "holds a space"),
        ("SEI_IDENTIFICACAO_SERVICO", SECRET + "\x7f", "holds U+00DA"),
        ("AUDIT_KEY", SECRET + "\x00", "holds the control character U+0000"),
        ("SEI_URL", f"ftp://user:{SECRET}@sei/ws", "is not an http:// or https:// URL"),
        ("SEI_URL", f"http:///{SECRET}", "has no host"),
        ("SIGRC_URL", f"http://sigrc/{SECRET}\r\nX: y", "holds the control character U+000D"),
        ("SIGRC_URL", f"http://sigrc:99999/{SECRET}", "is not a valid URL"),
        ("DATABASE_URL", f"mysql://root:{SECRET}@db/sei", "is not a sqlite:/// or postgresql"),
        ("SEI_WSDL", f"gopher://{SECRET}", "is not an http:// or https:// URL"),
    ],
)
def test_a_secret_or_a_url_is_never_quoted(name: str, value: str, problem: str) -> None:
    text = _error({"SEI_BRIDGE_" + name: value})
    assert text.startswith(f"SEI_BRIDGE_{name} (value not shown) {problem}")
    assert SECRET not in text and SECRET[:8] not in text


def test_a_quoted_value_is_only_an_excerpt() -> None:
    text = _error({"SEI_BRIDGE_LOG_LEVEL": "x" * 100_000})
    assert text.startswith("SEI_BRIDGE_LOG_LEVEL='" + "x" * 40 + "'…")


def test_good_values_are_accepted_and_normalised(tmp_path: Path) -> None:
    wsdl = tmp_path / "sei.wsdl"
    wsdl.write_text("<definitions/>")
    settings = config.load_settings(
        {
            "SEI_BRIDGE_LOG_LEVEL": "debug",
            "SEI_BRIDGE_LEASE_SECONDS": "1",
            "SEI_BRIDGE_SEI_RATE_LIMIT": "0",
            "SEI_BRIDGE_SEI_READ_TIMEOUT": "2.5",
            "SEI_BRIDGE_METRICS_PORT": "",
            "SEI_BRIDGE_SEI_WSDL": str(wsdl),
            "SEI_BRIDGE_SIGRC_URL": "https://sigrc.prefeitura.sp.gov.br:8443/sigrc",
            "SEI_BRIDGE_SIGRC_TOKEN": "abc.DEF-123_~",
            "SEI_BRIDGE_DATABASE_URL": "postgresql+psycopg://sei@db/sei_bridge",
            "SEI_BRIDGE_SEI_CHUNKED_UPLOAD": "yes",
            "SEI_BRIDGE_WORK_DIR": str(tmp_path / "a" / "b"),
        }
    )
    assert settings.log_level == "DEBUG" and settings.metrics_port is None
    assert settings.lease_seconds == 1.0 and settings.sei_rate_limit == 0.0
    assert settings.sei_chunked_upload is True
    assert (tmp_path / "a" / "b").is_dir()
    assert (tmp_path / "a" / "b").stat().st_mode & 0o777 == 0o700
    defaults = config.load_settings({})
    assert defaults.database_url == f"sqlite:///{Path.cwd() / 'sei-bridge.db'}"
    assert defaults.work_dir == str(Path.cwd() / ".sei-bridge")
    unchanged = dataclasses.replace(defaults, database_url="sqlite:///sei-bridge.db")
    assert dataclasses.replace(unchanged, work_dir=".sei-bridge") == config.Settings()


def test_every_default_passes_its_own_rule() -> None:
    for f in dataclasses.fields(config.Settings):
        default = getattr(config.Settings(), f.name)
        if default is None or f.name == "work_dir":
            continue
        rule = config.FIELD_RULES[f.name]
        assert rule.parse(str(default)) == default, f.name


def test_a_wsdl_path_must_be_a_regular_readable_file(tmp_path: Path) -> None:
    assert "SEI_BRIDGE_SEI_WSDL (value not shown) is not a regular file" in _error(
        {"SEI_BRIDGE_SEI_WSDL": "/dev/zero"}
    )
    assert "is not a regular file" in _error({"SEI_BRIDGE_SEI_WSDL": str(tmp_path)})
    assert "names no readable file" in _error({"SEI_BRIDGE_SEI_WSDL": str(tmp_path / "x")})


def test_a_work_dir_that_cannot_be_created_or_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    text = _error({"SEI_BRIDGE_WORK_DIR": str(blocker / "work")})
    assert text.startswith("SEI_BRIDGE_WORK_DIR=") and "cannot be created or written" in text
    assert "is not a directory" in _error({"SEI_BRIDGE_WORK_DIR": str(blocker)})
    # /proc refuses new entries even to root, where permission bits would not tell
    assert "cannot be created or written" in _error({"SEI_BRIDGE_WORK_DIR": "/proc/sei-bridge"})


def test_settings_file_values_are_checked_like_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("sigrc_token: 'ascii-token'\nlease_seconds: .nan\n", "utf-8")
    text = _error({"SEI_BRIDGE_CONFIG": str(path)})
    assert text.startswith(f"SEI_BRIDGE_LEASE_SECONDS (in settings file {path})='nan'")
    path.write_text(f"sigrc_token: '{SECRET} x'\n", "utf-8")
    text = _error({"SEI_BRIDGE_CONFIG": str(path)})
    assert "SEI_BRIDGE_SIGRC_TOKEN (in settings file" in text and SECRET not in text
    path.write_text("sei_concurrency: [1, 2]\n", "utf-8")
    assert "must be a single value" in _error({"SEI_BRIDGE_CONFIG": str(path)})
    path.write_text("1: x\n", "utf-8")
    assert "has the key 1: keys are setting names" in _error({"SEI_BRIDGE_CONFIG": str(path)})


def test_unknown_settings_are_named_briefly(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("".join(f"k{i}{'y' * 200}: 1\n" for i in range(100)), "utf-8")
    assert "unknown setting(s)" in _error({"SEI_BRIDGE_CONFIG": str(path)})


def test_a_field_without_its_own_rule_gets_the_rule_of_its_type() -> None:
    # a field another change adds before giving it a rule is still checked by its type
    rule = config._default_rule("some_new_seconds", "float")
    with pytest.raises(ValueError):
        rule.parse("nan")
    assert not config._default_rule("some_token", "str | None").quotable
    optional = config._default_rule("max_response_bytes", "int | None")
    assert optional.parse("") is None and optional.parse("10") == 10
    with pytest.raises(ValueError):
        optional.parse("-1")


def test_a_metrics_port_in_use_is_a_configuration_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(errors.ConfigurationError) as caught:
            OpsServer(addr="127.0.0.1", port=port)
    assert str(caught.value) == (
        f"SEI_BRIDGE_METRICS_PORT={port}: 127.0.0.1:{port} is in use: choose a free port "
        "(or unset it to serve no metrics)"
    )


def test_the_repr_hides_secrets_and_a_database_password() -> None:
    settings = config.load_settings(
        {
            "SEI_BRIDGE_DATABASE_URL": f"postgresql+psycopg://sei:{SECRET[:8]}@db/sei",
            "SEI_BRIDGE_SIGRC_TOKEN": "token-abc",
            "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": "SP156_SYNC",
        }
    )
    shown = repr(settings)
    assert SECRET[:8] not in shown and "token-abc" not in shown and "SP156_SYNC" not in shown
    assert "database_url='postgresql+psycopg://sei:[secure]@db/sei'" in shown
