"""The service indicators as Prometheus gauges, refreshed from the ``/metrics`` scrape path at
most every :data:`REFRESH_SECONDS` (a year of requests is not aggregated on every scrape).

Labels are bounded: ``servico`` is a SIGRC service code (or ``total``), ``indicator`` one of
a fixed list; never a name. The daemon may :func:`configure` the mappings' thresholds; until
then the built-in defaults give the levels.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sei_bridge import errors, indicators
from sei_bridge.ops import metrics

__all__ = ["PERIOD_SECONDS", "REFRESH_SECONDS", "configure", "refresh"]

#: seconds between two computations of the indicators
REFRESH_SECONDS = 300.0
#: the period the gauges cover: requests registered in the last 365 days
PERIOD_SECONDS = 365 * 86400.0

_LEVEL_VALUES = {
    indicators.Level.IDEAL: 0,
    indicators.Level.ALERTA: 1,
    indicators.Level.CRITICO: 2,
    indicators.Level.SEM_DADOS: -1,
}


class _Store(Protocol):
    def indicators(self, *, since: Any = None, until: Any = None) -> list[Any]: ...


_lock = threading.Lock()
_state: dict[str, Any] = {"at": float("-inf"), "thresholds": None, "defaults": None}


def configure(
    thresholds: Mapping[str, Mapping[str, indicators.Threshold]],
    defaults: Mapping[str, indicators.Threshold],
) -> None:
    """Use these thresholds (from the mappings) for the levels from the next refresh on."""
    with _lock:
        _state["thresholds"], _state["defaults"] = thresholds, defaults
        _state["at"] = float("-inf")


def refresh(store: _Store, *, force: bool = False, clock: Callable[[], float] = time.time) -> bool:
    """Recompute the gauges when the last computation is older than REFRESH_SECONDS; True when
    it did. A store error keeps the last values (``/healthz`` reports the database)."""
    with _lock:
        now = clock()
        if not force and now - _state["at"] < REFRESH_SECONDS:
            return False
        _state["at"] = now
        try:
            rows = store.indicators(since=now - PERIOD_SECONDS, until=now)
        except errors.StoreError:
            return False
        lines = indicators.build_lines(
            rows,
            thresholds=_state["thresholds"],
            defaults=_state["defaults"] or indicators.DEFAULT_THRESHOLDS,
        )
        for line in lines:
            if line.row.dimension == "unidade":
                continue
            code = "total" if line.row.dimension == "total" else line.row.code
            r = line.row
            counts = {
                "received": r.received,
                "opened": r.opened,
                "finalized": r.finalized,
                "backlog": r.backlog,
                "backlog_overdue": r.backlog_overdue,
            }
            for key, value in counts.items():
                metrics.INDICATOR.labels(servico=code, indicator=key).set(value)
            for figure in line.figures:
                key = figure.indicator.key
                metrics.INDICATOR.labels(servico=code, indicator=key).set(
                    float("nan") if figure.value is None else figure.value
                )
                metrics.INDICATOR_LEVEL.labels(servico=code, indicator=key).set(
                    _LEVEL_VALUES[figure.level]
                )
        return True
