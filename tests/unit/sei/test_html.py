"""Generated-document HTML: citizen text can never become markup and survives Latin-1."""

from __future__ import annotations

import html

import pytest

from sei_bridge.sei.html import FragmentBuilder, escape_text, render_fragment

HOSTILE = (
    "Olá 😀👍🏽 São Paulo — 中文 テスト\n"
    "<script>alert(1)</script> ]]> \"quoted\" 'single' & <b>bold</b>\r\n"
    "<img src=x onerror=alert(1)> javascript:alert(1)"
)


def _text_of(fragment: bytes) -> str:
    """What a browser shows: Latin-1 bytes decoded, references resolved, breaks as newlines."""
    return html.unescape(fragment.decode("latin-1").replace("<br />", "\n"))


def test_escape_text_leaves_no_markup_and_only_latin1() -> None:
    escaped = escape_text(HOSTILE)
    assert "<" not in escaped.replace("<br />", "")
    assert ">" not in escaped.replace("<br />", "")
    assert "]]>" not in escaped
    assert '"' not in escaped and "'" not in escaped
    assert "javascript:" not in escaped.lower()
    escaped.encode("latin-1")  # nothing SEI would turn into "?"
    assert "&#128512;" in escaped  # 😀
    assert "&#20013;" in escaped  # 中
    assert "ã" in escaped  # Latin-1 letters stay as they are


def test_hostile_text_round_trips_through_latin1() -> None:
    fragment = render_fragment(f"<p>{escape_text(HOSTILE)}</p>")
    assert _text_of(fragment) == "<p>" + HOSTILE.replace("\r\n", "\n") + "</p>"


def test_newlines_become_line_breaks() -> None:
    assert escape_text("a\nb\r\nc\rd") == "a<br />b<br />c<br />d"


def test_control_characters_are_dropped() -> None:
    assert escape_text("a\x00b\x07c\x85d\te") == "abcd\te"


def test_lone_surrogate_becomes_the_replacement_character() -> None:
    assert escape_text("a\ud83db") == "a&#65533;b"


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


def test_render_fragment_references_non_latin1_of_trusted_markup() -> None:
    assert render_fragment("<p>Çà 😀</p>") == "<p>Çà &#128512;</p>".encode("latin-1")


def test_builder_makes_a_titled_fragment_with_escaped_text() -> None:
    doc = (
        FragmentBuilder("Solicitação SP156 nº 2026-00123456")
        .heading("Relato")
        .paragraph(HOSTILE)
        .definitions([("Serviço", "IPTU <2ª via>"), ("Canal", None)])
    )
    rendered = doc.render()
    text = rendered.decode("latin-1")
    assert text.startswith('<p class="Texto_Centralizado_Maiusculas_Negrito">Solicitação SP156')
    assert "<script" not in text.lower() and "<html" not in text.lower()
    assert "IPTU &lt;2ª via&gt;" in text
    assert "&mdash;" in text  # a missing value
    assert html.unescape(text).count("<script>alert(1)</script>") == 1  # as visible text only
    assert rendered == render_fragment(doc.html())


def test_builder_without_rows_adds_no_table() -> None:
    assert "<table" not in FragmentBuilder("SP 156 Finalizado").definitions([]).html()
