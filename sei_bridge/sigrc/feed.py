"""Reading SIGRC's feed without losing or repeating an event: the lag-window cursor.

The feed serves events in ``sequencia`` order, but a write can commit late: an event may become
visible up to ``atraso_maximo_segundos`` (L) seconds after events with a higher sequencia were
served, and any event may be served more than once. Asking only for ``apos = highest seen``
loses the late ones. So the reader keeps a :class:`FeedCursor`:

- the *watermark* W: every event with ``sequencia <= W`` has been read;
- the *window*: ``{id_evento: (sequencia, first_seen_at)}`` of the events read above W.

The algorithm (:meth:`FeedReader.poll`). A *sweep* starts at time T, reads every page from
``apos = W`` until ``ha_mais`` is false, and delivers each item whose ``id_evento`` is not in the
window yet (adding it with ``first_seen_at`` = the time its page arrived). After the sweep::

    W' = max(W, max{ s : (s, t) in window, t <= T - L })     window' = { e : s(e) > W' }

Why nothing is lost. Take the event h that sets W' (sequencia s_h, first seen at t_h <= T - L).
It was served at or before t_h, so by the contract every event with a lower sequencia was visible
by t_h + L <= T. The sweep began at T and read every page from W to the end, so it read every
event in (W, s_h]; the events <= W had been read before (induction; initially W = 0). Hence every
event <= W' has been read, and later sweeps may start at W' without skipping any. An event that
commits late has a sequencia above W' (else it would have been visible at T), so a later sweep,
which starts at W', reads it.

Why nothing is delivered twice. An event is delivered only when its id is not in the window, and
is then put in it. It can be served again only while its sequencia is above the watermark, which
is exactly while it stays in the window. (A duplicate SIGRC re-publishes under a *new* sequencia
after the original fell below W is delivered again; the store's unique ``id_evento`` is the final
guard, and the engine treats a repeat as the no-op it is.)

Why a crash is harmless. The caller stores the batch's items and its cursor in one transaction
(``Store.record_feed_batch``). A crash before it re-reads from the old cursor: the same items are
new again and are stored then; a crash after it resumes from the new cursor.

Extras kept sound:

- A poll reads at most ``max_pages`` pages, so a long backlog comes in bounded batches. A sweep
  may then span several polls (its start T, its position and the largest L it saw travel in the
  cursor); W can already move during the sweep, but only up to the position read, since the
  proof above needs every event up to s_h read *after* T.
- T is taken before the sweep's first request and ``first_seen_at`` after each page arrives, so
  clock readings can only delay W; a small ``safety_margin`` absorbs clock steps.
- Malformed items are delivered as QuarantinedEvent and unknown tipos as UnknownEvent, and both
  take part in the dedup. One whose sequencia is unreadable cannot be placed by sequencia: it is
  kept in ``unplaced`` with the first sequencia read after it in the same sweep (its position is
  below that one) and dropped once W reaches that bound.
- Memory: the window holds only the events of the last L seconds or so; ``max_window`` caps it
  anyway (dropping the lowest entries costs only a possible repeat, which the store absorbs).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sei_bridge import errors
from sei_bridge.sigrc import models

__all__ = [
    "CURSOR_VERSION",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_WINDOW",
    "DEFAULT_SAFETY_MARGIN",
    "FeedBatch",
    "FeedCursor",
    "FeedReader",
    "FeedSource",
    "Sweep",
]

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
#: pages read by one poll (x page_size events): bounds one batch's memory and transaction
DEFAULT_MAX_PAGES = 20
#: seconds added to SIGRC's atraso_maximo_segundos against clock steps
DEFAULT_SAFETY_MARGIN = 1.0
#: most window entries kept (the lag window is normally far smaller)
DEFAULT_MAX_WINDOW = 200_000
#: an unplaced item not seen again for this long is forgotten (a repeat is absorbed by the store)
_UNPLACED_TTL = 24 * 3600.0


class FeedSource(Protocol):
    """What the reader needs of SIGRC (``SigrcClient`` fits)."""

    def fetch_events(self, *, apos: int, limite: int = ...) -> models.EventPage: ...


@dataclass(frozen=True, slots=True)
class Sweep:
    """A sweep still under way when its poll ended (``max_pages`` reached)."""

    #: the next page is read with ``apos = position``
    position: int
    #: T, when the sweep's first request was sent (epoch seconds)
    started_at: float
    #: the largest atraso_maximo_segundos SIGRC reported during the sweep
    lag: int


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """The reader's durable state: persist it with the items of the batch that produced it.

    Treat as immutable (the mappings are never changed after construction).
    """

    #: every event with ``sequencia <= watermark`` has been read ("settled" for the planner)
    watermark: int = 0
    #: ``{id_evento: (sequencia, first_seen_at)}`` of the events read above the watermark
    window: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    #: ``{id_evento: (bound, first_seen_at)}`` of items without a readable sequencia; ``bound``
    #: is the first sequencia read after the item (None while unknown)
    unplaced: Mapping[str, tuple[int | None, float]] = field(default_factory=dict)
    #: the sweep under way, or None between sweeps
    sweep: Sweep | None = None

    def __repr__(self) -> str:
        sweep = "none" if self.sweep is None else f"at {self.sweep.position}"
        return (
            f"FeedCursor(watermark={self.watermark}, window={len(self.window)} ids, "
            f"unplaced={len(self.unplaced)}, sweep={sweep})"
        )

    def seen(self, id_evento: str) -> bool:
        """True when the item was already delivered and is still remembered."""
        return id_evento in self.window or id_evento in self.unplaced

    def to_json(self) -> str:
        """A compact JSON text; :meth:`from_json` rebuilds an equal cursor."""
        data: dict[str, Any] = {
            "version": CURSOR_VERSION,
            "watermark": self.watermark,
            "window": [[i, s, t] for i, (s, t) in sorted(self.window.items(), key=_by_seq)],
            "unplaced": [[i, b, t] for i, (b, t) in sorted(self.unplaced.items())],
            "sweep": None
            if self.sweep is None
            else {
                "position": self.sweep.position,
                "started_at": self.sweep.started_at,
                "lag": self.sweep.lag,
            },
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FeedCursor:
        """Rebuild a cursor saved by :meth:`to_json`; StoreError naming the part when unreadable."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != CURSOR_VERSION:
                raise ValueError(f"not a version {CURSOR_VERSION} cursor")
            window = {_id(i): (_int(s), _time(t)) for i, s, t in data["window"]}
            unplaced = {
                _id(i): (None if b is None else _int(b), _time(t)) for i, b, t in data["unplaced"]
            }
            raw_sweep = data["sweep"]
            sweep = (
                None
                if raw_sweep is None
                else Sweep(
                    position=_int(raw_sweep["position"]),
                    started_at=_time(raw_sweep["started_at"]),
                    lag=_int(raw_sweep["lag"]),
                )
            )
            return cls(_int(data["watermark"]), window, unplaced, sweep)
        except (ValueError, TypeError, KeyError) as exc:
            raise errors.StoreError(
                f"the saved SIGRC feed cursor is unreadable ({type(exc).__name__}: {exc}); "
                "restore the database from a backup (deleting the cursor re-reads the whole "
                "feed, which the inbox deduplicates)"
            ) from None


def _by_seq(entry: tuple[str, tuple[int, float]]) -> tuple[int, str]:
    return entry[1][0], entry[0]


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a non-negative integer")
    return value


def _time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("expected a time in seconds")
    return float(value)


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected an id_evento")
    return value


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """What one poll produced. Store ``items`` and ``cursor`` in one transaction."""

    #: the items never delivered before, in the order read (each id_evento once)
    items: list[models.FeedItem]
    #: the cursor to persist together with the items
    cursor: FeedCursor
    #: True when the poll reached the end of the feed (False: poll again soon)
    caught_up: bool
    #: pages read
    pages: int
    #: items read and skipped because they had been delivered already
    duplicates: int
    #: the commit lag the watermark was computed with (seconds)
    lag_seconds: int


class FeedReader:
    """Reads SIGRC's feed through ``source`` with the lag-window algorithm of this module."""

    def __init__(
        self,
        source: FeedSource,
        *,
        page_size: int = 500,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        safety_margin: float = DEFAULT_SAFETY_MARGIN,
        max_window: int = DEFAULT_MAX_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= page_size <= 500:
            raise ValueError("page_size must be within 1..500 (the contract's limite)")
        if max_pages is not None and max_pages < 1:
            raise ValueError("max_pages must be at least 1 (or None: no limit)")
        self._source = source
        self._page_size = page_size
        self._max_pages = max_pages
        self._margin = safety_margin
        self._max_window = max_window
        self._clock = clock

    def poll(self, cursor: FeedCursor | None = None, *, now: float | None = None) -> FeedBatch:
        """Read from ``cursor`` (None: the beginning) and return the new items and next cursor.

        ``now`` pins the clock for the whole poll (tests and simulations); by default the
        reader's clock is read before the sweep and after each page. Errors of the source
        (``SigrcUnavailable``, ``SigrcAuthError``, ...) propagate and nothing is lost: poll
        again with the same cursor.
        """
        cursor = cursor or FeedCursor()
        if cursor.sweep is None:
            started_at = self._clock() if now is None else now
            position, lag = cursor.watermark, 0
        else:
            started_at, position, lag = (
                cursor.sweep.started_at,
                cursor.sweep.position,
                cursor.sweep.lag,
            )
        window = dict(cursor.window)
        unplaced = dict(cursor.unplaced)
        items: list[models.FeedItem] = []
        awaiting_bound: list[str] = []
        duplicates = pages = 0
        while True:
            page = self._source.fetch_events(apos=position, limite=self._page_size)
            pages += 1
            seen_at = self._clock() if now is None else now
            lag = max(lag, page.atraso_maximo_segundos)
            for item in page.items:
                key = item.id_evento
                if item.sequencia is None:
                    if key in window:  # delivered with its sequencia: placed already
                        duplicates += 1
                        continue
                    if key in unplaced:
                        duplicates += 1
                    else:
                        items.append(item)
                    first = unplaced.get(key, (None, seen_at))[1]
                    unplaced[key] = (None, first)
                    awaiting_bound.append(key)
                    continue
                for waiting in awaiting_bound:  # it sits below this sequencia
                    unplaced[waiting] = (item.sequencia, unplaced[waiting][1])
                awaiting_bound.clear()
                if key in window or key in unplaced:
                    duplicates += 1
                    continue
                items.append(item)
                window[key] = (item.sequencia, seen_at)
            position = self._next_position(page, position)
            if not page.ha_mais:
                complete = True
                break
            if self._max_pages is not None and pages >= self._max_pages:
                complete = False
                break
        # W' only counts events read by this sweep's pages (<= position) unless it is complete
        reach = math.inf if complete else position
        settled_by = started_at - lag - self._margin
        watermark = max(
            [cursor.watermark] + [s for s, t in window.values() if t <= settled_by and s <= reach]
        )
        window = {k: v for k, v in window.items() if v[0] > watermark}
        unplaced = {
            k: (bound, t)
            for k, (bound, t) in unplaced.items()
            if (bound is None and t >= started_at - _UNPLACED_TTL)
            or (bound is not None and bound > watermark)
        }
        window = self._capped(window)
        sweep = None if complete else Sweep(position=position, started_at=started_at, lag=lag)
        next_cursor = FeedCursor(watermark, window, unplaced, sweep)
        if items or watermark != cursor.watermark:
            log.info(
                "SIGRC feed: %d new, %d repeated, watermark %d→%d, window %d%s",
                len(items),
                duplicates,
                cursor.watermark,
                watermark,
                len(window),
                "" if complete else ", more to read",
            )
        return FeedBatch(items, next_cursor, complete, pages, duplicates, lag)

    @staticmethod
    def _next_position(page: models.EventPage, position: int) -> int:
        """Where the next page starts; refuses a page that claims more but does not advance."""
        read = [i.sequencia for i in page.items if i.sequencia is not None]
        last = (
            page.ultima_sequencia if page.ultima_sequencia is not None else max(read, default=None)
        )
        if last is not None and last > position:
            return last
        if page.ha_mais:
            raise errors.SigrcInvalidResponse(
                f"SIGRC answered ha_mais=true for apos={position} without a higher "
                "ultima_sequencia; report it to the SIGRC team",
                path="ultima_sequencia",
            )
        return position

    def _capped(self, window: dict[str, tuple[int, float]]) -> dict[str, tuple[int, float]]:
        if len(window) <= self._max_window:
            return window
        # dropping the lowest entries can only cause a repeat (the store absorbs it), never a
        # loss: W is already computed and later W' come from entries still kept
        kept = sorted(window.items(), key=_by_seq)[-self._max_window :]
        log.warning(
            "SIGRC feed window over %d entries: forgetting the %d lowest (repeats possible)",
            self._max_window,
            len(window) - self._max_window,
        )
        return dict(kept)
