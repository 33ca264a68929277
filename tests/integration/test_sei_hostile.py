"""The SEI client and the engine against a hostile SEI over real HTTP (tests/support/hostile_sei):
faults too long or full of personal data and credentials, answers with a DOCTYPE or entities.
Each becomes a classified :mod:`sei_bridge.errors` exception, scrubbed, with no traceback in
the log."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_bridge import config, errors, mapping, scrub
from sei_bridge.engine import Engine, RetryPolicy, SeiGuard
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import ActionKind, ActionState, Store
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.hostile_sei import DTD_ANSWER, ENTITY_ANSWER, HostileSei, fault_envelope

REPO = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("answer", [DTD_ANSWER, ENTITY_ANSWER], ids=["doctype", "entities"])
@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_with_a_doctype_or_entities_is_outcome_unknown(
    answer: bytes, status: int
) -> None:
    with (
        HostileSei([(status, answer)]) as sei,
        pytest.raises(errors.SeiOutcomeUnknownError) as caught,
    ):
        _client(sei).listar_unidades()
    assert caught.value.operation == "listarUnidades"
    assert "could not be read" in str(caught.value)


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    return sigrc_simulator_factory(token=SIGRC_TOKEN, requests=4, seed=7, hard_case_rate=0.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path}/ledger.db")
    store.migrate()
    yield store
    store.close()


def test_the_engine_keeps_a_doctype_answer_uncertain_without_a_traceback(
    sigrc: RunningSimulator, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = config.load_settings(
        environ={}, overrides={"work_dir": str(tmp_path / "work"), "sei_rate_limit": 0}
    )
    with HostileSei([(200, DTD_ANSWER)]) as sei:
        engine = Engine(
            store=store,
            feed=FeedReader(SigrcClient(base_url=sigrc.base_url, token=SIGRC_TOKEN, orgao="SF")),
            sigrc=SigrcClient(base_url=sigrc.base_url, token=SIGRC_TOKEN, orgao="SF"),
            sei=_client(sei),
            mappings=mapping.load_mappings(REPO / "mappings"),
            settings=settings,
            policy=RetryPolicy(initial=0.1, maximum=0.3, jitter=0.1, probe_delay=0.1),
            guard=SeiGuard(rate_limit=0, fail_max=1000),
            poll_interval=0.1,
        )
        with caplog.at_level(logging.INFO):
            engine.sync_until_idle(max_seconds=4)
        assert sei.calls >= 2  # the creation, then probes
    opened = [
        a
        for protocolo in sigrc.state.protocolos()
        for a in store.actions_of(protocolo)
        if a.kind is ActionKind.OPEN
    ]
    assert opened
    for action in opened:
        # sent, answer unreadable: nothing is sent again before a probe proves it absent
        assert action.state is ActionState.UNCERTAIN
        assert "could not be read (DTDForbidden)" in (action.last_error or "")
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
