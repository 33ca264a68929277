"""Streamed, verified download of SIGRC attachments.

An attachment may be as large as 50 MiB and several are downloaded at once, so the bytes never
sit in memory: they are written in chunks of 64 KiB to a temporary file beside the destination,
hashed while they stream, checked against the advertised ``tamanho_bytes`` and ``sha256``, and
only then renamed into place (``os.replace``, atomic on one file system). A reader of the
destination therefore sees either nothing or the complete, verified file.

A mismatch (SIGRC served other bytes than it advertises, or a truncated body) is retried a few
times, since a proxy or a write still in progress may be the cause, then becomes
:class:`~sei_bridge.errors.AttachmentIntegrityError`, which the engine quarantines. A body that
ends before its own Content-Length (the server closed it cleanly, short) is such a truncated
body: the chunk source raises :class:`BodyCutShort` and it counts as a mismatch — retried as a
network failure, it would be downloaded short again forever. So does a body that broke off once
it had begun (a reset, or the call deadline passing while it trickled): the chunk source raises
:class:`BodyBrokeOff`, and an attachment whose every download breaks off is quarantined like
a mismatch instead of being retried forever. Failures before the body (SIGRC down, refusing
the connection, 503) are not mismatches: they propagate as
:class:`~sei_bridge.errors.SigrcUnavailable` from the chunk source and the action is retried
later.

This module knows nothing of HTTP: the client hands it a *chunk source*, a callable that opens
one download and yields its chunks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from sei_bridge import errors
from sei_bridge.sigrc import models

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_TRIES",
    "MAX_ANEXO_BYTES",
    "BodyBrokeOff",
    "BodyCutShort",
    "ChunkSource",
    "download",
    "local_name",
]

log = logging.getLogger(__name__)

#: bytes read and written at a time; also what the client asks the HTTP layer for
CHUNK_SIZE = 64 * 1024
#: the contract's largest attachment
MAX_ANEXO_BYTES = 50 * 1024 * 1024
#: downloads tried before a mismatch is reported as an integrity error
DEFAULT_TRIES = 3

#: opens one download of the attachment and yields its bytes in chunks of at most CHUNK_SIZE
ChunkSource = Callable[[], contextlib.AbstractContextManager[Iterable[bytes]]]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class BodyCutShort(errors.SigrcUnavailable):
    """Raised by a chunk source whose body ended before the Content-Length its server announced.

    A SigrcUnavailable for any caller that does not know better; :func:`download` counts it
    as a mismatch, so an attachment always served short ends in an integrity error."""


class BodyBrokeOff(errors.SigrcUnavailable):
    """Raised by a chunk source whose body broke off after it began (reset, call deadline).

    A SigrcUnavailable for any caller that does not know better; :func:`download` counts it
    as a failed download, so an attachment that never arrives whole ends in an integrity
    error after its tries."""


def local_name(protocolo: str, anexo: models.Anexo) -> str:
    """The file name an attachment is stored under: built from ids only.

    ``nome_arquivo`` is typed by the citizen (it may hold a name or ``../``), so it is never
    used on disk. Ids are reduced to safe characters; a short hash of the originals keeps two
    ids that reduce to the same text apart.
    """
    raw = f"{protocolo}\x00{anexo.id_anexo}"
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]
    safe = f"{_UNSAFE.sub('_', protocolo)[:64]}_{_UNSAFE.sub('_', anexo.id_anexo)[:64]}"
    return f"{safe}_{digest}"


def _fetch_once(source: ChunkSource, anexo: models.Anexo, tmp: Path) -> str | None:
    """Stream one download into ``tmp``; None when it matches, else what was wrong."""
    digest = hashlib.sha256()
    size = 0
    with source() as chunks, tmp.open("wb") as out:
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > anexo.tamanho_bytes:
                    # stop reading at once: a server sending more than it advertised could
                    # send anything, and we will not keep it
                    return f"more than the advertised {anexo.tamanho_bytes} bytes"
                digest.update(chunk)
                out.write(chunk)
        except BodyCutShort:
            return (
                f"a body that ended short of its Content-Length after {size} of the advertised "
                f"{anexo.tamanho_bytes} bytes"
            )
        except BodyBrokeOff as exc:
            return f"{exc} after {size} of the advertised {anexo.tamanho_bytes} bytes"
        out.flush()
        os.fsync(out.fileno())
    if size != anexo.tamanho_bytes:
        return f"{size} bytes instead of the advertised {anexo.tamanho_bytes}"
    if digest.hexdigest() != anexo.sha256.lower():
        return "sha256 differs from the advertised one"
    return None


def download(
    source: ChunkSource,
    anexo: models.Anexo,
    dest_dir: Path,
    *,
    protocolo: str,
    tries: int = DEFAULT_TRIES,
) -> Path:
    """Download ``anexo`` through ``source`` into ``dest_dir`` and return its verified path.

    Raises :class:`~sei_bridge.errors.AttachmentIntegrityError` when the advertised size is over
    the contract's limit or every one of ``tries`` downloads mismatched; whatever ``source``
    raises (``SigrcUnavailable``, ``SigrcNotFound``, ...) propagates. No partial file is left.
    """
    if tries < 1:
        raise ValueError("tries must be at least 1")
    subject = f"attachment {anexo.id_anexo} of solicitação {protocolo}"
    if anexo.tamanho_bytes > MAX_ANEXO_BYTES:
        raise errors.AttachmentIntegrityError(
            f"{subject} advertises {anexo.tamanho_bytes} bytes, over the "
            f"{MAX_ANEXO_BYTES // (1024 * 1024)} MiB limit of the contract: ask SIGRC to fix it"
        )
    dest_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = dest_dir / local_name(protocolo, anexo)
    problems: list[str] = []
    for attempt in range(1, tries + 1):
        fd, name = tempfile.mkstemp(dir=dest_dir, prefix=".part-", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            mismatch = _fetch_once(source, anexo, tmp)
            if mismatch is None:
                os.replace(tmp, final)
                log.debug("downloaded %s (%d bytes)", subject, anexo.tamanho_bytes)
                return final
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        problems.append(mismatch)
        log.warning("%s: download %d of %d failed: %s", subject, attempt, tries, mismatch)
    if all(p.startswith("the download of ") for p in problems):
        raise errors.AttachmentIntegrityError(
            f"{subject}: every one of {tries} downloads broke off (last: {problems[-1]}); "
            "SIGRC never delivers it whole: check SIGRC and the network path to it (or raise "
            "SEI_BRIDGE_SIGRC_CALL_DEADLINE for a slow link), then replay"
        )
    raise errors.AttachmentIntegrityError(
        f"{subject}: {problems[-1]} after {tries} downloads; SIGRC serves other bytes than it "
        "advertises: ask SIGRC to fix the attachment, then replay"
    )
