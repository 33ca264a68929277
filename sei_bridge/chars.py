"""Which characters may travel where: into XML (SEI's SOAP), into the store, onto a terminal.

SIGRC serves whatever its users typed, and JSON can carry any code point, including those that
XML 1.0 forbids (NUL and the other C0 controls but tab, newline and carriage return; lone
surrogates; U+FFFE and U+FFFF), which PostgreSQL's text cannot hold (NUL) or which a terminal
obeys (ESC sequences, carriage returns that forge log lines). The rules live here, in one
place, for the three boundaries that need them:

- :func:`xml_forbidden` / :func:`without_xml_forbidden`: the SIGRC parser cleans free text with
  the latter and refuses identifiers holding any control character (:func:`first_control`);
  the SEI client refuses to build an envelope with the former.
- :func:`escape_controls`: what an operator's terminal or a log line gets instead of a raw
  control character.
"""

from __future__ import annotations

import re
import urllib.parse

__all__ = [
    "describe",
    "escape_controls",
    "escape_controls_json",
    "first_control",
    "http_url_problem",
    "without_xml_forbidden",
    "xml_forbidden",
]

#: code points XML 1.0 does not allow (``Char`` production), surrogates included: lxml refuses
#: them ("All strings must be XML compatible")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

#: control characters no identifier may hold and no terminal should receive raw: C0, DEL, C1,
#: the line and paragraph separators, the bidirectional overrides and isolates (which reorder
#: what an operator reads), plus everything XML forbids
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)

#: the control characters ``json.dumps`` leaves raw (it escapes C0 itself, and a raw C0 in its
#: output is the indentation's whitespace, which must stay)
_RAW_IN_JSON = re.compile(
    "[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def xml_forbidden(text: str) -> str | None:
    """The first character of ``text`` that XML 1.0 cannot carry, or None."""
    found = _XML_FORBIDDEN.search(text)
    return found.group() if found else None


def without_xml_forbidden(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry dropped, everything else kept."""
    return _XML_FORBIDDEN.sub("", text)


def first_control(text: str) -> str | None:
    """The first control character of ``text`` (see ``_CONTROL``), or None."""
    found = _CONTROL.search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    """``U+0000``: how a message names a character without printing it."""
    return f"U+{ord(char):04X}"


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with each control character written as ``\\xNN`` / ``\\uNNNN``, so that a log
    line stays one line and a terminal shows, rather than obeys, what SIGRC sent."""
    return _CONTROL.sub(_escape, text)


def _escape_json(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def escape_controls_json(text: str) -> str:
    """JSON text with each control character left raw by ``json.dumps(ensure_ascii=False)``
    (DEL, C1, separators, bidi controls, lone surrogates) written as its ``\\uXXXX`` escape:
    the same JSON value, safe on a terminal. Only valid where those characters can only sit
    inside strings, which is so for ``json.dumps`` output."""
    return _RAW_IN_JSON.sub(_escape_json, text)


def http_url_problem(text: str, *, max_length: int = 4096) -> str | None:
    """What makes ``text`` unfit as an http(s) URL to call or to hand on (a LinkAcesso from
    SEI, SEI_BRIDGE_SEI_URL), as a short phrase that never quotes it; None when it is fit.

    Fit: scheme http or https, a host, a valid port, no control character or space, at most
    ``max_length`` characters. Anything else (``javascript:``, ``file:``, a CR LF that would
    split a header or a log line) is refused rather than cleaned.
    """
    if len(text) > max_length:
        return f"is longer than {max_length} characters"
    found = first_control(text)
    if found is not None:
        return f"holds the control character {describe(found)}"
    if any(c.isspace() for c in text):
        return "holds a space"
    try:
        parsed = urllib.parse.urlsplit(text)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        return "is not a valid URL"
    if parsed.scheme.lower() not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parsed.hostname:
        return "has no host"
    return None
