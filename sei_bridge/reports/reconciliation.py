"""A reconciliation :class:`~sei_bridge.reconcile.Report` for people and for machines: text,
JSON, CSV and a self-contained HTML page (no JavaScript, no external resource: totals first,
then one row per finding; each kind has its own section, which the totals link to, and a
section opened by its link (CSS ``:target``) shows that kind alone).

Everything shown comes from the findings, which hold ids, numbers, séries, states and counts
only (see :mod:`sei_bridge.reconcile.findings`); control characters are escaped anyway.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from typing import Any

from sei_bridge import chars
from sei_bridge.reconcile.findings import ADVICE, Finding, FindingKind, Report

__all__ = ["CSV_COLUMNS", "to_csv", "to_dict", "to_html", "to_text"]

#: the columns of the CSV export, in order
CSV_COLUMNS = (
    "kind",
    "protocolo",
    "processo",
    "documentos",
    "detail",
    "since",
    "age_hours",
    "fixable",
    "advice",
)

_TITLES = {
    FindingKind.PROCESS_MISSING: "Process missing in SEI",
    FindingKind.INTERACTION_MISSING: "Interaction missing in SEI",
    FindingKind.DOCUMENT_MISSING: "Document missing in SEI",
    FindingKind.DOCUMENT_UNEXPLAINED: "Document in SEI no SIGRC event explains",
    FindingKind.FINALIZADO_MISSING: 'Closed in SIGRC without "SP 156 Finalizado"',
    FindingKind.FINALIZADO_BEFORE_INTERACTION: '"SP 156 Finalizado" before an interaction',
    FindingKind.PROCESS_CONCLUDED: "Process concluded in SEI, request open in SIGRC",
    FindingKind.PROCESS_REOPENED: "Process open in SEI, request closed in SIGRC",
    FindingKind.SEI_NUMBER_MISMATCH: "SEI number in SIGRC differs from the ledger",
    FindingKind.UNCERTAIN: "Uncertain effects not settled",
    FindingKind.QUARANTINED: "Quarantined items",
    FindingKind.OVERDUE_WITHOUT_PROCESS: "Past the deadline without a process",
    FindingKind.OVERDUE_WITHOUT_FINALIZATION: "Past the deadline without a finalization",
}


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S %Z}".strip()


def to_dict(report: Report) -> dict[str, Any]:
    """The JSON form (stable keys; ``findings_by_kind`` lists every kind, zeros included)."""
    now = report.generated_at
    return {
        "generated_at": now.isoformat(),
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "protocolos": list(report.protocolos),
        "requests_checked": report.requests_checked,
        "consistent": report.consistent,
        "findings_total": report.findings_total,
        "findings_by_kind": {k.value: report.totals.get(k, 0) for k in FindingKind},
        "findings_shown": len(report.findings),
        "complete": report.complete,
        "stopped": report.stopped,
        "pages_read": report.pages_read,
        "pages_total": report.pages_total,
        "unchecked_total": report.unchecked_total,
        "unchecked": [{"protocolo": u.protocolo, "why": u.why} for u in report.unchecked],
        "repairs_enqueued": report.repairs_enqueued,
        "elapsed_seconds": report.elapsed_seconds,
        "exit_status": report.exit_status(),
        "findings": [f.to_dict(now) for f in report.findings],
    }


def _summary_lines(report: Report) -> list[str]:
    scope = (
        f"protocolos {', '.join(report.protocolos)}"
        if report.protocolos
        else f"requests changed in SIGRC from {_when(report.since)} to "
        f"{_when(report.until) if report.until else 'now'}"
    )
    lines = [
        f"sei-bridge reconciliation, generated {_when(report.generated_at)}",
        f"{scope}: checked {report.requests_checked}, consistent {report.consistent}, "
        f"findings {report.findings_total}",
    ]
    if report.stopped:
        lines.append(f"INCOMPLETE: {report.stopped} (pages read: {report.pages_read})")
    if report.unchecked_total:
        lines.append(f"INCOMPLETE: {report.unchecked_total} request(s) could not be read")
    if report.repairs_enqueued is not None:
        lines.append(f"repairs enqueued: {report.repairs_enqueued} (run sei-bridge sync)")
    return lines


def to_text(report: Report) -> str:
    """Totals first, then one tab-separated line per finding."""
    lines = _summary_lines(report)
    for kind in FindingKind:
        if report.totals.get(kind):
            lines.append(f"  {kind.value}: {report.totals[kind]}")
    for f in report.findings:
        lines.append(
            "\t".join(
                (
                    f.protocolo,
                    f.kind.value,
                    f.processo or "-",
                    ",".join(f.documentos) or "-",
                    f.detail,
                    f"since {_when(f.since)}" if f.since else "",
                )
            ).rstrip("\t")
        )
    for u in report.unchecked:
        lines.append(f"{u.protocolo}\tunchecked\t{u.why}")
    if len(report.findings) < report.findings_total:
        lines.append(f"... {report.findings_total - len(report.findings)} more finding(s) counted")
    return chars.escape_controls("\n".join(lines)) + "\n"


def _row(f: Finding, now: dt.datetime) -> list[str]:
    d = f.to_dict(now)
    return [
        d["kind"],
        d["protocolo"],
        d["processo"] or "",
        " ".join(d["documentos"]),
        d["detail"],
        d["since"] or "",
        "" if d["age_hours"] is None else str(d["age_hours"]),
        "yes" if d["fixable"] else "no",
        d["advice"],
    ]


def to_csv(report: Report) -> str:
    """One row per finding under a header row (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.findings:
        writer.writerow([_cell(c) for c in _row(f, report.generated_at)])
    return out.getvalue()


def _cell(text: str) -> str:
    text = chars.escape_controls(text)
    # a cell starting with = + - @ would be a formula in a spreadsheet
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
.meta{color:#444;margin:.2rem 0}.warn{color:#8a1c00;font-weight:600}
table{border-collapse:collapse;margin:.4rem 0;width:100%}
th,td{border:1px solid #c8c8c8;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.zero td{color:#888}.ok{color:#1b6b2b;font-weight:600}
table.totals{width:auto}.kind{display:none}.kind:target{display:block}
body:has(.kind:target) #all{display:none}
code{font-family:ui-monospace,monospace;font-size:.92em}
nav a{margin-right:.8rem}
"""


def _e(text: object) -> str:
    return html.escape(chars.escape_controls(str(text)), quote=True)


def _table(findings: list[Finding], now: dt.datetime) -> str:
    if not findings:
        return '<p class="ok">No finding of this kind.</p>'
    head = "".join(
        f"<th>{_e(c)}</th>"
        for c in (
            "protocolo",
            "kind",
            "SEI process",
            "documents",
            "what",
            "since",
            "age (h)",
            "--fix",
        )
    )
    rows = []
    for f in findings:
        d = f.to_dict(now)
        rows.append(
            "<tr>"
            f"<td><code>{_e(f.protocolo)}</code></td><td>{_e(f.kind.value)}</td>"
            f"<td><code>{_e(f.processo or '')}</code></td>"
            f"<td><code>{_e(' '.join(f.documentos))}</code></td><td>{_e(f.detail)}</td>"
            f"<td>{_e(_when(f.since) if f.since else '')}</td>"
            f'<td class="n">{_e("" if d["age_hours"] is None else d["age_hours"])}</td>'
            f"<td>{'yes' if f.fixable else 'no'}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def to_html(report: Report) -> str:
    """A self-contained page: totals, then every finding, then one section per kind."""
    now = report.generated_at
    meta = "".join(
        f'<p class="{"warn" if line.startswith("INCOMPLETE") else "meta"}">{_e(line)}</p>'
        for line in _summary_lines(report)[1:]
    )
    totals = "".join(
        f'<tr class="{"" if report.totals.get(k) else "zero"}">'
        f'<td><a href="#kind-{k.value}">{_e(_TITLES[k])}</a></td><td><code>{k.value}</code></td>'
        f'<td class="n">{report.totals.get(k, 0)}</td></tr>'
        for k in FindingKind
    )
    sections = "".join(
        f'<section class="kind" id="kind-{k.value}"><h2>{_e(_TITLES[k])} '
        f"({report.totals.get(k, 0)})</h2><p>What to do: {_e(ADVICE[k])}</p>"
        f"{_table([f for f in report.findings if f.kind is k], now)}"
        '<p><a href="#all">show every kind</a></p></section>'
        for k in FindingKind
    )
    unchecked = ""
    if report.unchecked:
        items = "".join(
            f"<li><code>{_e(u.protocolo)}</code>: {_e(u.why)}</li>" for u in report.unchecked
        )
        unchecked = f"<h2>Not checked ({len(report.unchecked)})</h2><ul>{items}</ul>"
    verdict = (
        '<p class="ok">No drift found.</p>'
        if not report.drift
        else f'<p class="warn">{report.findings_total} finding(s).</p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>sei-bridge reconciliation</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>sei-bridge reconciliation — {_e(_when(report.generated_at))}</h1>{meta}{verdict}"
        '<h2 id="totals">Totals by kind</h2>'
        '<table class="totals"><thead><tr><th>kind</th><th>code</th><th>findings</th></tr>'
        f"</thead><tbody>{totals}</tbody></table>"
        '<nav><a href="#all">every finding</a><a href="#totals">totals</a></nav>'
        f'<section id="all"><h2>Every finding ({len(report.findings)})</h2>'
        f"{_table(list(report.findings), now)}</section>{sections}{unchecked}"
        "</body></html>\n"
    )
