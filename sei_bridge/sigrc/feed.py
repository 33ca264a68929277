"""Reading SIGRC's feed without losing or repeating an event: the lag-window cursor.

The feed serves events in ``sequencia`` order, but a write can commit late: an event may become
visible up to ``atraso_maximo_segundos`` (L) seconds after events with a higher sequencia were
served, and any event may be served more than once. Asking only for ``apos = highest seen``
loses the late ones. So the reader keeps a :class:`FeedCursor`:

- the *watermark* W: every event with ``sequencia <= W`` has been read;
- the *window*: ``{id_evento: (sequencia, first_seen_at)}`` of the events read above W
  (``sequencia``: the highest one the id was read under).

The algorithm (:meth:`FeedReader.poll`). A *sweep* starts at time T, reads every page from
``apos = W`` until ``ha_mais`` is false, and delivers each item whose ``id_evento`` is not
remembered yet (putting it in the window with ``first_seen_at`` = the time its page arrived).
After the sweep::

    W' = max(W, max{ s : s read above W, first seen at t <= T - L })
    window' = { e in window : s(e) > W' }

Why nothing is lost. Take the event h that sets W' (sequencia s_h, first seen at t_h <= T - L).
It was served at or before t_h, so by the contract every event with a lower sequencia was visible
by t_h + L <= T. The sweep began at T and read every page from W to the end, so it read every
event in (W, s_h]; the events <= W had been read before (induction; initially W = 0). Hence every
event <= W' has been read, and later sweeps may start at W' without skipping any. An event that
commits late has a sequencia above W' (else it would have been visible at T), so a later sweep,
which starts at W', reads it.

Why nothing is delivered twice. An event is delivered only when its id is not remembered, and is
then remembered. Served again under the *same* sequencia, it can only be while that sequencia is
above the watermark, i.e. while it is in the window. SIGRC may also re-deliver an event under a
*new* sequencia (the simulator writes such a copy when it serves the original, committing within
L). A copy read above W moves its id's window entry up to the copy's sequencia, so the id stays
remembered while any sequencia it was read under can still be served. An id leaving the window
is then kept in ``recent`` until a sweep that started at least ``L + margin`` after it left has
completed: every serve happened before it left, so any copy written then was visible to that
sweep, which read it and skipped it (or it lay below W and was read and skipped earlier). A copy
published later than that is delivered again; the inbox's unique ``id_evento`` is the final
guard.

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
- Memory: window and recent hold only what was read in the last L seconds or so;
  ``max_window`` caps each anyway (forgetting costs at most a repeat, which the store absorbs;
  W is computed before anything is forgotten, and forgetting only lowers later candidates).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

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

_K = TypeVar("_K")
_V = TypeVar("_V")

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
    #: (the highest sequencia each id was read under, and when that one was first seen)
    window: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    #: ``{id_evento: (bound, first_seen_at)}`` of items without a readable sequencia; ``bound``
    #: is the first sequencia read after the item (None while unknown)
    unplaced: Mapping[str, tuple[int | None, float]] = field(default_factory=dict)
    #: ``{id_evento: left_at}`` of ids that left the window, kept while a re-delivery of
    #: theirs may still appear (see the module docstring)
    recent: Mapping[str, float] = field(default_factory=dict)
    #: the sweep under way, or None between sweeps
    sweep: Sweep | None = None

    def __repr__(self) -> str:
        sweep = "none" if self.sweep is None else f"at {self.sweep.position}"
        return (
            f"FeedCursor(watermark={self.watermark}, window={len(self.window)} ids, "
            f"recent={len(self.recent)}, unplaced={len(self.unplaced)}, sweep={sweep})"
        )

    def seen(self, id_evento: str) -> bool:
        """True when the item was already delivered and is still remembered."""
        return id_evento in self.window or id_evento in self.unplaced or id_evento in self.recent

    def to_json(self) -> str:
        """A compact JSON text; :meth:`from_json` rebuilds an equal cursor."""
        sweep = self.sweep
        data: dict[str, Any] = {
            "version": CURSOR_VERSION,
            "watermark": self.watermark,
            "window": [[i, s, t] for i, (s, t) in sorted(self.window.items(), key=_by_seq)],
            "unplaced": [[i, b, t] for i, (b, t) in sorted(self.unplaced.items())],
            "recent": [[i, t] for i, t in sorted(self.recent.items())],
            "sweep": None
            if sweep is None
            else {"position": sweep.position, "started_at": sweep.started_at, "lag": sweep.lag},
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FeedCursor:
        """Rebuild a cursor saved by :meth:`to_json`; StoreError naming the part when unreadable."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != CURSOR_VERSION:
                raise ValueError(f"not a version {CURSOR_VERSION} cursor")
            raw_sweep = data["sweep"]
            return cls(
                watermark=_int(data["watermark"]),
                window={_id(i): (_int(s), _time(t)) for i, s, t in data["window"]},
                unplaced={
                    _id(i): (None if b is None else _int(b), _time(t))
                    for i, b, t in data["unplaced"]
                },
                recent={_id(i): _time(t) for i, t in data["recent"]},
                sweep=None
                if raw_sweep is None
                else Sweep(
                    position=_int(raw_sweep["position"]),
                    started_at=_time(raw_sweep["started_at"]),
                    lag=_int(raw_sweep["lag"]),
                ),
            )
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


class _Pass:
    """The mutable state of one poll, built from a cursor and turned back into one."""

    def __init__(self, cursor: FeedCursor) -> None:
        self.old = cursor
        self.window = dict(cursor.window)
        self.unplaced = dict(cursor.unplaced)
        self.recent = dict(cursor.recent)
        self.items: list[models.FeedItem] = []
        self.duplicates = 0
        self._awaiting_bound: list[str] = []

    def _known(self, key: str) -> bool:
        return key in self.window or key in self.unplaced or key in self.recent

    def take(self, item: models.FeedItem, seen_at: float) -> None:
        """Deliver ``item`` unless it is remembered; remember where it was seen."""
        key, sequencia = item.id_evento, item.sequencia
        if sequencia is None:
            self._take_unplaced(item, seen_at)
            return
        for waiting in self._awaiting_bound:  # those sit below this sequencia
            self.unplaced[waiting] = (sequencia, self.unplaced[waiting][1])
        self._awaiting_bound.clear()
        if self._known(key):
            self.duplicates += 1
            placed = self.window.get(key)
            if sequencia > self.old.watermark and (placed is None or sequencia > placed[0]):
                # a copy under a new sequencia: remember the id while that one can be served
                self.window[key] = (sequencia, seen_at)
                self.recent.pop(key, None)
            return
        self.items.append(item)
        self.window[key] = (sequencia, seen_at)

    def _take_unplaced(self, item: models.FeedItem, seen_at: float) -> None:
        key = item.id_evento
        if key in self.window or key in self.recent:
            self.duplicates += 1
            return
        if key in self.unplaced:
            self.duplicates += 1
        else:
            self.items.append(item)
        # seen again: its bound is the first sequencia read after it in this sweep
        self.unplaced[key] = (None, self.unplaced.get(key, (None, seen_at))[1])
        self._awaiting_bound.append(key)

    def settle(
        self, *, reach: float, settled_by: float, ended_at: float, forget_by: float | None
    ) -> int:
        """Compute W' (module docstring) and drop what it settles; returns W'."""
        candidates = [s for s, t in self.window.values() if t <= settled_by and s <= reach]
        watermark = max([self.old.watermark, *candidates])
        if forget_by is not None:  # a complete sweep began L + margin after these left
            self.recent = {k: t for k, t in self.recent.items() if t > forget_by}
        for key, (sequencia, _) in list(self.window.items()):
            if sequencia <= watermark:
                del self.window[key]
                self.recent[key] = ended_at
        self.unplaced = {
            k: (bound, t)
            for k, (bound, t) in self.unplaced.items()
            if (bound is None and t >= ended_at - _UNPLACED_TTL)
            or (bound is not None and bound > watermark)
        }
        return watermark


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
        reader's clock (epoch seconds) is read before the sweep and after each page. Errors of
        the source (``SigrcUnavailable``, ``SigrcAuthError``, ...) propagate and nothing is
        lost: poll again with the same cursor.
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
        state = _Pass(cursor)
        pages = 0
        while True:
            page = self._source.fetch_events(apos=position, limite=self._page_size)
            pages += 1
            seen_at = self._clock() if now is None else now
            lag = max(lag, page.atraso_maximo_segundos)
            for item in page.items:
                state.take(item, seen_at)
            position = self._next_position(page, position)
            complete = not page.ha_mais
            if complete or (self._max_pages is not None and pages >= self._max_pages):
                break
        ended_at = self._clock() if now is None else now
        watermark = state.settle(
            # unless the sweep is complete, W' counts only what its pages covered
            reach=math.inf if complete else position,
            settled_by=started_at - lag - self._margin,
            # an id that left the window before this sweep began, by L + margin, is safe now
            forget_by=started_at - lag - self._margin if complete else None,
            ended_at=ended_at,
        )
        sweep = None if complete else Sweep(position=position, started_at=started_at, lag=lag)
        next_cursor = FeedCursor(
            watermark=watermark,
            window=self._capped(state.window, "window"),
            unplaced=state.unplaced,
            recent=self._capped(state.recent, "recent"),
            sweep=sweep,
        )
        if state.items or watermark != cursor.watermark:
            log.info(
                "SIGRC feed: %d new, %d repeated, watermark %d→%d, window %d%s",
                len(state.items),
                state.duplicates,
                cursor.watermark,
                watermark,
                len(next_cursor.window),
                "" if complete else ", more to read",
            )
        return FeedBatch(state.items, next_cursor, complete, pages, state.duplicates, lag)

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

    def _capped(self, entries: dict[_K, _V], what: str) -> dict[_K, _V]:
        if len(entries) <= self._max_window:
            return entries
        # forgetting the oldest entries can only cause a repeat (the store absorbs it), never a
        # loss: W' is already computed, and later ones only lose low candidates
        kept = sorted(entries.items(), key=_age)[-self._max_window :]
        log.warning(
            "SIGRC feed %s over %d entries: forgetting the %d oldest (repeats possible)",
            what,
            self._max_window,
            len(entries) - self._max_window,
        )
        return dict(kept)


def _age(entry: tuple[Any, Any]) -> Any:
    """Sort key, oldest first: window entries by sequencia, recent ids by when they left."""
    key, value = entry
    return (value[0], key) if isinstance(value, tuple) else (value, key)
