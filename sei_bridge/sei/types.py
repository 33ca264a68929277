"""Typed values exchanged with SEI. Callers of the SEI client see only these, never zeep types.

Field names follow SEI's own (Portuguese) names in snake_case. Ids are strings, as SEI sends
them. ``Sin*`` flags are Python booleans here; the client turns them into ``S``/``N``.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from dataclasses import dataclass, field

__all__ = [
    "MAX_DESCRICAO",
    "MAX_DOCUMENTOS_POR_GERACAO",
    "MAX_ESPECIFICACAO",
    "MAX_NOME_ARQUIVO",
    "MAX_OBSERVACAO",
    "MAX_PROTOCOLO_FORMATADO",
    "SEI_TIMEZONE",
    "Andamento",
    "Assunto",
    "Contato",
    "DocumentoConsultado",
    "DocumentoIncluido",
    "ExtensaoPermitida",
    "HipoteseLegal",
    "Interessado",
    "NivelAcesso",
    "NovoDocumento",
    "NovoProcedimento",
    "ProcedimentoConsultado",
    "ProcedimentoGerado",
    "Serie",
    "TipoDocumento",
    "TipoProcedimento",
    "Unidade",
    "sei_day",
]

#: SEI's own time zone (Brasília time, where the city's SEI runs). SEI compares dates it is
#: given with its own "today" ("Data do protocolo não pode estar no futuro."), so a date for
#: SEI is the calendar day there: a request registered at 22:30 in São Paulo is 01:30 UTC of
#: the next day, which SEI would refuse until its own midnight.
SEI_TIMEZONE = zoneinfo.ZoneInfo("America/Sao_Paulo")


def sei_day(moment: dt.datetime) -> dt.date:
    """The calendar day of ``moment`` (timezone-aware) in :data:`SEI_TIMEZONE`."""
    return moment.astimezone(SEI_TIMEZONE).date()


#: SEI refuses a longer Especificacao ("Especificação possui tamanho superior a 100 caracteres.").
MAX_ESPECIFICACAO = 100
#: the longest process or document number SEI makes or accepts (NumeroProtocolo: 40)
MAX_PROTOCOLO_FORMATADO = 40
#: SEI refuses a longer Observacao.
MAX_OBSERVACAO = 1000
#: SEI refuses a longer document Descricao.
MAX_DESCRICAO = 250
#: A received documento's file name (AnexoRN: "Nome do anexo possui tamanho superior a 255
#: caracteres."); it must also hold only Latin-1 characters and an extension.
MAX_NOME_ARQUIVO = 255
#: SEI_WS_NUM_MAX_DOCS: documents accepted in one gerarProcedimento.
MAX_DOCUMENTOS_POR_GERACAO = 5


class NivelAcesso(enum.IntEnum):
    """Access level of a processo or documento."""

    #: visible to every SEI user
    PUBLICO = 0
    #: visible to the units the process went through; needs a hipótese legal
    RESTRITO = 1
    #: cannot be created over web services
    SIGILOSO = 2


class TipoDocumento(enum.StrEnum):
    """``Documento.Tipo``."""

    #: generated in SEI from HTML content (no Data, no NomeArquivo)
    GERADO = "G"
    #: received / external: a file, with Data required
    RECEBIDO = "R"


@dataclass(frozen=True, slots=True)
class Interessado:
    """An interessado (contact) of a processo or documento."""

    sigla: str | None = None
    nome: str | None = None
    id_contato: str | None = None
    cpf: str | None = None
    cnpj: str | None = None

    def __repr__(self) -> str:  # never print personal data
        return f"Interessado(sigla={self.sigla!r}, id_contato={self.id_contato!r})"


@dataclass(frozen=True, slots=True)
class NovoProcedimento:
    """What ``gerarProcedimento`` is asked to create (``Procedimento`` in the WSDL)."""

    id_tipo_procedimento: str
    especificacao: str
    assuntos: tuple[str, ...] = ()  #: CodigoEstruturado of each assunto
    interessados: tuple[Interessado, ...] = ()
    observacao: str | None = None
    nivel_acesso: NivelAcesso = NivelAcesso.RESTRITO
    id_hipotese_legal: str | None = None
    #: only together with data_autuacao; SEI numbers the process otherwise
    numero_protocolo: str | None = None
    data_autuacao: dt.date | None = None


@dataclass(frozen=True, slots=True)
class NovoDocumento:
    """What ``incluirDocumento`` (or a document of ``gerarProcedimento``) is asked to create.

    ``conteudo`` holds the raw bytes: for a generated document the HTML already encoded by
    :mod:`sei_bridge.sei.html`; for a received one the file. The client base64-encodes it.
    ``id_arquivo`` replaces ``conteudo`` when the file was sent by chunked upload.
    """

    tipo: TipoDocumento
    id_serie: str
    descricao: str | None = None
    protocolo_procedimento: str | None = None
    id_procedimento: str | None = None
    numero: str | None = None
    data: dt.date | None = None  #: required for RECEBIDO, forbidden for GERADO
    nome_arquivo: str | None = None
    conteudo: bytes | None = field(default=None, repr=False)
    id_arquivo: str | None = None
    observacao: str | None = None
    interessados: tuple[Interessado, ...] = ()
    remetente: Interessado | None = None
    nivel_acesso: NivelAcesso | None = None
    id_hipotese_legal: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentoIncluido:
    """``RetornoInclusaoDocumento``."""

    id_documento: str
    documento_formatado: str
    link_acesso: str


@dataclass(frozen=True, slots=True)
class ProcedimentoGerado:
    """``RetornoGeracaoProcedimento``."""

    id_procedimento: str
    procedimento_formatado: str
    link_acesso: str
    documentos: tuple[DocumentoIncluido, ...] = ()


@dataclass(frozen=True, slots=True)
class Unidade:
    id_unidade: str
    sigla: str
    descricao: str


@dataclass(frozen=True, slots=True)
class Andamento:
    """One entry of a process's history (``listarAndamentos``)."""

    id_andamento: str
    id_tarefa: str
    descricao: str
    data_hora: str  #: "dd/mm/yyyy hh:mm:ss", SEI server local time, as SEI sends it
    unidade: Unidade | None
    atributos: tuple[tuple[str, str | None], ...] = ()  #: (Nome, Valor) pairs

    def atributo(self, nome: str) -> str | None:
        """The value of the first attribute called ``nome`` (e.g. ``DOCUMENTO``), if any."""
        for key, value in self.atributos:
            if key == nome:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Assunto:
    codigo_estruturado: str
    descricao: str


@dataclass(frozen=True, slots=True)
class ProcedimentoConsultado:
    """``RetornoConsultaProcedimento`` (the parts sei-bridge reads)."""

    id_procedimento: str
    procedimento_formatado: str
    especificacao: str | None
    data_autuacao: str | None
    link_acesso: str
    nivel_acesso_local: str | None
    id_tipo_procedimento: str | None
    nome_tipo_procedimento: str | None
    assuntos: tuple[Assunto, ...] = ()
    interessados: tuple[Interessado, ...] = ()
    unidades_aberto: tuple[Unidade, ...] = ()  #: units where the process is open
    andamento_conclusao: Andamento | None = None
    ultimo_andamento: Andamento | None = None


@dataclass(frozen=True, slots=True)
class DocumentoConsultado:
    """``RetornoConsultaDocumento`` (the parts sei-bridge reads)."""

    id_procedimento: str
    procedimento_formatado: str
    id_documento: str
    documento_formatado: str
    link_acesso: str
    id_serie: str
    nome_serie: str
    numero: str | None
    descricao: str | None
    data: str | None  #: "dd/mm/yyyy"


@dataclass(frozen=True, slots=True)
class Contato:
    id_contato: str
    sigla: str | None
    nome: str | None

    def __repr__(self) -> str:  # never print personal data
        return f"Contato(id_contato={self.id_contato!r}, sigla={self.sigla!r})"


@dataclass(frozen=True, slots=True)
class TipoProcedimento:
    id_tipo_procedimento: str
    nome: str


@dataclass(frozen=True, slots=True)
class Serie:
    id_serie: str
    nome: str
    aplicabilidade: str | None = None


@dataclass(frozen=True, slots=True)
class HipoteseLegal:
    id_hipotese_legal: str
    nome: str
    base_legal: str | None
    nivel_acesso: NivelAcesso


@dataclass(frozen=True, slots=True)
class ExtensaoPermitida:
    id_arquivo_extensao: str
    extensao: str  #: lower case, without the dot ("pdf")
    descricao: str | None = None
