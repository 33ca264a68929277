"""What SEI stores for the documents sei-bridge generates: every character the citizen or the
attendant typed, as typed, whatever SEI does to ``Conteudo`` on its way in."""

from __future__ import annotations

import html

import pytest

from sei_bridge import documents
from sei_bridge.sandboxes.sei.rules import stored_html
from sei_bridge.sei import types
from sei_bridge.sei.html import FragmentBuilder
from tests.contract.builders import (
    Nil,
    abrir,
    gerado,
    procedimento,
    raw_incluir,
    recebido,
    unique,
)
from tests.contract.targets import Target

TEXTS = {
    "portugues": "Solicitação de restituição — IPTU 2ª via, nº 123, 1º andar, 25°C, § 3º, ação",
    "latin1": "ÁÃÀÄÂÉÈËÊÍÏÓÕÔÖÚÜÇÑ áãàäâéèëêíïóõôöúüçñ ¹²³ £¢¬ ¿¡ « » · ÷ × ¼ ½ ¾ ÿ",
    "emoji": "emoji 😀👍🏽👨‍👩‍👧 e bandeira 🇧🇷",
    "scripts": "outras escritas: 中文 日本語 العربية עברית Ελληνικά Русский हिन्दी",
    "markup": "<script>alert(1)</script> ]]> <![CDATA[x]]> &amp; &lt; &#65; &nbsp; <b>negrito</b>",
    "quotes": "aspas \"duplas\" e 'simples', barra \\ e tab\tno meio, interrogação?",
    "invisible": "zero\u200blargura, BOM\ufeff, e\u0301 combinado, NBSP\u00a0, soft\u00adhyphen",
    "lines": "primeira linha\nsegunda linha\r\nterceira",
    "long": ("Peço a restituição do valor pago em duplicidade 😀 — nº 42. " * 400)[:20_000],
}


def _visible(stored: bytes) -> str:
    """The text a reader of the document sees: SEI's Latin-1, entities resolved."""
    return html.unescape(stored.decode("latin-1").replace("<br />", "\n"))


def _check_stored(sei: Target, id_documento: str, sent: bytes, title: str, text: str) -> None:
    stored = sei.storage.generated_html(id_documento)
    assert stored == stored_html(sent)  # the sandbox's model of SEI holds on this SEI
    assert _visible(stored) == (
        f'<p class="Texto_Centralizado_Maiusculas_Negrito">{title}</p>'
        f'<p class="Texto_Justificado">{text.replace(chr(13) + chr(10), chr(10))}</p>'
    )


@pytest.mark.parametrize("case", sorted(TEXTS))
def test_incluir_documento_keeps_every_character(sei: Target, case: str) -> None:
    client = sei.client()
    processo = abrir(sei, client)
    title = "Interação na solicitação SP156 nº 2026-00123456"
    sent = FragmentBuilder(title).paragraph(TEXTS[case]).render()
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade, documento=gerado(sei, processo.procedimento_formatado, sent)
    )
    _check_stored(sei, incluido.id_documento, sent, title, TEXTS[case])


def test_documents_of_gerar_procedimento_keep_every_character(sei: Target) -> None:
    client = sei.client()
    title = "Solicitação SP156 nº 2026-00123456"
    texts = [TEXTS["portugues"], TEXTS["emoji"], TEXTS["markup"]]
    sent = [FragmentBuilder(title).paragraph(text).render() for text in texts]
    gerado_ = client.gerar_procedimento(
        id_unidade=sei.ids.unidade,
        procedimento=procedimento(sei),
        documentos=[gerado(sei, None, html) for html in sent],
    )
    assert len(gerado_.documentos) == len(texts)
    for documento, html_sent, text in zip(gerado_.documentos, sent, texts, strict=True):
        _check_stored(sei, documento.id_documento, html_sent, title, text)


def test_latin1_bytes_lose_their_accents_in_sei(sei: Target) -> None:
    # What sei-bridge used to send: SEI's utf8_decode turns every accented letter into "?".
    client = sei.client()
    processo = abrir(sei, client)
    sent = "<p>Solicitação nº 1</p>".encode("latin-1")
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade, documento=gerado(sei, processo.procedimento_formatado, sent)
    )
    assert sei.storage.generated_html(incluido.id_documento) == b"<p>Solicita??o n? 1</p>"


def test_utf8_bytes_are_kept_with_named_entities(sei: Target) -> None:
    client = sei.client()
    processo = abrir(sei, client)
    sent = "<p>Solicitação nº AÇÃO ñ &#128512; 😀</p>".encode()
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade, documento=gerado(sei, processo.procedimento_formatado, sent)
    )
    assert sei.storage.generated_html(incluido.id_documento) == (
        "<p>Solicita&ccedil;&atilde;o n&ordm; A&Ccedil;&Atilde;O ñ &#128512; ?</p>".encode(
            "latin-1"
        )
    )


def test_string_fields_keep_latin1_and_reference_the_rest(sei: Target) -> None:
    client = sei.client()
    nome = unique("Zoë Conceição 😀")
    sigla = unique("SP156")
    processo = abrir(
        sei,
        client,
        especificacao="Revisão 😀 <b>x</b> &amp;",
        interessados=(types.Interessado(sigla=sigla, nome=nome),),
    )
    descricao = unique("Interação ção 😀 <i>")
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade,
        documento=gerado(sei, processo.procedimento_formatado, descricao=descricao),
    )
    consultado = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=processo.procedimento_formatado
    )
    assert consultado.especificacao == "Revisão &#128512; <b>x</b> &amp;"
    documento = client.consultar_documento(
        id_unidade=sei.ids.unidade, protocolo_documento=incluido.documento_formatado
    )
    assert documento.descricao == descricao.replace("😀", "&#128512;")
    (contato,) = client.listar_contatos(id_unidade=sei.ids.unidade, sigla=sigla)
    assert contato.nome == nome.replace("😀", "&#128512;")


def test_file_names_in_latin1_are_kept_as_sent(sei: Target) -> None:
    client = sei.client()
    processo = abrir(sei, client)
    nome = 'Declaração nº 1 ção <b> & \\ / \' "x".pdf'
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade,
        documento=recebido(sei, processo.procedimento_formatado, nome_arquivo=nome),
    )
    assert sei.storage.anexo_nome(incluido.id_documento) == nome


def test_names_people_give_files_reach_sei(sei: Target) -> None:
    # the characters SEI refuses in a file name are replaced before sending (documents.py)
    client = sei.client()
    processo = abrir(sei, client)
    given = "Comprovante – pagamento “IPTU” 😀 Łódź.pdf"
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade,
        documento=recebido(
            sei, processo.procedimento_formatado, nome_arquivo=documents.nome_arquivo(given, "pdf")
        ),
    )
    assert sei.storage.anexo_nome(incluido.id_documento) == (
        'Comprovante - pagamento "IPTU" _ Lódz.pdf'  # ó is Latin-1: kept
    )


def test_an_external_document_needs_no_file_and_takes_the_named_content(sei: Target) -> None:
    # SeiRN: "Permitir externos sem anexo da mesma forma que a interface"; with a NomeArquivo
    # the inline content is the file, an IdArquivo beside it is not looked at
    client = sei.client()
    p = abrir(sei, client).procedimento_formatado
    sem_arquivo = raw_incluir(
        sei, client, recebido(sei, p, nome_arquivo=None), fields={"Conteudo": Nil}
    )
    assert sem_arquivo.IdDocumento
    com_id = raw_incluir(sei, client, recebido(sei, p), fields={"IdArquivo": "999999"})
    assert sei.storage.anexo_nome(com_id.IdDocumento) == "anexo.pdf"


def test_string_fields_at_their_limit_as_stored(sei: Target) -> None:
    client = sei.client()
    gerado_ = abrir(sei, client, especificacao="ç" * 100, observacao="ã" * 1000)
    consultado = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=gerado_.procedimento_formatado
    )
    assert consultado.especificacao == "ç" * 100
