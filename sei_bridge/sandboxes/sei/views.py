"""Read-only snapshots of the sandbox's state, for tests and benchmarks to assert on.

"Exactly one processo per request, one documento per interaction, no duplicates" is checked
from :meth:`SandboxState.processes` (each :class:`ProcessView` lists its documentos in order)
and :meth:`SandboxState.counters`. Views never change after they are taken; reprs leave out
names, CPFs and content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sei_bridge.sandboxes.sei.model import (
    Andamento,
    Contato,
    Documento,
    Processo,
    format_data_hora,
)

if TYPE_CHECKING:
    from sei_bridge.sandboxes.sei.state import SandboxState

__all__ = [
    "AndamentoView",
    "ContactView",
    "Counters",
    "DocumentView",
    "ProcessView",
    "andamento_view",
    "contact_view",
    "process_view",
]


@dataclass(frozen=True, slots=True)
class Counters:
    """``calls``: SOAP calls received per operation (faulted ones included); ``faults``:
    faults injected per kind (``http503``, ``reset``, ``lost``, ``hang``, ``outage``,
    ``latency``); ``soap_faults``: SOAP faults answered per operation."""

    calls: dict[str, int]
    faults: dict[str, int]
    soap_faults: dict[str, int]


@dataclass(frozen=True, slots=True)
class ContactView:
    id_contato: str
    sigla: str | None
    nome: str = field(repr=False)
    cpf: str | None = field(default=None, repr=False)
    cnpj: str | None = field(default=None, repr=False)
    temporario: bool = True


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A documento as stored. ``serie`` is the série's name; ``content`` the stored bytes
    (Latin-1 HTML for ``tipo`` G — characters outside Latin-1 already lost as ``?``)."""

    id_documento: str
    documento_formatado: str
    tipo: str
    id_serie: str
    serie: str
    descricao: str | None
    data: str
    nivel_acesso: int
    id_hipotese_legal: str | None
    numero: str | None
    nome_arquivo: str | None
    id_unidade: str
    size: int
    md5: str
    sha256: str
    content: bytes = field(repr=False)

    @property
    def html(self) -> str:
        """The stored content as text (SEI keeps generated documents in Latin-1)."""
        return self.content.decode("latin-1")


@dataclass(frozen=True, slots=True)
class AndamentoView:
    id_andamento: str
    id_tarefa: str
    descricao: str
    data_hora: str
    id_unidade: str
    atributos: tuple[tuple[str, str | None, str | None], ...]

    def atributo(self, nome: str) -> str | None:
        """The value of attribute ``nome`` (``DOCUMENTO``, ...); None when absent."""
        for name, valor, _ in self.atributos:
            if name == nome:
                return valor
        return None


@dataclass(frozen=True, slots=True)
class ProcessView:
    """A processo with its documentos (in order), interessados and history."""

    id_procedimento: str
    procedimento_formatado: str
    numero_informado: str | None
    id_tipo_procedimento: str
    tipo_procedimento: str
    especificacao: str | None
    data_autuacao: str
    nivel_acesso: int
    id_hipotese_legal: str | None
    assuntos: tuple[str, ...]
    interessados: tuple[ContactView, ...]
    id_unidade_geradora: str
    unidades_abertas: tuple[str, ...]
    documents: tuple[DocumentView, ...]
    andamentos: tuple[AndamentoView, ...]
    observacao: str | None = field(default=None, repr=False)

    @property
    def concluded(self) -> bool:
        """Open in no unit."""
        return not self.unidades_abertas

    def documents_of_serie(self, id_serie: str) -> tuple[DocumentView, ...]:
        return tuple(d for d in self.documents if d.id_serie == id_serie)


def contact_view(contato: Contato) -> ContactView:
    return ContactView(
        id_contato=str(contato.id_contato),
        sigla=contato.sigla,
        nome=contato.nome,
        cpf=contato.cpf,
        cnpj=contato.cnpj,
        temporario=contato.temporario,
    )


def document_view(state: SandboxState, documento: Documento) -> DocumentView:
    serie = state.catalog.serie(documento.id_serie)
    return DocumentView(
        id_documento=str(documento.id_documento),
        documento_formatado=documento.documento_formatado,
        tipo=documento.tipo,
        id_serie=documento.id_serie,
        serie=serie.nome if serie is not None else "",
        descricao=documento.descricao,
        data=documento.data,
        nivel_acesso=documento.nivel_acesso,
        id_hipotese_legal=documento.id_hipotese_legal,
        numero=documento.numero,
        nome_arquivo=documento.nome_arquivo,
        id_unidade=documento.id_unidade,
        size=documento.size,
        md5=documento.md5,
        sha256=documento.sha256,
        content=documento.content,
    )


def andamento_view(state: SandboxState, andamento: Andamento) -> AndamentoView:
    return AndamentoView(
        id_andamento=str(andamento.id_andamento),
        id_tarefa=andamento.id_tarefa,
        descricao=andamento.descricao,
        data_hora=format_data_hora(andamento.data_hora),
        id_unidade=andamento.id_unidade,
        atributos=tuple((a.nome, a.valor, a.id_origem) for a in andamento.atributos),
    )


def process_view(state: SandboxState, processo: Processo) -> ProcessView:
    tipo = state.catalog.tipo_procedimento(processo.id_tipo_procedimento)
    documents = (state.documentos[i] for i in processo.documentos)
    return ProcessView(
        id_procedimento=str(processo.id_procedimento),
        procedimento_formatado=processo.procedimento_formatado,
        numero_informado=processo.numero_informado,
        id_tipo_procedimento=processo.id_tipo_procedimento,
        tipo_procedimento=tipo.nome if tipo is not None else "",
        especificacao=processo.especificacao,
        data_autuacao=processo.data_autuacao,
        nivel_acesso=processo.nivel_acesso,
        id_hipotese_legal=processo.id_hipotese_legal,
        assuntos=processo.assuntos,
        interessados=tuple(contact_view(state.contatos[i]) for i in processo.interessados),
        id_unidade_geradora=processo.id_unidade_geradora,
        unidades_abertas=tuple(processo.abertas),
        documents=tuple(document_view(state, d) for d in documents if not d.excluido),
        andamentos=tuple(andamento_view(state, state.andamentos[i]) for i in processo.andamentos),
        observacao=processo.observacao,
    )
