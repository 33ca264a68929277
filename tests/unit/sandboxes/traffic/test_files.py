"""Generated attachments are genuine PDF and PNG files, rendered the same way every time."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from sei_bridge.sandboxes.traffic.files import FileKind, FileSpec, digest, render


@pytest.mark.parametrize("size", [300, 5_000, 250_000, 2_000_000])
def test_pdf_has_a_correct_cross_reference_table(size: int) -> None:
    data = render(FileSpec(FileKind.PDF, size, seed=4, title="Carnê IPTU (2026) \\ teste"))
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref\n0 7\n")
    offsets = re.findall(rb"(\d{10}) 00000 n \n", data[startxref:])
    assert len(offsets) == 6
    for number, offset in enumerate(offsets, start=1):
        assert data[int(offset) :].startswith(b"%d 0 obj\n" % number)
    streams = list(re.finditer(rb"<< /Length (\d+) >>\nstream\n", data))
    assert len(streams) == 2
    for match in streams:
        end = match.end() + int(match.group(1))
        assert data[end : end + 10] == b"\nendstream"
    if size > 1000:
        assert abs(len(data) - size) < 64


def test_pdf_text_escapes_parentheses_and_encodes_accents() -> None:
    data = render(FileSpec(FileKind.PDF, 300, seed=1, title="Anexo (cópia)"))
    assert b"(Anexo \\(c\\363pia\\)) Tj" in data


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    return chunks


@pytest.mark.parametrize("size", [250, 40_000, 1_500_000])
def test_png_chunks_have_valid_crcs_and_the_image_decodes(size: int) -> None:
    data = render(FileSpec(FileKind.PNG, size, seed=9))
    chunks = _png_chunks(data)
    assert [k for k, _ in chunks] == [b"IHDR", b"tEXt", b"IDAT", b"IEND"]
    width, height, depth, color = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, color) == (8, 2)
    assert len(zlib.decompress(chunks[2][1])) == height * (1 + 3 * width)
    assert abs(len(data) - size) < max(64, size // 100)


def test_rendering_is_deterministic_and_seeded() -> None:
    spec = FileSpec(FileKind.PDF, 20_000, seed=77, title="x")
    assert render(spec) == render(FileSpec(FileKind.PDF, 20_000, seed=77, title="x"))
    assert render(spec) != render(FileSpec(FileKind.PDF, 20_000, seed=78, title="x"))
    size, sha = digest(spec)
    assert size == len(render(spec)) and len(sha) == 64
