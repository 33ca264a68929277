"""What sei-bridge writes into SEI: short unique texts and HTML fragments safe for SEI."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from sei_bridge import documents
from sei_bridge.sei import types, validation
from tests.unit.engine import builders as b

HOSTILE = 'Olá 😀 <script>alert(1)</script> & "aspas" 中文\nsegunda linha'


def _text(fragment: bytes) -> str:
    return html.unescape(fragment.decode("latin-1").replace("<br />", "\n"))


def test_especificacao_is_short_and_names_the_request() -> None:
    text = documents.especificacao(b.PROTOCOLO, "IPTU - Revisão do valor venal " * 5)
    assert text.startswith(f"SP156 {b.PROTOCOLO} IPTU")
    assert validation.stored_length(text) <= documents.MAX_ESPECIFICACAO
    assert documents.especificacao(b.PROTOCOLO, "") == f"SP156 {b.PROTOCOLO}"


def test_interessado_is_unique_to_the_request_and_never_carries_the_cpf() -> None:
    who = documents.interessado(b.solicitacao())
    assert who.sigla == f"SP156-{b.PROTOCOLO}"
    assert who.nome == f"Maria da Silva (SP156 {b.PROTOCOLO})"
    assert who.cpf is None and who.cnpj is None
    other = documents.interessado(b.solicitacao("2026-00000002"))
    assert other.nome != who.nome and other.sigla != who.sigla
    anonymous = documents.interessado(b.solicitacao(anonima=True))
    assert anonymous.nome == f"Munícipe anônimo (SP156 {b.PROTOCOLO})"
    long_name = documents.interessado(b.solicitacao(nome="Nome " * 100))
    assert long_name.nome is not None and long_name.nome.endswith(f"(SP156 {b.PROTOCOLO})")
    assert len(long_name.nome) <= 200


def test_descricoes_fit_sei_and_differ_per_item() -> None:
    anexos = [b.anexo("a1", "x.pdf"), b.anexo("a2", "x.pdf"), b.anexo("a3", "😀" * 300 + ".pdf")]
    texts = [documents.descricao_anexo(b.PROTOCOLO, a) for a in anexos]
    texts += [
        documents.descricao_interacao(b.PROTOCOLO, b.interacao("i1")),
        documents.descricao_interacao(b.PROTOCOLO, b.interacao("i2")),
        documents.descricao_solicitacao(b.PROTOCOLO),
        documents.descricao_finalizado(b.PROTOCOLO, "ev-1", b.T0),
        documents.descricao_finalizado(b.PROTOCOLO, "ev-2", b.T0),
    ]
    assert len(set(texts)) == len(texts)
    assert all(validation.stored_length(t) <= 250 for t in texts)
    assert all("\n" not in t for t in texts)
    assert texts[0].startswith("Anexo a1 da solicitação SP156 nº 2026-00000001: x.pdf")


def test_a_descricao_read_back_from_sei_matches_despite_references() -> None:
    sent = documents.descricao_anexo(b.PROTOCOLO, b.anexo("a1", "foto 😀.pdf"))
    stored = sent.replace("😀", "&#128512;")
    assert documents.same_descricao(sent, stored)
    assert documents.same_descricao(sent, " " + sent + " ")
    assert not documents.same_descricao(sent, sent.replace("a1", "a2"))
    assert not documents.same_descricao(sent, None)


def test_the_opening_document_is_a_safe_fragment_with_the_request_and_its_attachments() -> None:
    s = b.solicitacao(descricao=HOSTILE, anexos=[b.anexo("a1"), b.anexo("a2", "foto.png")])
    statuses = [
        documents.AttachmentStatus("a1", "carne-iptu.pdf", documento_formatado="0000123"),
        documents.AttachmentStatus(
            "a2",
            "foto.png",
            reason='attachment-refused: arquivo ".png" não é aceito pelo SEI | allow it',
        ),
    ]
    fragment = documents.render_solicitacao(s, statuses)
    raw = fragment.decode("latin-1")
    assert "<html" not in raw.lower() and "<body" not in raw.lower()
    assert "<script" not in raw.lower()
    text = _text(fragment)
    assert f"Solicitação SP156 nº {b.PROTOCOLO}" in text
    assert HOSTILE in text  # every character survives, as text
    assert "carne-iptu.pdf" in text and "documento nº 0000123" in text
    assert 'não incluído no SEI: arquivo ".png" não é aceito pelo SEI' in text
    assert "allow it" not in text  # the operator's fix is not part of the record
    assert "Maria da Silva" in text


def test_interaction_and_closure_documents_list_their_attachments() -> None:
    i = b.interacao("i7", texto=HOSTILE)
    text = _text(
        documents.render_interacao(b.PROTOCOLO, i, [documents.AttachmentStatus("a9", "r.pdf")])
    )
    assert "i7" in text and HOSTILE in text and "r.pdf" in text
    assert "ainda não incluído no SEI" in text
    closing = _text(documents.render_finalizado(b.PROTOCOLO, b.encerramento(3), []))
    assert "SP 156 Finalizado" in closing
    assert "Interações registradas" in closing and "3" in closing
    assert "Revisão deferida." in closing and "Nenhum anexo." in closing
    assert "Atendida" in closing


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (
            "sei-refused: SEI refused incluirDocumento: Tipo X | fix it",
            "SEI refused incluirDocumento: Tipo X",
        ),
        ("plain text without code", "plain text without code"),
        (None, "motivo não registrado"),
    ],
)
def test_motivo_keeps_the_cause_of_a_reason(reason: str | None, shown: str) -> None:
    assert documents.motivo(reason) == shown


@pytest.mark.parametrize(
    ("given", "extension", "sent"),
    [
        ("Declaração nº 1 <b> & 'x'.pdf", "pdf", "Declaração nº 1 <b> & 'x'.pdf"),  # Latin-1 kept
        ("Comprovante – pagamento “IPTU”.pdf", "pdf", 'Comprovante - pagamento "IPTU".pdf'),
        ("Şahin Łukasz Ő.pdf", "pdf", "Sahin Lukasz O.pdf"),
        ("foto 😀 中文.pdf", "pdf", "foto _ __.pdf"),
        ("e\u0301 combinado.pdf", "pdf", "é combinado.pdf"),  # NFC: one Latin-1 letter
        ("a&#65;b.pdf", "pdf", "a&_65;b.pdf"),  # SEI refuses any "&#"
        ("sem extensão", "pdf", "sem extensão.pdf"),
        ("Dr. Silva e filhos", "txt", "Dr. Silva e filhos.txt"),
        ("  tab\tand\nnewline .pdf ", "pdf", "tab and newline.pdf"),
        ("", "pdf", "anexo.pdf"),
    ],
)
def test_file_names_are_made_acceptable_to_sei(given: str, extension: str, sent: str) -> None:
    assert documents.nome_arquivo(given, extension) == sent


def test_a_long_file_name_is_cut_to_255_characters_keeping_the_extension() -> None:
    name = documents.nome_arquivo("ç" * 400 + ".pdf", "pdf")
    assert len(name) == types.MAX_NOME_ARQUIVO and name.endswith("ç.pdf")
    validation.check_documento(
        "incluirDocumento",
        types.NovoDocumento(
            tipo=types.TipoDocumento.RECEBIDO,
            id_serie="14",
            protocolo_procedimento="1",
            data=dt.date(2026, 1, 1),
            nome_arquivo=name,
            conteudo=b"x",
        ),
    )
