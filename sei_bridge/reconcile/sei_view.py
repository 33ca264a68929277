"""What SEI really holds for one process, read with SEI's own operations (reads only).

``consultarProcedimento`` says whether the process exists and where it is open;
``listarAndamentos`` (tarefas 2 and 13) names every document that ever entered it, in the order
they did; ``consultarDocumento`` on each gives its série and descrição — and says which ones
were deleted since (SEI keeps the andamento of a deleted document, not the document).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from sei_bridge import errors
from sei_bridge.engine.probes import DOCUMENT_TAREFAS
from sei_bridge.sei import faults, types

__all__ = ["SeiDocument", "SeiProcess", "SeiReader", "read_process"]


class SeiReader(Protocol):
    """The SEI reads reconciliation makes (``SeiClient`` has them)."""

    def consultar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado: ...

    def listar_andamentos(
        self, *, id_unidade: str, protocolo_procedimento: str, tarefas: Sequence[str] = ...
    ) -> list[types.Andamento]: ...

    def consultar_documento(
        self, *, id_unidade: str, protocolo_documento: str
    ) -> types.DocumentoConsultado: ...


@dataclasses.dataclass(frozen=True, slots=True)
class SeiDocument:
    """A document present in the process. ``descricao`` is for matching only: never shown."""

    numero: str
    id_serie: str
    descricao: str | None = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class SeiProcess:
    numero: str
    #: the process is open in the unit sei-bridge works in
    open_in_unit: bool
    #: documents present now, in the order they entered the process
    documents: tuple[SeiDocument, ...]


def _order_key(position: int, andamento: types.Andamento) -> tuple[int, int]:
    # andamento ids grow with time; fall back to SEI's order (newest first) when not numeric
    try:
        return (int(andamento.id_andamento), 0)
    except ValueError:
        return (0, -position)


def read_process(sei: SeiReader, *, unidade: str, numero: str) -> SeiProcess | None:
    """The process ``numero`` as SEI holds it, or None when SEI says it does not exist.
    Other SEI errors propagate (the request is reported unchecked)."""
    try:
        proc = sei.consultar_procedimento(id_unidade=unidade, protocolo_procedimento=numero)
    except errors.SeiValidationFault as exc:
        if faults.is_not_found(exc):
            return None
        raise
    andamentos = sei.listar_andamentos(
        id_unidade=unidade, protocolo_procedimento=numero, tarefas=DOCUMENT_TAREFAS
    )
    ordered = sorted(enumerate(andamentos), key=lambda pa: _order_key(*pa))
    numeros = list(dict.fromkeys(n for _, a in ordered if (n := a.atributo("DOCUMENTO"))))
    present: list[SeiDocument] = []
    for doc_numero in numeros:
        try:
            doc = sei.consultar_documento(id_unidade=unidade, protocolo_documento=doc_numero)
        except errors.SeiValidationFault as exc:
            if faults.is_not_found(exc):
                continue  # deleted in SEI: its andamento stays, the document does not
            raise
        present.append(SeiDocument(doc.documento_formatado, doc.id_serie, doc.descricao))
    return SeiProcess(
        numero=proc.procedimento_formatado,
        open_in_unit=any(u.id_unidade == unidade for u in proc.unidades_aberto),
        documents=tuple(present),
    )
