"""The reconciliation report renderers on hostile values: markup, terminal escapes, line
breaks and spreadsheet formulas that came from SIGRC or SEI are shown inert."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from sei_bridge.reconcile import Finding, FindingKind, Report, Unchecked
from sei_bridge.reports import reconciliation as render

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
HOSTILE = "<script>alert(1)</script>\x1b[31m\nforged line\u202e"


def _report(*findings: Finding, **kw: object) -> Report:
    totals: dict[FindingKind, int] = {}
    for f in findings:
        totals[f.kind] = totals.get(f.kind, 0) + 1
    return Report(
        generated_at=NOW,
        since=NOW - dt.timedelta(days=7),
        until=None,
        protocolos=(),
        requests_checked=3,
        consistent=3 - len(findings),
        findings=findings,
        totals=totals,
        **kw,  # type: ignore[arg-type]
    )


def test_hostile_values_are_inert_in_every_format() -> None:
    finding = Finding(
        FindingKind.SEI_NUMBER_MISMATCH,
        "2026-1",
        processo=HOSTILE,
        documentos=("=HYPERLINK(1)",),
        detail="=cmd|' /C calc'!A0",
    )
    report = _report(finding)
    page = render.to_html(report)
    assert "<script" not in page and "\x1b" not in page and "\u202e" not in page
    assert "&lt;script&gt;" in page
    text = render.to_text(report)
    assert "\x1b" not in text and "\nforged line" not in text and "\u202e" not in text
    rows = list(csv.reader(io.StringIO(render.to_csv(report))))
    assert len(rows) == 2  # no cell broke the row
    assert rows[1][3] == "'=HYPERLINK(1)" and rows[1][4].startswith("'=cmd")
    data = render.to_dict(report)
    assert json.loads(json.dumps(data))["findings"][0]["processo"] == HOSTILE


def test_totals_list_every_kind_and_an_incomplete_run_says_so() -> None:
    report = _report(
        Finding(FindingKind.UNCERTAIN, "2026-2", since=NOW - dt.timedelta(hours=5)),
        stopped="page budget of 1 page(s) reached; SIGRC announced 1000000000 page(s)",
        unchecked=(Unchecked("2026-3", "SigrcUnavailable (read)"),),
        unchecked_total=1,
    )
    data = render.to_dict(report)
    assert set(data["findings_by_kind"]) == {k.value for k in FindingKind}
    assert data["findings"][0]["age_hours"] == 5.0
    assert data["complete"] is False and data["exit_status"] == 1
    text = render.to_text(report)
    assert "INCOMPLETE: page budget of 1 page(s) reached" in text
    assert "INCOMPLETE: 1 request(s) could not be read" in text
    page = render.to_html(report)
    assert page.index('id="totals"') < page.index('id="all"') < page.index('id="kind-uncertain"')
    assert all(f'href="#kind-{k.value}"' in page for k in FindingKind)


def test_a_clean_complete_run_exits_0_and_an_incomplete_one_3() -> None:
    assert _report().exit_status() == 0
    assert _report(stopped="time budget of 60 s reached").exit_status() == 3
    assert _report(unchecked_total=1).exit_status() == 3


def test_the_commands_defaults_are_the_budgets() -> None:
    from sei_bridge.commands import reconcile as command
    from sei_bridge.reconcile import DEFAULT_BUDGET

    assert {
        "max_pages": DEFAULT_BUDGET.max_pages,
        "max_seconds": DEFAULT_BUDGET.max_seconds,
        "max_findings": DEFAULT_BUDGET.max_findings,
    } == command.DEFAULTS
