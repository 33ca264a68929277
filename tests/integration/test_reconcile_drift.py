"""Reconciliation over real HTTP: SIGRC simulator → SQLite store → SEI sandbox.

A few dozen generated Fazenda requests are synced; a first reconciliation must find nothing.
Then each kind of drift is injected into one request of its own — in SEI by hand, with SEI's
own operations (delete a document, add one, conclude, reopen), and in SIGRC (an event the feed
loses, a request the feed never shows, another SEI number, a deadline moved into the past, an
effect left uncertain) — and the report must name exactly those findings and no others.
``--fix`` then enqueues the missing effects; after a sync only what needs a person is left.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as dt
import html
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY

from sei_bridge import config, mapping
from sei_bridge.engine import Engine, RetryPolicy, SeiGuard
from sei_bridge.reconcile import Budget, FindingKind, Reconciler, Report, publish
from sei_bridge.reports import reconciliation as render
from sei_bridge.sandboxes.sei import RunningSandbox, SandboxConfig, start_sandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator, SimulatorConfig, start_simulator
from sei_bridge.sandboxes.traffic import (
    DEFAULT_START,
    GeneratedRequest,
    TrafficOptions,
    generate_traffic,
)
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import ActionKind, ActionState, Store

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = mapping.load_mappings(REPO / "mappings")
SERIES = MAPPINGS.files[0].series
TOKEN = "reconcile-token"
SIGLA, SERVICO = "SEI_BRIDGE", "reconcile-key"
SEED = 1156
#: the reconciliations' "now": after every generated opening, before any generated deadline
NOW = DEFAULT_START + dt.timedelta(days=1)
SINCE = DEFAULT_START - dt.timedelta(days=1)
PLAIN = TrafficOptions(hard_cases=frozenset(), hard_case_rate=0.0, ensure_hard_cases=False)

REGISTRADA, INTERACAO, FINALIZADA = (
    "solicitacao.registrada",
    "solicitacao.interacao",
    "solicitacao.finalizada",
)


def _tipos(r: GeneratedRequest) -> list[str]:
    return [e.tipo for e in r.events]


def _png(r: GeneratedRequest) -> bool:
    return any(f.nome_arquivo.endswith(".png") for e in r.events for f in e.files)


def _concludes(r: GeneratedRequest) -> bool:
    servico = MAPPINGS.servico(r.servico_codigo)
    return servico is not None and servico.concluir_ao_finalizar


@dataclasses.dataclass
class World:
    store: Store
    engine: Engine
    sei: RunningSandbox
    sigrc: RunningSimulator
    client: SeiClient
    sigrc_client: SigrcClient
    #: drift name → protocolo it was injected into
    picked: dict[str, str]
    traffic: list[GeneratedRequest]
    injected: bool = False
    #: the first reconciliation after the drift was injected
    drift: Report | None = None

    def reconciler(self, **kw: object) -> Reconciler:
        return Reconciler(
            store=self.store,
            sigrc=self.sigrc_client,
            sei=self.client,
            mappings=MAPPINGS,
            orgao="SF",
            now=lambda: NOW,
            **kw,  # type: ignore[arg-type]
        )

    def reconcile(self, *, fix: bool = False) -> Report:
        return self.reconciler().run(since=SINCE, fix=fix)

    def sync(self) -> None:
        report = self.engine.sync_until_idle(max_seconds=90)
        assert report.idle, report.to_text()


def _pick(traffic: list[GeneratedRequest]) -> dict[str, GeneratedRequest]:
    """One request of the right shape for each drift (distinct requests)."""
    mapped = [r for r in traffic if MAPPINGS.servico(r.servico_codigo) is not None]
    free = [r for r in mapped if not _png(r)]
    used: set[str] = set()

    def take(name: str, ok: object) -> GeneratedRequest:
        for r in free:
            if r.protocolo not in used and ok(r):  # type: ignore[operator]
                used.add(r.protocolo)
                return r
        raise LookupError(f"no request for {name}: change SEED")

    def closed_with_interaction(r: GeneratedRequest) -> bool:
        t = _tipos(r)
        return t[-1] == FINALIZADA and t.count(FINALIZADA) == 1 and INTERACAO in t and _concludes(r)

    def open_request(r: GeneratedRequest) -> bool:
        return FINALIZADA not in _tipos(r)

    def open_ending_with_interaction(r: GeneratedRequest) -> bool:
        return open_request(r) and _tipos(r)[-1] == INTERACAO

    def closed_once(r: GeneratedRequest) -> bool:
        t = _tipos(r)
        return t[-1] == FINALIZADA and t.count(FINALIZADA) == 1 and _concludes(r)

    picks = {
        "delete_document": take("delete_document", closed_with_interaction),
        "misorder": take("misorder", closed_with_interaction),
        "reopen": take("reopen", closed_once),
        "drop_closure": take("drop_closure", closed_once),
        "extra_document": take("extra_document", open_request),
        "conclude": take("conclude", open_request),
        "lost_interaction": take("lost_interaction", open_ending_with_interaction),
        "deadline": take("deadline", open_request),
        "never_seen": take("never_seen", closed_once),
        "never_seen_overdue": take("never_seen_overdue", closed_once),
        "sei_number": take("sei_number", closed_once),
        "uncertain": take("uncertain", open_request),
    }
    png = next(r for r in mapped if _png(r))
    picks["quarantine"] = png
    return picks


#: the findings each drift must produce, and no other
EXPECTED: dict[str, tuple[FindingKind, ...]] = {
    "delete_document": (FindingKind.INTERACTION_MISSING,),
    "misorder": (FindingKind.FINALIZADO_BEFORE_INTERACTION,),
    "reopen": (FindingKind.PROCESS_REOPENED,),
    "drop_closure": (FindingKind.FINALIZADO_MISSING,),
    "extra_document": (FindingKind.DOCUMENT_UNEXPLAINED,),
    "conclude": (FindingKind.PROCESS_CONCLUDED,),
    "lost_interaction": (FindingKind.INTERACTION_MISSING,),
    "deadline": (FindingKind.OVERDUE_WITHOUT_FINALIZATION,),
    "never_seen": (FindingKind.PROCESS_MISSING,),
    "never_seen_overdue": (FindingKind.PROCESS_MISSING, FindingKind.OVERDUE_WITHOUT_PROCESS),
    "sei_number": (FindingKind.SEI_NUMBER_MISMATCH,),
    "uncertain": (FindingKind.UNCERTAIN,),
    "quarantine": (FindingKind.QUARANTINED,),
}
#: what is left after --fix and a sync: what only a person can settle
AFTER_FIX = {
    name: kinds
    for name, kinds in EXPECTED.items()
    if name in {"reopen", "extra_document", "conclude", "deadline", "sei_number", "quarantine"}
}


def _found(report: Report) -> collections.Counter[tuple[str, FindingKind]]:
    return collections.Counter((f.protocolo, f.kind) for f in report.findings)


def _want(
    w: World, table: dict[str, tuple[FindingKind, ...]]
) -> collections.Counter[tuple[str, FindingKind]]:
    want: collections.Counter[tuple[str, FindingKind]] = collections.Counter()
    for name, kinds in table.items():
        for kind in kinds:
            want[(w.picked[name], kind)] += 1
    if "quarantine" in table:  # one finding per item set aside: each refused PNG
        r = next(r for r in w.traffic if r.protocolo == w.picked["quarantine"])
        pngs = sum(f.nome_arquivo.endswith(".png") for e in r.events for f in e.files)
        want[(w.picked["quarantine"], FindingKind.QUARANTINED)] = pngs
    return want


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("reconcile")
    generated = generate_traffic(SEED, 60, PLAIN)
    picks = _pick(generated)
    # the requests SIGRC holds: of mapped services, no PNG attachment (SEI refuses those) but
    # the one picked to be quarantined
    traffic = [
        r
        for r in generated
        if MAPPINGS.servico(r.servico_codigo) is not None
        and (not _png(r) or r.protocolo == picks["quarantine"].protocolo)
    ]
    late = {picks["never_seen"].protocolo, picks["never_seen_overdue"].protocolo}
    late |= {picks["uncertain"].protocolo, picks["quarantine"].protocolo}
    with (
        start_simulator(SimulatorConfig(token=TOKEN, seed=SEED, requests=0), port=0) as sim,
        start_sandbox(
            # SEI's full WSDL, so a person can call excluirDocumento (sei-bridge's has no such call)
            SandboxConfig(
                sigla_sistema=SIGLA,
                identificacao_servico=SERVICO,
                seed=SEED,
                wsdl_path=REPO / "tests" / "data" / "sei-4.1.0.wsdl",
            ),
            port=0,
        ) as sandbox,
    ):
        for r in traffic:
            if r.protocolo in late:
                continue
            if r.protocolo in (
                picks["drop_closure"].protocolo,
                picks["lost_interaction"].protocolo,
            ):
                r = dataclasses.replace(r, events=r.events[:-1])  # the last one comes lost
            sim.state.add_request(r, delay=0.0)
        url = f"sqlite:///{tmp}/ledger.db"
        store = Store.from_url(url, pool_size=12)
        store.migrate()
        settings = config.load_settings(
            environ={},
            overrides={
                "database_url": url,
                "work_dir": str(tmp / "work"),
                "sei_concurrency": 4,
                "sei_rate_limit": 0,
            },
        )
        sigrc = SigrcClient(base_url=sim.base_url, token=TOKEN, orgao="SF")
        sei = SeiClient(
            endpoint_url=sandbox.endpoint_url, sigla_sistema=SIGLA, identificacao_servico=SERVICO
        )
        engine = Engine(
            store=store,
            feed=FeedReader(sigrc),
            sigrc=sigrc,
            sei=sei,
            mappings=MAPPINGS,
            settings=settings,
            policy=RetryPolicy(initial=0.2, maximum=1.0, jitter=0.3, probe_delay=0.2),
            guard=SeiGuard(rate_limit=0),
            lease_seconds=30.0,
            poll_interval=0.2,
        )
        w = World(
            store,
            engine,
            sandbox,
            sim,
            sei,
            sigrc,
            {name: r.protocolo for name, r in picks.items()},
            traffic,
        )
        w.sync()
        try:
            yield w
        finally:
            store.close()


def _process(w: World, protocolo: str) -> tuple[str, str]:
    request = w.store.get_request(protocolo)
    assert request is not None and request.procedimento_formatado is not None
    servico = MAPPINGS.servico(request.servico_codigo)
    assert servico is not None
    return request.procedimento_formatado, servico.unidade


def _documents(w: World, protocolo: str) -> list[tuple[str, str, str | None]]:
    numero, _ = _process(w, protocolo)
    view = w.sei.state.process(numero)
    assert view is not None
    return [(d.documento_formatado, d.id_serie, d.descricao) for d in view.documents]


def _excluir(w: World, unidade: str, documento: str) -> None:
    """A person deleting a document in SEI: SEI's excluirDocumento, which sei-bridge never
    calls (its WSDL does not even declare it), sent as a plain SOAP request."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><S:Envelope '
        'xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="Sei"><S:Body>'
        f"<ns1:excluirDocumento><SiglaSistema>{SIGLA}</SiglaSistema>"
        f"<IdentificacaoServico>{SERVICO}</IdentificacaoServico>"
        f"<IdUnidade>{unidade}</IdUnidade><ProtocoloDocumento>{documento}</ProtocoloDocumento>"
        "</ns1:excluirDocumento></S:Body></S:Envelope>"
    )
    answer = requests.post(
        w.sei.endpoint_url,
        data=body.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"SeiAction"'},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text[:500]


def _inject(w: World) -> None:
    if w.injected:
        return
    w.injected = True
    p = w.picked
    by_protocolo = {r.protocolo: r for r in w.traffic}
    # a request with a PNG attachment SEI refuses: quarantined
    w.sigrc.state.add_request(by_protocolo[p["quarantine"]], delay=0.0)
    w.sync()
    # SEI: delete an interaction's document of a concluded process (reopen, delete, conclude)
    numero, unidade = _process(w, p["delete_document"])
    interaction = next(d for d in _documents(w, p["delete_document"]) if d[1] == SERIES.interacao)
    w.client.reabrir_processo(id_unidade=unidade, protocolo_procedimento=numero)
    _excluir(w, unidade, interaction[0])
    w.client.concluir_processo(id_unidade=unidade, protocolo_procedimento=numero)
    # SEI: a person deletes an interaction and adds it again, after the "SP 156 Finalizado"
    numero, unidade = _process(w, p["misorder"])
    interaction = next(d for d in _documents(w, p["misorder"]) if d[1] == SERIES.interacao)
    w.client.reabrir_processo(id_unidade=unidade, protocolo_procedimento=numero)
    _excluir(w, unidade, interaction[0])
    w.client.incluir_documento(
        id_unidade=unidade,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=SERIES.interacao,
            descricao=interaction[2],
            protocolo_procedimento=numero,
            conteudo=b"<p>copia</p>",
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal="34",
        ),
    )
    w.client.concluir_processo(id_unidade=unidade, protocolo_procedimento=numero)
    # SEI: reopened by hand while SIGRC has it closed
    numero, unidade = _process(w, p["reopen"])
    w.client.reabrir_processo(id_unidade=unidade, protocolo_procedimento=numero)
    # SEI: a document added by hand
    numero, unidade = _process(w, p["extra_document"])
    w.client.incluir_documento(
        id_unidade=unidade,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=SERIES.interacao,
            descricao="Despacho manual",
            protocolo_procedimento=numero,
            conteudo=b"<p>despacho</p>",
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal="34",
        ),
    )
    # SEI: concluded by hand while SIGRC has it open
    numero, unidade = _process(w, p["conclude"])
    w.client.concluir_processo(id_unidade=unidade, protocolo_procedimento=numero)
    # SIGRC: a closure and an interaction the feed loses
    for name in ("drop_closure", "lost_interaction"):
        w.sigrc.state.write_event(by_protocolo[p[name]].events[-1].payload, delay=0.0, lost=True)
    # SIGRC: another SEI number typed in; a deadline in the past
    w.sigrc.state.amend_request(p["sei_number"], processo_sei="6017.2026/9999999-9")
    w.sigrc.state.amend_request(p["deadline"], prazo_em=DEFAULT_START)
    # SIGRC: requests the feed never shows (one of them past its deadline)
    for name in ("never_seen", "never_seen_overdue"):
        r = by_protocolo[p[name]]
        w.sigrc.state.add_request(r, delay=0.0, lost=range(len(r.events)))
    w.sigrc.state.amend_request(p["never_seen_overdue"], prazo_em=DEFAULT_START)
    # an effect whose outcome stays unknown: a worker sent OPEN and lost the answer
    w.sigrc.state.add_request(by_protocolo[p["uncertain"]], delay=0.0)
    for _ in range(50):  # until the feed's window settles the new events and they are planned
        w.engine.poll_once()
        w.engine.plan_once()
        if w.store.actions_of(p["uncertain"]):
            break
        time.sleep(0.1)
    claimed = w.store.claim_due_actions("lost-worker", limit=10, lease_seconds=60)
    assert [(a.protocolo, a.kind) for a in claimed] == [(p["uncertain"], ActionKind.OPEN)]
    w.store.mark_uncertain(claimed[0].id, "lost-worker", "timeout after send", NOW)
    w.drift = w.reconcile()


def test_a_clean_run_has_no_findings(world: World) -> None:
    report = world.reconcile()
    assert report.complete, (report.stopped, report.unchecked)
    assert [(f.protocolo, f.kind, f.detail) for f in report.findings] == []
    late = {
        world.picked[n] for n in ("never_seen", "never_seen_overdue", "uncertain", "quarantine")
    }
    mapped = [r for r in world.traffic if MAPPINGS.servico(r.servico_codigo) is not None]
    assert report.requests_checked == len([r for r in mapped if r.protocolo not in late])
    assert report.consistent == report.requests_checked
    assert report.exit_status() == 0


def test_each_injected_drift_is_named_and_nothing_else(world: World) -> None:
    _inject(world)
    report = world.drift
    assert report is not None
    assert report.complete, (report.stopped, report.unchecked)
    assert _found(report) == _want(world, EXPECTED)
    by_kind = {f.kind: f for f in report.findings if f.protocolo == world.picked["delete_document"]}
    missing = by_kind[FindingKind.INTERACTION_MISSING]
    assert missing.processo and missing.documentos and missing.fixable
    assert report.exit_status() == 1


def test_fix_repairs_the_missing_effects_once(world: World) -> None:
    _inject(world)
    fixed = world.reconcile(fix=True)
    assert fixed.repairs_enqueued and fixed.repairs_enqueued > 0
    again = world.reconcile(fix=True)  # exactly-once: nothing new before the sync
    assert again.repairs_enqueued == 0
    world.sync()
    after = world.reconcile()
    assert _found(after) == _want(world, AFTER_FIX)
    # nothing in SEI was deleted or edited by the repairs: the hand-made document is still there
    extra = [
        d for d in _documents(world, world.picked["extra_document"]) if d[2] == "Despacho manual"
    ]
    assert len(extra) == 1
    states = {a.state for a in world.store.actions_of(world.picked["never_seen"])}
    assert states == {ActionState.DONE}


def test_a_sigrc_claiming_a_billion_pages_stops_at_the_page_budget(world: World) -> None:
    report = world.reconciler(budget=Budget(max_pages=1)).run(since=SINCE)
    assert report.pages_read == 1
    # every request fits on one page of 500, so one page is the whole list here
    assert report.stopped is None


def _personal(w: World) -> set[str]:
    """Every piece of personal data and text the traffic holds (names, CPF/CNPJ, e-mail,
    phone, address, descriptions, interaction texts, file names)."""
    found: set[str] = set()

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in _PERSONAL_KEYS and len(value) >= 6:
            found.add(value)

    for r in w.traffic:
        for e in r.events:
            walk(e.payload)
    return found


_PERSONAL_KEYS = frozenset(
    {
        "nome",
        "cpf",
        "cnpj",
        "email",
        "telefone",
        "logradouro",
        "cep",
        "complemento",
        "descricao",
        "texto",
        "nome_arquivo",
        "motivo",
        "responsavel_nome",
    }
)


def test_no_personal_data_in_any_report(world: World) -> None:
    _inject(world)
    report = world.drift
    assert report is not None
    assert report.findings
    outputs = {
        "text": render.to_text(report),
        "json": json.dumps(render.to_dict(report), ensure_ascii=False),
        "csv": render.to_csv(report),
        "html": render.to_html(report),
    }
    personal = _personal(world)
    assert len(personal) > 50
    for name, text in outputs.items():
        leaked = sorted(p for p in personal if p in text or html.escape(p) in text)
        assert leaked == [], f"{name} report shows {leaked[:3]}"


def test_csv_and_json_list_every_finding(world: World) -> None:
    _inject(world)
    report = world.drift
    assert report is not None
    rows = list(csv.reader(io.StringIO(render.to_csv(report))))
    assert tuple(rows[0]) == render.CSV_COLUMNS
    assert sorted((r[1], r[0]) for r in rows[1:]) == sorted(
        (f.protocolo, f.kind.value) for f in report.findings
    )
    data = render.to_dict(report)
    assert data["findings_total"] == len(report.findings) == len(data["findings"])
    assert data["findings_by_kind"] == {
        k.value: sum(f.kind is k for f in report.findings) for k in FindingKind
    }
    assert data["exit_status"] == 1


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_html_report_opens_in_headless_chromium(world: World, tmp_path: Path) -> None:
    _inject(world)
    report = world.drift
    assert report is not None
    page = tmp_path / "reconcile.html"
    page.write_text(render.to_html(report), encoding="utf-8")
    assert CHROMIUM is not None
    common = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    # the DOM chromium built: totals first, one section per kind, no script
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<script" not in dom.stdout
    assert dom.stdout.index('id="totals"') < dom.stdout.index('id="all"')
    for kind in FindingKind:
        assert f'id="kind-{kind.value}"' in dom.stdout
    shots = {
        "all": tmp_path / "all.png",
        "one-kind": tmp_path / "one-kind.png",
    }
    for name, url in (
        ("all", page.as_uri()),
        ("one-kind", page.as_uri() + "#kind-interaction_missing"),
    ):
        shot = subprocess.run(
            [
                *common,
                "--hide-scrollbars",
                "--window-size=1400,1600",
                f"--screenshot={shots[name]}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shot.returncode == 0, shot.stderr[-2000:]
        assert shots[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # filtering by kind (CSS :target) draws a different page than the whole report
    assert shots["all"].read_bytes() != shots["one-kind"].read_bytes()
    if os.environ.get("SEI_BRIDGE_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shots["all"], REPO / "docs" / "reconcile-report.png")


def test_the_last_runs_drift_is_a_metric(world: World) -> None:
    _inject(world)
    assert world.drift is not None
    publish(world.drift)
    for kind in FindingKind:
        value = REGISTRY.get_sample_value("sei_bridge_reconcile_findings", {"kind": kind.value})
        assert value == world.drift.totals.get(kind, 0), kind
    assert REGISTRY.get_sample_value("sei_bridge_reconcile_complete") == 1
