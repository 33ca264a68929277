"""One attempt at one action: probe or send, and the outcome.

The rule that keeps invariant 2 (at most one effect per action) through timeouts *and* crashes:
a non-idempotent action is sent only when nothing it may have done before is unaccounted for.
That is the case on its first attempt, and when its previous attempt ended with a recorded
"nothing happened" (a retry, or a probe that proved the effect absent). Otherwise — it is
UNCERTAIN, or a worker died mid-call and its lease expired, or it was replayed or resolved —
the prober asks SEI first.

Which attempt ended how is read from ``last_error``: every retry and every uncertain mark is
written as ``"attempt N: ..."`` with the attempt's number (``Action.attempts``, which each claim
increments). A claim whose previous attempt left no such line had an attempt that ended
without a mark.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from sei_bridge import errors
from sei_bridge.engine import executors, outcomes, probes
from sei_bridge.store.types import Action, ActionState, LedgerEntry

__all__ = ["ActionRunner", "attempt_error", "previous_attempt_recorded"]

log = logging.getLogger(__name__)

_ATTEMPT = re.compile(r"^attempt (\d+): ")


def attempt_error(action: Action, text: str) -> str:
    """``last_error`` for an attempt that ended in a retry or UNCERTAIN."""
    return f"attempt {action.attempts}: {text}"


def previous_attempt_recorded(action: Action) -> bool:
    """True when the attempt before this claim ended with a recorded mark (or there was none)."""
    if action.attempts <= 1:
        return True
    match = _ATTEMPT.match(action.last_error or "")
    return match is not None and int(match.group(1)) == action.attempts - 1


class ActionRunner:
    """Turns a claimed action into an :data:`~sei_bridge.engine.outcomes.Outcome`.

    ``read_ledger(protocolo)`` returns the request's actions (``Store.ledger_of``); it is read
    once per attempt, for the process number and the attachments' standing.
    """

    def __init__(
        self,
        *,
        executor: executors.Executor,
        prober: probes.Prober,
        read_ledger: Callable[[str], Sequence[LedgerEntry]],
    ) -> None:
        self._executor = executor
        self._prober = prober
        self._read_ledger = read_ledger

    def must_probe(self, action: Action) -> bool:
        """Whether SEI must be asked before this action may be sent."""
        if action.state is ActionState.UNCERTAIN:
            return True
        return action.kind not in outcomes.IDEMPOTENT_KINDS and not previous_attempt_recorded(
            action
        )

    def run(
        self, action: Action, ledger_entries: Sequence[LedgerEntry] | None = None
    ) -> outcomes.Outcome:
        """Probe and/or send; never raises (an unexpected error is an outcome too).

        ``ledger_entries``: the request's ledger if the caller read it already (the dispatcher
        reads those of a claimed batch at once, after the claim); else it is read here."""
        try:
            if ledger_entries is None:
                ledger_entries = self._read_ledger(action.protocolo)
            ledger = executors.RequestLedger(tuple(ledger_entries))
        except errors.StoreError as exc:
            # nothing was sent; an action that needed a probe still needs it
            if self.must_probe(action):
                return outcomes.Uncertain(f"probe not run: {exc}")
            return outcomes.Retry(f"not run: {exc}")
        if self.must_probe(action):
            settled = self._probe(action, ledger)
            if settled is not None:
                return settled
        try:
            result = self._executor.execute(action, ledger)
        except Exception as exc:  # per-action boundary: every failure becomes an outcome
            return self._failed(action, exc, probing=False)
        return outcomes.Done(result)

    def _probe(self, action: Action, ledger: executors.RequestLedger) -> outcomes.Outcome | None:
        """The outcome of probing, or None: proven absent and the action may be sent now."""
        try:
            found = self._prober.probe(action, ledger)
        except Exception as exc:  # per-action boundary
            return self._failed(action, exc, probing=True)
        if isinstance(found, probes.Found):
            log.info(
                "action %d %s %s: probe found the effect in SEI",
                action.id,
                action.kind.value,
                action.protocolo,
            )
            return outcomes.Done(found.result)
        if isinstance(found, probes.Undecided):
            return outcomes.NeedsPerson(found.evidence)
        log.info(
            "action %d %s %s: probe proved it absent (%s)",
            action.id,
            action.kind.value,
            action.protocolo,
            found.how,
        )
        if action.state is ActionState.UNCERTAIN:
            # recorded as its own step (UNCERTAIN → PENDING) so the audit trail shows the proof
            return outcomes.Retry(f"proven absent: {found.how}; sending again", immediate=True)
        return None

    def _failed(self, action: Action, exc: Exception, *, probing: bool) -> outcomes.Outcome:
        outcome = outcomes.classify(exc, action.kind, probing=probing)
        if isinstance(outcome, outcomes.StopDispatching):
            outcome = replace(outcome, while_probing=probing)
        if isinstance(outcome, outcomes.Uncertain | outcomes.Retry) and not isinstance(
            exc, errors.SeiBridgeError
        ):
            log.error(
                "action %d %s %s: unexpected %s",
                action.id,
                action.kind.value,
                action.protocolo,
                type(exc).__name__,
                exc_info=exc,
            )
        return outcome
