"""Three-way reconciliation for auditors: SIGRC ↔ ledger ↔ SEI.

For every request SIGRC changed since a moment, compare what SIGRC says (service, situação,
number of interactions, the SEI number it holds), what the ledger recorded (process, documents
added, closures), and what SEI shows (the process exists; its documents, from ``listarAndamentos``
tarefas 2 and 13). Each disagreement is a finding with a code an auditor can filter on. The report
names protocolos and SEI numbers only: no personal data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from sei_bridge import errors
from sei_bridge.engine.executors import R_DOCUMENTO_FORMATADO
from sei_bridge.mapping import Mappings
from sei_bridge.sei.types import Andamento
from sei_bridge.store import Action, ActionKind, ActionState, RequestRow

__all__ = ["Finding", "FindingCode", "Reconciler", "ReconciliationReport"]

log = logging.getLogger(__name__)

#: SEI tarefas that mean "a document entered the process" (2 gerado, 13 recebido).
DOCUMENT_TAREFAS = ("2", "13")
_DOCUMENT_KINDS = frozenset(
    {
        ActionKind.ANEXO,
        ActionKind.SOLICITACAO_DOC,
        ActionKind.INTERACAO_DOC,
        ActionKind.FINALIZADO_DOC,
    }
)
_CLOSED = frozenset({"FINALIZADA", "INDEFERIDA", "CANCELADA"})


class FindingCode(enum.StrEnum):
    """What kind of disagreement a finding is."""

    #: SIGRC has the request (mapped service) but sei-bridge never saw it
    MISSING_IN_LEDGER = "missing_in_ledger"
    #: sei-bridge knows the request but has no SEI process for it yet
    NO_PROCESS = "no_process"
    #: the request is quarantined (no mapping, invalid event, refused by SEI)
    QUARANTINED = "quarantined"
    #: SIGRC counts more interactions than the ledger recorded in SEI
    INTERACTIONS_BEHIND = "interactions_behind"
    #: SIGRC closed the request but no "SP 156 Finalizado" is in SEI
    NOT_FINALIZED = "not_finalized"
    #: SIGRC holds no (or another) SEI number for the request
    SIGRC_NUMBER_MISMATCH = "sigrc_number_mismatch"
    #: a document the ledger recorded as added is not in SEI's history of the process
    SEI_DOCUMENTS_MISMATCH = "sei_documents_mismatch"
    #: SEI does not know the process the ledger recorded
    SEI_PROCESS_MISSING = "sei_process_missing"
    #: an effect waits for a person (uncertain outcome)
    NEEDS_PERSON = "needs_person"


@dataclasses.dataclass(frozen=True)
class Finding:
    protocolo: str
    code: FindingCode
    detail: str


@dataclasses.dataclass(frozen=True)
class ReconciliationReport:
    generated_at: dt.datetime
    since: dt.datetime
    requests_checked: int
    consistent: int
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        counts = Counter(f.code.value for f in self.findings)
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat(),
            "requests_checked": self.requests_checked,
            "consistent": self.consistent,
            "findings_by_code": dict(sorted(counts.items())),
            "findings": [
                {"protocolo": f.protocolo, "code": f.code.value, "detail": f.detail}
                for f in self.findings
            ],
        }

    def to_text(self) -> str:
        lines = [
            f"sei-bridge reconciliation, generated {self.generated_at:%Y-%m-%d %H:%M:%S %Z}",
            f"requests changed in SIGRC since {self.since:%Y-%m-%d %H:%M:%S %Z}: "
            f"{self.requests_checked}; consistent: {self.consistent}; "
            f"findings: {len(self.findings)}",
        ]
        for code, n in sorted(Counter(f.code.value for f in self.findings).items()):
            lines.append(f"  {code}: {n}")
        lines.extend(f"{f.protocolo}\t{f.code.value}\t{f.detail}" for f in self.findings)
        return "\n".join(lines) + "\n"


class _Summary(Protocol):
    @property
    def protocolo(self) -> str: ...
    @property
    def servico_codigo(self) -> str: ...
    @property
    def situacao(self) -> str: ...
    @property
    def quantidade_interacoes(self) -> int: ...
    @property
    def processo_sei(self) -> str | None: ...


class _Sigrc(Protocol):
    def list_solicitacoes(
        self, *, atualizadas_desde: dt.datetime, orgao: str | None = None
    ) -> Iterable[_Summary]: ...


class _Sei(Protocol):
    def listar_andamentos(
        self, *, id_unidade: str, protocolo_procedimento: str, tarefas: Sequence[str] = ...
    ) -> list[Andamento]: ...


class _Store(Protocol):
    def get_request(self, protocolo: str) -> RequestRow | None: ...

    def actions_of(self, protocolo: str) -> list[Action]: ...


class Reconciler:
    """Builds a :class:`ReconciliationReport`; ``check_sei=False`` skips the SEI leg (offline)."""

    def __init__(
        self,
        *,
        store: _Store,
        sigrc: _Sigrc,
        sei: _Sei | None,
        mappings: Mappings,
        orgao: str | None = None,
    ) -> None:
        self._store = store
        self._sigrc = sigrc
        self._sei = sei
        self._mappings = mappings
        self._orgao = orgao

    def run(self, *, since: dt.datetime) -> ReconciliationReport:
        findings: list[Finding] = []
        checked = consistent = 0
        for summary in self._sigrc.list_solicitacoes(atualizadas_desde=since, orgao=self._orgao):
            if self._mappings.servico(summary.servico_codigo) is None:
                continue  # not a Fazenda service that opens a process: not ours to check
            checked += 1
            found = list(self._check(summary))
            findings.extend(found)
            consistent += not found
        return ReconciliationReport(
            generated_at=dt.datetime.now(dt.UTC),
            since=since,
            requests_checked=checked,
            consistent=consistent,
            findings=tuple(findings),
        )

    def _check(self, summary: _Summary) -> Iterator[Finding]:
        protocolo = summary.protocolo
        request = self._store.get_request(protocolo)
        if request is None:
            yield Finding(protocolo, FindingCode.MISSING_IN_LEDGER, "not in the inbox")
            return
        actions = self._store.actions_of(protocolo)
        for a in actions:
            if a.state is ActionState.QUARANTINED:
                yield Finding(protocolo, FindingCode.QUARANTINED, f"{a.kind.value}: {a.last_error}")
            elif a.state is ActionState.NEEDS_PERSON:
                yield Finding(protocolo, FindingCode.NEEDS_PERSON, f"action {a.id} {a.kind.value}")
        if request.procedimento_formatado is None:
            yield Finding(protocolo, FindingCode.NO_PROCESS, f"request state {request.state.value}")
            return
        done = [a for a in actions if a.state is ActionState.DONE]
        interactions = sum(1 for a in done if a.kind is ActionKind.INTERACAO_DOC)
        if interactions < summary.quantidade_interacoes:
            yield Finding(
                protocolo,
                FindingCode.INTERACTIONS_BEHIND,
                f"SIGRC {summary.quantidade_interacoes}, in SEI {interactions}",
            )
        if summary.situacao in _CLOSED and not any(
            a.kind is ActionKind.FINALIZADO_DOC for a in done
        ):
            yield Finding(protocolo, FindingCode.NOT_FINALIZED, f"situação {summary.situacao}")
        if summary.processo_sei != request.procedimento_formatado:
            yield Finding(
                protocolo,
                FindingCode.SIGRC_NUMBER_MISMATCH,
                f"SIGRC {summary.processo_sei or 'none'}, ledger {request.procedimento_formatado}",
            )
        if self._sei is not None:
            yield from self._check_sei(request, done)

    def _check_sei(self, request: RequestRow, done: list[Action]) -> Iterator[Finding]:
        assert self._sei is not None and request.procedimento_formatado is not None
        servico = self._mappings.servico(request.servico_codigo)
        unidade = servico.unidade if servico is not None else self._mappings.unidade
        try:
            andamentos = self._sei.listar_andamentos(
                id_unidade=unidade,
                protocolo_procedimento=request.procedimento_formatado,
                tarefas=DOCUMENT_TAREFAS,
            )
        except errors.SeiValidationFault as exc:
            yield Finding(request.protocolo, FindingCode.SEI_PROCESS_MISSING, exc.fault or str(exc))
            return
        in_sei = {a.atributo("DOCUMENTO") for a in andamentos} - {None}
        # People may add documents in SEI by hand: only the ledger's must all be there.
        recorded = {
            str(a.result.get(R_DOCUMENTO_FORMATADO))
            for a in done
            if a.kind in _DOCUMENT_KINDS and a.result.get(R_DOCUMENTO_FORMATADO)
        }
        missing = sorted(recorded - in_sei)
        if missing:
            yield Finding(
                request.protocolo,
                FindingCode.SEI_DOCUMENTS_MISMATCH,
                f"recorded in the ledger but not in SEI: {', '.join(missing)}",
            )
