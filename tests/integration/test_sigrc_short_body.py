"""An attachment whose body always ends before its Content-Length (over real HTTP): counted as a
mismatch like a wrong sha256, so after the download's tries it is an integrity error, which the
engine quarantines — not a network failure retried forever. A body cut short once is simply
downloaded again."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sei_bridge import errors
from sei_bridge.engine import outcomes
from sei_bridge.sigrc import attachments, models
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.store import ActionKind

TOKEN = "sigrc-test-token"
PROTOCOLO = "2026-00000001"
CONTENT = b"%PDF-1.4\n" + bytes(range(256)) * 400


class ShortBodies:
    """Serves CONTENT for any GET with its full Content-Length, the first ``short`` times
    (None: always) only its first half, then closes the connection."""

    def __init__(self, short: int | None) -> None:
        self.short = short
        self.gets = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner.gets += 1
                cut = owner.short is None or owner.gets <= owner.short
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(len(CONTENT)))
                self.end_headers()
                self.wfile.write(CONTENT[: len(CONTENT) // 2] if cut else CONTENT)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/sigrc"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[type[ShortBodies]]:
    started: list[ShortBodies] = []

    class Started(ShortBodies):
        def __init__(self, short: int | None) -> None:
            super().__init__(short)
            started.append(self)

    yield Started
    for server in started:
        server.stop()


ANEXO = models.Anexo(
    id_anexo="an-1",
    nome_arquivo="pedido.pdf",
    tipo_conteudo="application/pdf",
    tamanho_bytes=len(CONTENT),
    sha256=hashlib.sha256(CONTENT).hexdigest(),
)


def test_a_body_always_cut_short_is_an_integrity_error_after_the_tries(
    serve: type[ShortBodies], tmp_path: Path
) -> None:
    server = serve(None)
    client = SigrcClient(base_url=server.base_url, token=TOKEN)
    with pytest.raises(errors.AttachmentIntegrityError) as caught:
        client.download_anexo(PROTOCOLO, ANEXO, tmp_path)
    assert server.gets == attachments.DEFAULT_TRIES
    assert "ended short of its Content-Length" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # no partial file left
    outcome = outcomes.classify(caught.value, ActionKind.ANEXO)
    assert isinstance(outcome, outcomes.Quarantine)
    assert outcome.reason.startswith("attachment-integrity: ")


def test_a_body_cut_short_once_is_downloaded_again(
    serve: type[ShortBodies], tmp_path: Path
) -> None:
    server = serve(1)
    client = SigrcClient(base_url=server.base_url, token=TOKEN)
    path = client.download_anexo(PROTOCOLO, ANEXO, tmp_path)
    assert path.read_bytes() == CONTENT
    assert server.gets == 2
