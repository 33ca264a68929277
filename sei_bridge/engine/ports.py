"""The seams of the engine: what it needs of SEI, of SIGRC, of the feed and of the store.

Each is a :class:`typing.Protocol`, so the concrete classes (``SeiClient``, ``SigrcClient``,
``FeedReader``, ``Store``) fit without inheriting anything, and unit tests pass small fakes.
The engine imports no zeep, requests or SQLAlchemy: those stay behind these seams.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from sei_bridge.sei import types
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    InboxEvent,
    InboxState,
    LedgerEntry,
    NewAction,
    RequestRow,
    RequestUpdate,
    StatusReport,
)

__all__ = ["Cursor", "Feed", "FeedPass", "LedgerStore", "SeiGateway", "SigrcGateway"]


class SeiGateway(Protocol):
    """The SEI operations the engine calls (``sei_bridge.sei.client.SeiClient`` fits)."""

    def gerar_procedimento(
        self,
        *,
        id_unidade: str,
        procedimento: types.NovoProcedimento,
        documentos: Sequence[types.NovoDocumento] = (),
    ) -> types.ProcedimentoGerado: ...

    def incluir_documento(
        self, *, id_unidade: str, documento: types.NovoDocumento
    ) -> types.DocumentoIncluido: ...

    def consultar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado: ...

    def buscar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado | None: ...

    def consultar_documento(
        self, *, id_unidade: str, protocolo_documento: str
    ) -> types.DocumentoConsultado: ...

    def concluir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None: ...

    def reabrir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None: ...

    def listar_andamentos(
        self, *, id_unidade: str, protocolo_procedimento: str, tarefas: Sequence[str] = ...
    ) -> list[types.Andamento]: ...

    def listar_contatos(
        self, *, id_unidade: str, sigla: str | None = None
    ) -> list[types.Contato]: ...

    def listar_extensoes_permitidas(self) -> list[types.ExtensaoPermitida]: ...

    def listar_unidades(self) -> list[types.Unidade]: ...

    def listar_tipos_procedimento(self) -> list[types.TipoProcedimento]: ...

    def listar_series(self) -> list[types.Serie]: ...

    def listar_hipoteses_legais(
        self, *, nivel_acesso: types.NivelAcesso | None = None
    ) -> list[types.HipoteseLegal]: ...


class SigrcGateway(Protocol):
    """The SIGRC calls the engine makes (``sei_bridge.sigrc.client.SigrcClient`` fits)."""

    def get_solicitacao(self, protocolo: str) -> models.Solicitacao: ...

    def download_anexo(self, protocolo: str, anexo: models.Anexo, dest_dir: Path) -> Path: ...

    def put_processo_sei(
        self, protocolo: str, numero_processo: str, link_acesso: str | None = None
    ) -> None: ...


class Cursor(Protocol):
    """A feed cursor as the store keeps it (``sei_bridge.sigrc.feed.FeedCursor`` fits)."""

    @property
    def watermark(self) -> int: ...

    def to_json(self) -> str: ...


class FeedPass(Protocol):
    """What one feed poll produced (``sei_bridge.sigrc.feed.FeedBatch`` fits)."""

    @property
    def items(self) -> Sequence[models.FeedItem]: ...

    @property
    def cursor(self) -> Any: ...

    @property
    def caught_up(self) -> bool: ...


class Feed(Protocol):
    """The SIGRC feed (``sei_bridge.sigrc.feed.FeedReader`` fits)."""

    def poll(self, cursor: Any = None) -> FeedPass: ...


class LedgerStore(Protocol):
    """The store operations the engine uses (``sei_bridge.store.Store`` fits); see
    docs/internals.md for their contract."""

    def poller_lock(self) -> contextlib.AbstractContextManager[bool]: ...

    def load_cursor(self) -> Any: ...

    def record_feed_batch(self, items: Sequence[models.FeedItem], cursor: Any) -> int: ...

    def settled_events(self, limit: int) -> list[InboxEvent]: ...

    def set_aside_interacoes(self, protocolo: str, *, before: int) -> list[str | None]: ...

    def mark_event(self, event_id: int, state: InboxState, reason: str | None = None) -> None: ...

    def request_ledger(self, protocolo: str) -> tuple[RequestRow | None, list[LedgerEntry]]: ...

    def plan_event(
        self, event_id: int, *, request: RequestUpdate, actions: Sequence[NewAction]
    ) -> list[Action]: ...

    def quarantine_event(
        self, event_id: int, reason: str, *, protocolo: str | None = None
    ) -> None: ...

    def claim_due_actions(
        self, worker: str, *, limit: int, lease_seconds: float, now: Any = None
    ) -> list[Action]: ...

    def renew_lease(self, action_id: int, worker: str, lease_seconds: float) -> bool: ...

    def mark_done(self, action_id: int, worker: str, result: Mapping[str, Any]) -> bool: ...

    def mark_retry(self, action_id: int, worker: str, error: str, next_attempt_at: Any) -> bool: ...

    def mark_uncertain(
        self, action_id: int, worker: str, error: str, next_attempt_at: Any
    ) -> bool: ...

    def mark_quarantined(self, action_id: int, worker: str, reason: str) -> bool: ...

    def mark_needs_person(
        self, action_id: int, worker: str, evidence: Mapping[str, Any]
    ) -> bool: ...

    def ledger_of(self, protocolo: str) -> list[LedgerEntry]: ...

    def ledgers_of(self, protocolos: Sequence[str]) -> dict[str, list[LedgerEntry]]: ...

    def next_due_at(self) -> dt.datetime | None: ...

    def status(self) -> StatusReport: ...
