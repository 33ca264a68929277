"""The records the sandbox keeps, as SEI's database would: processos, documentos, andamentos,
contatos and chunked uploads, with their JSON form for the journal.

Strings are stored as SEI stores them (Latin-1, characters outside it as ``&#N;``: see
:func:`latin1_text`); times are POSIX seconds, shown in São Paulo time like SEI shows them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SAO_PAULO",
    "Andamento",
    "Atributo",
    "Contato",
    "Documento",
    "Processo",
    "Upload",
    "format_data",
    "format_data_hora",
    "latin1_text",
    "normalize_protocolo",
]

#: SEI answers in server local time without offset; Brazil has had no DST since 2019.
SAO_PAULO = dt.timezone(dt.timedelta(hours=-3), "America/Sao_Paulo")


def latin1_text(text: str) -> str:
    """``text`` as SEI stores a string field: characters outside Latin-1 become ``&#N;``."""
    if text.isascii():
        return text
    return "".join(ch if ord(ch) < 256 else f"&#{ord(ch)};" for ch in text)


def normalize_protocolo(protocolo: str) -> str:
    """A protocolo for lookups: punctuation, spaces and case ignored (as SEI does)."""
    return "".join(ch for ch in protocolo if ch.isalnum()).upper()


def format_data_hora(moment: float) -> str:
    """``dd/mm/yyyy hh:mm:ss`` in São Paulo time."""
    return dt.datetime.fromtimestamp(moment, SAO_PAULO).strftime("%d/%m/%Y %H:%M:%S")


def format_data(moment: float) -> str:
    """``dd/mm/yyyy`` in São Paulo time."""
    return dt.datetime.fromtimestamp(moment, SAO_PAULO).strftime("%d/%m/%Y")


@dataclass(frozen=True, slots=True)
class Atributo:
    """An attribute of an andamento (``DOCUMENTO`` = number, ``NIVEL_ACESSO``, ...)."""

    nome: str
    valor: str | None
    id_origem: str | None


@dataclass(frozen=True, slots=True)
class Andamento:
    """One line of a processo's history (``id_tarefa``: 1 gerado, 2 documento gerado,
    13 documento recebido, 28 conclusão, 29 reabertura, 32 remessa, 65 lançado)."""

    id_andamento: int
    id_procedimento: int
    id_tarefa: str
    descricao: str
    data_hora: float
    id_unidade: str
    atributos: tuple[Atributo, ...] = ()
    id_tarefa_modulo: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id_andamento,
            "p": self.id_procedimento,
            "tarefa": self.id_tarefa,
            "modulo": self.id_tarefa_modulo,
            "descricao": self.descricao,
            "at": self.data_hora,
            "unidade": self.id_unidade,
            "atributos": [[a.nome, a.valor, a.id_origem] for a in self.atributos],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Andamento:
        return cls(
            id_andamento=int(data["id"]),
            id_procedimento=int(data["p"]),
            id_tarefa=str(data["tarefa"]),
            id_tarefa_modulo=data.get("modulo"),
            descricao=str(data["descricao"]),
            data_hora=float(data["at"]),
            id_unidade=str(data["unidade"]),
            atributos=tuple(Atributo(n, v, o) for n, v, o in data.get("atributos", [])),
        )


@dataclass(slots=True)
class Contato:
    """A contact; those created for an unknown interessado are temporary (type 4)."""

    id_contato: int
    sigla: str | None
    nome: str
    cpf: str | None = None
    cnpj: str | None = None
    temporario: bool = True

    def __repr__(self) -> str:  # never print personal data
        return f"Contato(id_contato={self.id_contato}, temporario={self.temporario})"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id_contato,
            "sigla": self.sigla,
            "nome": self.nome,
            "cpf": self.cpf,
            "cnpj": self.cnpj,
            "temporario": self.temporario,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contato:
        return cls(
            id_contato=int(data["id"]),
            sigla=data.get("sigla"),
            nome=str(data["nome"]),
            cpf=data.get("cpf"),
            cnpj=data.get("cnpj"),
            temporario=bool(data.get("temporario", True)),
        )


@dataclass(slots=True)
class Documento:
    """A documento. ``content`` is what SEI stored (Latin-1 HTML for Tipo G, the file for R);
    empty when the sandbox runs with ``keep_content=False`` (``size`` and digests stay)."""

    id_documento: int
    id_procedimento: int
    tipo: str
    id_serie: str
    id_unidade: str
    data: str
    criado_em: float
    nivel_acesso: int
    numero: str | None = None
    descricao: str | None = None
    id_hipotese_legal: str | None = None
    nome_arquivo: str | None = None
    observacao: str | None = None
    interessados: tuple[int, ...] = ()
    size: int = 0
    md5: str = ""
    sha256: str = ""
    content: bytes = field(default=b"", repr=False)
    excluido: bool = False

    @property
    def documento_formatado(self) -> str:
        return f"{self.id_documento:07d}"

    def set_content(self, content: bytes, *, keep: bool) -> None:
        self.size = len(content)
        self.md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        self.sha256 = hashlib.sha256(content).hexdigest()
        self.content = content if keep else b""

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _DOCUMENTO_FIELDS}
        data["interessados"] = list(self.interessados)
        data["content"] = base64.b64encode(self.content).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Documento:
        values: dict[str, Any] = {name: data.get(name) for name in _DOCUMENTO_FIELDS}
        values["interessados"] = tuple(data.get("interessados", ()))
        values["content"] = base64.b64decode(data.get("content", ""))
        return cls(**values)


_DOCUMENTO_FIELDS = (
    "id_documento",
    "id_procedimento",
    "tipo",
    "id_serie",
    "id_unidade",
    "data",
    "criado_em",
    "nivel_acesso",
    "numero",
    "descricao",
    "id_hipotese_legal",
    "nome_arquivo",
    "observacao",
    "size",
    "md5",
    "sha256",
    "excluido",
)


@dataclass(slots=True)
class Processo:
    """A processo. ``abertas``: units where it is open now; ``passou``: every unit it was
    ever open in (a unit may reopen only a processo that went through it)."""

    id_procedimento: int
    procedimento_formatado: str
    id_tipo_procedimento: str
    data_autuacao: str
    criado_em: float
    id_unidade_geradora: str
    nivel_acesso: int
    especificacao: str | None = None
    numero_informado: str | None = None
    #: (year, n) of an SEI-generated number, to continue the sequence after a restart
    sequencial: tuple[int, int] | None = None
    id_hipotese_legal: str | None = None
    observacao: str | None = None
    assuntos: tuple[str, ...] = ()
    interessados: tuple[int, ...] = ()
    relacionados: tuple[int, ...] = ()
    abertas: list[str] = field(default_factory=list)
    passou: list[str] = field(default_factory=list)
    documentos: list[int] = field(default_factory=list)
    andamentos: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _PROCESSO_FIELDS}
        for name in ("assuntos", "interessados", "relacionados"):
            data[name] = list(data[name])
        data["sequencial"] = list(self.sequencial) if self.sequencial else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Processo:
        values: dict[str, Any] = {name: data.get(name) for name in _PROCESSO_FIELDS}
        for name in ("assuntos", "interessados", "relacionados"):
            values[name] = tuple(values[name] or ())
        for name in ("abertas", "passou", "documentos", "andamentos"):
            values[name] = list(values[name] or [])
        sequencial = data.get("sequencial")
        values["sequencial"] = (int(sequencial[0]), int(sequencial[1])) if sequencial else None
        return cls(**values)


_PROCESSO_FIELDS = (
    "id_procedimento",
    "procedimento_formatado",
    "id_tipo_procedimento",
    "data_autuacao",
    "criado_em",
    "id_unidade_geradora",
    "nivel_acesso",
    "especificacao",
    "numero_informado",
    "id_hipotese_legal",
    "observacao",
    "assuntos",
    "interessados",
    "relacionados",
    "abertas",
    "passou",
    "documentos",
    "andamentos",
)


@dataclass(slots=True)
class Upload:
    """A chunked upload in progress (``adicionarArquivo`` + ``adicionarConteudoArquivo``)."""

    id_arquivo: int
    nome: str
    tamanho: int
    hash_md5: str
    id_unidade: str
    data: bytearray = field(default_factory=bytearray, repr=False)
    corrompido: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id_arquivo,
            "nome": self.nome,
            "tamanho": self.tamanho,
            "hash": self.hash_md5,
            "unidade": self.id_unidade,
            "corrompido": self.corrompido,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(
            id_arquivo=int(data["id"]),
            nome=str(data["nome"]),
            tamanho=int(data["tamanho"]),
            hash_md5=str(data["hash"]),
            id_unidade=str(data["unidade"]),
            corrompido=bool(data.get("corrompido", False)),
        )
