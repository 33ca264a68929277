"""What became of one attempt at an action, and the one place where failures are classified.

An attempt (send, or probe) ends in exactly one :data:`Outcome`, which the dispatcher writes to
the ledger with the matching ``mark_*``. :func:`classify` turns an exception into an outcome
(invariant 4 of DESIGN.md):

- SEI or SIGRC did not get or did not process the request (not sent, infrastructure fault,
  overload) → :class:`Retry` with backoff;
- SEI got a non-idempotent request and did not answer → :class:`Uncertain`: probe first;
- SEI refused it (validation fault with SEI's own text), an attachment is refused or corrupt,
  SIGRC holds another process number → :class:`Quarantine` with a reason an operator can act on;
- a configuration problem (credentials, permissions, endpoint, mapping) →
  :class:`StopDispatching`: no item is at fault, so none is blamed, and the dispatcher stops.

Reasons read ``"<code>: <cause> | <fix>"``; the code is what ``sei-bridge replay --reason`` matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sei_bridge import errors
from sei_bridge.documents import REASON_SEPARATOR
from sei_bridge.engine.policy import CircuitOpenError
from sei_bridge.store.types import ActionKind

__all__ = [
    "IDEMPOTENT_KINDS",
    "ActionRefused",
    "Done",
    "NeedsPerson",
    "Outcome",
    "Quarantine",
    "Released",
    "Retry",
    "StopDispatching",
    "Uncertain",
    "classify",
    "reason",
]

#: Kinds whose call is safe to repeat blindly: SIGRC's PUT is idempotent, so sending it again is
#: its own probe. Every other kind changes SEI (even concluir/reabrir, whose repeat SEI refuses)
#: and is probed after an attempt whose outcome is unknown.
IDEMPOTENT_KINDS = frozenset({ActionKind.SIGRC_PROCESSO})


def reason(code: str, cause: str, fix: str) -> str:
    """A quarantine reason: ``"code: cause | fix"`` (one line)."""
    one_line = " ".join(cause.split())
    return f"{code}: {one_line}{REASON_SEPARATOR}{fix}"


class ActionRefused(errors.SeiBridgeError):
    """An executor decided, before or instead of calling SEI, that the action cannot be done
    as it stands (an attachment type SEI does not accept, a service no longer mapped).
    ``reason`` is the quarantine reason."""

    def __init__(self, reason_text: str) -> None:
        super().__init__(reason_text)
        self.reason = reason_text


@dataclass(frozen=True, slots=True)
class Done:
    """The effect exists in SEI (or SIGRC); ``result`` holds its ids."""

    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Retry:
    """Nothing happened: send again later. ``at_least``: a server's Retry-After (seconds);
    ``until``: an open circuit's end (POSIX time), which replaces the backoff; ``immediate``:
    due now (a probe just proved the effect absent)."""

    error: str
    at_least: float = 0.0
    until: float | None = None
    immediate: bool = False


@dataclass(frozen=True, slots=True)
class Uncertain:
    """Sent, no answer (or a probe that could not finish): probe before anything else."""

    error: str


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Refused for good until an operator fixes the cause and replays it."""

    reason: str


@dataclass(frozen=True, slots=True)
class NeedsPerson:
    """Probing could not prove the effect present or absent; ``evidence`` is for the person."""

    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StopDispatching:
    """A configuration problem: stop, and surface ``error``. The action is rescheduled as it
    was: PENDING, or UNCERTAIN when the problem hit a probe (nothing was proven)."""

    error: errors.ConfigurationError
    while_probing: bool = False


@dataclass(frozen=True, slots=True)
class Released:
    """Claimed but not run (the dispatcher was stopping): back to the ledger as it was, due
    now — still to be probed first if it needed a probe."""

    why: str


Outcome = Done | Retry | Uncertain | Quarantine | NeedsPerson | StopDispatching | Released


def _fault(exc: errors.SeiError) -> str:
    return exc.fault if exc.fault else str(exc)


def classify(exc: BaseException, kind: ActionKind, *, probing: bool = False) -> Outcome:
    """The outcome of an attempt at a ``kind`` action that raised ``exc``.

    ``probing``: the attempt was a probe (reads only). A probe that fails transiently leaves the
    action UNCERTAIN, never PENDING: only a probe that *finished* may prove an effect absent.
    Anything unexpected is treated as "the outcome is unknown" for non-idempotent kinds.
    """
    if isinstance(exc, errors.SigrcAuthError):
        # SIGRC refusing our token stops only what needs SIGRC: its PUTs wait, with backoff,
        # while SEI work goes on (the daemon reports the refusal: /readyz, a metric)
        return Uncertain(str(exc)) if probing else Retry(str(exc))
    if isinstance(exc, errors.ConfigurationError):
        return StopDispatching(exc)
    if isinstance(exc, ActionRefused):
        return Quarantine(exc.reason)
    if isinstance(exc, CircuitOpenError):
        if probing:
            return Uncertain(f"probe not sent: {exc}")
        return Retry(str(exc), until=exc.until)
    if isinstance(exc, errors.SeiOutcomeUnknownError):
        if probing or kind not in IDEMPOTENT_KINDS:
            return Uncertain(str(exc))
        return Retry(str(exc))
    if isinstance(exc, errors.SeiNotSentError | errors.SeiInfrastructureFault):
        return Uncertain(str(exc)) if probing else Retry(str(exc))
    if isinstance(exc, errors.SeiValidationFault):
        if probing:
            # SEI refused the probe's own reads (e.g. the process is gone): a person decides
            return NeedsPerson({"probe_refused_by_sei": _fault(exc), "operation": exc.operation})
        return Quarantine(
            reason(
                "sei-refused",
                f"SEI refused {exc.operation or 'the call'}: {_fault(exc)}",
                "fix the cause (mapping, SEI configuration or the data) and run "
                "sei-bridge replay --reason sei-refused",
            )
        )
    if isinstance(exc, errors.AttachmentIntegrityError):
        return Quarantine(
            reason(
                "attachment-integrity",
                "the attachment SIGRC serves never arrives whole or does not match its size "
                f"or sha256 ({exc})",
                "ask the SIGRC team to fix the file, then run sei-bridge replay "
                "--reason attachment-integrity",
            )
        )
    if isinstance(exc, errors.SigrcConflict):
        return Quarantine(
            reason(
                "sigrc-conflict",
                "SIGRC already records another SEI process for this request",
                "check which process is right with the SIGRC team, then run sei-bridge replay "
                "--reason sigrc-conflict",
            )
        )
    if isinstance(exc, errors.SigrcNotFound):
        return Quarantine(
            reason(
                "sigrc-not-found",
                f"SIGRC does not know what was asked ({exc})",
                "check the request in SIGRC, then run sei-bridge replay --reason sigrc-not-found",
            )
        )
    if isinstance(exc, errors.SigrcInvalidResponse):
        return Quarantine(
            reason(
                "sigrc-invalid",
                f"SIGRC answered off its contract at {exc.path or 'the body'}",
                "report it to the SIGRC team, then run sei-bridge replay --reason sigrc-invalid",
            )
        )
    if isinstance(exc, errors.SigrcUnavailable):
        at_least = exc.retry_after or 0.0
        return Uncertain(str(exc)) if probing else Retry(str(exc), at_least=at_least)
    if isinstance(exc, errors.SigrcError):
        return Uncertain(str(exc)) if probing else Retry(str(exc))
    text = f"unexpected {type(exc).__name__} (see the log)"
    if probing or kind not in IDEMPOTENT_KINDS:
        return Uncertain(text)
    return Retry(text)
