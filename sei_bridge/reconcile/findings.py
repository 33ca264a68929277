"""What a reconciliation finds: the kinds of drift, one finding, and the whole report.

A finding names only what is not personal data: the protocolo, the SEI process and document
numbers, séries, units, ledger states, reason codes, counts and ages. Never a name, a CPF, an
address, a descrição (it can carry a file name) or a text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

__all__ = ["ADVICE", "FIXABLE", "Finding", "FindingKind", "Report", "Unchecked", "publish"]


class FindingKind(enum.StrEnum):
    """A kind of drift between SIGRC, the ledger and SEI (stable codes: filters use them)."""

    #: SIGRC has a request of a mapped service, and SEI has no process for it
    PROCESS_MISSING = "process_missing"
    #: an interaction SIGRC holds has no document in SEI
    INTERACTION_MISSING = "interaction_missing"
    #: the opening document or an attachment of the request is not in SEI
    DOCUMENT_MISSING = "document_missing"
    #: a document in SEI that no SIGRC event explains (a duplicate, or added by hand)
    DOCUMENT_UNEXPLAINED = "document_unexplained"
    #: SIGRC closed the request and SEI holds no "SP 156 Finalizado" for that closure
    FINALIZADO_MISSING = "finalizado_missing"
    #: a "SP 156 Finalizado" comes before an interaction its closure counts
    FINALIZADO_BEFORE_INTERACTION = "finalizado_before_interaction"
    #: the process is concluded in SEI while the request is open in SIGRC
    PROCESS_CONCLUDED = "process_concluded"
    #: the process is open in SEI while SIGRC closed the request (mapping concludes it)
    PROCESS_REOPENED = "process_reopened"
    #: the SEI number SIGRC holds is not the process of the ledger
    SEI_NUMBER_MISMATCH = "sei_number_mismatch"
    #: an effect whose outcome is unknown (UNCERTAIN, or waiting for a person)
    UNCERTAIN = "uncertain"
    #: an event or an action set aside in quarantine
    QUARANTINED = "quarantined"
    #: past its prazo_em with no process in SEI
    OVERDUE_WITHOUT_PROCESS = "overdue_without_process"
    #: past its prazo_em and not finalized
    OVERDUE_WITHOUT_FINALIZATION = "overdue_without_finalization"


#: what a person does about each kind (the report's "what to do"; ``--fix`` does the safe ones)
ADVICE: Mapping[FindingKind, str] = {
    FindingKind.PROCESS_MISSING: "run sei-bridge reconcile --fix to plan the request from "
    "SIGRC's record, then sei-bridge sync; if the ledger has a process SEI does not know, ask "
    "the SEI administrators what happened to it",
    FindingKind.INTERACTION_MISSING: "run sei-bridge reconcile --fix, then sei-bridge sync",
    FindingKind.DOCUMENT_MISSING: "run sei-bridge reconcile --fix, then sei-bridge sync",
    FindingKind.DOCUMENT_UNEXPLAINED: "ask the unit who added it; sei-bridge never deletes "
    "documents in SEI (a person may cancel it there)",
    FindingKind.FINALIZADO_MISSING: "run sei-bridge reconcile --fix, then sei-bridge sync",
    FindingKind.FINALIZADO_BEFORE_INTERACTION: "run sei-bridge reconcile --fix (a new "
    '"SP 156 Finalizado" after the interaction), then sei-bridge sync',
    FindingKind.PROCESS_CONCLUDED: "ask the unit why it concluded the process; reopen it in "
    "SEI if the request is still being handled",
    FindingKind.PROCESS_REOPENED: "ask the unit why it reopened the process; conclude it in "
    "SEI once it is done",
    FindingKind.SEI_NUMBER_MISMATCH: "correct the SEI number in SIGRC (run sei-bridge "
    "reconcile --fix when SIGRC holds none)",
    FindingKind.UNCERTAIN: "run sei-bridge sync (it probes SEI); what stays waiting: "
    "sei-bridge status, then sei-bridge resolve",
    FindingKind.QUARANTINED: "fix the cause named by the reason, then sei-bridge replay",
    FindingKind.OVERDUE_WITHOUT_PROCESS: "the deadline promised to the citizen has passed: "
    "settle the request's process first",
    FindingKind.OVERDUE_WITHOUT_FINALIZATION: "the deadline promised to the citizen has "
    "passed: tell the unit that handles the request",
}

#: kinds ``--fix`` can repair by enqueuing missing effects
FIXABLE: frozenset[FindingKind] = frozenset(
    {
        FindingKind.PROCESS_MISSING,
        FindingKind.INTERACTION_MISSING,
        FindingKind.DOCUMENT_MISSING,
        FindingKind.FINALIZADO_MISSING,
        FindingKind.FINALIZADO_BEFORE_INTERACTION,
        FindingKind.SEI_NUMBER_MISMATCH,
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement, about one request."""

    kind: FindingKind
    protocolo: str
    #: the SEI process involved (the ledger's number), if any
    processo: str | None = None
    #: SEI document numbers involved (missing ones as the ledger recorded them)
    documentos: tuple[str, ...] = ()
    #: what was found, in ids, séries, states and counts only
    detail: str = ""
    #: since when (quarantine, uncertain outcome, deadline)
    since: dt.datetime | None = None
    #: True when ``--fix`` enqueues a repair for it
    fixable: bool = False

    @property
    def advice(self) -> str:
        return ADVICE[self.kind]

    def age_seconds(self, now: dt.datetime) -> float | None:
        return None if self.since is None else max(0.0, (now - self.since).total_seconds())

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        age = self.age_seconds(now)
        return {
            "kind": self.kind.value,
            "protocolo": self.protocolo,
            "processo": self.processo,
            "documentos": list(self.documentos),
            "detail": self.detail,
            "since": self.since.isoformat() if self.since else None,
            "age_hours": None if age is None else round(age / 3600, 1),
            "fixable": self.fixable,
            "advice": self.advice,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Unchecked:
    """A request that could not be compared (SIGRC or SEI could not be read)."""

    protocolo: str
    why: str


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """One reconciliation run."""

    generated_at: dt.datetime
    since: dt.datetime | None
    until: dt.datetime | None
    protocolos: tuple[str, ...]
    requests_checked: int
    consistent: int
    #: findings kept (at most the budget's max_findings); ``totals`` counts them all
    findings: tuple[Finding, ...]
    totals: Mapping[FindingKind, int]
    #: requests that could not be read (at most max_findings listed; ``unchecked_total`` all)
    unchecked: tuple[Unchecked, ...] = ()
    unchecked_total: int = 0
    pages_read: int = 0
    #: the number of pages SIGRC announced (None in protocolo mode)
    pages_total: int | None = None
    #: why the run stopped before the end (a budget), None when it read everything
    stopped: str | None = None
    #: repair actions ``--fix`` enqueued (None without --fix)
    repairs_enqueued: int | None = None
    elapsed_seconds: float = 0.0

    @property
    def drift(self) -> bool:
        return any(self.totals.values())

    @property
    def complete(self) -> bool:
        return self.stopped is None and not self.unchecked_total

    @property
    def findings_total(self) -> int:
        return sum(self.totals.values())

    def exit_status(self) -> int:
        """0 clean, 1 drift, 3 no drift found but the run is incomplete (see README)."""
        if self.drift:
            return 1
        return 0 if self.complete else 3


def publish(report: Report) -> None:
    """Expose the run's drift as Prometheus gauges (every kind, zeros included)."""
    from sei_bridge.ops import metrics  # prometheus_client only where metrics are wanted

    for kind in FindingKind:
        metrics.RECONCILE_FINDINGS.labels(kind=kind.value).set(report.totals.get(kind, 0))
    metrics.RECONCILE_COMPLETE.set(1 if report.complete else 0)
    metrics.RECONCILE_LAST_RUN.set(report.generated_at.timestamp() + report.elapsed_seconds)
