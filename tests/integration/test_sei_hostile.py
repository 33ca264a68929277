"""The SEI client and the engine against a hostile SEI over real HTTP (tests/support/hostile_sei):
faults too long or full of personal data and credentials, answers with a DOCTYPE or entities.
Each becomes a classified :mod:`sei_bridge.errors` exception, scrubbed, with no traceback in
the log."""

from __future__ import annotations

import traceback

import pytest

from sei_bridge import errors, scrub
from sei_bridge.sei.client import SeiClient
from tests.support.hostile_sei import HostileSei, fault_envelope

SERVICO = "identificacao-do-servico"
SIGRC_TOKEN = "segredo-do-sigrc-fazenda"
CPF, CNPJ = "123.456.789-09", "12.345.678/0001-95"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz"
LEAKS = (SIGRC_TOKEN, SERVICO, CPF, CNPJ, "eyJhbGciOiJIUzI1NiJ9")


def _client(sei: HostileSei) -> SeiClient:
    return SeiClient(
        endpoint_url=sei.endpoint_url,
        sigla_sistema="SEI_BRIDGE",
        identificacao_servico=SERVICO,
        read_timeout=5.0,
        secrets=[SIGRC_TOKEN],
    )


def test_a_megabyte_fault_is_bounded_and_scrubbed_in_the_exception_and_its_cause() -> None:
    text = (
        f"Unidade [110000123] não encontrada. CPF {CPF}, CNPJ {CNPJ}, Authorization: Bearer "
        f"{BEARER}, token do SIGRC {SIGRC_TOKEN}, serviço {SERVICO}. " + "x" * 1024 * 1024
    )
    with (
        HostileSei([(500, fault_envelope(text, "INFRA_ERRO"))]) as sei,
        pytest.raises(errors.SeiValidationFault) as caught,
    ):
        _client(sei).listar_unidades()
    exc = caught.value
    shown = "".join(traceback.format_exception(exc))
    for leak in LEAKS:
        assert leak not in shown and leak not in (exc.fault or "")
    assert exc.fault is not None
    assert exc.fault.startswith("Unidade [110000123] não encontrada. CPF [CPF], CNPJ [CNPJ]")
    assert exc.fault.endswith(" characters cut]")
    assert len(exc.fault) < scrub.DEFAULT_LIMIT + 40 and len(str(exc)) < 1000
    assert len(shown) < 4000


def test_an_ordinary_fault_keeps_seis_exact_words() -> None:
    text = "Processo [99990.000001/2026-53] não está aberto na unidade [TESTE]."
    with (
        HostileSei([(500, fault_envelope(text, "INFRA_ERRO"))]) as sei,
        pytest.raises(errors.SeiValidationFault) as caught,
    ):
        _client(sei).concluir_processo(
            id_unidade="110000123", protocolo_procedimento="99990.000001/2026-53"
        )
    assert caught.value.fault == text
