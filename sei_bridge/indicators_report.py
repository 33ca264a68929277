"""The service indicators for people and machines: a text table, JSON, CSV and a
self-contained HTML page (no JavaScript; totals first, then one row per service and per unit;
every level coloured and written in words)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from typing import Any

from sei_bridge import chars
from sei_bridge.indicators import Figure, Level, Line

__all__ = ["CSV_COLUMNS", "to_csv", "to_dict", "to_html", "to_text"]

_LEVEL_WORDS = {
    Level.IDEAL: "ideal",
    Level.ALERTA: "alert",
    Level.CRITICO: "critical",
    Level.SEM_DADOS: "no data",
}
_LEVEL_COLOURS = {
    Level.IDEAL: ("#1b5e20", "#e8f5e9"),
    Level.ALERTA: ("#7a4f00", "#fff3cd"),
    Level.CRITICO: ("#8b0000", "#fde2e2"),
    Level.SEM_DADOS: ("#444444", "#eeeeee"),
}

#: the CSV header, one row per line of the report
CSV_COLUMNS: tuple[str, ...] = (
    "dimension",
    "code",
    "name",
    "received",
    "opened",
    "finalized",
    "open_p50_seconds",
    "open_p95_seconds",
    "finalized_p50_seconds",
    "finalized_p95_seconds",
    "within_prazo",
    "prazo_decided",
    "within_prazo_share",
    "backlog",
    "backlog_overdue",
    "backlog_age_p50_seconds",
    "backlog_age_p95_seconds",
    "backlog_age_max_seconds",
    "level_abertura_p95_horas",
    "level_finalizacao_p95_dias",
    "level_no_prazo_percentual",
    "level_backlog_idade_max_dias",
)


def _row_values(line: Line) -> dict[str, Any]:
    r = line.row
    values: dict[str, Any] = {
        "dimension": r.dimension,
        "code": r.code,
        "name": r.name,
        "received": r.received,
        "opened": r.opened,
        "finalized": r.finalized,
        "open_p50_seconds": r.open_p50,
        "open_p95_seconds": r.open_p95,
        "finalized_p50_seconds": r.finalized_p50,
        "finalized_p95_seconds": r.finalized_p95,
        "within_prazo": r.within_prazo,
        "prazo_decided": r.prazo_decided,
        "within_prazo_share": line.within_prazo_share,
        "backlog": r.backlog,
        "backlog_overdue": r.backlog_overdue,
        "backlog_age_p50_seconds": r.backlog_age_p50,
        "backlog_age_p95_seconds": r.backlog_age_p95,
        "backlog_age_max_seconds": r.backlog_age_max,
    }
    for figure in line.figures:
        values[f"level_{figure.indicator.key}"] = figure.level.value
    return values


def _period(since: dt.datetime | None, until: dt.datetime) -> dict[str, str | None]:
    return {"since": None if since is None else since.isoformat(), "until": until.isoformat()}


def to_dict(lines: list[Line], *, since: dt.datetime | None, until: dt.datetime) -> dict[str, Any]:
    """The JSON form: the period, then ``total``, ``servicos`` and ``unidades``, each line with
    its figures and ``levels`` (indicator → level, value and thresholds)."""

    def one(line: Line) -> dict[str, Any]:
        values = {k: v for k, v in _row_values(line).items() if not k.startswith("level_")}
        values["levels"] = {
            f.indicator.key: {
                "level": f.level.value,
                "value": f.value,
                "alerta": f.threshold.alerta,
                "critico": f.threshold.critico,
            }
            for f in line.figures
        }
        values["worst_level"] = line.worst().value
        return values

    return {
        "period": _period(since, until),
        "total": one(lines[0]),
        "servicos": [one(ln) for ln in lines if ln.row.dimension == "servico"],
        "unidades": [one(ln) for ln in lines if ln.row.dimension == "unidade"],
    }


def to_csv(lines: list[Line]) -> str:
    """One row per line (the total first), the columns of :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in lines:
        values = _row_values(line)
        # a name starting with = + - @ is text, not a spreadsheet formula
        name = str(values["name"])
        if name[:1] in ("=", "+", "-", "@"):
            values["name"] = "'" + name
        writer.writerow({k: "" if v is None else v for k, v in values.items()})
    return out.getvalue()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _figure_text(figure: Figure) -> str:
    shown = _share(figure.value) if figure.indicator.scale < 1 else _duration(figure.value)
    return f"{shown} [{_LEVEL_WORDS[figure.level]}]"


def _label(line: Line) -> str:
    r = line.row
    if r.dimension == "total":
        return "TOTAL"
    prefix = "servico" if r.dimension == "servico" else "unidade"
    return chars.escape_controls(f"{prefix} {r.code} {r.name}".strip())


_TEXT_HEADER = (
    "",
    "received",
    "opened",
    "finalized",
    "open p50",
    "open p95",
    "final. p50",
    "final. p95",
    "in prazo",
    "backlog",
    "overdue",
    "oldest",
)


def _cells(line: Line) -> list[str]:
    r = line.row
    f = {fig.indicator.key: fig for fig in line.figures}
    return [
        _label(line),
        str(r.received),
        str(r.opened),
        str(r.finalized),
        _duration(r.open_p50),
        _figure_text(f["abertura_p95_horas"]),
        _duration(r.finalized_p50),
        _figure_text(f["finalizacao_p95_dias"]),
        _figure_text(f["no_prazo_percentual"]),
        str(r.backlog),
        str(r.backlog_overdue),
        _figure_text(f["backlog_idade_max_dias"]),
    ]


def to_text(lines: list[Line], *, since: dt.datetime | None, until: dt.datetime) -> str:
    """An aligned table for a terminal, totals first."""
    rows = [list(_TEXT_HEADER), *(_cells(ln) for ln in lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_TEXT_HEADER))]
    start = "the beginning" if since is None else since.isoformat()
    out = [f"service indicators for requests registered from {start} to {until.isoformat()}"]
    out.append("backlog and its age as of the end of the period; levels in [brackets]")
    for row in rows:
        out.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(out) + "\n"


def _html_figure(figure: Figure) -> str:
    colour, background = _LEVEL_COLOURS[figure.level]
    shown = _share(figure.value) if figure.indicator.scale < 1 else _duration(figure.value)
    word = _LEVEL_WORDS[figure.level]
    return (
        f'<td class="level {figure.level.value.lower()}" '
        f'style="color:{colour};background:{background}">'
        f"{html.escape(shown)}<br><strong>{word}</strong></td>"
    )


def to_html(lines: list[Line], *, since: dt.datetime | None, until: dt.datetime) -> str:
    """A self-contained page (inline CSS, no script): totals first, one row per service and
    per unit, each level coloured and written in words."""
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in _TEXT_HEADER[1:])
    total = lines[0]

    def row(line: Line) -> str:
        r = line.row
        f = {fig.indicator.key: fig for fig in line.figures}
        cells = [
            f"<th scope='row'>{html.escape(_label(line))}</th>",
            f"<td>{r.received}</td>",
            f"<td>{r.opened}</td>",
            f"<td>{r.finalized}</td>",
            f"<td>{html.escape(_duration(r.open_p50))}</td>",
            _html_figure(f["abertura_p95_horas"]),
            f"<td>{html.escape(_duration(r.finalized_p50))}</td>",
            _html_figure(f["finalizacao_p95_dias"]),
            _html_figure(f["no_prazo_percentual"]),
            f"<td>{r.backlog}</td>",
            f"<td>{r.backlog_overdue}</td>",
            _html_figure(f["backlog_idade_max_dias"]),
        ]
        return "<tr>" + "".join(cells) + "</tr>"

    def table(title: str, chosen: list[Line]) -> str:
        if not chosen:
            return f"<h2>{title}</h2><p>none in this period</p>"
        body = "".join(row(ln) for ln in chosen)
        return (
            f"<h2>{title}</h2><table><thead><tr><th scope='col'></th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    start = "the beginning" if since is None else since.isoformat()
    r = total.row
    summary = (
        f"<p id='totals'>Totals: {r.received} requests received, {r.opened} processes opened, "
        f"{r.finalized} finalized, {r.backlog} in the backlog ({r.backlog_overdue} past their "
        f"prazo). Worst level: <strong>{_LEVEL_WORDS[total.worst()]}</strong>.</p>"
    )
    style = (
        "body{font-family:sans-serif;margin:1.5em;color:#111}"
        "table{border-collapse:collapse;margin-bottom:1.5em}"
        "th,td{border:1px solid #999;padding:.3em .5em;text-align:right}"
        "th[scope=row]{text-align:left}thead th{background:#f0f0f0}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>sei-bridge service indicators</title>"
        f"<style>{style}</style></head><body>"
        "<h1>Service indicators</h1>"
        f"<p>Requests registered from {html.escape(start)} to {html.escape(until.isoformat())};"
        " backlog as of the end of the period. Levels: ideal, alert, critical (thresholds "
        "from the mapping files).</p>"
        f"{summary}"
        + table("Total", [total])
        + table("Per service", [ln for ln in lines if ln.row.dimension == "servico"])
        + table("Per unit", [ln for ln in lines if ln.row.dimension == "unidade"])
        + "</body></html>\n"
    )
