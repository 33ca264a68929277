"""Service indicators over a hand-checkable ledger on SQLite and PostgreSQL: requests with
chosen aberta_em/prazo_em, processes opened and "SP 156 Finalizado" done at chosen times (the
store's clock), so every figure below can be worked out by hand (see the comments)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest

from sei_bridge import indicators, indicators_report
from sei_bridge.sigrc import models
from sei_bridge.store import ActionKind, NewAction, RequestUpdate, Store
from tests.unit.store import builders as b

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
UNTIL = T0 + 20 * D
SINCE = T0 - D
UNITS = {"3222": ("SF/DIV", "Divisão de IPTU"), "4015": ("SF/DEM", "Departamento do ISS")}


@dataclasses.dataclass
class Clock:
    now: dt.datetime = T0

    def __call__(self) -> float:
        return self.now.timestamp()


def _registrada(seq: int, protocolo: str, servico: str, aberta: dt.datetime, prazo: Any) -> Any:
    event = b.registrada(seq, protocolo, servico=servico)
    assert event.solicitacao is not None
    unidade, nome = UNITS[servico]
    sol = dataclasses.replace(
        event.solicitacao,
        aberta_em=aberta.astimezone(dt.timezone(-3 * H)),  # SIGRC's offset: read as UTC
        prazo_em=prazo,
        unidade_codigo=unidade,
        unidade_nome=nome,
        servico_nome=f"Serviço {servico}",
    )
    return dataclasses.replace(event, solicitacao=sol)


class Ledger:
    """Drives a store through registrations, plans and DONE marks at chosen times."""

    def __init__(self, store: Store) -> None:
        self.clock = Clock()
        url = store.engine.url.render_as_string(hide_password=False)
        self.store = Store.from_url(url, clock=self.clock)
        self.seq = 0

    def _event(self, item: models.FeedItem, at: dt.datetime) -> int:
        self.clock.now = at
        self.store.record_feed_batch([item], b.cursor(self.seq))
        return next(e.id for e in self.store.settled_events(1000) if e.id_evento == item.id_evento)

    def register(
        self, protocolo: str, servico: str, aberta: dt.datetime, prazo: dt.datetime | None
    ) -> None:
        self.seq += 1
        event_id = self._event(_registrada(self.seq, protocolo, servico, aberta, prazo), aberta)
        self.store.plan_event(
            event_id,
            request=RequestUpdate(protocolo, servico_codigo=servico),
            actions=[NewAction(ActionKind.OPEN, "", {})],
        )

    def plan(self, protocolo: str, kind: ActionKind, at: dt.datetime) -> None:
        self.seq += 1
        event_id = self._event(b.interacao(self.seq, protocolo), at)
        self.store.plan_event(
            event_id,
            request=RequestUpdate(protocolo),
            actions=[NewAction(kind, f"src-{self.seq}", {})],
        )

    def done(self, protocolo: str, kind: ActionKind, at: dt.datetime) -> None:
        self.clock.now = at
        claimed = self.store.claim_due_actions("w", limit=100, lease_seconds=60, now=at)
        (action,) = [a for a in claimed if a.protocolo == protocolo and a.kind is kind]
        result = {"id_procedimento": "1", "procedimento_formatado": "1", "link_acesso": "x"}
        assert self.store.mark_done(action.id, "w", result if kind is ActionKind.OPEN else {})
        for other in claimed:  # give back what this step did not mean to do
            if other.id != action.id:
                self.store.mark_retry(other.id, "w", "not now", at)


@pytest.fixture
def ledger(store: Store) -> Iterator[Ledger]:
    led = Ledger(store)
    # E (3222): registered long before the period, never finalized: backlog only
    led.register("E", "3222", T0 - 30 * D, None)
    led.done("E", ActionKind.OPEN, T0 - 30 * D + H)
    # A (3222): opened after 1 h, finalized after 5 d, within its 10-day prazo
    led.register("A", "3222", T0, T0 + 10 * D)
    led.done("A", ActionKind.OPEN, T0 + H)
    # B (3222): opened after 3 h, finalized after 10 d, past its 2-day prazo
    led.register("B", "3222", T0 + D, T0 + 3 * D)
    led.done("B", ActionKind.OPEN, T0 + D + 3 * H)
    # C (3222): opened after 2 h, not finalized, prazo passed by the end: overdue backlog
    led.register("C", "3222", T0 + 2 * D, T0 + 4 * D)
    led.done("C", ActionKind.OPEN, T0 + 2 * D + 2 * H)
    # D (4015): no prazo, the process never opened: backlog
    led.register("D", "4015", T0 + 3 * D, None)
    # F (4015): opened after 1 h, finalized after 2 d (in prazo), reopened: backlog again
    led.register("F", "4015", T0 + 4 * D, T0 + 30 * D)
    led.done("F", ActionKind.OPEN, T0 + 4 * D + H)
    led.plan("F", ActionKind.FINALIZADO_DOC, T0 + 5 * D)
    led.done("F", ActionKind.FINALIZADO_DOC, T0 + 6 * D)
    led.plan("F", ActionKind.REABRIR, T0 + 8 * D)
    led.plan("A", ActionKind.FINALIZADO_DOC, T0 + 4 * D)
    led.done("A", ActionKind.FINALIZADO_DOC, T0 + 5 * D)
    led.plan("B", ActionKind.FINALIZADO_DOC, T0 + 10 * D)
    led.done("B", ActionKind.FINALIZADO_DOC, T0 + 11 * D)
    yield led
    led.store.close()


def _by(rows: list[Any]) -> dict[tuple[str, str], Any]:
    return {(r.dimension, r.code): r for r in rows}


def test_figures_are_exact_per_total_service_and_unit(ledger: Ledger) -> None:
    rows = _by(ledger.store.indicators(since=SINCE, until=UNTIL))
    assert set(rows) == {
        ("total", ""),
        ("servico", "3222"),
        ("servico", "4015"),
        ("unidade", "SF/DIV"),
        ("unidade", "SF/DEM"),
    }
    total = rows[("total", "")]
    # cohort A B C D F (E is before the period)
    assert (total.received, total.opened, total.finalized) == (5, 4, 3)
    # open: 1 h, 1 h, 2 h, 3 h → nearest rank p50 = 2nd, p95 = 4th
    assert (total.open_p50, total.open_p95) == (3600.0, 3 * 3600.0)
    # finalized: 2 d, 5 d, 10 d → p50 2nd, p95 3rd
    assert (total.finalized_p50, total.finalized_p95) == (5 * 86400.0, 10 * 86400.0)
    # decided: A, B (finalized), C (past prazo), F; within: A, F
    assert (total.within_prazo, total.prazo_decided) == (2, 4)
    # backlog C D E F (F reopened), overdue: C; ages 16 d, 17 d, 18 d, 50 d
    assert (total.backlog, total.backlog_overdue) == (4, 1)
    assert (total.backlog_age_p50, total.backlog_age_p95, total.backlog_age_max) == (
        17 * 86400.0,
        50 * 86400.0,
        50 * 86400.0,
    )
    iptu = rows[("servico", "3222")]
    assert iptu.name == "Serviço 3222"
    assert (iptu.received, iptu.opened, iptu.finalized, iptu.backlog) == (3, 3, 2, 2)
    assert (iptu.open_p50, iptu.open_p95) == (2 * 3600.0, 3 * 3600.0)
    assert (iptu.within_prazo, iptu.prazo_decided) == (1, 3)
    iss = rows[("servico", "4015")]
    assert (iss.received, iss.opened, iss.finalized, iss.backlog) == (2, 1, 1, 2)
    assert iss.finalized_p50 == iss.finalized_p95 == 2 * 86400.0
    assert rows[("unidade", "SF/DEM")].name == "Departamento do ISS"
    assert rows[("unidade", "SF/DEM")].received == 2


def test_until_in_the_past_sees_the_ledger_as_it_was(ledger: Ledger) -> None:
    # at T0 + 7 d: B's and A's... A finalized at 5 d; B not yet; F finalized, not reopened
    total = _by(ledger.store.indicators(since=SINCE, until=T0 + 7 * D))[("total", "")]
    assert (total.received, total.finalized) == (5, 2)
    # backlog B C D E; decided: A, F (finalized), B and C (prazo past), within A, F
    assert total.backlog == 4
    assert (total.within_prazo, total.prazo_decided) == (2, 4)


def test_levels_follow_the_thresholds_and_the_outputs_agree(ledger: Ledger) -> None:
    rows = ledger.store.indicators(since=SINCE, until=UNTIL)
    strict = {"4015": {"finalizacao_p95_dias": indicators.Threshold(alerta=1, critico=1.5)}}
    lines = indicators.build_lines(rows, thresholds=strict)
    by = {(ln.row.dimension, ln.row.code): ln for ln in lines}
    levels = {k: {f.indicator.key: f.level for f in ln.figures} for k, ln in by.items()}
    L = indicators.Level
    # defaults: open p95 3 h ≤ 4 h ideal; final p95 10 d ideal; 50% < 75% critical; 50 d alert
    assert levels[("total", "")] == {
        "abertura_p95_horas": L.IDEAL,
        "finalizacao_p95_dias": L.IDEAL,
        "no_prazo_percentual": L.CRITICO,
        "backlog_idade_max_dias": L.ALERTA,
    }
    # 4015's own threshold: 2 d > 1.5 d critical; nothing in its prazo decided but F → 100%
    assert levels[("servico", "4015")]["finalizacao_p95_dias"] is L.CRITICO
    assert levels[("servico", "4015")]["no_prazo_percentual"] is L.IDEAL
    assert levels[("servico", "3222")]["finalizacao_p95_dias"] is L.IDEAL
    data = indicators_report.to_dict(lines, since=SINCE, until=UNTIL)
    assert data["total"]["received"] == 5
    assert data["total"]["levels"]["no_prazo_percentual"]["level"] == "CRITICO"
    assert data["total"]["worst_level"] == "CRITICO"
    assert [s["code"] for s in data["servicos"]] == ["3222", "4015"]
    table = list(csv.DictReader(io.StringIO(indicators_report.to_csv(lines))))
    assert tuple(table[0]) == indicators_report.CSV_COLUMNS
    assert [(r["dimension"], r["code"]) for r in table][:3] == [
        ("total", ""),
        ("servico", "3222"),
        ("servico", "4015"),
    ]
    assert table[0]["within_prazo_share"] == "0.5"
    assert table[2]["level_finalizacao_p95_dias"] == "CRITICO"
    page = indicators_report.to_html(lines, since=SINCE, until=UNTIL)
    assert "<script" not in page
    assert "5 requests received" in page and "critical" in page and "alert" in page
    text = indicators_report.to_text(lines, since=SINCE, until=UNTIL)
    assert text.splitlines()[3].startswith("TOTAL")


def test_an_empty_store_has_a_total_without_data(store: Store) -> None:
    lines = indicators.build_lines(store.indicators(until=UNTIL))
    assert len(lines) == 1 and lines[0].row.received == 0
    assert lines[0].worst() is indicators.Level.SEM_DADOS


def test_the_gauges_carry_codes_values_and_levels(ledger: Ledger) -> None:
    from prometheus_client import REGISTRY

    from sei_bridge.ops import indicator_gauges

    now = UNTIL.timestamp()
    assert indicator_gauges.refresh(ledger.store, force=True, clock=lambda: now)
    # within REFRESH_SECONDS nothing is recomputed
    assert not indicator_gauges.refresh(ledger.store, clock=lambda: now + 1)

    def sample(name: str, servico: str, indicator: str) -> float | None:
        labels = {"servico": servico, "indicator": indicator}
        return REGISTRY.get_sample_value(name, labels)

    assert sample("sei_bridge_indicator", "total", "received") == 6  # E is within a year
    assert sample("sei_bridge_indicator", "4015", "backlog") == 2
    assert sample("sei_bridge_indicator", "3222", "abertura_p95_horas") == 3 * 3600.0
    assert sample("sei_bridge_indicator_level", "total", "backlog_idade_max_dias") == 1
    assert sample("sei_bridge_indicator_level", "total", "no_prazo_percentual") == 2
    assert sample("sei_bridge_indicator", "SF/DIV", "received") is None  # no unit labels
