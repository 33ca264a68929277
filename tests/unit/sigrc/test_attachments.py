"""Attachment download: verified, streamed in bounded memory, retried on mismatch, atomic."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from sei_bridge import errors
from sei_bridge.sigrc import attachments, models
from sei_bridge.sigrc.client import SigrcClient
from tests.unit.sigrc.raw import BASE, TOKEN

PROTOCOLO = "2026-00000001"
URL = f"{BASE}/v1/solicitacoes/{PROTOCOLO}/anexos/an-1"
CONTENT = b"%PDF-1.4\n" + bytes(range(256)) * 40


def anexo_of(content: bytes, *, id_anexo: str = "an-1") -> models.Anexo:
    return models.Anexo(
        id_anexo=id_anexo,
        nome_arquivo="../../etc/Maria da Silva.pdf",
        tipo_conteudo="application/pdf",
        tamanho_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client() -> SigrcClient:
    return SigrcClient(base_url=BASE, token=TOKEN, sleep=lambda s: None)


def test_download_verifies_and_places_the_file_under_a_safe_name(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    mock.get(URL, body=CONTENT, headers={"Content-Type": "application/pdf"})
    path = client.download_anexo(PROTOCOLO, anexo_of(CONTENT), tmp_path / "work")
    assert path.read_bytes() == CONTENT
    assert path.parent == tmp_path / "work"
    assert "Maria" not in path.name and ".." not in path.name
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert mock.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_mismatch_is_retried_and_a_later_good_download_wins(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    mock.get(URL, body=CONTENT[:-1] + b"X")
    mock.get(URL, body=CONTENT[:100])
    mock.get(URL, body=CONTENT)
    path = client.download_anexo(PROTOCOLO, anexo_of(CONTENT), tmp_path)
    assert path.read_bytes() == CONTENT
    assert len(mock.calls) == 3


def test_three_mismatches_raise_an_integrity_error_and_leave_nothing(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    mock.get(URL, body=CONTENT[:-1] + b"X")
    with pytest.raises(errors.AttachmentIntegrityError) as info:
        client.download_anexo(PROTOCOLO, anexo_of(CONTENT), tmp_path)
    message = str(info.value)
    assert "sha256 differs" in message and "after 3 downloads" in message
    assert f"attachment an-1 of solicitação {PROTOCOLO}" in message and "Maria" not in message
    assert len(mock.calls) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_body_longer_than_advertised_is_cut_off_and_refused(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    mock.get(URL, body=CONTENT + b"more")
    with pytest.raises(errors.AttachmentIntegrityError, match="more than the advertised"):
        client.download_anexo(PROTOCOLO, anexo_of(CONTENT), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_attachment_advertised_over_50_mib_is_refused_without_download(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    big = models.Anexo("an-1", "x.pdf", "application/pdf", 50 * 1024 * 1024 + 1, "ab" * 32)
    with pytest.raises(errors.AttachmentIntegrityError, match="over the 50 MiB limit"):
        client.download_anexo(PROTOCOLO, big, tmp_path)
    assert len(mock.calls) == 0


def test_a_broken_download_is_unavailable_not_an_integrity_error(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    mock.get(URL, body=requests.exceptions.ConnectionError("reset"))
    with pytest.raises(errors.SigrcUnavailable):
        client.download_anexo(PROTOCOLO, anexo_of(CONTENT), tmp_path)
    mock.upsert(responses.GET, URL, status=404)
    with pytest.raises(errors.SigrcNotFound, match="attachment an-1"):
        client.download_anexo(PROTOCOLO, anexo_of(CONTENT), tmp_path)
    assert list(tmp_path.iterdir()) == []


class _Generated(io.RawIOBase):
    """A body of ``size`` bytes made up while it is read, recording each read's size."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.reads: list[int] = []
        self._block = bytes(range(256)) * 256  # 64 KiB pattern

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.reads.append(len(buffer))
        n = min(len(buffer), self.left, len(self._block))
        buffer[:n] = self._block[:n]
        self.left -= n
        return n


def test_a_50_mib_attachment_streams_in_64_kib_chunks_with_bounded_memory(
    mock: responses.RequestsMock, client: SigrcClient, tmp_path: Path
) -> None:
    size = 50 * 1024 * 1024
    digest = hashlib.sha256()
    block = bytes(range(256)) * 256
    for _ in range(size // len(block)):
        digest.update(block)
    anexo = models.Anexo("an-1", "grande.pdf", "application/pdf", size, digest.hexdigest())
    body = _Generated(size)
    mock.get(URL, body=io.BufferedReader(body, buffer_size=attachments.CHUNK_SIZE))
    tracemalloc.start()
    try:
        path = client.download_anexo(PROTOCOLO, anexo, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.stat().st_size == size
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes: the body was not streamed"
    assert len(body.reads) >= size // attachments.CHUNK_SIZE
    assert max(body.reads) <= attachments.CHUNK_SIZE


def test_local_names_never_collide_for_different_ids() -> None:
    a = attachments.local_name("2026/1", anexo_of(CONTENT, id_anexo="a/b"))
    b = attachments.local_name("2026/1", anexo_of(CONTENT, id_anexo="a_b"))
    assert a != b and "/" not in a + b
