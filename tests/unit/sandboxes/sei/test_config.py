"""How a sandbox is configured: credentials, the command's options, refused settings."""

from __future__ import annotations

import argparse

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei import (
    ChunkedUpload,
    FaultConfig,
    ResponseEncoding,
    SandboxConfig,
    cli,
)


def test_credentials_come_from_config_then_environment_then_defaults() -> None:
    environ = {
        "SEI_BRIDGE_SEI_SIGLA_SISTEMA": "SP156",
        "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": "env-key",
    }
    assert SandboxConfig().credentials(environ={}) == ("SEI_BRIDGE", "sandbox-key")
    assert SandboxConfig().credentials(environ=environ) == ("SP156", "env-key")
    given = SandboxConfig(sigla_sistema="ADAPTER", identificacao_servico="ADAPTER_WS")
    assert given.credentials(environ=environ) == ("ADAPTER", "ADAPTER_WS")


def test_the_credential_never_shows_in_repr() -> None:
    assert "secret-key" not in repr(SandboxConfig(identificacao_servico="secret-key"))


def test_command_options_become_the_config() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        [
            "--port", "0", "--faults", "lost=0.1,outage=5+2", "--seed", "9",
            "--wsdl-version", "3.0", "--chunked-upload", "working", "--encoding", "iso-8859-1",
            "--operations", "gerarProcedimento+incluirDocumento", "--no-hipotese-legal",
        ]
    )  # fmt: skip
    config = cli._config(args)
    assert config.faults == FaultConfig(lost=0.1, outage_start=5, outage_duration=2)
    assert (config.seed, config.wsdl_version) == (9, "3.0")
    assert config.chunked_upload is ChunkedUpload.WORKING
    assert config.response_encoding is ResponseEncoding.LATIN1
    assert config.allowed_operations == {"gerarProcedimento", "incluirDocumento"}
    assert not config.enforce_hipotese_legal


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"wsdl_version": "2.6"}, "unknown WSDL version '2.6'"),
        ({"protocolo_prefix": "12"}, "protocolo_prefix must be 5 digits"),
        ({"max_external_mb": 0}, "max_external_mb must be at least 1"),
    ],
)
def test_impossible_settings_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=message):
        SandboxConfig(**changes)  # type: ignore[arg-type]
