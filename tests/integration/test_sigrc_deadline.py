"""The SIGRC client against a slow, oversized or resetting SIGRC over real HTTP
(tests/support/hostile_http): every call ends within its total deadline, a JSON answer over the
size cap is refused without being held (a feed page is asked again with fewer events), and an
attachment whose download breaks off every time is an integrity error after its tries, not a
network failure retried forever."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_bridge import errors
from sei_bridge.sigrc import models
from sei_bridge.sigrc.client import SigrcClient
from tests.support.hostile_http import Answer, HostileServer
from tests.unit.sigrc import raw

REPO = Path(__file__).resolve().parents[2]
EVENTOS = "/sigrc/v1/eventos"
PROTOCOLO = "2026-00000001"
ANEXO_PATH = f"/sigrc/v1/solicitacoes/{PROTOCOLO}/anexos/an-1"
CONTENT = b"%PDF-1.4\n" + bytes(range(256)) * 400
ANEXO = models.Anexo(
    id_anexo="an-1",
    nome_arquivo="pedido.pdf",
    tipo_conteudo="application/pdf",
    tamanho_bytes=len(CONTENT),
    sha256=hashlib.sha256(CONTENT).hexdigest(),
)
_MIB = 1024 * 1024


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def client_of(server: HostileServer, **kwargs: float) -> SigrcClient:
    return SigrcClient(
        base_url=server.url + "/sigrc", token="t", sleep=lambda seconds: None, **kwargs
    )  # type: ignore[arg-type]


def page(*eventos: object, ultima: object = None, ha_mais: bool = False) -> dict[str, object]:
    return {
        "eventos": list(eventos),
        "ultima_sequencia": ultima,
        "ha_mais": ha_mais,
        "atraso_maximo_segundos": 0,
    }


def test_a_dripping_feed_page_ends_at_the_call_deadline(hostile: HostileServer) -> None:
    # a byte every 0.2 s: never idle for the 5 s read timeout, a minute for the page
    body = json.dumps(page(raw.evento(1), ultima=1)).encode()
    hostile.script(EVENTOS, Answer(200, body, drip=0.2))
    client = client_of(hostile, read_timeout=5.0, call_deadline=2.0)
    started = time.monotonic()
    with pytest.raises(errors.SigrcUnavailable) as caught:
        client.fetch_events(apos=0)
    took = time.monotonic() - started
    assert "within the 2 s call deadline (SEI_BRIDGE_SIGRC_CALL_DEADLINE)" in str(caught.value)
    assert took < 4.0, f"the call took {took:.1f} s with a 2 s deadline"


def test_a_dripping_put_ends_at_the_call_deadline(hostile: HostileServer) -> None:
    hostile.script(
        f"/sigrc/v1/solicitacoes/{PROTOCOLO}/processo-sei", Answer(200, b"{}" * 50, drip=0.2)
    )
    started = time.monotonic()
    with pytest.raises(errors.SigrcUnavailable, match="call deadline"):
        client_of(hostile, call_deadline=1.5).put_processo_sei(PROTOCOLO, "SEI-1")
    assert time.monotonic() - started < 3.5


def test_a_feed_page_over_the_cap_is_asked_again_with_fewer_events(
    hostile: HostileServer,
) -> None:
    small = json.dumps(page(raw.evento(1), ultima=1, ha_mais=True)).encode()
    hostile.script(EVENTOS, Answer(200, size=300 * _MIB), Answer(200, small))
    result = client_of(hostile, max_response_bytes=1 * _MIB).fetch_events(apos=0, limite=500)
    assert [e.sequencia for e in result.items] == [1] and result.ha_mais
    limites = [q.split("limite=")[1].split("&")[0] for q in hostile.queries[EVENTOS]]
    assert limites == ["500", "250"]


def test_a_feed_event_over_the_cap_alone_is_a_clear_invalid_response(
    hostile: HostileServer,
) -> None:
    hostile.script(EVENTOS, Answer(200, size=300 * _MIB, declared=False))
    with pytest.raises(errors.SigrcInvalidResponse) as caught:
        client_of(hostile, max_response_bytes=1 * _MIB).fetch_events(apos=7, limite=500)
    text = str(caught.value)
    assert "larger than the 1048576 bytes allowed" in text
    assert "even for a single event (apos=7)" in text
    assert "SEI_BRIDGE_SIGRC_MAX_RESPONSE_BYTES" in text
    # 500, 250, 125, 62, 31, 15, 7, 3, 1: then it says so instead of blocking the feed
    assert hostile.hits[EVENTOS] == 9


def test_a_huge_error_answer_is_not_read_whole(hostile: HostileServer) -> None:
    hostile.script(EVENTOS, Answer(418, size=300 * _MIB, declared=False))
    with pytest.raises(errors.SigrcError, match="HTTP 418"):
        client_of(hostile).fetch_events(apos=0)
    hostile.answered.wait(1)
    assert hostile.bytes_sent < 40 * _MIB


def test_an_attachment_reset_mid_download_every_time_is_an_integrity_error(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.script(ANEXO_PATH, Answer(200, CONTENT, reset_after=len(CONTENT) // 2))
    with pytest.raises(errors.AttachmentIntegrityError) as caught:
        client_of(hostile).download_anexo(PROTOCOLO, ANEXO, tmp_path)
    assert "every one of 3 downloads broke off" in str(caught.value)
    assert hostile.hits[ANEXO_PATH] == 3
    assert list(tmp_path.iterdir()) == []


def test_an_attachment_reset_once_is_downloaded_again(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.script(
        ANEXO_PATH, Answer(200, CONTENT, reset_after=len(CONTENT) // 2), Answer(200, CONTENT)
    )
    path = client_of(hostile).download_anexo(PROTOCOLO, ANEXO, tmp_path)
    assert path.read_bytes() == CONTENT


def test_a_dripping_attachment_is_cut_at_the_deadline_each_try(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.script(ANEXO_PATH, Answer(200, CONTENT, drip=0.05))
    started = time.monotonic()
    with pytest.raises(errors.AttachmentIntegrityError) as caught:
        client_of(hostile, call_deadline=1.0).download_anexo(PROTOCOLO, ANEXO, tmp_path)
    took = time.monotonic() - started
    assert "did not finish within the 1 s call deadline" in str(caught.value)
    assert took < 6.0, f"three 1 s downloads took {took:.1f} s"


_PEAK = textwrap.dedent(
    """
    import sys
    from sei_bridge import errors
    from sei_bridge.sigrc.client import SigrcClient

    client = SigrcClient(base_url=sys.argv[1], token="t")
    try:
        client.fetch_events(apos=0)
    except errors.SigrcInvalidResponse:
        pass
    else:
        raise SystemExit("the page was accepted")
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM")).split()[1])
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_the_clients_peak_memory_stays_flat_on_300_mb_feed_pages(hostile: HostileServer) -> None:
    # default 32 MiB cap; 300 MB pages without Content-Length, each read up to the cap, nine
    # times (limite 500 down to 1): peak RSS under 120 MiB (63 MiB measured; the issue
    # measured 1.2 GB for one such page before)
    hostile.script(EVENTOS, Answer(200, size=300 * _MIB, declared=False))
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, hostile.url + "/sigrc"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    peak_kib = int(done.stdout.strip())
    print(f"peak RSS {peak_kib // 1024} MiB")
    assert peak_kib < 120 * 1024, f"peak RSS {peak_kib // 1024} MiB"
