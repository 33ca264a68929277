"""Reconciliation against a hostile SIGRC on loopback: a list that claims a billion pages stops
at the page budget and says so, a run stops at its time budget, and a request SIGRC cannot
serve is reported unchecked while the run goes on."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_bridge import mapping
from sei_bridge.reconcile import Budget, Reconciler
from sei_bridge.reports import reconciliation as render
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.store import Store
from tests.support.hostile_http import Answer, HostileServer, json_answer

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = mapping.load_mappings(REPO / "mappings")
LIST = "/sigrc/v1/solicitacoes"


def _resumo(protocolo: str, servico: str) -> dict[str, object]:
    return {
        "protocolo": protocolo,
        "servico_codigo": servico,
        "situacao": "ABERTA",
        "quantidade_interacoes": 0,
        "atualizada_em": "2026-11-02T10:00:00-03:00",
        "processo_sei": None,
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path}/ledger.db")
    s.migrate()
    try:
        yield s
    finally:
        s.close()


def _reconciler(server: HostileServer, store: Store, budget: Budget, **kw: object) -> Reconciler:
    sigrc = SigrcClient(
        base_url=server.url + "/sigrc", token="t", orgao="SF", max_attempts=1, max_retry_after=0
    )
    return Reconciler(
        store=store,
        sigrc=sigrc,
        sei=None,
        mappings=MAPPINGS,
        budget=budget,
        **kw,  # type: ignore[arg-type]
    )


def test_a_billion_pages_stop_at_the_page_budget(store: Store) -> None:
    import datetime as dt

    with HostileServer() as server:
        # every page: one request of a service that opens no process, and "a billion pages"
        server.script(
            LIST,
            json_answer(
                {"solicitacoes": [_resumo("2026-1", "9999")], "pagina": 1, "total_paginas": 10**9}
            ),
        )
        report = _reconciler(server, store, Budget(max_pages=5)).run(
            since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        )
        assert server.hits[LIST] == 5
    assert report.pages_read == 5 and report.pages_total == 10**9
    assert report.stopped is not None and "page budget of 5" in report.stopped
    assert report.exit_status() == 3
    assert "INCOMPLETE: page budget of 5 page(s) reached" in render.to_text(report)


def test_the_time_budget_stops_the_run_before_the_next_request(store: Store) -> None:
    import datetime as dt

    ticks = itertools.count(0.0, 10.0)  # every look at the clock: 10 s later
    with HostileServer() as server:
        server.script(
            LIST,
            json_answer(
                {
                    "solicitacoes": [_resumo(f"2026-{n}", "9999") for n in range(50)],
                    "pagina": 1,
                    "total_paginas": 1,
                }
            ),
        )
        report = _reconciler(
            server, store, Budget(max_seconds=60), monotonic=lambda: next(ticks)
        ).run(since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert report.stopped == "time budget of 60 s reached"
    assert report.exit_status() == 3


def test_a_request_sigrc_cannot_serve_is_unchecked_and_the_run_goes_on(store: Store) -> None:
    import datetime as dt

    with HostileServer() as server:
        server.script(
            LIST,
            json_answer(
                {
                    "solicitacoes": [_resumo("2026-7", "3222"), _resumo("2026-8", "3222")],
                    "pagina": 1,
                    "total_paginas": 1,
                }
            ),
        )
        server.script(LIST + "/2026-7", Answer(503, b'{"erro": "manutencao"}'))
        server.script(LIST + "/2026-8", Answer(200, b'{"protocolo": "2026-8"'))  # cut short
        report = _reconciler(server, store, Budget()).run(
            since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        )
        assert server.hits[LIST + "/2026-7"] == 1 and server.hits[LIST + "/2026-8"] == 1
    assert [(u.protocolo, u.why.split()[0]) for u in report.unchecked] == [
        ("2026-7", "SigrcUnavailable"),
        ("2026-8", "SigrcInvalidResponse"),
    ]
    assert report.requests_checked == 0 and report.exit_status() == 3
