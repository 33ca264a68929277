"""The SIGRC client half against the SIGRC simulator over real HTTP on loopback.

The feed test switches every delivery hazard on (commit lag, re-deliveries under new
sequencias, 429/503 with Retry-After, progressive writing, malformed and unknown events) and
proves that the set of events delivered equals the set written, each exactly once, and that the
watermark never passes an event not yet delivered.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sigrc import ManualClock, RunningSimulator
from sei_bridge.sandboxes.traffic import HardCase
from sei_bridge.sigrc import models
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedCursor, FeedReader
from tests.fixtures.sigrc import SimulatorFactory


def client_for(sim: RunningSimulator, sleeps: list[float] | None = None) -> SigrcClient:
    record = sleeps.append if sleeps is not None else (lambda seconds: None)
    return SigrcClient(base_url=sim.base_url, token=sim.token, orgao="SF", sleep=record)


def test_every_event_written_is_delivered_exactly_once_despite_lag_and_duplicates(
    sigrc_simulator_factory: SimulatorFactory, manual_clock: ManualClock
) -> None:
    sim = sigrc_simulator_factory(
        requests=40,
        seed=2026,
        lag_seconds=30.0,
        lagged_fraction=0.5,
        duplicate_rate=0.2,
        overload_rate=0.05,
        retry_after_seconds=2,
        write_rate=2.0,
        clock=manual_clock,
    )
    sleeps: list[float] = []
    reader = FeedReader(client_for(sim, sleeps), page_size=7, max_pages=3, clock=manual_clock)
    rng = random.Random(7)
    delivered: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    stored: str | None = None
    for _ in range(2000):  # a bound, not a wait: each round advances the manual clock
        manual_clock.advance(rng.uniform(0.0, 8.0))
        cursor = FeedCursor.from_json(stored) if stored else None
        batch = reader.poll(cursor)
        delivered.update(item.id_evento for item in batch.items)
        kinds.update(type(item).__name__ for item in batch.items)
        stored = batch.cursor.to_json()  # what Store.record_feed_batch persists
        written = sim.state.written
        settled = {e.id_evento for e in written if e.sequencia <= batch.cursor.watermark}
        assert settled <= set(delivered), "the watermark passed an event never delivered"
        if (
            sim.state.pending_count == 0
            and batch.caught_up
            and batch.cursor.watermark == len(written)
        ):
            break
    else:
        pytest.fail("the feed never settled")

    written = sim.state.written
    assert {e.id_evento for e in written} == set(delivered)
    assert max(delivered.values()) == 1
    # the hazards really happened
    assert any(e.duplicate_of is not None for e in written)
    assert any(e.visible_at > e.written_at for e in written)
    assert sum(sim.state.overloads.values()) > 0 and sleeps and set(sleeps) == {2.0}
    # malformed events were quarantined and unknown tipos recorded, not dropped
    malformed = {e.id_evento for e in written if e.intact is not None}
    unknown = {e.id_evento for e in written if e.tipo == "solicitacao.encaminhada"}
    assert malformed and unknown
    assert kinds["QuarantinedEvent"] == len(malformed)
    assert kinds["UnknownEvent"] == len(unknown)


def test_on_real_time_the_feed_settles_with_every_event_once(
    sigrc_simulator_factory: SimulatorFactory,
) -> None:
    sim = sigrc_simulator_factory(requests=10, lag_seconds=0.3, duplicate_rate=0.3)
    reader = FeedReader(client_for(sim), page_size=5, safety_margin=0.05)  # the wall clock
    delivered: Counter[str] = Counter()
    cursor: FeedCursor | None = None
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:  # each round trip is a real HTTP call: the wait
        batch = reader.poll(cursor)
        delivered.update(item.id_evento for item in batch.items)
        cursor = batch.cursor
        if batch.caught_up and cursor.watermark == len(sim.state.written):
            break
    else:
        pytest.fail("the feed did not settle within 20 s")
    assert {e.id_evento for e in sim.state.written} == set(delivered)
    assert max(delivered.values()) == 1


def test_snapshots_and_summaries_of_every_request_parse(
    sigrc_simulator: RunningSimulator,
) -> None:
    client = client_for(sigrc_simulator)
    summaries = list(
        client.list_solicitacoes(atualizadas_desde=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    )
    protocolos = [s.protocolo for s in summaries]
    assert protocolos == sorted(sigrc_simulator.state.protocolos())
    for summary in summaries:
        snapshot = client.get_solicitacao(summary.protocolo)
        assert snapshot.protocolo == summary.protocolo
        assert len(snapshot.interacoes) == summary.quantidade_interacoes
    long_text = sigrc_simulator.state.protocolos_with(HardCase.LONG_TEXT)
    assert len(client.get_solicitacao(long_text[0]).descricao) == 20_000
    with pytest.raises(errors.SigrcNotFound):
        client.get_solicitacao("1999-00000000")


def _first_anexo(sim: RunningSimulator) -> tuple[str, models.Anexo]:
    for event in sim.state.written:
        payload: dict[str, Any] = event.payload()
        anexos = (payload.get("solicitacao") or {}).get("anexos") or []
        if event.protocolo and anexos:
            raw = anexos[0]
            return event.protocolo, models.Anexo(
                raw["id_anexo"],
                raw["nome_arquivo"],
                raw["tipo_conteudo"],
                raw["tamanho_bytes"],
                raw["sha256"],
            )
    raise AssertionError("the generated traffic has no attachment")


def test_attachment_download_verifies_and_retries_corrupted_bytes(
    sigrc_simulator: RunningSimulator, tmp_path: Path
) -> None:
    client = client_for(sigrc_simulator)
    protocolo, anexo = _first_anexo(sigrc_simulator)
    sigrc_simulator.state.corrupt_attachment(protocolo, anexo.id_anexo, times=2)
    path = client.download_anexo(protocolo, anexo, tmp_path)
    assert path.stat().st_size == anexo.tamanho_bytes
    assert sigrc_simulator.state.attachment_fetches(protocolo, anexo.id_anexo) == 3

    sigrc_simulator.state.corrupt_attachment(protocolo, anexo.id_anexo, times=3)
    with pytest.raises(errors.AttachmentIntegrityError, match="sha256 differs"):
        client.download_anexo(protocolo, anexo, tmp_path / "again")
    assert list((tmp_path / "again").iterdir()) == []


def test_put_processo_sei_is_idempotent_and_a_different_number_conflicts(
    sigrc_simulator: RunningSimulator,
) -> None:
    client = client_for(sigrc_simulator)
    protocolo = sigrc_simulator.state.protocolos()[0]
    client.put_processo_sei(protocolo, "6017.2026/0001234-5", "https://sei.example/p/1")
    client.put_processo_sei(protocolo, "6017.2026/0001234-5", "https://sei.example/p/1")
    assert sigrc_simulator.state.processo_sei(protocolo) == "6017.2026/0001234-5"
    with pytest.raises(errors.SigrcConflict, match=protocolo):
        client.put_processo_sei(protocolo, "6017.2026/0009999-9")
    with pytest.raises(errors.SigrcNotFound):
        client.put_processo_sei("1999-00000000", "6017.2026/0001234-5")


def test_a_wrong_token_is_a_configuration_error_without_retry(
    sigrc_simulator: RunningSimulator,
) -> None:
    sleeps: list[float] = []
    client = SigrcClient(base_url=sigrc_simulator.base_url, token="wrong", sleep=sleeps.append)
    with pytest.raises(errors.SigrcAuthError, match="SEI_BRIDGE_SIGRC_TOKEN"):
        client.fetch_events(apos=0)
    assert sleeps == []


def test_overload_is_retried_after_the_servers_delay(sigrc_simulator: RunningSimulator) -> None:
    sleeps: list[float] = []
    sigrc_simulator.state.fail_next(2, status=429, retry_after=3)
    page = client_for(sigrc_simulator, sleeps).fetch_events(apos=0, limite=5)
    assert len(page.items) == 5 and page.ha_mais
    assert sleeps == [3.0, 3.0]
