"""HTML for documents generated in SEI (``Documento.Tipo = G``).

What a real SEI 4.1 does with the HTML it receives (base64 in ``Conteudo``), and what follows:

- it runs PHP's ``utf8_decode`` on the bytes and stores the result as Latin-1: bytes that are not
  UTF-8 (Latin-1 ``ç`` as 0xE7) and every character outside Latin-1 become ``?``. So the bytes
  sent are pure ASCII, every other character as a numeric character reference (``&#231;``,
  ``&#128512;``): ASCII is valid UTF-8, passes ``utf8_decode`` unchanged, and reads the same under
  any charset an SEI version stores in;
- it refuses raw ``<script>`` ("Documento possui código de script oculto no conteúdo.") and,
  in a whole page (``<html><body>…``), even escaped script text ("Documento possui conteúdo não
  permitido (0004869)."), while the same escaped text inside a fragment is accepted: so only
  fragments are produced, and citizen text is always escaped so it can never become markup.

:func:`escape_text` makes citizen text safe, :func:`render_fragment` checks and encodes a
fragment, :class:`FragmentBuilder` builds the usual titled document (paragraphs and a table of
label/value rows) with SEI's own CSS class names.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

__all__ = ["FragmentBuilder", "escape_text", "render_fragment"]

_NEWLINES = re.compile(r"\r\n|\r|\n")
# C0 controls other than tab/newline and the C1 range: invisible, and HTML maps &#128;-&#159;
# to Windows-1252 letters, so they are dropped rather than referenced.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHOLE_PAGE = re.compile(r"<\s*(!doctype|html|head|body)\b", re.IGNORECASE)
_SCRIPT = re.compile(r"<\s*/?\s*script\b", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_SCRIPT_URL_IN_TAG = re.compile(r"<[^>]*(java|vb)script\s*:", re.IGNORECASE)
# In text, "javascript:" is harmless but script filters look for it: the colon is referenced.
_SCRIPT_SCHEME = re.compile(r"((?:java|vb)script\s*):", re.IGNORECASE)


# A lone surrogate (broken input) cannot be encoded at all: it becomes the replacement character.
_SURROGATES = re.compile("[\ud800-\udfff]")


def _ascii_references(text: str) -> str:
    """``text`` in ASCII, every other character as a numeric character reference."""
    if text.isascii():
        return text
    return _SURROGATES.sub("\ufffd", text).encode("ascii", "xmlcharrefreplace").decode("ascii")


def escape_text(text: str) -> str:
    """``text`` as HTML text content: markup escaped, non-ASCII as ``&#N;``, newlines as
    ``<br />``.

    ``<``, ``>``, ``&`` and both quotes are escaped, so ``<script>``, ``]]>`` or an attribute
    breakout can never become markup; the colon of ``javascript:`` is referenced too (script
    filters look for it); control characters are dropped.
    """
    cleaned = _CONTROLS.sub("", text)
    escaped = html.escape(cleaned, quote=True)
    referenced = _SCRIPT_SCHEME.sub(r"\1&#58;", _ascii_references(escaped))
    return _NEWLINES.sub("<br />", referenced)


def render_fragment(html_fragment: str) -> bytes:
    """ASCII bytes of an HTML fragment, ready for ``Documento.Conteudo``: every character
    outside ASCII as a numeric character reference, so SEI's ``utf8_decode`` keeps it.

    Raises ValueError for a whole page (``<html>``, ``<body>``, ``<!DOCTYPE>``) or anything that
    SEI's script filter refuses (``<script>``, ``on*=`` handlers, ``javascript:`` URLs): those
    mean text was not escaped with :func:`escape_text`.
    """
    if _WHOLE_PAGE.search(html_fragment):
        raise ValueError("SEI documents must be HTML fragments, not whole pages (<html>/<body>)")
    if _SCRIPT.search(html_fragment):
        raise ValueError("HTML for SEI must not contain <script>: escape text with escape_text()")
    if _EVENT_HANDLER.search(html_fragment) or _SCRIPT_URL_IN_TAG.search(html_fragment):
        raise ValueError("HTML for SEI must not contain event handlers or javascript: URLs")
    return _ascii_references(html_fragment).encode("ascii")


class FragmentBuilder:
    """Builds a titled document fragment from plain (citizen) text, escaping everything.

    >>> doc = FragmentBuilder("Solicitação SP156 nº 2026-00123456")
    >>> doc.paragraph("Texto do munícipe").definitions([("Serviço", "IPTU")]).render()[:4]
    b'<p c'
    """

    def __init__(self, title: str) -> None:
        self._parts: list[str] = [
            f'<p class="Texto_Centralizado_Maiusculas_Negrito">{escape_text(title)}</p>'
        ]

    def heading(self, text: str) -> FragmentBuilder:
        """A bold section heading."""
        self._parts.append(f'<p class="Texto_Alinhado_Esquerda"><b>{escape_text(text)}</b></p>')
        return self

    def paragraph(self, text: str) -> FragmentBuilder:
        """A justified paragraph; newlines in ``text`` become line breaks."""
        self._parts.append(f'<p class="Texto_Justificado">{escape_text(text)}</p>')
        return self

    def definitions(self, rows: Sequence[tuple[str, str | None]]) -> FragmentBuilder:
        """A two-column table of label/value rows (None values shown as "—")."""
        if not rows:
            return self
        cells = "".join(
            "<tr>"
            f'<td class="Tabela_Texto_Alinhado_Esquerda"><b>{escape_text(label)}</b></td>'
            f'<td class="Tabela_Texto_Alinhado_Esquerda">'
            f"{escape_text(value) if value is not None else '&mdash;'}</td>"
            "</tr>"
            for label, value in rows
        )
        self._parts.append(f'<table border="1" cellpadding="4" cellspacing="0">{cells}</table>')
        return self

    def html(self) -> str:
        """The fragment as text (non-ASCII already referenced by escape_text)."""
        return "".join(self._parts)

    def render(self) -> bytes:
        """The fragment as ASCII bytes for ``Documento.Conteudo`` (see render_fragment)."""
        return render_fragment(self.html())
