"""Deterministic attachment bytes for the traffic generator: real PDF and PNG files.

A file is described by a small :class:`FileSpec` (kind, approximate size, seed, title) and its
bytes are rendered on demand, so the SIGRC simulator can serve thousands of attachments without
holding them in memory. The same spec always renders the same bytes, in any process, which is
what makes the advertised ``sha256`` stable.

The files are genuine: PDFs have a page with text and a correct cross-reference table; PNGs
have valid chunks, CRCs and a zlib-compressed image. Their size is padded up to the spec's target
(within a few dozen bytes) with seeded filler, so sizes range from a few hundred bytes to several
megabytes.
"""

from __future__ import annotations

import enum
import hashlib
import random
import re
import struct
import zlib
from dataclasses import dataclass

__all__ = ["FileKind", "FileSpec", "digest", "render"]

#: Filler is seeded random bytes of this size, repeated: cheap for multi-megabyte files.
_FILLER_BLOCK = 4096
#: The widest PNG rendered; taller images carry the rest of the target size.
_PNG_MAX_WIDTH = 1024


class FileKind(enum.StrEnum):
    """The file formats the generator produces."""

    PDF = "pdf"  #: application/pdf
    PNG = "png"  #: image/png

    @property
    def content_type(self) -> str:
        """The MIME type SIGRC advertises in ``Anexo.tipo_conteudo``."""
        return "application/pdf" if self is FileKind.PDF else "image/png"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """Everything needed to render one file again, byte for byte."""

    kind: FileKind
    size: int  #: target size in bytes; the rendered file is within a few dozen bytes of it
    seed: int
    title: str = ""  #: a line of text written into a PDF (ignored for PNG)


def render(spec: FileSpec) -> bytes:
    """The bytes of ``spec``: always the same for the same spec."""
    if spec.kind is FileKind.PDF:
        return _render_pdf(spec)
    return _render_png(spec)


def digest(spec: FileSpec) -> tuple[int, str]:
    """``(size in bytes, sha256 hex digest)`` of the rendered spec."""
    data = render(spec)
    return len(data), hashlib.sha256(data).hexdigest()


def _filler(seed: int, length: int) -> bytes:
    if length <= 0:
        return b""
    block = random.Random(seed).randbytes(min(length, _FILLER_BLOCK))
    repeats, rest = divmod(length, len(block))
    return block * repeats + block[:rest]


# --- PDF -------------------------------------------------------------------------------------


_PDF_SPECIAL = re.compile(rb"[()\\\x00-\x1f\x7f-\xff]")


def _pdf_escape(match: re.Match[bytes]) -> bytes:
    byte = match.group()[0]
    return b"\\" + match.group() if byte in b"()\\" else b"\\%03o" % byte


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding: accents as octal escapes, parens escaped."""
    return b"(" + _PDF_SPECIAL.sub(_pdf_escape, text.encode("cp1252", errors="replace")) + b")"


def _pdf_page_text(spec: FileSpec) -> bytes:
    lines = [
        "Prefeitura do Município de São Paulo",
        "Secretaria Municipal da Fazenda",
        spec.title or "Documento anexado à solicitação SP156",
        "Arquivo gerado pelo simulador do SIGRC (sei-bridge): dados fictícios.",
    ]
    body = b"".join(_pdf_text(line) + b" Tj T*\n" for line in lines)
    return b"BT /F1 12 Tf 14 TL 72 770 Td\n" + body + b"ET\n"


def _pdf_objects(text: bytes, filler: bytes) -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        # Scanned pages make real attachments big; this unreferenced stream plays that part.
        b"<< /Length %d >>\nstream\n" % len(filler) + filler + b"\nendstream",
    ]


def _pdf_assemble(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _render_pdf(spec: FileSpec) -> bytes:
    text = _pdf_page_text(spec)
    bare = len(_pdf_assemble(_pdf_objects(text, b"")))
    # Padding changes a few digits (Length, offsets); the size lands within ~20 bytes.
    return _pdf_assemble(_pdf_objects(text, _filler(spec.seed, spec.size - bare)))


# --- PNG -------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _render_png(spec: FileSpec) -> bytes:
    # RGB, 8 bits: 3 bytes a pixel plus one filter byte a row. The filler repeats a block, which
    # zlib would squeeze, so IDAT is stored uncompressed (level 0, still valid deflate) and the
    # file size follows the pixel count.
    pixels = max(4, (spec.size - 120) // 3)
    width = max(2, min(_PNG_MAX_WIDTH, int(pixels**0.5)))
    height = max(2, pixels // width)
    noise = _filler(spec.seed, width * height * 3)
    stride = width * 3
    raw = b"".join(b"\x00" + noise[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"tEXt", b"Software\x00sei-bridge SIGRC simulator"),
            _png_chunk(b"IDAT", zlib.compress(raw, 0)),
            _png_chunk(b"IEND", b""),
        )
    )
