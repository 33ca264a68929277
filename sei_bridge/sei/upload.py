"""Reading a file for SEI's chunked upload (adicionarArquivo + adicionarConteudoArquivo).

SEI checks the size and the MD5 of the WHOLE file, given with the first chunk; chunks then
append in order with no offset. A file given by path is read twice (size/MD5, then chunks) and
never held whole in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Source", "chunks", "measure"]

#: The content to upload: the bytes themselves or the path of a file.
Source = bytes | os.PathLike[str]


def chunks(source: Source, chunk_bytes: int) -> Iterator[bytes]:
    """The content of ``source`` in pieces of at most ``chunk_bytes`` (none when empty)."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be at least 1")
    if isinstance(source, bytes):
        for start in range(0, len(source), chunk_bytes):
            yield source[start : start + chunk_bytes]
        return
    with Path(source).open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            yield chunk


def measure(source: Source, chunk_bytes: int) -> tuple[int, str]:
    """(size in bytes, MD5 hex digest) of the whole content."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in chunks(source, chunk_bytes):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()
