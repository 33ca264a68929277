"""One function per ActionKind: from a ledger action to the SEI (or SIGRC) call that makes it
happen, returning the ids it produced.

Executors raise; :func:`sei_bridge.engine.outcomes.classify` decides what a failure means.
Each runs with a :class:`RequestLedger` — the request's actions as read when the attempt
started — which gives the process the documents go into and where each attachment stands.
SEI ids that depend on configuration (unit, série, process type, access level) are resolved
from the mapping now, so a fixed mapping takes effect on replay.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from sei_bridge import documents, errors, mapping
from sei_bridge.engine import outcomes, payloads, planner, ports
from sei_bridge.sei import types
from sei_bridge.store.types import Action, ActionKind, ActionState, LedgerEntry

__all__ = [
    "DEFAULT_CATALOG_TTL",
    "DOCUMENT_KINDS",
    "PRIVATE_DIR_MODE",
    "Executor",
    "ExtensionCatalog",
    "ProcessRef",
    "RequestLedger",
    "extension_of",
    "private_folder",
]

log = logging.getLogger(__name__)

#: how long the allowed extensions are trusted before being read again (seconds)
DEFAULT_CATALOG_TTL = 6 * 3600.0

#: result keys (OPEN's are copied to the request row by the store)
R_ID_PROCEDIMENTO = "id_procedimento"
R_PROCEDIMENTO_FORMATADO = "procedimento_formatado"
R_LINK_ACESSO = "link_acesso"
R_UNIDADE = "unidade"
R_ID_DOCUMENTO = "id_documento"
R_DOCUMENTO_FORMATADO = "documento_formatado"

#: kinds that create a document in SEI (a probe finds them by série and descrição)
DOCUMENT_KINDS = frozenset(
    {
        ActionKind.ANEXO,
        ActionKind.SOLICITACAO_DOC,
        ActionKind.INTERACAO_DOC,
        ActionKind.FINALIZADO_DOC,
    }
)
#: how SEI says a process is open in the unit already (reabrirProcesso)
_ALREADY_OPEN = ("já está aberto", "já se encontra aberto", "encontra-se aberto")
_OBSERVACAO = "Processo aberto automaticamente pelo sei-bridge a partir da solicitação SP156 nº {}."


@dataclass(frozen=True, slots=True)
class ProcessRef:
    """The SEI process of a request, from its OPEN action's result."""

    procedimento_formatado: str
    id_procedimento: str | None
    link_acesso: str | None
    unidade: str


@dataclass(frozen=True, slots=True)
class RequestLedger:
    """A request's actions, read once per attempt."""

    actions: tuple[LedgerEntry, ...]

    def process(self, fallback_unidade: str) -> ProcessRef | None:
        """The request's process, or None while OPEN is not DONE."""
        for a in self.actions:
            if a.kind is ActionKind.OPEN and a.state is ActionState.DONE:
                numero = a.result.get(R_PROCEDIMENTO_FORMATADO)
                if not numero:
                    return None
                return ProcessRef(
                    procedimento_formatado=str(numero),
                    id_procedimento=_str(a.result.get(R_ID_PROCEDIMENTO)),
                    link_acesso=_str(a.result.get(R_LINK_ACESSO)),
                    unidade=str(a.result.get(R_UNIDADE) or fallback_unidade),
                )
        return None

    def attachments(
        self, *, interacao: str | None = None, before: int | None = None
    ) -> list[documents.AttachmentStatus]:
        """Where each attachment stands, in planning order: those of the request itself
        (``interacao=None``) or of one interaction; or, with ``before`` (a seq), every one of
        the request planned before that action (what a "SP 156 Finalizado" covers: not the
        attachments of a reopening planned after it)."""
        out: list[documents.AttachmentStatus] = []
        for a in self.actions:
            if a.kind is not ActionKind.ANEXO:
                continue
            if before is not None and a.seq >= before:
                continue
            p = payloads.decode(payloads.AnexoPayload, a.payload)
            if before is None and p.interacao != interacao:
                continue
            out.append(
                documents.AttachmentStatus(
                    id_anexo=p.anexo.id_anexo,
                    nome_arquivo=p.anexo.nome_arquivo,
                    documento_formatado=(
                        _str(a.result.get(R_DOCUMENTO_FORMATADO))
                        if a.state is ActionState.DONE
                        else None
                    ),
                    reason=a.last_error if a.state is ActionState.QUARANTINED else None,
                )
            )
        return out

    def known_documents(self) -> frozenset[str]:
        """Numbers of the documents this request's DONE actions created (a probe skips them)."""
        return frozenset(
            str(a.result[R_DOCUMENTO_FORMATADO])
            for a in self.actions
            if a.kind in DOCUMENT_KINDS
            and a.state is ActionState.DONE
            and a.result.get(R_DOCUMENTO_FORMATADO)
        )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def extension_of(nome_arquivo: str, tipo_conteudo: str) -> str:
    """The file's extension, lower case without the dot; from its MIME type when the name has
    none ("" when neither tells)."""
    suffix = PurePath(nome_arquivo.strip()).suffix.lower().lstrip(".")
    if suffix:
        return suffix
    guessed = mimetypes.guess_extension(tipo_conteudo.split(";")[0].strip().lower()) or ""
    return guessed.lstrip(".")


#: mode of the work directory and its folders: downloaded attachments hold citizens' data
PRIVATE_DIR_MODE = 0o700


def private_folder(folder: Path) -> Path:
    """``folder`` (the work directory's ``anexos``), made readable by this user only.

    Missing directories on the way are created 0700 (``mkdir(parents=True)`` would give them
    the umask's mode). An existing ``folder`` is tightened to 0700, being ours alone; an
    existing parent (the work directory may be a shared place) is left as it is.
    """
    missing = [d for d in (folder, *folder.parents) if not d.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        # mkdir's mode is reduced by the umask; a umask cannot widen it, chmod makes it exact
        os.chmod(directory, PRIVATE_DIR_MODE)
    if folder.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


class ExtensionCatalog:
    """SEI's allowed file extensions (``listarExtensoesPermitidas``), cached for ``ttl``
    seconds and re-read by :meth:`refresh` (the ``catalog_refresh`` job). Thread-safe."""

    def __init__(
        self,
        sei: ports.SeiGateway,
        *,
        ttl: float = DEFAULT_CATALOG_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sei = sei
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._allowed: frozenset[str] | None = None
        self._read_at = 0.0

    def refresh(self) -> frozenset[str]:
        """Read the catalog from SEI now."""
        allowed = frozenset(
            e.extensao.lower().lstrip(".") for e in self._sei.listar_extensoes_permitidas()
        )
        with self._lock:
            self._allowed, self._read_at = allowed, self._clock()
        log.info("SEI allows %d file extensions", len(allowed))
        return allowed

    def allowed(self) -> frozenset[str]:
        """The allowed extensions (read from SEI when unknown or stale)."""
        with self._lock:
            fresh = self._allowed is not None and self._clock() - self._read_at < self._ttl
            if fresh and self._allowed is not None:
                return self._allowed
        return self.refresh()


class Executor:
    """Runs the SEI/SIGRC calls of each kind of action. ``sei`` should already be guarded
    (rate limit, circuit breaker): see :class:`sei_bridge.engine.policy.GuardedSei`."""

    def __init__(
        self,
        *,
        sei: ports.SeiGateway,
        sigrc: ports.SigrcGateway,
        mappings: mapping.Mappings,
        catalog: ExtensionCatalog,
        work_dir: Path,
        max_attachment_bytes: int | None = None,
    ) -> None:
        self.sei = sei
        self.sigrc = sigrc
        self.mappings = mappings
        self.catalog = catalog
        self.work_dir = work_dir
        self.max_attachment_bytes = max_attachment_bytes
        self._run: dict[ActionKind, Callable[[Action, RequestLedger], Mapping[str, Any]]] = {
            ActionKind.OPEN: self.open,
            ActionKind.ANEXO: self.anexo,
            ActionKind.SOLICITACAO_DOC: self.solicitacao_doc,
            ActionKind.SIGRC_PROCESSO: self.sigrc_processo,
            ActionKind.INTERACAO_DOC: self.interacao_doc,
            ActionKind.FINALIZADO_DOC: self.finalizado_doc,
            ActionKind.CONCLUIR: self.concluir,
            ActionKind.REABRIR: self.reabrir,
        }

    def execute(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """Make the action's effect happen; return the ids it produced."""
        return self._run[action.kind](action, ledger)

    # --- shared ---------------------------------------------------------------------------

    def servico(self, codigo: str) -> mapping.ServicoMapping:
        """The service's mapping now, or ActionRefused (it was removed since planning)."""
        m = self.mappings.servico(codigo)
        if m is None:
            raise outcomes.ActionRefused(planner.unmapped_reason(codigo))
        return m

    def process(self, action: Action, ledger: RequestLedger, unidade: str) -> ProcessRef:
        ref = ledger.process(unidade)
        if ref is None:
            raise outcomes.ActionRefused(
                outcomes.reason(
                    "no-process",
                    f"{action.kind.value} needs the request's process, but its OPEN action is "
                    "not DONE with a process number",
                    "settle the OPEN action (sei-bridge status, resolve --done --processo), then "
                    "run sei-bridge replay --reason no-process",
                )
            )
        return ref

    def _generated(
        self,
        ref: ProcessRef,
        m: mapping.ServicoMapping,
        id_serie: str,
        descricao: str,
        conteudo: bytes,
    ) -> Mapping[str, Any]:
        included = self.sei.incluir_documento(
            id_unidade=ref.unidade,
            documento=types.NovoDocumento(
                tipo=types.TipoDocumento.GERADO,
                id_serie=id_serie,
                descricao=descricao,
                protocolo_procedimento=ref.procedimento_formatado,
                conteudo=conteudo,
                nivel_acesso=m.nivel_acesso,
                id_hipotese_legal=m.hipotese_legal,
            ),
        )
        return _document_result(included)

    # --- one per kind ---------------------------------------------------------------------

    def open(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """gerarProcedimento without documents: the creating call stays small, so the window
        in which its outcome can be unknown holds no document."""
        p = payloads.decode(payloads.OpenPayload, action.payload)
        m = self.servico(p.servico)
        gerado = self.sei.gerar_procedimento(
            id_unidade=m.unidade,
            procedimento=types.NovoProcedimento(
                id_tipo_procedimento=m.tipo_procedimento,
                especificacao=p.especificacao,
                assuntos=m.assuntos,
                interessados=(
                    types.Interessado(sigla=p.interessado_sigla, nome=p.interessado_nome),
                ),
                observacao=_OBSERVACAO.format(action.protocolo),
                nivel_acesso=m.nivel_acesso,
                id_hipotese_legal=m.hipotese_legal,
                numero_protocolo=p.numero_protocolo,
                data_autuacao=p.data_autuacao if p.numero_protocolo else None,
            ),
        )
        return {
            R_ID_PROCEDIMENTO: gerado.id_procedimento,
            R_PROCEDIMENTO_FORMATADO: gerado.procedimento_formatado,
            R_LINK_ACESSO: gerado.link_acesso,
            R_UNIDADE: m.unidade,
        }

    def anexo(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """One attachment as an external document (Tipo R, inline content), after checking its
        extension and size against what SEI accepts: a refused file is quarantined on its own."""
        p = payloads.decode(payloads.AnexoPayload, action.payload)
        m = self.servico(p.servico)
        ref = self.process(action, ledger, m.unidade)
        self._check_attachment(p)
        folder = private_folder(self.work_dir / "anexos")
        path = self.sigrc.download_anexo(action.protocolo, p.anexo, folder)
        try:
            conteudo = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
        included = self.sei.incluir_documento(
            id_unidade=ref.unidade,
            documento=types.NovoDocumento(
                tipo=types.TipoDocumento.RECEBIDO,
                id_serie=m.series.anexo,
                descricao=p.descricao,
                protocolo_procedimento=ref.procedimento_formatado,
                data=p.data,
                nome_arquivo=documents.nome_arquivo(
                    p.anexo.nome_arquivo, extension_of(p.anexo.nome_arquivo, p.anexo.tipo_conteudo)
                ),
                conteudo=conteudo,
                nivel_acesso=m.nivel_acesso,
                id_hipotese_legal=m.hipotese_legal,
            ),
        )
        return _document_result(included)

    def _check_attachment(self, p: payloads.AnexoPayload) -> None:
        ext = extension_of(p.anexo.nome_arquivo, p.anexo.tipo_conteudo)
        allowed = self.catalog.allowed()
        # an empty catalog means SEI did not say: let SEI itself decide
        if allowed and ext not in allowed:
            shown = f'".{ext}"' if ext else "without extension"
            raise outcomes.ActionRefused(
                outcomes.reason(
                    "attachment-refused",
                    f"arquivo {shown} não é aceito pelo SEI (listarExtensoesPermitidas)",
                    "allow the extension in SEI, wait for the catalog refresh (or restart) and "
                    "run sei-bridge replay --reason attachment-refused",
                )
            )
        limit = self.max_attachment_bytes
        if limit is not None and p.anexo.tamanho_bytes > limit:
            raise outcomes.ActionRefused(
                outcomes.reason(
                    "attachment-refused",
                    f"arquivo de {p.anexo.tamanho_bytes} bytes excede o limite de {limit} bytes "
                    "do SEI",
                    "raise the limit in SEI and in sei-bridge, then run sei-bridge replay "
                    "--reason attachment-refused",
                )
            )

    def solicitacao_doc(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """The opening document, listing the request's attachments as they stand in SEI."""
        p = payloads.decode(payloads.SolicitacaoPayload, action.payload)
        m = self.servico(p.servico)
        ref = self.process(action, ledger, m.unidade)
        html = documents.render_solicitacao(p.solicitacao, ledger.attachments(interacao=None))
        return self._generated(ref, m, m.series.solicitacao, p.descricao, html)

    def interacao_doc(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """One interaction's document, listing its attachments as they stand in SEI."""
        p = payloads.decode(payloads.InteracaoPayload, action.payload)
        m = self.servico(p.servico)
        ref = self.process(action, ledger, m.unidade)
        anexos = ledger.attachments(interacao=p.interacao.id_interacao)
        html = documents.render_interacao(action.protocolo, p.interacao, anexos)
        return self._generated(ref, m, m.series.interacao, p.descricao, html)

    def finalizado_doc(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """The "SP 156 Finalizado" document, listing every attachment of the request up to
        this closure."""
        p = payloads.decode(payloads.FinalizadoPayload, action.payload)
        m = self.servico(p.servico)
        ref = self.process(action, ledger, m.unidade)
        html = documents.render_finalizado(
            action.protocolo, p.encerramento, ledger.attachments(before=action.seq)
        )
        return self._generated(ref, m, m.series.finalizado, p.descricao, html)

    def sigrc_processo(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """PUT the SEI number back to SIGRC (idempotent; 409 → quarantine)."""
        p = payloads.decode(payloads.ProcessPayload, action.payload)
        ref = self.process(action, ledger, self.servico(p.servico).unidade)
        self.sigrc.put_processo_sei(action.protocolo, ref.procedimento_formatado, ref.link_acesso)
        return {"numero_processo": ref.procedimento_formatado}

    def concluir(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """concluirProcesso; "não está aberto na unidade" means it is concluded already."""
        p = payloads.decode(payloads.ProcessPayload, action.payload)
        ref = self.process(action, ledger, self.servico(p.servico).unidade)
        try:
            self.sei.concluir_processo(
                id_unidade=ref.unidade, protocolo_procedimento=ref.procedimento_formatado
            )
        except errors.SeiValidationFault as exc:
            if not _says(exc, "não está aberto na unidade"):
                raise
            return {"ja_concluido": True}
        return {"concluido": True}

    def reabrir(self, action: Action, ledger: RequestLedger) -> Mapping[str, Any]:
        """reabrirProcesso; a process already open in the unit is what was wanted."""
        p = payloads.decode(payloads.ProcessPayload, action.payload)
        ref = self.process(action, ledger, self.servico(p.servico).unidade)
        try:
            self.sei.reabrir_processo(
                id_unidade=ref.unidade, protocolo_procedimento=ref.procedimento_formatado
            )
        except errors.SeiValidationFault as exc:
            if not _says(exc, *_ALREADY_OPEN):
                raise
            return {"ja_aberto": True}
        return {"reaberto": True}


def _says(exc: Any, *texts: str) -> bool:
    fault = (getattr(exc, "fault", None) or str(exc)).lower()
    return any(t.lower() in fault for t in texts)


def _document_result(included: types.DocumentoIncluido) -> dict[str, Any]:
    return {
        R_ID_DOCUMENTO: included.id_documento,
        R_DOCUMENTO_FORMATADO: included.documento_formatado,
        R_LINK_ACESSO: included.link_acesso,
    }
