"""Generated-document HTML: citizen text can never become markup, and it survives what SEI does
to ``Conteudo`` (``utf8_decode``, then ``converterHTML``) character for character."""

from __future__ import annotations

import html

import pytest

from sei_bridge.sandboxes.sei.rules import stored_html
from sei_bridge.sei.html import FragmentBuilder, escape_text, render_fragment

HOSTILE = (
    "Olá 😀👍🏽 São Paulo — 中文 テスト\n"
    "<script>alert(1)</script> ]]> \"quoted\" 'single' & <b>bold</b>\r\n"
    "<img src=x onerror=alert(1)> javascript:alert(1)"
)

#: what a citizen or an attendant may type; SEI must keep each character for character
SURVIVORS = [
    "Solicitação de restituição — IPTU 2ª via, nº 123, 1º andar, 25°C, § 3º",
    "ÁÃÀÄÂÉÈËÊÍÏÓÕÔÖÚÜÇÑ áãàäâéèëêíïóõôöúüçñ ¹²³ £¢¬ ¿¡ « » · ÷ × ¼ ½ ¾ ÿ",
    "emoji 😀👍🏽👨‍👩‍👧 e bandeira 🇧🇷",
    "outras escritas: 中文 日本語 العربية עברית Ελληνικά Русский हिन्दी",
    "<script>alert(1)</script> ]]> <![CDATA[x]]> &amp; &lt; &#65; &nbsp; literal",
    "aspas \"duplas\" e 'simples', barra \\ e tab\tno meio, ponto de interrogação?",
    "zero\u200blargura, BOM\ufeff, combinado e\u0301, NBSP\u00a0, soft\u00adhyphen",
]


def _text_of(fragment: bytes) -> str:
    """What a reader sees of what SEI stored: the bytes sent as SEI stores them (Latin-1),
    references resolved, line breaks as newlines."""
    return html.unescape(stored_html(fragment).decode("latin-1").replace("<br />", "\n"))


def test_escape_text_leaves_no_markup_and_only_ascii() -> None:
    escaped = escape_text(HOSTILE)
    assert "<" not in escaped.replace("<br />", "")
    assert ">" not in escaped.replace("<br />", "")
    assert "]]>" not in escaped
    assert '"' not in escaped and "'" not in escaped
    assert "javascript:" not in escaped.lower()
    assert escaped.isascii()  # nothing SEI's utf8_decode could turn into "?"
    assert "&#128512;" in escaped  # 😀
    assert "&#20013;" in escaped  # 中
    assert "S&#227;o" in escaped  # Latin-1 letters too: their Latin-1 bytes are not UTF-8


def test_hostile_text_round_trips_through_what_sei_does() -> None:
    fragment = render_fragment(f"<p>{escape_text(HOSTILE)}</p>")
    assert fragment.isascii()
    assert _text_of(fragment) == "<p>" + HOSTILE.replace("\r\n", "\n") + "</p>"


@pytest.mark.parametrize("text", SURVIVORS)
def test_what_people_type_survives_sei_character_for_character(text: str) -> None:
    fragment = FragmentBuilder("SP 156 Finalizado").paragraph(text).render()
    assert fragment.isascii()
    assert _text_of(fragment).endswith(f'<p class="Texto_Justificado">{text}</p>')


def test_line_breaks_survive_as_line_breaks() -> None:
    fragment = FragmentBuilder("Interação").paragraph("a\nb\r\nc\rd").render()
    assert _text_of(fragment).endswith(">a\nb\nc\nd</p>")


def test_a_20000_character_text_survives_whole() -> None:
    text = ("Peço a restituição do valor pago em duplicidade 😀 — nº 42. " * 400)[:20_000]
    assert len(text) == 20_000
    fragment = FragmentBuilder("Interação").paragraph(text).render()
    assert _text_of(fragment).endswith(f">{text}</p>")


def test_latin1_bytes_lose_every_accent_in_sei_which_is_why_none_are_sent() -> None:
    # the defect this module exists to avoid, as a real SEI 4.1.0 stored it
    assert stored_html("<p>Solicitação nº 1</p>".encode("latin-1")) == b"<p>Solicita??o n? 1</p>"


def test_newlines_become_line_breaks() -> None:
    assert escape_text("a\nb\r\nc\rd") == "a<br />b<br />c<br />d"


def test_control_characters_are_dropped() -> None:
    assert escape_text("a\x00b\x07c\x85d\te") == "abcd\te"


def test_lone_surrogate_becomes_the_replacement_character() -> None:
    assert escape_text("a\ud83db") == "a&#65533;b"
    assert render_fragment("<p>a\udc00b</p>") == b"<p>a&#65533;b</p>"


@pytest.mark.parametrize(
    "fragment",
    [
        "<html><body><p>x</p></body></html>",
        "<!DOCTYPE html><p>x</p>",
        "<body><p>x</p></body>",
        "<p>x</p><script>alert(1)</script>",
        "<p>x</p>< SCRIPT src=a>",
        '<p onclick="alert(1)">x</p>',
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_render_fragment_refuses_what_sei_refuses(fragment: str) -> None:
    with pytest.raises(ValueError):
        render_fragment(fragment)


def test_render_fragment_references_every_non_ascii_character_of_trusted_markup() -> None:
    assert render_fragment("<p>Çà 😀</p>") == b"<p>&#199;&#224; &#128512;</p>"


def test_builder_makes_a_titled_fragment_with_escaped_text() -> None:
    doc = (
        FragmentBuilder("Solicitação SP156 nº 2026-00123456")
        .heading("Relato")
        .paragraph(HOSTILE)
        .definitions([("Serviço", "IPTU <2ª via>"), ("Canal", None)])
    )
    rendered = doc.render()
    text = rendered.decode("ascii")
    assert text.startswith(
        '<p class="Texto_Centralizado_Maiusculas_Negrito">Solicita&#231;&#227;o SP156 n&#186;'
    )
    assert "<script" not in text.lower() and "<html" not in text.lower()
    assert "IPTU &lt;2&#170; via&gt;" in text
    assert "&mdash;" in text  # a missing value
    assert html.unescape(text).count("<script>alert(1)</script>") == 1  # as visible text only
    assert rendered == render_fragment(doc.html())


def test_builder_without_rows_adds_no_table() -> None:
    assert "<table" not in FragmentBuilder("SP 156 Finalizado").definitions([]).html()
