"""The sandbox stores generated HTML exactly as SEI 4.1 does: PHP's ``utf8_decode`` of the bytes
received, then ``EditorRN::converterHTML``."""

from __future__ import annotations

import base64
import random
import shutil
import subprocess

import pytest

from sei_bridge.sandboxes.sei.rules import converter_html, stored_html, utf8_decode


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"plain ascii &#231;", b"plain ascii &#231;"),
        ("ção".encode(), "ção".encode("latin-1")),
        ("ção".encode("latin-1"), b"??o"),  # Latin-1 bytes are not UTF-8
        ("😀".encode(), b"?"),  # above U+00FF: one "?" per character
        ("中".encode(), b"?"),
        (b"\xc3", b"?"),  # truncated sequence
        (b"\xc3A", b"?A"),  # the next byte may start a character: not swallowed
        (b"\xe2\x82", b"?"),  # truncated three-byte sequence, trail kept in the failure
        (b"\xe2\x82A", b"?A"),
        (b"\xed\xa0\x80", b"?"),  # an encoded surrogate
        (b"\xc0\xaf", b"??"),  # overlong lead bytes are never valid
        (b"\xf5\x80", b"??"),
        (b"\x80\xbf", b"??"),  # stray continuation bytes
    ],
)
def test_utf8_decode_is_phps(raw: bytes, decoded: bytes) -> None:
    assert utf8_decode(raw) == decoded


def test_converter_html_names_the_accented_letters_and_symbols_sei_names() -> None:
    latin1 = "Solicitação nº 2ª °C ÇÃ ñ Ñ ÿ".encode("latin-1")
    assert converter_html(latin1) == (
        b"Solicita&ccedil;&atilde;o n&ordm; 2&ordf; &deg;C &Ccedil;&Atilde; \xf1 \xd1 \xff"
    )


def test_stored_html_is_what_a_real_sei_410_stored() -> None:
    # seen on SEI 4.1.0 (../shared/reference/SEI-FACTS.md): Latin-1 bytes, UTF-8, ASCII references
    assert stored_html("Solicitação nº AÇÃO".encode("latin-1")) == b"Solicita??o n? A??O"
    assert stored_html("Solicitação nº AÇÃO &#128512;".encode()) == (
        b"Solicita&ccedil;&atilde;o n&ordm; A&Ccedil;&Atilde;O &#128512;"
    )
    assert stored_html(b"Solicita&#231;&#227;o") == b"Solicita&#231;&#227;o"


@pytest.mark.skipif(shutil.which("php") is None, reason="no php on PATH to compare with")
def test_utf8_decode_agrees_with_php_on_random_bytes() -> None:
    rnd = random.Random(156)
    # bytes around the UTF-8 boundaries, so that most strings are nearly valid
    alphabet = [0x41, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xA7, 0xE0, 0xE2, 0xED, 0xEF, 0xA0]
    alphabet += [0xBB, 0xF0, 0x9F, 0x98, 0xF4, 0x8F, 0x90, 0xF5, 0xFF]
    cases = [
        bytes(
            rnd.choice(alphabet) if rnd.random() < 0.8 else rnd.randrange(256)
            for _ in range(rnd.randrange(0, 12))
        )
        for _ in range(2000)
    ]
    script = (
        'foreach (explode("\\n", stream_get_contents(STDIN)) as $l) '
        'echo base64_encode(@utf8_decode(base64_decode($l))), "\\n";'
    )
    answer = subprocess.run(
        ["php", "-r", script],
        input="\n".join(base64.b64encode(c).decode() for c in cases).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    php = [base64.b64decode(line) for line in answer.split("\n")[: len(cases)]]
    assert [utf8_decode(c) for c in cases] == php
