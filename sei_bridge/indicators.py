"""Service indicators: how each SP156 service of the mappings does against the deadlines the
city promises citizens, with a level for each indicator (as in Goiás Lei 17.475/2011: ideal,
alert, critical).

The figures come from :meth:`sei_bridge.store.Store.indicators` (aggregated in the database);
this module gives them levels from the thresholds of the mapping files (``indicadores:`` at the
file level and under a servico, see README) or the built-in :data:`DEFAULT_THRESHOLDS`. Only
codes, counts and durations: no personal data.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the mapping files import this module: no SQLAlchemy at their load
    from sei_bridge.store.indicators import IndicatorRow

__all__ = [
    "DEFAULT_THRESHOLDS",
    "INDICATORS",
    "INDICATOR_KEYS",
    "Figure",
    "Indicator",
    "Level",
    "Line",
    "Threshold",
    "build_lines",
    "level_of",
]

_HOUR = 3600.0
_DAY = 86400.0


class Level(enum.StrEnum):
    """Level of one indicator."""

    #: within the ideal threshold
    IDEAL = "IDEAL"
    #: past the alert threshold, not yet critical
    ALERTA = "ALERTA"
    #: past the critical threshold
    CRITICO = "CRITICO"
    #: nothing to measure (no request in the period)
    SEM_DADOS = "SEM_DADOS"


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator with a level: its mapping key, the unit of its thresholds there, and
    whether a higher value is better."""

    #: the key under ``indicadores:`` in a mapping file
    key: str
    #: what the operator reads
    title: str
    #: mapping unit → figure unit (seconds or ratio)
    scale: float
    #: True for shares (higher is better), False for durations and ages
    higher_is_better: bool


#: the indicators with levels, in report order
INDICATORS: tuple[Indicator, ...] = (
    Indicator("abertura_p95_horas", "registration to process opened, p95", _HOUR, False),
    Indicator("finalizacao_p95_dias", 'registration to "SP 156 Finalizado", p95', _DAY, False),
    Indicator("no_prazo_percentual", "finalized within prazo_em", 0.01, True),
    Indicator("backlog_idade_max_dias", "oldest request in the backlog", _DAY, False),
)
#: the keys a mapping's ``indicadores:`` accepts
INDICATOR_KEYS: tuple[str, ...] = tuple(i.key for i in INDICATORS)


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert and critical limits in the mapping's units (hours, days, percent)."""

    alerta: float
    critico: float


#: built-in thresholds when no mapping file sets them: a process within the working day, a
#: finalization within the usual 30-day prazo, nine in ten within the deadline, no request
#: waiting longer than two deadlines
DEFAULT_THRESHOLDS: Mapping[str, Threshold] = {
    "abertura_p95_horas": Threshold(alerta=4, critico=24),
    "finalizacao_p95_dias": Threshold(alerta=20, critico=30),
    "no_prazo_percentual": Threshold(alerta=90, critico=75),
    "backlog_idade_max_dias": Threshold(alerta=30, critico=60),
}


def level_of(indicator: Indicator, value: float | None, threshold: Threshold) -> Level:
    """The level of ``value`` (seconds or a ratio) against ``threshold`` (mapping units)."""
    if value is None:
        return Level.SEM_DADOS
    shown = value / indicator.scale
    if indicator.higher_is_better:
        if shown < threshold.critico:
            return Level.CRITICO
        return Level.ALERTA if shown < threshold.alerta else Level.IDEAL
    if shown > threshold.critico:
        return Level.CRITICO
    return Level.ALERTA if shown > threshold.alerta else Level.IDEAL


@dataclass(frozen=True, slots=True)
class Figure:
    """One indicator's value (seconds or ratio) and its level."""

    indicator: Indicator
    value: float | None
    level: Level
    threshold: Threshold


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the report: the raw figures and the indicators with their levels."""

    row: IndicatorRow
    figures: tuple[Figure, ...]

    @property
    def within_prazo_share(self) -> float | None:
        r = self.row
        return None if r.prazo_decided == 0 else r.within_prazo / r.prazo_decided

    def worst(self) -> Level:
        """The worst level among the figures (SEM_DADOS only when nothing is measured)."""
        order = (Level.CRITICO, Level.ALERTA, Level.IDEAL)
        levels = {f.level for f in self.figures}
        return next((lv for lv in order if lv in levels), Level.SEM_DADOS)


def _value(indicator: Indicator, row: IndicatorRow) -> float | None:
    if indicator.key == "abertura_p95_horas":
        return row.open_p95
    if indicator.key == "finalizacao_p95_dias":
        return row.finalized_p95
    if indicator.key == "no_prazo_percentual":
        return None if row.prazo_decided == 0 else row.within_prazo / row.prazo_decided
    return row.backlog_age_max


def build_lines(
    rows: list[IndicatorRow],
    *,
    thresholds: Mapping[str, Mapping[str, Threshold]] | None = None,
    defaults: Mapping[str, Threshold] = DEFAULT_THRESHOLDS,
) -> list[Line]:
    """Levels for each row: a service's own thresholds (``thresholds[servico.codigo]``),
    else ``defaults`` (the total and the units use ``defaults``). A total line is always
    first, even over an empty store."""
    from sei_bridge.store.indicators import IndicatorRow

    if not any(r.dimension == "total" for r in rows):
        empty = IndicatorRow("total", "", "", 0, 0, 0, *(None,) * 4, 0, 0, 0, 0, *(None,) * 3)
        rows = [empty, *rows]
    lines: list[Line] = []
    for row in rows:
        own = (thresholds or {}).get(row.code, {}) if row.dimension == "servico" else {}
        figures = []
        for indicator in INDICATORS:
            limit = own.get(indicator.key) or defaults.get(indicator.key)
            limit = limit or DEFAULT_THRESHOLDS[indicator.key]
            value = _value(indicator, row)
            figures.append(Figure(indicator, value, level_of(indicator, value, limit), limit))
        lines.append(Line(row, tuple(figures)))
    return lines
