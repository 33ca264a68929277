"""The SEI client against a slow or oversized SEI over real HTTP (tests/support/hostile_sei):
every call ends within its total deadline whatever the server trickles, and an answer over the
size cap is refused without being held in memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sei_bridge import bounded_http, errors
from sei_bridge.sei.client import SeiClient
from tests.support.hostile_sei import Drip, HostileSei, Huge

REPO = Path(__file__).resolve().parents[2]
_ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV='
    b'"http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="Sei"><SOAP-ENV:Body>'
    b"<ns1:listarUnidadesResponse><parametros/></ns1:listarUnidadesResponse>"
    b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
_MIB = 1024 * 1024


def _client(sei: HostileSei, **kwargs: float) -> SeiClient:
    return SeiClient(
        endpoint_url=sei.endpoint_url,
        sigla_sistema="SEI_BRIDGE",
        identificacao_servico="identificacao-do-servico",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("whole", [False, True], ids=["dripping-body", "dripping-headers"])
def test_a_dripping_answer_ends_at_the_call_deadline_as_outcome_unknown(whole: bool) -> None:
    # one byte every 0.3 s: never idle for the 5 s read timeout, 80 s for the whole answer
    with HostileSei([Drip(200, _ANSWER, every=0.3, whole=whole)]) as sei:
        client = _client(sei, read_timeout=5.0, call_deadline=2.0)
        started = time.monotonic()
        with pytest.raises(errors.SeiOutcomeUnknownError) as caught:
            client.listar_unidades()
        took = time.monotonic() - started
    assert type(caught.value) is errors.SeiOutcomeUnknownError
    assert "2 s call deadline (SEI_BRIDGE_SEI_CALL_DEADLINE)" in str(caught.value)
    assert "outcome is unknown" in str(caught.value)
    assert took < 4.0, f"the call took {took:.1f} s with a 2 s deadline"


def test_a_deadline_passed_before_sending_is_not_sent() -> None:
    # the deadline of an enclosing call has passed when this one connects: nothing may leave
    with HostileSei([(200, _ANSWER)]) as sei:
        client = _client(sei)
        with bounded_http.bounded(0.05):
            time.sleep(0.3)
            with pytest.raises(errors.SeiNotSentError) as caught:
                client.listar_unidades()
        assert sei.calls == 0
    assert "could not send listarUnidades to SEI within the 0.05 s call deadline" in str(
        caught.value
    )


def test_an_answer_within_the_deadline_is_read_whole() -> None:
    with HostileSei([Drip(200, _ANSWER, every=0.001)]) as sei:
        assert _client(sei, call_deadline=30.0).listar_unidades() == []


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_200_mb_answer_is_refused_at_the_cap_without_reading_it(declared: bool) -> None:
    with HostileSei([Huge(200 * _MIB, declared=declared)]) as sei:
        client = _client(sei, max_response_bytes=1 * _MIB)
        with pytest.raises(errors.SeiResponseTooLarge) as caught:
            client.listar_unidades()
        sei.answered.wait(1)  # the server noticed that the client left
        sent = sei.bytes_sent
    assert "larger than the 1048576 bytes allowed" in str(caught.value)
    assert "SEI_BRIDGE_SEI_MAX_RESPONSE_BYTES" in str(caught.value)
    # a declared length over the cap is refused unread; otherwise reading stops past the cap
    # (what the kernel buffers meanwhile aside)
    assert sent < 40 * _MIB, f"the server got to write {sent} bytes"


_PEAK = textwrap.dedent(
    """
    import sys
    from sei_bridge import bounded_http, errors
    from sei_bridge.sei.client import SeiClient

    client = SeiClient(endpoint_url=sys.argv[1], sigla_sistema="S", identificacao_servico="x")
    for _ in range(3):
        try:
            client.listar_unidades()
        except errors.SeiResponseTooLarge:
            pass
        else:
            raise SystemExit("the answer was accepted")
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM")).split()[1])
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_the_clients_peak_memory_stays_flat_on_200_mb_answers() -> None:
    # default 16 MiB cap; three 200 MB answers without Content-Length, so each is read up to
    # the cap: the process's peak RSS stays under 120 MiB (55 MiB measured; the issue measured
    # ~700 MB per such call before)
    with HostileSei([Huge(200 * _MIB, declared=False)]) as sei:
        done = subprocess.run(
            [sys.executable, "-c", _PEAK, sei.endpoint_url],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    peak_kib = int(done.stdout.strip())
    print(f"peak RSS {peak_kib // 1024} MiB")
    assert peak_kib < 120 * 1024, f"peak RSS {peak_kib // 1024} MiB"
