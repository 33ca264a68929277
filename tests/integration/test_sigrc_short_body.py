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

from sei_bridge import config, errors, mapping
from sei_bridge.engine import Engine, outcomes
from sei_bridge.sandboxes.sei import RunningSandbox
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc import attachments, models
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import ActionKind, ActionState, Store
from tests.fixtures.sigrc import SimulatorFactory

REPO = Path(__file__).resolve().parents[2]
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


def test_the_engine_quarantines_attachments_always_cut_short_and_goes_idle(
    sigrc_simulator_factory: SimulatorFactory, sei_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """The SIGRC simulator cutting every attachment short under its Content-Length: each is
    downloaded DEFAULT_TRIES times per attempt, then quarantined as attachment-integrity; the
    rest of each request goes on and the sync ends idle instead of retrying forever."""
    sigrc = sigrc_simulator_factory(requests=6, seed=11, hard_case_rate=0.0)
    sigrc.state.cut_attachments_short()
    store = Store.from_url(f"sqlite:///{tmp_path}/ledger.db")
    store.migrate()
    settings = config.load_settings(
        environ={}, overrides={"work_dir": str(tmp_path / "work"), "sei_rate_limit": 0}
    )
    sigrc_client = SigrcClient(base_url=sigrc.base_url, token=sigrc.token, orgao="SF")
    sigla, servico = sei_sandbox.credentials
    try:
        report = Engine(
            store=store,
            feed=FeedReader(sigrc_client),
            sigrc=sigrc_client,
            sei=SeiClient(
                endpoint_url=sei_sandbox.endpoint_url,
                sigla_sistema=sigla,
                identificacao_servico=servico,
            ),
            mappings=mapping.load_mappings(REPO / "mappings"),
            settings=settings,
            poll_interval=0.2,
        ).sync_until_idle(max_seconds=60)
        assert report.idle, report.to_text()
        anexos = [
            (protocolo, a)
            for protocolo in sigrc.state.protocolos()
            for a in store.actions_of(protocolo)
            if a.kind is ActionKind.ANEXO
        ]
        integrity = [
            (protocolo, a)
            for protocolo, a in anexos
            if (a.last_error or "").startswith("attachment-integrity: ")
        ]
        assert integrity, [a.last_error for _, a in anexos]
        for protocolo, action in integrity:
            assert action.state is ActionState.QUARANTINED
            assert "ended short of its Content-Length" in (action.last_error or "")
            assert sigrc.state.attachment_fetches(protocolo, action.source_id) == (
                attachments.DEFAULT_TRIES
            )
        others = [
            a
            for protocolo in sigrc.state.protocolos()
            for a in store.actions_of(protocolo)
            if a.kind is not ActionKind.ANEXO
        ]
        assert others and all(a.state is ActionState.DONE for a in others)
    finally:
        store.close()
