"""Three-way reconciliation for auditors: SIGRC ↔ the ledger ↔ what SEI really holds.

For a period (requests SIGRC changed in it) or a list of protocolos, each request's current
record in SIGRC is compared with what the ledger planned and did, and with what SEI holds now
(``consultarProcedimento``, ``listarAndamentos``, ``consultarDocumento``; reads only). What the
record calls for is decided by the engine's own planner (:mod:`.expected`), documents are found
the way the probes find them (:mod:`.checks`), and every disagreement is a :class:`Finding` of a
:class:`FindingKind`. ``fix=True`` enqueues the safe repairs — missing effects only — through
the ledger, so they are exactly-once like everything else; nothing in SEI is ever deleted or
edited. Reports for people and machines: :mod:`sei_bridge.reports.reconciliation`.
"""

from __future__ import annotations

from sei_bridge.reconcile.findings import (
    FIXABLE,
    Finding,
    FindingKind,
    Report,
    Unchecked,
    publish,
)
from sei_bridge.reconcile.runner import DEFAULT_BUDGET, Budget, Reconciler

__all__ = [
    "DEFAULT_BUDGET",
    "FIXABLE",
    "Budget",
    "Finding",
    "FindingKind",
    "Reconciler",
    "Report",
    "Unchecked",
    "publish",
]
