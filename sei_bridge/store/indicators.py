"""The service indicators' queries: aggregated in the database, so a year of requests is read
in bounded memory (one row per service and unit comes back, never one per request).

Where each time is known:

- registration: ``solicitacao.aberta_em`` of the request's first ``solicitacao.registrada``
  inbox event (a valid, EVENTO-format one; a malformed registration is in the quarantine and
  is not counted here);
- process opened: when the request's OPEN action became DONE (``state_since``);
- "SP 156 Finalizado": when a FINALIZADO_DOC action became DONE (the first one for the
  durations and the deadline, the last one for the backlog);
- reopened: when a REABRIR action was planned (``created_at``).

Cohort figures (received, opened, finalized, durations, deadline) are about the requests
registered in ``[since, until)``; the backlog is a stock at ``until``: every request registered
before it whose last "SP 156 Finalizado" (done by ``until``) is missing or older than its last
reopening. Percentiles are nearest-rank, computed with window functions in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["DIMENSIONS", "IndicatorRow", "indicator_rows"]

#: the groupings every query returns, in report order
DIMENSIONS: tuple[str, ...] = ("total", "servico", "unidade")

#: the earliest possible registration when no ``since`` is given (POSIX seconds)
_NO_SINCE = -1.0e12


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """Raw figures of one grouping (durations in seconds; None: no request to measure)."""

    #: ``total``, ``servico`` or ``unidade``
    dimension: str
    #: servico.codigo or unidade.codigo ("" for the total)
    code: str
    #: the service's or unit's name as SIGRC gives it ("" for the total)
    name: str
    received: int
    opened: int
    finalized: int
    open_p50: float | None
    open_p95: float | None
    finalized_p50: float | None
    finalized_p95: float | None
    #: finalized requests whose first "SP 156 Finalizado" came by their prazo_em
    within_prazo: int
    #: requests with a prazo_em that is decided: finalized, or past it by ``until``
    prazo_decided: int
    backlog: int
    #: backlog requests already past their prazo_em at ``until``
    backlog_overdue: int
    backlog_age_p50: float | None
    backlog_age_p95: float | None
    backlog_age_max: float | None


def _epoch(dialect: str, expression: str, *, text: bool) -> str:
    """SQL for POSIX seconds of a timestamp column or ISO 8601 text (with its offset)."""
    if dialect == "sqlite":
        return f"((julianday({expression}) - 2440587.5) * 86400.0)"
    if text:
        expression = f"CAST({expression} AS TIMESTAMP WITH TIME ZONE)"
    return f"CAST(EXTRACT(EPOCH FROM {expression}) AS DOUBLE PRECISION)"


def _json(dialect: str, *path: str) -> str:
    if dialect == "sqlite":
        return "json_extract(e.payload, '$.{}')".format(".".join(path))
    return "e.payload" + "".join(f"->'{p}'" for p in path[:-1]) + f"->>'{path[-1]}'"


def _keyed_cte(dialect: str) -> str:
    """``WITH ... keyed``: one row per request and dimension."""
    done = "state = 'DONE' AND {} <= :until".format(_epoch(dialect, "state_since", text=False))
    since = _epoch(dialect, "state_since", text=False)
    created = _epoch(dialect, "created_at", text=False)
    aberta = _epoch(dialect, _json(dialect, "solicitacao", "aberta_em"), text=True)
    prazo = _epoch(dialect, _json(dialect, "solicitacao", "prazo_em"), text=True)
    columns = "aberta, prazo, opened_at, first_fin, last_fin, last_reopen"
    return f"""
WITH reg AS (
    SELECT MIN(id) AS id FROM inbox_event
    WHERE tipo = 'solicitacao.registrada' AND payload_format = 'EVENTO'
    GROUP BY protocolo
), act AS (
    SELECT protocolo,
        MIN(CASE WHEN kind = 'OPEN' AND {done} THEN {since} END) AS opened_at,
        MIN(CASE WHEN kind = 'FINALIZADO_DOC' AND {done} THEN {since} END) AS first_fin,
        MAX(CASE WHEN kind = 'FINALIZADO_DOC' AND {done} THEN {since} END) AS last_fin,
        MAX(CASE WHEN kind = 'REABRIR' AND {created} <= :until THEN {created} END)
            AS last_reopen
    FROM action GROUP BY protocolo
), req AS (
    SELECT {_json(dialect, "solicitacao", "servico_codigo")} AS servico_codigo,
        {_json(dialect, "solicitacao", "servico_nome")} AS servico_nome,
        {_json(dialect, "solicitacao", "unidade_codigo")} AS unidade_codigo,
        {_json(dialect, "solicitacao", "unidade_nome")} AS unidade_nome,
        {aberta} AS aberta, {prazo} AS prazo,
        act.opened_at, act.first_fin, act.last_fin, act.last_reopen
    FROM reg JOIN inbox_event e ON e.id = reg.id
    LEFT JOIN act ON act.protocolo = e.protocolo
), keyed AS (
    SELECT 'total' AS dim, '' AS code, '' AS name, {columns} FROM req
    UNION ALL
    SELECT 'servico', servico_codigo, servico_nome, {columns} FROM req
    UNION ALL
    SELECT 'unidade', unidade_codigo, unidade_nome, {columns} FROM req
)"""


_BACKLOG = "(last_fin IS NULL OR (last_reopen IS NOT NULL AND last_reopen > last_fin))"
_COHORT = "aberta >= :since"

_AGGREGATES = f"""
SELECT dim, code, MAX(name) AS name,
    SUM(CASE WHEN {_COHORT} THEN 1 ELSE 0 END) AS received,
    SUM(CASE WHEN {_COHORT} AND opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened,
    SUM(CASE WHEN {_COHORT} AND first_fin IS NOT NULL THEN 1 ELSE 0 END) AS finalized,
    SUM(CASE WHEN {_COHORT} AND prazo IS NOT NULL AND first_fin IS NOT NULL
        AND first_fin <= prazo THEN 1 ELSE 0 END) AS within_prazo,
    SUM(CASE WHEN {_COHORT} AND prazo IS NOT NULL
        AND (first_fin IS NOT NULL OR prazo < :until) THEN 1 ELSE 0 END) AS prazo_decided,
    SUM(CASE WHEN {_BACKLOG} THEN 1 ELSE 0 END) AS backlog,
    SUM(CASE WHEN {_BACKLOG} AND prazo IS NOT NULL AND prazo < :until THEN 1 ELSE 0 END)
        AS backlog_overdue,
    MAX(CASE WHEN {_BACKLOG} THEN :until - aberta END) AS backlog_age_max
FROM keyed WHERE aberta < :until
GROUP BY dim, code
"""

_PERCENTILES = f"""
SELECT dim, code, metric, rn, n, v FROM (
    SELECT dim, code, metric, v,
        ROW_NUMBER() OVER (PARTITION BY dim, code, metric ORDER BY v) AS rn,
        COUNT(*) OVER (PARTITION BY dim, code, metric) AS n
    FROM (
        SELECT dim, code, 'open' AS metric, opened_at - aberta AS v FROM keyed
        WHERE {_COHORT} AND aberta < :until AND opened_at IS NOT NULL
        UNION ALL
        SELECT dim, code, 'finalized', first_fin - aberta FROM keyed
        WHERE {_COHORT} AND aberta < :until AND first_fin IS NOT NULL
        UNION ALL
        SELECT dim, code, 'backlog_age', :until - aberta FROM keyed
        WHERE aberta < :until AND {_BACKLOG}
    ) m
) r
WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100
"""


def _float(value: Any) -> float | None:
    # SQLite's julianday arithmetic is a double of days: keep milliseconds, drop the noise
    return None if value is None else round(float(value), 3)


def indicator_rows(conn: Connection, *, since: float | None, until: float) -> list[IndicatorRow]:
    """The figures of every dimension (``since``/``until``: POSIX seconds), total first, then
    services and units by code."""
    dialect = conn.dialect.name
    params = {"since": _NO_SINCE if since is None else float(since), "until": float(until)}
    head = _keyed_cte(dialect)
    aggregates = conn.execute(sa.text(head + _AGGREGATES), params).mappings().all()
    marks: dict[tuple[str, str, str], dict[str, float]] = {}
    for row in conn.execute(sa.text(head + _PERCENTILES), params).mappings():
        n, rn = int(row["n"]), int(row["rn"])
        found = marks.setdefault((row["dim"], row["code"] or "", row["metric"]), {})
        value = _float(row["v"])
        assert value is not None
        if rn == (n * 50 + 99) // 100:
            found["p50"] = value
        if rn == (n * 95 + 99) // 100:
            found["p95"] = value
    out: list[IndicatorRow] = []
    for row in aggregates:
        dim, code = row["dim"], row["code"] or ""

        def mark(metric: str, which: str, dim: str = dim, code: str = code) -> float | None:
            return marks.get((dim, code, metric), {}).get(which)

        out.append(
            IndicatorRow(
                dimension=dim,
                code=code,
                name=row["name"] or "",
                received=int(row["received"] or 0),
                opened=int(row["opened"] or 0),
                finalized=int(row["finalized"] or 0),
                open_p50=mark("open", "p50"),
                open_p95=mark("open", "p95"),
                finalized_p50=mark("finalized", "p50"),
                finalized_p95=mark("finalized", "p95"),
                within_prazo=int(row["within_prazo"] or 0),
                prazo_decided=int(row["prazo_decided"] or 0),
                backlog=int(row["backlog"] or 0),
                backlog_overdue=int(row["backlog_overdue"] or 0),
                backlog_age_p50=mark("backlog_age", "p50"),
                backlog_age_p95=mark("backlog_age", "p95"),
                backlog_age_max=_float(row["backlog_age_max"]),
            )
        )
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    out.sort(key=lambda r: (order.get(r.dimension, len(order)), r.code))
    return out
