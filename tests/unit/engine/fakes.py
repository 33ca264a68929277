"""In-memory fakes of the engine's own seams (ports): SEI, SIGRC and the ledger store.

They keep just enough state to answer like the real thing: the fake SEI remembers processes,
documents, contacts and andamentos so the probes have something to find, and can be told to
fail the next calls of an operation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sei_bridge.sei import types
from sei_bridge.sigrc import models
from sei_bridge.store.types import Action, ActionKind, ActionState, LedgerEntry, StatusReport

_EXTENSOES = ("pdf", "txt", "doc", "docx", "odt", "jpg", "jpeg", "html", "zip")


@dataclass
class _Process:
    id_procedimento: str
    formatado: str
    unidade: str
    numero_protocolo: str | None
    aberto: bool = True
    documentos: list[str] = field(default_factory=list)


class FakeSei:
    """A small SEI: processes, documents, contacts; scripted failures per operation."""

    def __init__(self) -> None:
        self.processes: dict[str, _Process] = {}
        self.documents: dict[str, types.DocumentoConsultado] = {}
        self.contacts: list[types.Contato] = []
        self.calls: list[str] = []
        self._failures: dict[str, list[BaseException]] = defaultdict(list)
        self._commit_then_fail: dict[str, list[BaseException]] = defaultdict(list)
        self._ids = itertools.count(100)
        self._lock = threading.Lock()
        self.on_call: Callable[[str], None] | None = None
        self.last_document: types.NovoDocumento | None = None

    # --- scripting ------------------------------------------------------------------------

    def fail_next(self, operation: str, exc: BaseException, *, after_commit: bool = False) -> None:
        """The next call of ``operation`` raises ``exc`` (after doing its work, if asked)."""
        (self._commit_then_fail if after_commit else self._failures)[operation].append(exc)

    def _enter(self, operation: str) -> BaseException | None:
        with self._lock:
            self.calls.append(operation)
            if self._failures[operation]:
                raise self._failures[operation].pop(0)
            late = self._commit_then_fail[operation]
            pending = late.pop(0) if late else None
        if self.on_call is not None:
            self.on_call(operation)
        return pending

    def count(self, operation: str) -> int:
        return self.calls.count(operation)

    # --- operations -----------------------------------------------------------------------

    def gerar_procedimento(
        self,
        *,
        id_unidade: str,
        procedimento: types.NovoProcedimento,
        documentos: Sequence[types.NovoDocumento] = (),
    ) -> types.ProcedimentoGerado:
        late = self._enter("gerarProcedimento")
        n = next(self._ids)
        formatado = procedimento.numero_protocolo or f"6017.2026/{n:07d}-0"
        self.processes[formatado] = _Process(
            str(n), formatado, id_unidade, procedimento.numero_protocolo
        )
        for who in procedimento.interessados:
            self.contacts.append(types.Contato(str(next(self._ids)), who.sigla, who.nome))
        if late is not None:
            raise late
        return types.ProcedimentoGerado(str(n), formatado, f"http://sei/p/{n}")

    def incluir_documento(
        self, *, id_unidade: str, documento: types.NovoDocumento
    ) -> types.DocumentoIncluido:
        late = self._enter("incluirDocumento")
        process = self.processes[documento.protocolo_procedimento or ""]
        n = next(self._ids)
        numero = f"{n:07d}"
        self.documents[numero] = types.DocumentoConsultado(
            id_procedimento=process.id_procedimento,
            procedimento_formatado=process.formatado,
            id_documento=str(n),
            documento_formatado=numero,
            link_acesso=f"http://sei/d/{n}",
            id_serie=documento.id_serie,
            nome_serie="s",
            numero=None,
            descricao=documento.descricao,
            data=None,
        )
        process.documentos.append(numero)
        process.aberto = True
        self.last_document = documento
        if late is not None:
            raise late
        return types.DocumentoIncluido(str(n), numero, f"http://sei/d/{n}")

    def _find(self, protocolo: str) -> _Process | None:
        for p in self.processes.values():
            if protocolo in (p.formatado, p.numero_protocolo):
                return p
        return None

    def consultar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado:
        self._enter("consultarProcedimento")
        p = self._find(protocolo_procedimento)
        if p is None:
            from sei_bridge import errors

            raise errors.SeiValidationFault(
                "not found",
                operation="consultarProcedimento",
                fault=f"Processo [{protocolo_procedimento}] não encontrado.",
            )
        aberto = (types.Unidade(p.unidade, "U", ""),) if p.aberto else ()
        return types.ProcedimentoConsultado(
            p.id_procedimento,
            p.formatado,
            None,
            None,
            f"http://sei/p/{p.id_procedimento}",
            None,
            None,
            None,
            unidades_aberto=aberto,
        )

    def buscar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado | None:
        from sei_bridge import errors

        try:
            return self.consultar_procedimento(
                id_unidade=id_unidade, protocolo_procedimento=protocolo_procedimento
            )
        except errors.SeiValidationFault:
            return None

    def consultar_documento(
        self, *, id_unidade: str, protocolo_documento: str
    ) -> types.DocumentoConsultado:
        self._enter("consultarDocumento")
        return self.documents[protocolo_documento]

    def concluir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None:
        late = self._enter("concluirProcesso")
        p = self._find(protocolo_procedimento)
        assert p is not None
        if not p.aberto:
            from sei_bridge import errors

            raise errors.SeiValidationFault(
                "refused",
                operation="concluirProcesso",
                fault=f"Processo {p.formatado} não está aberto na unidade.",
            )
        p.aberto = False
        if late is not None:
            raise late

    def reabrir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None:
        late = self._enter("reabrirProcesso")
        p = self._find(protocolo_procedimento)
        assert p is not None
        p.aberto = True
        if late is not None:
            raise late

    def listar_andamentos(
        self, *, id_unidade: str, protocolo_procedimento: str, tarefas: Sequence[str] = ()
    ) -> list[types.Andamento]:
        self._enter("listarAndamentos")
        p = self._find(protocolo_procedimento)
        assert p is not None
        return [
            types.Andamento(str(i), "2", "doc", "20/11/2026 14:00:00", None, (("DOCUMENTO", n),))
            for i, n in enumerate(p.documentos)
        ]

    def listar_contatos(self, *, id_unidade: str, sigla: str | None = None) -> list[types.Contato]:
        self._enter("listarContatos")
        return [c for c in self.contacts if (c.sigla or "").lower() == (sigla or "").lower()]

    def listar_extensoes_permitidas(self) -> list[types.ExtensaoPermitida]:
        self._enter("listarExtensoesPermitidas")
        return [types.ExtensaoPermitida(str(i), e) for i, e in enumerate(_EXTENSOES)]

    def listar_unidades(self) -> list[types.Unidade]:
        return [types.Unidade(f"11000000{i}", f"SF/{i}", "") for i in range(1, 6)]

    def listar_tipos_procedimento(self) -> list[types.TipoProcedimento]:
        return [types.TipoProcedimento(str(100000345 + i), "t") for i in range(5)]

    def listar_series(self) -> list[types.Serie]:
        return [types.Serie(s, "s") for s in ("12", "13", "14", "15")]

    def listar_hipoteses_legais(
        self, *, nivel_acesso: types.NivelAcesso | None = None
    ) -> list[types.HipoteseLegal]:
        return [types.HipoteseLegal("34", "Informação Pessoal", None, types.NivelAcesso.RESTRITO)]


class FakeSigrc:
    """SIGRC: snapshots, attachment bytes, and the processo-sei back-link."""

    def __init__(self) -> None:
        self.snapshots: dict[str, models.Solicitacao] = {}
        self.processo_sei: dict[str, str] = {}
        self.failures: list[BaseException] = []
        self.downloads = 0

    def get_solicitacao(self, protocolo: str) -> models.Solicitacao:
        return self.snapshots[protocolo]

    def download_anexo(self, protocolo: str, anexo: models.Anexo, dest_dir: Path) -> Path:
        if self.failures:
            raise self.failures.pop(0)
        self.downloads += 1
        path = dest_dir / f"{protocolo}-{anexo.id_anexo}"
        path.write_bytes(b"%PDF-1.4 fake")
        return path

    def put_processo_sei(
        self, protocolo: str, numero_processo: str, link_acesso: str | None = None
    ) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.processo_sei[protocolo] = numero_processo


class FakeStore:
    """The ledger part of the store, in memory: head-of-request claims, leases, marks."""

    def __init__(self, actions: Sequence[Action] = ()) -> None:
        self.actions: dict[int, Action] = {a.id: a for a in actions}
        self.marks: list[tuple[int, str, str | None]] = []
        self._lock = threading.Lock()
        self.renewed: list[int] = []

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    @staticmethod
    def _at(value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromtimestamp(float(value), dt.UTC)

    def _head(self, a: Action) -> bool:
        return all(
            o.settled for o in self.actions.values() if o.protocolo == a.protocolo and o.seq < a.seq
        )

    def claim_due_actions(
        self, worker: str, *, limit: int, lease_seconds: float, now: Any = None
    ) -> list[Action]:
        at = self._at(now) if now is not None else self._now()
        with self._lock:
            due = [
                a
                for a in sorted(self.actions.values(), key=lambda a: (a.next_attempt_at, a.id))
                if a.state in (ActionState.PENDING, ActionState.UNCERTAIN)
                and a.next_attempt_at <= at
                and (a.lease_expires_at is None or a.lease_expires_at <= at)
                and self._head(a)
            ][:limit]
            out = []
            for a in due:
                claimed = replace(
                    a,
                    attempts=a.attempts + 1,
                    lease_owner=worker,
                    lease_expires_at=at + dt.timedelta(seconds=lease_seconds),
                )
                self.actions[a.id] = claimed
                out.append(claimed)
            return out

    def renew_lease(self, action_id: int, worker: str, lease_seconds: float) -> bool:
        self.renewed.append(action_id)
        return self.actions[action_id].lease_owner == worker

    def _finish(self, action_id: int, worker: str, state: ActionState, **values: Any) -> bool:
        with self._lock:
            a = self.actions[action_id]
            if a.lease_owner != worker or a.state not in (
                ActionState.PENDING,
                ActionState.UNCERTAIN,
            ):
                return False
            if "result" in values:
                values["result"] = {**a.result, **values["result"]}
            self.actions[action_id] = replace(
                a, state=state, lease_owner=None, lease_expires_at=None, **values
            )
            self.marks.append((action_id, state.value, values.get("last_error")))
            return True

    def mark_done(self, action_id: int, worker: str, result: Mapping[str, Any]) -> bool:
        return self._finish(action_id, worker, ActionState.DONE, result=dict(result))

    def mark_retry(self, action_id: int, worker: str, error: str, next_attempt_at: Any) -> bool:
        return self._finish(
            action_id,
            worker,
            ActionState.PENDING,
            last_error=error,
            next_attempt_at=self._at(next_attempt_at),
        )

    def mark_uncertain(self, action_id: int, worker: str, error: str, next_attempt_at: Any) -> bool:
        return self._finish(
            action_id,
            worker,
            ActionState.UNCERTAIN,
            last_error=error,
            next_attempt_at=self._at(next_attempt_at),
        )

    def mark_quarantined(self, action_id: int, worker: str, reason: str) -> bool:
        return self._finish(action_id, worker, ActionState.QUARANTINED, last_error=reason)

    def mark_needs_person(self, action_id: int, worker: str, evidence: Mapping[str, Any]) -> bool:
        return self._finish(action_id, worker, ActionState.NEEDS_PERSON, evidence=dict(evidence))

    def actions_of(self, protocolo: str) -> list[Action]:
        with self._lock:
            return sorted(
                (a for a in self.actions.values() if a.protocolo == protocolo), key=lambda a: a.seq
            )

    def ledger_of(self, protocolo: str) -> list[LedgerEntry]:
        return [
            LedgerEntry(
                kind=a.kind,
                source_id=a.source_id,
                seq=a.seq,
                state=a.state,
                result=a.result,
                last_error=a.last_error,
                payload=a.payload if a.kind is ActionKind.ANEXO else {},
            )
            for a in self.actions_of(protocolo)
        ]

    def ledgers_of(self, protocolos: Sequence[str]) -> dict[str, list[LedgerEntry]]:
        return {p: self.ledger_of(p) for p in protocolos}

    # the rest of LedgerStore is not used by the dispatcher
    @contextlib.contextmanager
    def poller_lock(self) -> Iterator[bool]:  # pragma: no cover - not used
        yield True

    def status(self) -> StatusReport:  # pragma: no cover - not used
        raise NotImplementedError
