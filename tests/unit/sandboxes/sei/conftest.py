"""A sandbox without HTTP: its operations called directly on decoded calls (no I/O)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sei_bridge.sandboxes.sei import SandboxConfig, SandboxState
from sei_bridge.sandboxes.sei.auth import Client
from sei_bridge.sandboxes.sei.catalog import HIPOTESE_INFORMACAO_PESSOAL, TIPO_IPTU, UNIDADE_DIVCAD
from sei_bridge.sandboxes.sei.operations import Operations
from sei_bridge.sandboxes.sei.rules import SeiFault
from sei_bridge.sandboxes.sei.soap import Array, Nil, SoapCall, Struct, Value
from tests.fixtures.sei import SEI_TEST_CONFIG, SEI_TEST_SERVICO, SEI_TEST_SIGLA, SeiClock

LINK_BASE = "http://sei.test"


def field(value: Value, name: str) -> Value:
    """Field ``name`` of an answer structure."""
    assert isinstance(value, Struct), value
    for field_name, field_value in value.fields:
        if field_name == name:
            return field_value
    raise KeyError(name)


def items(value: Value) -> tuple[Value, ...]:
    assert isinstance(value, Array), value
    return value.items


def text(value: Value, name: str) -> str | None:
    found = field(value, name)
    return None if isinstance(found, Nil) else str(found)


def procedimento(**changes: Any) -> dict[str, Any]:
    """A valid restrito Procedimento (IPTU, one new interessado), with ``changes``."""
    base: dict[str, Any] = {
        "IdTipoProcedimento": TIPO_IPTU,
        "Especificacao": "Revisão do valor venal",
        "Assuntos": [],
        "Interessados": [{"Sigla": "SP156-2026-000001", "Nome": "Munícipe de teste 1"}],
        "Observacao": None,
        "NivelAcesso": "1",
        "IdHipoteseLegal": HIPOTESE_INFORMACAO_PESSOAL,
    }
    base.update(changes)
    return base


class Harness:
    """Operations over a fresh state, with the test credentials and a still clock."""

    def __init__(
        self,
        config: SandboxConfig = SEI_TEST_CONFIG,
        *,
        state: SandboxState | None = None,
        **overrides: Any,
    ) -> None:
        """``state``: another harness's, to see its processos with another configuration."""
        self.config = dataclasses.replace(config, **overrides)
        self.clock = SeiClock()
        self.state = state or SandboxState(
            self.config.catalog, first_contact_id=self.config.first_contact_id
        )
        link_base = self.config.link_base or LINK_BASE
        self.ops = Operations(
            self.state, self.config, clock=self.clock, link_base=lambda: link_base
        )

    def call(self, operation: str, *, client: Client | None = None, **params: Any) -> Value:
        """Run ``operation`` with the test credentials unless ``params`` replace them, from
        ``client`` (default: loopback)."""
        full = {
            "SiglaSistema": SEI_TEST_SIGLA,
            "IdentificacaoServico": SEI_TEST_SERVICO,
            "IdUnidade": UNIDADE_DIVCAD,
        }
        full.update(params)
        call = SoapCall(operation, {k: v for k, v in full.items()})
        return self.ops.execute(call, client=client)

    def fault(self, operation: str, *, client: Client | None = None, **params: Any) -> SeiFault:
        with pytest.raises(SeiFault) as caught:
            self.call(operation, client=client, **params)
        return caught.value

    def gerar(self, **changes: Any) -> str:
        """Open a processo; its number."""
        answer = self.call("gerarProcedimento", Procedimento=procedimento(**changes))
        return str(field(answer, "ProcedimentoFormatado"))

    def incluir(self, protocolo: str, *, unidade: str = UNIDADE_DIVCAD, **documento: Any) -> Value:
        doc: dict[str, Any] = {
            "Tipo": "G",
            "ProtocoloProcedimento": protocolo,
            "IdSerie": "13",
            "Descricao": "Interação 1",
            "Conteudo": "PHA+b2zhPC9wPg==",  # <p>olá</p> in Latin-1
        }
        doc.update(documento)
        return self.call("incluirDocumento", IdUnidade=unidade, Documento=doc)


@pytest.fixture
def sandbox() -> Harness:
    return Harness()
