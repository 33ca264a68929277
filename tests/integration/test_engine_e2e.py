"""The whole engine over real HTTP: SIGRC simulator → SQLite store → SEI sandbox, with faults.

About 100 generated Fazenda requests (interactions, attachments — PNG ones too —, closures,
reopenings, and every hard case: unknown tipo, malformed event, unmapped service, Unicode,
markup, 20,000-character text) go through a lagging feed that repeats events and sometimes
refuses with 429/503 and serves corrupt attachment bytes, into an SEI that loses answers after
committing, resets connections, hangs past the client's timeout after committing, fails with
INFRA_ERRO and has an outage window. Afterwards SEI must hold exactly what the requests call
for — one process per mapped request, one document per interaction and per accepted
attachment, one "SP 156 Finalizado" per closure after the interactions it counts — with no
duplicate and no loss, and the ledger must show the rest (unmapped, malformed, PNG) in
quarantine with its reason.
"""

from __future__ import annotations

import collections
import dataclasses
import html
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sei_bridge import config, mapping
from sei_bridge.engine import Engine, RetryPolicy, SeiGuard, SyncReport
from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox, SandboxConfig, start_sandbox
from sei_bridge.sandboxes.sei.views import ProcessView
from sei_bridge.sandboxes.sigrc import RunningSimulator, SimulatorConfig, start_simulator
from sei_bridge.sandboxes.traffic import GeneratedRequest, HardCase, generate_traffic
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import ActionKind, ActionState, InboxState, RequestState, Store

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = mapping.load_mappings(REPO / "mappings")
REQUESTS = 100
SEED = 2026
TOKEN = "e2e-token"
SIGLA, SERVICO = "SEI_BRIDGE", "e2e-key"
READ_TIMEOUT = 1.0

INTERACAO = "solicitacao.interacao"
FINALIZADA = "solicitacao.finalizada"
SERIES = MAPPINGS.files[0].series

SIGRC_CONFIG = SimulatorConfig(
    token=TOKEN,
    seed=SEED,
    requests=REQUESTS,
    lag_seconds=1.0,
    lagged_fraction=0.3,
    duplicate_rate=0.05,
    overload_rate=0.02,
    retry_after_seconds=1,
    corrupt_attachment_rate=0.05,
    corrupt_times=1,
    hard_case_rate=0.03,
)
SEI_FAULTS = FaultConfig(
    latency=0.002,
    reset=0.04,
    lost=0.04,
    http503=0.03,
    infra_erro=0.02,
    hang=0.02,
    hang_seconds=READ_TIMEOUT + 0.5,
    hang_commits=True,
)
#: a 2 s outage once SEI has had this many calls (a fixed time from the sandbox's start would
#: fall before the first call on a busy machine, and the run would see no outage)
OUTAGE_AFTER_CALLS = 150
OUTAGE_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class Expected:
    """What SEI must hold for one mapped request, from the generated timeline."""

    protocolo: str
    interactions: tuple[str, ...]  #: id_interacao of each interaction that reaches SEI, in order
    accepted: frozenset[str]  #: id_anexo of the attachments SEI accepts
    refused: frozenset[str]  #: id_anexo of the PNG attachments (quarantined on their own)
    closures: tuple[int, ...]  #: quantidade_interacoes of each closure, in order
    concluded: bool  #: the process ends concluded


def _interacao(event: Any) -> dict[str, Any]:
    return (event.intact or event.payload)["interacao"]  # type: ignore[no-any-return]


def expected(request: GeneratedRequest) -> Expected:
    return expected_with(request, MAPPINGS)


def expected_with(request: GeneratedRequest, mappings: mapping.Mappings) -> Expected:
    events = list(request.events)
    interactions: list[str] = []
    files: list[Any] = list(events[0].files)
    closures: list[int] = []
    for position, event in enumerate(events):
        if event.tipo == INTERACAO:
            later = [e.tipo for e in events[position + 1 :]]
            # a malformed interaction comes back (from SIGRC's snapshot) once a later
            # interaction or a closure shows it is missing; otherwise it waits in quarantine
            if event.intact is None or INTERACAO in later or FINALIZADA in later:
                interactions.append(_interacao(event)["id_interacao"])
                files.extend(event.files)
        elif event.tipo == FINALIZADA:
            closures.append(event.payload["encerramento"]["quantidade_interacoes"])
    servico = mappings.servico(request.servico_codigo)
    assert servico is not None
    return Expected(
        protocolo=request.protocolo,
        interactions=tuple(interactions),
        accepted=frozenset(f.id_anexo for f in files if not f.nome_arquivo.endswith(".png")),
        refused=frozenset(f.id_anexo for f in files if f.nome_arquivo.endswith(".png")),
        closures=tuple(closures),
        concluded=servico.concluir_ao_finalizar and events[-1].tipo == FINALIZADA,
    )


@dataclasses.dataclass
class Run:
    report: SyncReport
    store: Store
    sei: RunningSandbox
    sigrc: RunningSimulator
    traffic: list[GeneratedRequest]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("e2e")
    traffic = generate_traffic(SEED, REQUESTS, SIGRC_CONFIG.traffic_options())
    sandbox_config = SandboxConfig(
        sigla_sistema=SIGLA, identificacao_servico=SERVICO, faults=SEI_FAULTS, seed=SEED
    )
    with (
        start_simulator(SIGRC_CONFIG, port=0) as sigrc_sim,
        start_sandbox(sandbox_config, port=0) as sandbox,
    ):
        store = Store.from_url(f"sqlite:///{tmp}/ledger.db", pool_size=12)
        store.migrate()
        settings = config.load_settings(
            environ={},
            overrides={
                "database_url": f"sqlite:///{tmp}/ledger.db",
                "work_dir": str(tmp / "work"),
                "sei_concurrency": 4,
                "sei_rate_limit": 0,
                "sei_read_timeout": READ_TIMEOUT,
                "sei_connect_timeout": 1.0,
            },
        )
        sigrc = SigrcClient(base_url=sigrc_sim.base_url, token=TOKEN, orgao="SF")
        sei = SeiClient(
            endpoint_url=sandbox.endpoint_url,
            sigla_sistema=SIGLA,
            identificacao_servico=SERVICO,
            read_timeout=READ_TIMEOUT,
            connect_timeout=1.0,
        )
        engine = Engine(
            store=store,
            feed=FeedReader(sigrc),
            sigrc=sigrc,
            sei=sei,
            mappings=MAPPINGS,
            settings=settings,
            # short timers so a test run sees many retries, probes and a circuit that reopens
            policy=RetryPolicy(initial=0.2, maximum=2.0, jitter=0.3, probe_delay=0.5),
            guard=SeiGuard(rate_limit=0, fail_max=5, reset_timeout=1.0),
            lease_seconds=30.0,
            poll_interval=0.3,
        )
        outage = _start_outage_after(sandbox, OUTAGE_AFTER_CALLS, OUTAGE_SECONDS)
        report = engine.sync_until_idle(max_seconds=90)
        outage.set()  # stops the watcher if the run ended first (the test then says so)
        try:
            yield Run(report, store, sandbox, sigrc_sim, traffic)
        finally:
            store.close()


def _start_outage_after(sandbox: RunningSandbox, calls: int, seconds: float) -> threading.Event:
    """Start ``seconds`` of outage once the sandbox has answered ``calls`` SOAP calls; the
    returned event stops the watcher."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            if sum(sandbox.state.counters().calls.values()) >= calls:
                sandbox.faults.start_outage(seconds)
                return

    threading.Thread(target=watch, name="outage-watcher", daemon=True).start()
    return done


def _mapped(run: Run) -> list[GeneratedRequest]:
    return [r for r in run.traffic if MAPPINGS.servico(r.servico_codigo) is not None]


def _processes(run: Run) -> dict[str, ProcessView]:
    by_numero: dict[str, ProcessView] = {}
    for p in run.sei.state.processes():
        assert p.numero_informado is not None, "a process SEI numbered itself: a duplicate"
        assert p.numero_informado not in by_numero, f"two processes {p.numero_informado}"
        by_numero[p.numero_informado] = p
    return by_numero


def test_the_run_went_through_faults_and_ends_idle(run: Run) -> None:
    assert run.report.idle, run.report.to_text()
    faults = run.sei.state.counters().faults
    for kind in ("lost", "reset", "hang", "http503", "infra_erro", "outage"):
        assert faults.get(kind, 0) > 0, f"no {kind} fault was injected: {faults}"
    assert run.report.outcomes["uncertain"] > 0 and run.report.outcomes["retry"] > 0
    cases = set().union(*(r.hard_cases for r in run.traffic))
    assert set(HardCase) <= cases
    by_state = run.report.actions_by_state
    assert set(by_state) <= {"DONE", "QUARANTINED"}, by_state  # nothing left in doubt


def test_exactly_one_process_per_mapped_request_and_none_for_the_unmapped(run: Run) -> None:
    processes = _processes(run)
    mapped = {f"SP156-{r.protocolo}" for r in _mapped(run)}
    assert set(processes) == mapped
    for request in _mapped(run):
        p = processes[f"SP156-{request.protocolo}"]
        servico = MAPPINGS.servico(request.servico_codigo)
        assert servico is not None
        assert p.id_tipo_procedimento == servico.tipo_procedimento
        assert p.id_unidade_geradora == servico.unidade
        assert p.nivel_acesso == 1 and p.id_hipotese_legal == "34"
        assert [c.sigla for c in p.interessados] == [f"SP156-{request.protocolo}"]


def test_every_interaction_attachment_and_closure_is_in_sei_once_and_in_order(run: Run) -> None:
    processes = _processes(run)
    for request in _mapped(run):
        want = expected(request)
        docs = processes[f"SP156-{request.protocolo}"].documents
        keys = collections.Counter((d.id_serie, d.descricao) for d in docs)
        assert max(keys.values()) == 1, f"{request.protocolo}: duplicate documents"
        series = [d.id_serie for d in docs]
        assert series.count(SERIES.solicitacao) == 1, request.protocolo
        assert docs[0].id_serie in (SERIES.anexo, SERIES.solicitacao)
        anexos = {
            d.descricao.split()[1] for d in docs if d.id_serie == SERIES.anexo and d.descricao
        }
        assert anexos == want.accepted, request.protocolo
        interactions = [
            d.descricao.split()[1]
            for d in docs
            if d.id_serie == SERIES.interacao and d.descricao is not None
        ]
        assert tuple(interactions) == want.interactions, request.protocolo
        assert series.count(SERIES.finalizado) == len(want.closures), request.protocolo
        # each "SP 156 Finalizado" comes after every interaction it counts
        seen = 0
        closures = iter(want.closures)
        for d in docs:
            if d.id_serie == SERIES.interacao:
                seen += 1
            elif d.id_serie == SERIES.finalizado:
                assert seen >= next(closures), f"{request.protocolo}: closure too early"
        concluded = processes[f"SP156-{request.protocolo}"].concluded
        assert concluded == want.concluded, request.protocolo


def _shown(fragment: str) -> str:
    """What a reader of the document sees: references resolved, line breaks as newlines."""
    return html.unescape(fragment.replace("<br />", "\n"))


def test_generated_documents_are_fragments_that_kept_the_citizens_text(run: Run) -> None:
    processes = _processes(run)
    checked = 0
    for request in _mapped(run):
        process = processes[f"SP156-{request.protocolo}"]
        for d in process.documents:
            if d.tipo == "G":
                assert "<html" not in d.html.lower() and "<body" not in d.html.lower()
                assert "<script" not in d.html.lower()
        by_id = {
            d.descricao.split()[1]: _shown(d.html)
            for d in process.documents_of_serie(SERIES.interacao)
            if d.descricao is not None
        }
        for event in request.events:
            if event.tipo == INTERACAO and _interacao(event)["id_interacao"] in by_id:
                texto = _interacao(event)["texto"].replace("\r\n", "\n")
                # every character, markup and emoji included, reads back as the citizen wrote it
                assert texto in by_id[_interacao(event)["id_interacao"]], request.protocolo
                checked += 1
    assert checked > 50
    hard = [r for r in _mapped(run) if {HardCase.UNICODE, HardCase.MARKUP} & r.hard_cases]
    assert hard


def test_sigrc_knows_the_sei_number_of_every_mapped_request(run: Run) -> None:
    for request in _mapped(run):
        snapshot = run.sigrc.state.snapshot(request.protocolo)
        assert snapshot is not None
        assert snapshot["processo_sei"] == f"SP156-{request.protocolo}"


def test_what_cannot_go_to_sei_is_in_quarantine_with_its_reason(run: Run) -> None:
    store = run.store
    unmapped = [r for r in run.traffic if MAPPINGS.servico(r.servico_codigo) is None]
    assert unmapped
    for request in unmapped:
        row = store.get_request(request.protocolo)
        assert row is not None and row.state is RequestState.QUARANTINED
        assert row.reason is not None and row.reason.startswith("unmapped: ")
        states = {e.state for e in store.events_of(request.protocolo)}
        assert states <= {InboxState.QUARANTINED, InboxState.SKIPPED}
        assert store.actions_of(request.protocolo) == []
    malformed = [r for r in run.traffic if HardCase.MALFORMED in r.hard_cases]
    assert malformed
    for request in malformed:
        broken = {e.id_evento for e in request.events if e.intact is not None}
        for event in store.events_of(request.protocolo):
            if event.id_evento in broken:
                assert event.state is InboxState.QUARANTINED and event.reason
    refused = 0
    for request in _mapped(run):
        want = expected(request)
        for action in store.actions_of(request.protocolo):
            if action.kind is ActionKind.ANEXO and action.source_id in want.refused:
                refused += 1
                assert action.state is ActionState.QUARANTINED
                assert action.last_error is not None
                assert action.last_error.startswith('attachment-refused: arquivo ".png"')
            elif action.state is not ActionState.DONE:
                pytest.fail(f"{request.protocolo} {action.kind.value} is {action.state.value}")
    assert refused > 0


def test_the_audit_trail_is_intact(run: Run) -> None:
    assert run.store.audit_verify().ok


def test_replay_after_the_mapping_is_added_brings_the_unmapped_requests_in_order(
    tmp_path: Path,
) -> None:
    sim_config = dataclasses.replace(
        SIGRC_CONFIG,
        requests=12,
        lag_seconds=0.0,
        duplicate_rate=0.0,
        overload_rate=0.0,
        corrupt_attachment_rate=0.0,
        hard_cases=frozenset({HardCase.UNMAPPED_SERVICE}),
    )
    traffic = generate_traffic(SEED, 12, sim_config.traffic_options())
    unmapped = [r for r in traffic if r.servico_codigo == "9999"]
    assert unmapped
    with (
        start_simulator(sim_config, port=0) as sigrc_sim,
        start_sandbox(
            SandboxConfig(sigla_sistema=SIGLA, identificacao_servico=SERVICO), port=0
        ) as sandbox,
    ):
        store = Store.from_url(f"sqlite:///{tmp_path}/ledger.db")
        store.migrate()
        settings = config.load_settings(
            environ={}, overrides={"work_dir": str(tmp_path / "work"), "sei_rate_limit": 0}
        )
        sigrc = SigrcClient(base_url=sigrc_sim.base_url, token=TOKEN, orgao="SF")
        sei = SeiClient(
            endpoint_url=sandbox.endpoint_url, sigla_sistema=SIGLA, identificacao_servico=SERVICO
        )

        def engine(mappings: mapping.Mappings) -> Engine:
            return Engine(
                store=store,
                feed=FeedReader(sigrc),
                sigrc=sigrc,
                sei=sei,
                mappings=mappings,
                settings=settings,
                poll_interval=0.2,
            )

        try:
            assert engine(MAPPINGS).sync_until_idle(max_seconds=30).idle
            numbers = {p.numero_informado for p in sandbox.state.processes()}
            assert not {f"SP156-{r.protocolo}" for r in unmapped} & numbers
            # the operator maps the service and replays what waited for it
            extra = mapping.parse_mapping(
                {
                    "sei": {"unidade": "110000001", "numero_protocolo": "SP156-{protocolo}"},
                    "defaults": {
                        "nivel_acesso": 1,
                        "hipotese_legal": "34",
                        "series": SERIES.ids(),
                    },
                    "servicos": {"9999": {"tipo_procedimento": "100000345"}},
                },
                source="extra.yaml",
            )
            assert store.replay(reason_prefix="unmapped") > 0
            fixed = mapping.combine([*MAPPINGS.files, extra])
            assert engine(fixed).sync_until_idle(max_seconds=30).idle
            processes = {p.numero_informado: p for p in sandbox.state.processes()}
            for request in unmapped:
                p = processes[f"SP156-{request.protocolo}"]
                want = expected_with(request, fixed)
                interactions = [
                    d.descricao.split()[1]
                    for d in p.documents
                    if d.id_serie == SERIES.interacao and d.descricao is not None
                ]
                assert tuple(interactions) == want.interactions
                assert len(p.documents_of_serie(SERIES.finalizado)) == len(want.closures)
            left = [q.reason or "" for q in store.status().quarantine]
            assert all(r.startswith("attachment-refused") for r in left), left
        finally:
            store.close()
