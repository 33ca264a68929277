"""What sei-bridge writes into SEI: especificação, interessado, descrições and the three
generated documents (the opening "Solicitação SP156 nº …", one per interaction, and
"SP 156 Finalizado").

Documents are HTML *fragments* built with :mod:`sei_bridge.sei.html` (every citizen text is
escaped, characters outside Latin-1 become numeric references so SEI keeps them; never a whole
``<html><body>`` page, which SEI's script filter treats differently). Labels are in Portuguese:
these are official records read by SEI users.

Descrições are short (at most 250 characters as SEI stores them) and unique among the documents
of a process: after a call whose outcome is unknown, the prober finds the document by its série
and descrição (SEI has no idempotency key), so two documents of one request never share one.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sei_bridge.sei import html as sei_html
from sei_bridge.sei import types, validation
from sei_bridge.sigrc import models

__all__ = [
    "MAX_ESPECIFICACAO",
    "REASON_SEPARATOR",
    "AttachmentStatus",
    "descricao_anexo",
    "descricao_finalizado",
    "descricao_interacao",
    "descricao_solicitacao",
    "especificacao",
    "interessado",
    "motivo",
    "nome_arquivo",
    "render_finalizado",
    "render_interacao",
    "render_solicitacao",
    "same_descricao",
    "sigla_interessado",
]

#: Especificação kept short (SEI allows 100; its lists show about 50).
MAX_ESPECIFICACAO = 50
#: SEI's limit for a contact's Nome (kept well under the column size).
_MAX_NOME = 200
#: Separates a quarantine reason's cause from its fix ("code: cause | fix").
REASON_SEPARATOR = " | "

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r"\s+")

_CANAIS = {
    "CENTRAL_TELEFONICA": "Central telefônica 156",
    "PORTAL": "Portal SP156",
    "APLICATIVO": "Aplicativo SP156",
    "CHAT": "Chat",
    "PRACA_ATENDIMENTO": "Praça de atendimento",
    "OUTRO": "Outro",
}
_AUTORES = {"MUNICIPE": "Munícipe", "ORGAO": "Órgão", "ATENDENTE": "Atendente"}
_TIPOS_INTERACAO = {
    "COMPLEMENTO": "Complemento",
    "RESPOSTA": "Resposta",
    "SOLICITACAO_COMPLEMENTO": "Solicitação de complemento",
    "MANIFESTACAO": "Manifestação",
}
_RESULTADOS = {
    "ATENDIDA": "Atendida",
    "NAO_ATENDIDA": "Não atendida",
    "INDEFERIDA": "Indeferida",
    "CANCELADA": "Cancelada",
}
_SITUACOES = {
    "ABERTA": "Aberta",
    "EM_ANDAMENTO": "Em andamento",
    "AGUARDANDO_MUNICIPE": "Aguardando munícipe",
    "FINALIZADA": "Finalizada",
    "INDEFERIDA": "Indeferida",
    "CANCELADA": "Cancelada",
}


# --- short texts ------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """One line: control characters and runs of whitespace become one space."""
    return _SPACES.sub(" ", _CONTROLS.sub(" ", text)).strip()


def _fit(text: str, limit: int) -> str:
    """``text`` cut so that SEI stores at most ``limit`` characters (ending with "…")."""
    if validation.stored_length(text) <= limit:
        return text
    out = text
    while out and validation.stored_length(out + "…") > limit:
        out = out[:-1]
    return out.rstrip() + "…"


def _label(table: dict[str, str], value: str) -> str:
    return table.get(str(value), str(value))


def _date(value: dt.datetime) -> str:
    return value.strftime("%d/%m/%Y")


def _datetime(value: dt.datetime) -> str:
    return value.strftime("%d/%m/%Y %H:%M")


def sigla_interessado(protocolo: str) -> str:
    """The Sigla of the request's own contact: found by ``listarContatos`` only if the
    creating transaction committed (SEI-FACTS.md, "Idempotency")."""
    return f"SP156-{protocolo}"


def interessado(solicitacao: models.Solicitacao) -> types.Interessado:
    """A contact unique to the request: Sigla ``SP156-<protocolo>`` and a Nome that ends with
    the protocolo, since SEI reuses an existing temporary contact by Nome alone.

    No CPF/CNPJ is sent on purpose: SEI matches a contact by CPF before Sigla, which would
    attach the citizen's older contact and break the probe by Sigla.
    """
    suffix = f" (SP156 {solicitacao.protocolo})"
    if solicitacao.anonima or solicitacao.municipe is None or not _clean(solicitacao.municipe.nome):
        nome = "Munícipe anônimo"
    else:
        nome = _clean(solicitacao.municipe.nome)
    nome = _fit(nome, _MAX_NOME - validation.stored_length(suffix))
    return types.Interessado(sigla=sigla_interessado(solicitacao.protocolo), nome=nome + suffix)


#: Characters outside Latin-1 that file names often carry (Windows turns " - " into " – "),
#: with the Latin-1 character SEI takes instead.
_FILE_NAME_PUNCTUATION = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201a": "'",
        "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2026": "...",
        # letters NFKD does not decompose
        "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0131": "i",
        "\u0152": "OE", "\u0153": "oe",
    }
)  # fmt: skip


def _latin1_name_char(ch: str) -> str:
    if ord(ch) < 256:
        return ch
    # a letter with marks SEI cannot store (ş, ő, ł...) keeps its base letter; anything else "_"
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 128 and c.isalnum())
    return base or "_"


def nome_arquivo(nome: str, extension: str) -> str:
    """The file name an attachment gets in SEI: the citizen's, as close as SEI 4.1 accepts.

    SEI refuses a file name holding ``&#`` — which is what any character outside Latin-1
    becomes on its way in ("Nome do anexo possui caracteres especiais.", AnexoRN), a name
    over 255 characters, and one without an extension. So: NFC, characters outside Latin-1
    replaced (dashes and quotes by their ASCII forms, marked letters by their base letter,
    the rest by ``_``), control characters and runs of spaces as one space, ``&#`` broken,
    ``extension`` added when the name has none, cut to 255 characters keeping the extension.
    """
    text = unicodedata.normalize("NFC", nome).translate(_FILE_NAME_PUNCTUATION)
    name = _clean("".join(_latin1_name_char(ch) for ch in text)).replace("&#", "&_") or "anexo"
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or " " in suffix or not suffix:
        stem, suffix = name, extension
    suffix = suffix[:16]
    stem = stem[: types.MAX_NOME_ARQUIVO - len(suffix) - 1].rstrip() or "anexo"
    return f"{stem}.{suffix}" if suffix else stem[: types.MAX_NOME_ARQUIVO]


def especificacao(protocolo: str, servico_nome: str) -> str:
    """``SP156 <protocolo> <service>`` within :data:`MAX_ESPECIFICACAO` characters."""
    head = f"SP156 {protocolo}"
    if validation.stored_length(head) >= MAX_ESPECIFICACAO - 2:
        return _fit(head, MAX_ESPECIFICACAO)
    servico = _clean(servico_nome)
    if not servico:
        return head
    return _fit(f"{head} {servico}", MAX_ESPECIFICACAO)


def descricao_solicitacao(protocolo: str) -> str:
    """Descrição of the opening document (one per request)."""
    return _fit(f"Solicitação SP156 nº {protocolo}", types.MAX_DESCRICAO)


def descricao_anexo(protocolo: str, anexo: models.Anexo) -> str:
    """Descrição of an attachment: its SIGRC id (unique in the request) and file name."""
    head = f"Anexo {_clean(anexo.id_anexo)} da solicitação SP156 nº {protocolo}"
    if validation.stored_length(head) > types.MAX_DESCRICAO - 8:
        head = f"Anexo {_clean(anexo.id_anexo)}"
    return _fit(f"{head}: {_clean(anexo.nome_arquivo)}", types.MAX_DESCRICAO)


def descricao_interacao(protocolo: str, interacao: models.Interacao) -> str:
    """Descrição of an interaction's document: its SIGRC id (unique in the request)."""
    tipo = _label(_TIPOS_INTERACAO, interacao.tipo)
    text = (
        f"Interação {_clean(interacao.id_interacao)} da solicitação SP156 nº {protocolo} "
        f"({tipo}, {_date(interacao.ocorrida_em)})"
    )
    return _fit(text, types.MAX_DESCRICAO)


def descricao_finalizado(protocolo: str, id_evento: str, encerrada_em: dt.datetime) -> str:
    """Descrição of a "SP 156 Finalizado": the closure's event id makes a second closure after
    a reopening a different document."""
    text = (
        f"SP 156 Finalizado da solicitação SP156 nº {protocolo} em {_date(encerrada_em)} "
        f"(encerramento {_clean(id_evento)})"
    )
    return _fit(text, types.MAX_DESCRICAO)


def same_descricao(sent: str | None, stored: str | None) -> bool:
    """True when a descrição read back from SEI is the one sent (SEI may store characters
    outside Latin-1 as numeric references, and trims whitespace)."""
    if sent is None or stored is None:
        return False
    return _clean(html.unescape(sent)) == _clean(html.unescape(stored))


def motivo(reason: str | None) -> str:
    """The cause part of a quarantine reason (``"code: cause | fix"`` → ``"cause"``), fit to
    be shown in a document."""
    if not reason:
        return "motivo não registrado"
    text = reason.split(REASON_SEPARATOR, 1)[0]
    code, sep, rest = text.partition(": ")
    if sep and re.fullmatch(r"[a-z][a-z-]*", code):
        text = rest
    return _clean(text) or "motivo não registrado"


# --- documents --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachmentStatus:
    """Where one attachment of the request stands, for the documents that list it."""

    id_anexo: str
    nome_arquivo: str
    #: the SEI document number when the attachment is in SEI
    documento_formatado: str | None = None
    #: why it is not in SEI (a quarantine reason), when it was refused
    reason: str | None = None

    @property
    def in_sei(self) -> bool:
        return self.documento_formatado is not None

    def situacao(self) -> str:
        """The text shown next to the file name."""
        if self.documento_formatado is not None:
            return f"incluído no SEI: documento nº {self.documento_formatado}"
        if self.reason is not None:
            return f"não incluído no SEI: {motivo(self.reason)}"
        return "ainda não incluído no SEI"


def _anexos(doc: sei_html.FragmentBuilder, title: str, anexos: Sequence[AttachmentStatus]) -> None:
    doc.heading(title)
    if not anexos:
        doc.paragraph("Nenhum anexo.")
        return
    doc.definitions([(a.nome_arquivo or a.id_anexo, a.situacao()) for a in anexos])


def render_solicitacao(
    solicitacao: models.Solicitacao, anexos: Sequence[AttachmentStatus]
) -> bytes:
    """The opening document: the request as registered, and its attachments in SEI."""
    s = solicitacao
    doc = sei_html.FragmentBuilder(f"Solicitação SP156 nº {s.protocolo}")
    doc.definitions(
        [
            ("Protocolo SP156", s.protocolo),
            ("Serviço", f"{s.servico_codigo} - {s.servico_nome}"),
            ("Tema", s.tema),
            ("Assunto", s.assunto),
            ("Canal", _label(_CANAIS, s.canal)),
            ("Órgão", f"{s.orgao_sigla} - {s.orgao_nome}"),
            ("Unidade SIGRC", f"{s.unidade_codigo} - {s.unidade_nome}"),
            ("Aberta em", _datetime(s.aberta_em)),
            ("Prazo", _datetime(s.prazo_em) if s.prazo_em else None),
            ("Situação no registro", _label(_SITUACOES, s.situacao)),
        ]
    )
    doc.heading("Munícipe")
    if s.anonima or s.municipe is None:
        doc.paragraph("Solicitação anônima.")
    else:
        m = s.municipe
        doc.definitions(
            [
                (label, value)
                for label, value in (
                    ("Nome", m.nome),
                    ("CPF", m.cpf),
                    ("CNPJ", m.cnpj),
                    ("E-mail", m.email),
                    ("Telefone", m.telefone),
                )
                if value
            ]
        )
    if s.endereco is not None:
        e = s.endereco
        logradouro = " ".join(p for p in (e.logradouro, e.numero, e.complemento) if p)
        rows = [
            ("Logradouro", logradouro or None),
            ("Bairro", e.bairro),
            ("CEP", e.cep),
            ("Distrito", e.distrito),
            ("Subprefeitura", e.subprefeitura),
        ]
        shown = [(label, value) for label, value in rows if value]
        if shown:
            doc.heading("Endereço")
            doc.definitions(shown)
    doc.heading("Descrição")
    doc.paragraph(s.descricao)
    _anexos(doc, "Anexos", anexos)
    return doc.render()


def render_interacao(
    protocolo: str, interacao: models.Interacao, anexos: Sequence[AttachmentStatus]
) -> bytes:
    """One interaction with the citizen: who, when, what was said, and its attachments."""
    i = interacao
    doc = sei_html.FragmentBuilder(f"Interação na solicitação SP156 nº {protocolo}")
    doc.definitions(
        [
            ("Protocolo SP156", protocolo),
            ("Interação", i.id_interacao),
            ("Tipo", _label(_TIPOS_INTERACAO, i.tipo)),
            ("Autor", _label(_AUTORES, i.autor)),
            ("Canal", _label(_CANAIS, i.canal) if i.canal else None),
            ("Ocorrida em", _datetime(i.ocorrida_em)),
        ]
    )
    doc.heading("Texto")
    doc.paragraph(i.texto)
    _anexos(doc, "Anexos da interação", anexos)
    return doc.render()


def render_finalizado(
    protocolo: str, encerramento: models.Encerramento, anexos: Sequence[AttachmentStatus]
) -> bytes:
    """The "SP 156 Finalizado" document: the outcome, the final answer, how many interactions
    the request had, and every attachment of the request with whether it is in SEI."""
    e = encerramento
    doc = sei_html.FragmentBuilder("SP 156 Finalizado")
    doc.definitions(
        [
            ("Protocolo SP156", protocolo),
            ("Resultado", _label(_RESULTADOS, e.resultado)),
            ("Encerrada em", _datetime(e.encerrada_em)),
            ("Interações registradas", str(e.quantidade_interacoes)),
            ("Unidade responsável", e.responsavel_unidade),
        ]
    )
    doc.heading("Resposta final ao munícipe")
    doc.paragraph(e.texto)
    _anexos(doc, "Anexos da solicitação", anexos)
    return doc.render()
