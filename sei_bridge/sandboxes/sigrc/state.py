"""Everything the SIGRC simulator knows, and every hazard it plays, behind one lock.

- The **event log**: events get their ``sequencia`` when written and become visible after a
  seeded commit lag (at most ``lag_seconds``); a page never shows an event before its time, so
  a lower ``sequencia`` can appear after higher ones were served, as the contract warns.
- **Writing over time**: loaded traffic is written all at once or at ``write_rate`` events per
  second. Writes are caught up lazily from the clock whenever the state is read, so a manual
  clock makes schedules exact and no background thread is needed.
- **Hazards**, random and seeded (``SimulatorConfig``) or on purpose (:meth:`fail_next`,
  :meth:`duplicate`, :meth:`corrupt_attachment`, :meth:`cut_attachments_short`,
  ``write_event(delay=...)``).
- **Inspection** for tests: what was written and when it became visible, how often each event
  was served, every PUT of ``processo-sei``, overloads and corrupted attachments served.

Attachment bytes are rendered on demand from their spec, never stored.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import random
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sei_bridge.sandboxes.sigrc.config import Clock, SimulatorConfig, real_clock
from sei_bridge.sandboxes.sigrc.records import (
    EventMeta,
    ProcessoSeiPut,
    RequestRecord,
    meta_of,
)
from sei_bridge.sandboxes.traffic import GeneratedFile, GeneratedRequest, HardCase

__all__ = ["Attachment", "EventsPage", "Overload", "SimulatorState", "WrittenEvent"]

_OVERLOAD_STATUSES = (429, 503)


@dataclass(frozen=True, slots=True)
class WrittenEvent:
    """One entry of the event log."""

    sequencia: int
    id_evento: str | None
    tipo: str | None
    protocolo: str | None
    orgao: str | None
    written_at: float  #: simulator clock when it got its sequencia
    visible_at: float  #: simulator clock from which the feed serves it
    duplicate_of: int | None  #: the original's sequencia, for a re-delivery
    body: bytes = field(repr=False)  #: the JSON served, ``sequencia`` included
    intact: bytes | None = field(default=None, repr=False)  #: see GeneratedEvent.intact

    def payload(self) -> dict[str, Any]:
        """The event as served, decoded."""
        result: dict[str, Any] = json.loads(self.body)
        return result


@dataclass(frozen=True, slots=True)
class EventsPage:
    """One answer of ``GET /v1/eventos``."""

    events: tuple[WrittenEvent, ...]
    ha_mais: bool
    atraso_maximo_segundos: int

    @property
    def ultima_sequencia(self) -> int | None:
        return self.events[-1].sequencia if self.events else None

    def to_json_bytes(self) -> bytes:
        """The response body, assembled from the stored event bodies without re-encoding."""
        last = self.ultima_sequencia
        return b"".join(
            (
                b'{"eventos":[',
                b",".join(e.body for e in self.events),
                b'],"ultima_sequencia":',
                b"null" if last is None else b"%d" % last,
                b',"ha_mais":',
                b"true" if self.ha_mais else b"false",
                b',"atraso_maximo_segundos":%d}' % self.atraso_maximo_segundos,
            )
        )


@dataclass(frozen=True, slots=True)
class Overload:
    """A refusal to play instead of an answer."""

    status: int  #: 429 or 503
    retry_after: int  #: seconds, sent as Retry-After


@dataclass(frozen=True, slots=True)
class Attachment:
    """Bytes to serve for an attachment (wrong ones while it is being corrupted)."""

    tipo_conteudo: str
    content: bytes = field(repr=False)
    corrupted: bool
    #: serve only the first half of ``content`` under its full Content-Length, then close
    short: bool = False


@dataclass(slots=True)
class _Pending:
    due: float
    template: bytes  #: the event JSON without ``sequencia``
    intact: bytes | None
    meta: EventMeta
    effect: EventMeta  #: what the write does to the request (from ``intact`` when present)
    files: tuple[GeneratedFile, ...]


@dataclass(slots=True)
class _StoredAttachment:
    tipo_conteudo: str
    file: GeneratedFile | None
    data: bytes | None
    corrupt_left: int
    fetches: int = 0


def _encode(payload: Mapping[str, Any]) -> bytes:
    # a lone surrogate (which JSON can carry, and a hostile test writes) can only sit inside a
    # string, where backslashreplace writes it as the JSON escape \udXXX that SIGRC would send
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


def _with_sequencia(sequencia: int, template: bytes) -> bytes:
    if template == b"{}":
        return b'{"sequencia":%d}' % sequencia
    return b'{"sequencia":%d,' % sequencia + template[1:]


def _without_sequencia(body: bytes, sequencia: int) -> bytes:
    prefix = b'{"sequencia":%d' % sequencia
    rest = body[len(prefix) :]
    return b"{}" if rest == b"}" else b"{" + rest[1:]


def _corrupt(content: bytes) -> bytes:
    if not content:
        return b"\x00"
    wrong = bytearray(content)
    for position in {0, len(wrong) // 2, len(wrong) - 1}:
        wrong[position] ^= 0xFF
    return bytes(wrong)


class SimulatorState:
    """The simulator's data and hazards; thread-safe. See the module docstring."""

    def __init__(self, config: SimulatorConfig | None = None, *, clock: Clock | None = None):
        self.config = config or SimulatorConfig()
        self.clock: Clock = clock or real_clock
        self._lock = threading.RLock()
        self._rng = random.Random(f"sigrc-simulator:{self.config.seed}")
        self._log: list[WrittenEvent] = []
        self._by_orgao: dict[str, list[int]] = {}
        self._pending: deque[_Pending] = deque()
        self._records: dict[str, RequestRecord] = {}
        self._sorted: list[str] | None = None
        self._hard_cases: dict[str, frozenset[HardCase]] = {}
        self._attachments: dict[tuple[str, str], _StoredAttachment] = {}
        self._served: Counter[str] = Counter()
        self._duplicated: set[int] = set()
        self._failures: deque[Overload] = deque()
        self._overloads: Counter[int] = Counter()
        self._corrupt_served = 0
        #: attachment fetches still to be cut short; None: every one
        self._short_left: int | None = 0

    # --- writing ---------------------------------------------------------------------------

    def load(self, requests: Iterable[GeneratedRequest]) -> int:
        """Queue the events of ``requests`` in the order they happened (``ocorrido_em``) and
        write them: all now, or at ``config.write_rate`` per second from now. Returns how many
        events were loaded."""
        items: list[tuple[dt.datetime, int, int, _Pending]] = []
        hard_cases: dict[str, frozenset[HardCase]] = {}
        for request in requests:  # encoding happens here, outside the lock
            hard_cases[request.protocolo] = request.hard_cases
            for position, event in enumerate(request.events):
                pending = self._pending_of(event.payload, event.intact, event.files)
                items.append((event.ocorrido_em, request.index, position, pending))
        items.sort(key=lambda item: item[:3])
        with self._lock:
            self._hard_cases.update(hard_cases)
            now = self.clock()
            start = self._pending[-1].due if self._pending else now
            rate = self.config.write_rate
            for k, (*_, pending) in enumerate(items):
                pending.due = now if rate is None else start + (k + 1) / rate
                self._pending.append(pending)
            count = len(items)
            items.clear()  # each pending is freed as soon as it is written
            self._catch_up(now)
        return count

    def add_request(
        self,
        request: GeneratedRequest,
        *,
        delay: float | None = None,
        lost: Iterable[int] = (),
    ) -> list[WrittenEvent]:
        """Write every event of ``request`` now, in order (``delay``: commit lag of each, or
        None for the configured random lag). The events at the positions in ``lost`` are in
        SIGRC's records (its list and snapshots show their effect) but the feed never serves
        them: a lost event, for reconciliation to find."""
        gone = set(lost)
        with self._lock:
            self._hard_cases[request.protocolo] = request.hard_cases
            return [
                self._write(
                    self._pending_of(e.payload, e.intact, e.files), delay=delay, lost=k in gone
                )
                for k, e in enumerate(request.events)
            ]

    def write_event(
        self,
        raw: Mapping[str, Any],
        *,
        delay: float | None = None,
        orgao: str | None = None,
        intact: Mapping[str, Any] | None = None,
        lost: bool = False,
    ) -> WrittenEvent:
        """Write any dict as the next event (it may be malformed on purpose; a ``sequencia``
        in it is replaced). ``orgao`` files it under an órgão when the event does not say;
        ``intact`` is the well-formed version SIGRC's records hold, if ``raw`` is broken;
        ``lost``: SIGRC's records take its effect but the feed never serves it."""
        payload = {k: v for k, v in raw.items() if k != "sequencia"}
        pending = self._pending_of(payload, intact, ())
        with self._lock:
            return self._write(pending, delay=delay, orgao=orgao, lost=lost)

    def add_attachment(
        self,
        protocolo: str,
        id_anexo: str,
        content: bytes,
        *,
        tipo_conteudo: str = "application/octet-stream",
    ) -> None:
        """Make ``content`` downloadable as ``id_anexo`` of ``protocolo``."""
        with self._lock:
            self._attachments[(protocolo, id_anexo)] = _StoredAttachment(
                tipo_conteudo, None, bytes(content), 0
            )

    def _pending_of(
        self,
        payload: Mapping[str, Any],
        intact: Mapping[str, Any] | None,
        files: tuple[GeneratedFile, ...],
    ) -> _Pending:
        meta = meta_of(payload)
        effect = meta_of(intact) if intact is not None else meta
        encoded_intact = _encode(intact) if intact is not None else None
        return _Pending(0.0, _encode(payload), encoded_intact, meta, effect, files)

    def _lag(self) -> float:
        lag = self.config.lag_seconds
        if lag > 0 and self._rng.random() < self.config.lagged_fraction:
            return self._rng.uniform(0.0, lag)
        return 0.0

    def _write(
        self,
        pending: _Pending,
        *,
        delay: float | None = None,
        orgao: str | None = None,
        written_at: float | None = None,
        duplicate_of: int | None = None,
        lost: bool = False,
    ) -> WrittenEvent:
        if delay is not None and not 0 <= delay <= self.config.lag_seconds:
            raise ValueError(
                f"delay {delay} is outside the contract: use 0 <= delay <= lag_seconds "
                f"({self.config.lag_seconds})"
            )
        sequencia = len(self._log) + 1
        at = self.clock() if written_at is None else written_at
        meta, protocolo = pending.meta, pending.meta.protocolo
        record = self._records.get(protocolo) if protocolo is not None else None
        orgao = pending.effect.orgao or (record.orgao if record else None) or orgao
        event = WrittenEvent(
            sequencia=sequencia,
            id_evento=meta.id_evento,
            tipo=meta.tipo,
            protocolo=protocolo,
            orgao=orgao,
            written_at=at,
            # a lost event is never visible: the feed skips it like one not committed yet
            visible_at=math.inf if lost else at + (self._lag() if delay is None else delay),
            duplicate_of=duplicate_of,
            body=_with_sequencia(sequencia, pending.template),
            intact=pending.intact,
        )
        self._log.append(event)
        if orgao is not None:
            self._by_orgao.setdefault(orgao, []).append(sequencia)
        if protocolo is None or duplicate_of is not None:
            return event
        if record is None:
            record = RequestRecord(protocolo, orgao=orgao)
            record.hard_cases = self._hard_cases.get(protocolo, frozenset())
            self._records[protocolo] = record
            self._sorted = None
        record.apply(pending.effect, sequencia)
        for file in pending.files:
            corrupt = self.config.corrupt_attachment_rate
            times = self.config.corrupt_times if corrupt and self._rng.random() < corrupt else 0
            self._attachments[(protocolo, file.id_anexo)] = _StoredAttachment(
                file.tipo_conteudo, file, None, times
            )
        return event

    def _catch_up(self, now: float) -> None:
        while self._pending and self._pending[0].due <= now:
            pending = self._pending.popleft()
            self._write(pending, written_at=pending.due)

    # --- hazards on purpose ----------------------------------------------------------------

    def duplicate(self, sequencia: int, *, delay: float = 0.0) -> WrittenEvent:
        """Deliver event ``sequencia`` again: same body and id_evento, a new sequencia."""
        with self._lock:
            return self._duplicate(self._log[sequencia - 1], delay)

    def _duplicate(self, original: WrittenEvent, delay: float | None) -> WrittenEvent:
        self._duplicated.add(original.sequencia)
        template = _without_sequencia(original.body, original.sequencia)
        meta = EventMeta(original.id_evento, original.tipo, original.protocolo)
        pending = _Pending(0.0, template, original.intact, meta, meta, ())
        return self._write(
            pending, delay=delay, orgao=original.orgao, duplicate_of=original.sequencia
        )

    def fail_next(
        self, count: int = 1, *, status: int = 503, retry_after: int | None = None
    ) -> None:
        """Refuse the next ``count`` authorized calls with ``status`` (429 or 503)."""
        if status not in _OVERLOAD_STATUSES:
            raise ValueError(f"status {status} is not an overload status: use 429 or 503")
        seconds = self.config.retry_after_seconds if retry_after is None else retry_after
        with self._lock:
            self._failures.extend(Overload(status, seconds) for _ in range(count))

    def corrupt_attachment(self, protocolo: str, id_anexo: str, *, times: int = 1) -> None:
        """Serve wrong bytes for this attachment on its next ``times`` fetches."""
        with self._lock:
            stored = self._attachments.get((protocolo, id_anexo))
            if stored is None:
                raise KeyError(f"no attachment {id_anexo!r} in {protocolo!r}")
            stored.corrupt_left = times

    # --- what the HTTP layer serves --------------------------------------------------------

    def cut_attachments_short(self, count: int | None = None) -> None:
        """Serve the next ``count`` attachment fetches (None: every one from now on; 0: none)
        with only half their bytes under their full Content-Length, as a server that closes
        the body early does."""
        with self._lock:
            self._short_left = count

    def take_overload(self) -> Overload | None:
        """The refusal to play for this call, if any (forced ones first, then random)."""
        with self._lock:
            if self._failures:
                overload: Overload | None = self._failures.popleft()
            elif self.config.overload_rate and self._rng.random() < self.config.overload_rate:
                status = self._rng.choice(_OVERLOAD_STATUSES)
                overload = Overload(status, self.config.retry_after_seconds)
            else:
                overload = None
            if overload is not None:
                self._overloads[overload.status] += 1
            return overload

    def events_page(
        self, *, apos: int = 0, limite: int = 100, orgao: str | None = None
    ) -> EventsPage:
        """Visible events with ``sequencia > apos`` (of ``orgao``'s requests), in order."""
        with self._lock:
            now = self.clock()
            self._catch_up(now)
            if orgao is None:
                candidates: Iterable[int] = range(apos + 1, len(self._log) + 1)
            else:
                numbers = self._by_orgao.get(orgao, [])
                candidates = numbers[bisect.bisect_right(numbers, apos) :]
            page: list[WrittenEvent] = []
            ha_mais = False
            for sequencia in candidates:
                event = self._log[sequencia - 1]
                if event.visible_at > now:
                    continue
                if len(page) == limite:
                    ha_mais = True
                    break
                page.append(event)
            for event in page:
                self._served[self._served_key(event)] += 1
                rate = self.config.duplicate_rate
                if (
                    rate
                    and event.duplicate_of is None
                    and event.sequencia not in self._duplicated
                    and self._rng.random() < rate
                ):
                    self._duplicate(event, None)
            return EventsPage(tuple(page), ha_mais, self.config.atraso_maximo_segundos)

    @staticmethod
    def _served_key(event: WrittenEvent) -> str:
        return event.id_evento if event.id_evento is not None else f"#{event.sequencia}"

    def snapshot(self, protocolo: str) -> dict[str, Any] | None:
        """The request's current full state (``Solicitacao`` with interacoes), or None when
        SIGRC has no registered request of that protocolo."""
        with self._lock:
            self._catch_up(self.clock())
            record = self._records.get(protocolo)
            if record is None or not record.registered:
                return None
            bodies = [self._log[s - 1].intact or self._log[s - 1].body for s in record.sequencias]
            return record.snapshot_json(bodies)

    def summaries(
        self, *, orgao: str, since: dt.datetime, pagina: int = 1, limite: int = 100
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of ``SolicitacaoResumo`` (by protocolo) of ``orgao``'s requests updated at
        or after ``since``, and the number of pages."""
        with self._lock:
            self._catch_up(self.clock())
            if self._sorted is None:
                self._sorted = sorted(self._records)
            matching = [
                record
                for record in (self._records[p] for p in self._sorted)
                if record.registered
                and record.orgao == orgao
                and record.atualizada_em is not None
                and record.atualizada_em >= since
            ]
            pages = max(1, -(-len(matching) // limite))
            chosen = matching[(pagina - 1) * limite : pagina * limite]
            return [record.summary_json() for record in chosen], pages

    def fetch_attachment(self, protocolo: str, id_anexo: str) -> Attachment | None:
        """The bytes to serve (wrong ones while corruption lasts), or None if unknown."""
        with self._lock:
            self._catch_up(self.clock())
            stored = self._attachments.get((protocolo, id_anexo))
            if stored is None:
                return None
            stored.fetches += 1
            corrupted = stored.corrupt_left > 0
            if corrupted:
                stored.corrupt_left -= 1
                self._corrupt_served += 1
            short = self._short_left is None or self._short_left > 0
            if self._short_left:
                self._short_left -= 1
        # Rendering a few megabytes takes milliseconds: not under the lock.
        content = stored.data if stored.file is None else stored.file.content()
        assert content is not None
        return Attachment(
            stored.tipo_conteudo, _corrupt(content) if corrupted else content, corrupted, short
        )

    def record_processo_sei(
        self, protocolo: str, numero_processo: str, link_acesso: str | None
    ) -> int:
        """Apply a ``PUT .../processo-sei``; the HTTP status to answer (204, 404 or 409)."""
        with self._lock:
            self._catch_up(self.clock())
            record = self._records.get(protocolo)
            if record is None or not record.registered:
                return 404
            return record.record_put(self.clock(), numero_processo, link_acesso)

    def amend_request(
        self,
        protocolo: str,
        *,
        processo_sei: str | object | None = ...,
        prazo_em: dt.datetime | object | None = ...,
    ) -> None:
        """Change SIGRC's record of a request by hand, without an event (an attendant
        correcting the SEI number, a unit moving the deadline): the list and the snapshot show
        it, the feed does not. ``...`` leaves a field as it is."""
        with self._lock:
            self._catch_up(self.clock())
            record = self._records.get(protocolo)
            if record is None or not record.registered:
                raise KeyError(f"no registered request {protocolo}")
            if processo_sei is not ...:
                assert processo_sei is None or isinstance(processo_sei, str)
                record.processo_sei = processo_sei
            if prazo_em is not ...:
                assert prazo_em is None or isinstance(prazo_em, dt.datetime)
                record.prazo_em = prazo_em

    # --- inspection ------------------------------------------------------------------------

    def now(self) -> float:
        """The simulator's clock."""
        return self.clock()

    @property
    def written(self) -> list[WrittenEvent]:
        """Every event written so far, by sequencia (re-deliveries included)."""
        with self._lock:
            self._catch_up(self.clock())
            return list(self._log)

    def event(self, sequencia: int) -> WrittenEvent:
        with self._lock:
            return self._log[sequencia - 1]

    def events_of(self, protocolo: str) -> list[WrittenEvent]:
        """The events written for ``protocolo``, re-deliveries included."""
        with self._lock:
            self._catch_up(self.clock())
            return [e for e in self._log if e.protocolo == protocolo]

    @property
    def pending_count(self) -> int:
        """Loaded events not written yet (``write_rate``)."""
        with self._lock:
            self._catch_up(self.clock())
            return len(self._pending)

    def served_count(self, id_evento: str) -> int:
        """How many times the event was served (re-deliveries and re-reads included)."""
        with self._lock:
            return self._served[id_evento]

    @property
    def served(self) -> dict[str, int]:
        with self._lock:
            return dict(self._served)

    @property
    def overloads(self) -> dict[int, int]:
        """How many 429 and 503 answers were served."""
        with self._lock:
            return {status: self._overloads[status] for status in _OVERLOAD_STATUSES}

    @property
    def corrupt_served(self) -> int:
        with self._lock:
            return self._corrupt_served

    def attachment_fetches(self, protocolo: str, id_anexo: str) -> int:
        with self._lock:
            stored = self._attachments.get((protocolo, id_anexo))
            return stored.fetches if stored else 0

    def protocolos(self) -> list[str]:
        """Every protocolo with a written event, sorted."""
        with self._lock:
            self._catch_up(self.clock())
            return sorted(self._records)

    def protocolos_with(self, case: HardCase) -> list[str]:
        """Protocolos of loaded requests that carry a hard case, sorted."""
        with self._lock:
            return sorted(p for p, cases in self._hard_cases.items() if case in cases)

    def request(self, protocolo: str) -> dict[str, Any] | None:
        """The request's summary (``SolicitacaoResumo``) plus what only tests see."""
        with self._lock:
            self._catch_up(self.clock())
            record = self._records.get(protocolo)
            if record is None:
                return None
            return {
                **record.summary_json(),
                "registered": record.registered,
                "orgao": record.orgao,
                "link_acesso": record.link_acesso,
                "hard_cases": sorted(record.hard_cases),
            }

    def processo_sei(self, protocolo: str) -> str | None:
        with self._lock:
            record = self._records.get(protocolo)
            return record.processo_sei if record else None

    def puts(self, protocolo: str) -> list[ProcessoSeiPut]:
        """Every ``PUT .../processo-sei`` of ``protocolo``, in order, with its answer."""
        with self._lock:
            record = self._records.get(protocolo)
            return list(record.puts) if record else []
