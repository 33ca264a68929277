"""One planning pass: settled inbox events → the planner's decisions → the store.

The I/O around the pure :mod:`sei_bridge.engine.planner`: read each settled event (in
``sequencia`` order), the request's row and actions, fetch SIGRC's snapshot of the request when
the planner asks for it, and write the decision (plan, or quarantine) in one store transaction
per event. Events replayed from quarantine are parsed again first (a fixed SIGRC record, or a
newer version of the parser, may now accept them).

SIGRC being unavailable for a snapshot stops the pass at that event and leaves it PENDING:
events are planned in order, and a later pass (or the next run) takes it up again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sei_bridge import errors, mapping
from sei_bridge.engine import outcomes, planner, ports
from sei_bridge.sigrc import models, parsing
from sei_bridge.store.types import ActionKind, InboxEvent, InboxState

__all__ = ["PassResult", "PlanningPass"]

log = logging.getLogger(__name__)

# outcomes.classify needs a kind; SIGRC errors classify the same for every kind
_KIND_FOR_REASONS = ActionKind.OPEN


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one pass did."""

    #: events planned, quarantined or skipped
    events: int
    #: ledger actions inserted
    actions: int
    #: True when the pass stopped early because SIGRC could not be asked for a snapshot
    blocked: bool = False


class PlanningPass:
    """Plans settled events; see the module doc."""

    def __init__(
        self, *, store: ports.LedgerStore, sigrc: ports.SigrcGateway, mappings: mapping.Mappings
    ) -> None:
        self._store = store
        self._sigrc = sigrc
        self.mappings = mappings

    def run(self, *, limit: int) -> PassResult:
        """Plan up to ``limit`` settled events."""
        handled = inserted = 0
        for event in self._store.settled_events(limit):
            try:
                inserted += self._plan(event)
            except errors.SigrcUnavailable as exc:
                log.warning(
                    "planning paused at event %s of %s: SIGRC unavailable for a snapshot: %s",
                    event.id_evento,
                    event.protocolo,
                    exc,
                )
                return PassResult(handled, inserted, blocked=True)
            handled += 1
        return PassResult(handled, inserted)

    def _plan(self, event: InboxEvent) -> int:
        evento = self._evento(event)
        if evento is None:
            return 0
        protocolo = evento.protocolo
        request, actions = self._store.request_ledger(protocolo)
        interactions = {a.source_id for a in actions if a.kind is ActionKind.INTERACAO_DOC}
        history = planner.History.of(
            request,
            actions,
            missing_before=evento.tipo is models.TipoEvento.INTERACAO
            and self._missing_before(event, interactions),
        )
        decision = planner.plan_event(evento, history, self.mappings)
        if isinstance(decision, planner.NeedSnapshot):
            log.info("request %s: reading SIGRC's snapshot (%s)", protocolo, decision.why)
            try:
                snapshot = self._sigrc.get_solicitacao(protocolo)
            except (errors.SigrcNotFound, errors.SigrcInvalidResponse) as exc:
                outcome = outcomes.classify(exc, _KIND_FOR_REASONS)
                assert isinstance(outcome, outcomes.Quarantine)
                self._store.quarantine_event(event.id, outcome.reason, protocolo=protocolo)
                return 0
            if snapshot.protocolo != protocolo:
                self._store.quarantine_event(
                    event.id,
                    outcomes.reason(
                        "sigrc-invalid",
                        f"SIGRC answered another request for {protocolo}",
                        "report it to the SIGRC team, then run sei-bridge replay "
                        "--reason sigrc-invalid",
                    ),
                    protocolo=protocolo,
                )
                return 0
            decision = planner.plan_event(evento, history, self.mappings, snapshot=snapshot)
        if isinstance(decision, planner.Quarantine):
            log.warning(
                "event %s of %s quarantined: %s", event.id_evento, protocolo, decision.reason
            )
            self._store.quarantine_event(event.id, decision.reason, protocolo=decision.protocolo)
            return 0
        if isinstance(decision, planner.NeedSnapshot):  # pragma: no cover - planner contract
            raise AssertionError("the planner asked for a snapshot it was given")
        planned = self._store.plan_event(
            event.id, request=decision.request, actions=decision.actions
        )
        log.debug("event %s of %s planned: %d action(s)", event.id_evento, protocolo, len(planned))
        return len(planned)

    def _missing_before(self, event: InboxEvent, planned: set[str]) -> bool:
        """True when an earlier interação of the request was set aside (malformed) and its
        interaction is not planned yet."""
        if event.sequencia is None or event.protocolo is None:
            return False
        set_aside = self._store.set_aside_interacoes(event.protocolo, before=event.sequencia)
        return any(id_interacao not in planned for id_interacao in set_aside)

    def _evento(self, event: InboxEvent) -> models.Evento | None:
        """The event's Evento; None (after setting it aside) when it is not a plannable one."""
        try:
            evento = event.evento()
        except errors.StoreError as exc:
            self._store.quarantine_event(
                event.id,
                outcomes.reason(
                    "corrupt-payload", str(exc), "restore the row, then run sei-bridge replay"
                ),
            )
            return None
        if evento is not None:
            return evento
        item = parsing.parse_event(dict(event.payload))
        if isinstance(item, models.Evento):
            return item
        if isinstance(item, models.UnknownEvent):
            self._store.mark_event(event.id, InboxState.SKIPPED, f"unknown tipo {item.tipo}")
            return None
        self._store.quarantine_event(event.id, item.error)
        return None
