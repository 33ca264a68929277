"""Hostile and broken input from SIGRC, over real HTTP into a real store (SQLite and PostgreSQL).

The SIGRC simulator serves what its API can express (any JSON value in an event: NUL, lone
surrogates, ESC); :class:`tests.support.hostile_http.HostileServer` serves what it cannot (a
sequencia past 64 bits, JSON nested 100,000 deep, bytes that are not UTF-8, a Retry-After of
400 digits). Whatever one event carries, the others are stored and the cursor moves on; what
cannot be read is a transient fault, never a crash.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_bridge import errors
from sei_bridge.engine import RetryPolicy, outcomes
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sigrc import models, parsing
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import ActionKind, InboxState, Store
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.hostile_http import Answer, HostileServer, json_answer
from tests.unit.sigrc import raw

EVENTOS = "/sigrc/v1/eventos"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def client_of(base_url: str, token: str = "t") -> SigrcClient:
    return SigrcClient(base_url=base_url, token=token, sleep=lambda seconds: None)


def page(*eventos: object, ultima: object = None, ha_mais: bool = False) -> dict[str, object]:
    return {
        "eventos": list(eventos),
        "ultima_sequencia": ultima,
        "ha_mais": ha_mais,
        "atraso_maximo_segundos": 0,
    }


def poll_into(store: Store, client: SigrcClient) -> None:
    """One poll that settles at once (no lag), stored the way the engine stores it."""
    batch = FeedReader(client, safety_margin=0.0).poll(store.load_cursor(), now=1e9)
    store.record_feed_batch(batch.items, batch.cursor)


# --- characters XML cannot carry (and PostgreSQL cannot hold) ---------------------------------


def test_forbidden_characters_from_the_simulator_are_cleaned_or_quarantined(
    store: Store, sigrc_simulator_factory: SimulatorFactory
) -> None:
    sim: RunningSimulator = sigrc_simulator_factory(requests=0)
    dirty = raw.solicitacao(
        "2026-00000001",
        descricao="antes\0depois \ud800\ufffe\uffff\x1b[31m fim",
        anexos=[{**raw.anexo(1), "nome_arquivo": "carnê\0.pdf"}],
    )
    sim.state.write_event({**raw.evento(0, id_evento="clean-me"), "solicitacao": dirty})
    bad_key = raw.evento(0, protocolo="2026-\x0000002", id_evento="bad-key")
    sim.state.write_event(bad_key)
    sim.state.write_event(raw.evento(0, protocolo="2026-00000003", id_evento="after"))

    poll_into(store, client_of(sim.base_url, sim.token))

    cleaned = {e.id_evento: e for e in store.events_of("2026-00000001")}["clean-me"]
    assert cleaned.state is InboxState.PENDING
    evento = cleaned.evento()
    assert evento is not None and evento.solicitacao is not None
    assert evento.solicitacao.descricao == "antesdepois [31m fim"
    assert evento.solicitacao.anexos[0].nome_arquivo == "carnê.pdf"
    (quarantined,) = [q for q in store.status().quarantine if q.id_evento == "bad-key"]
    assert quarantined.protocolo is None
    assert quarantined.reason == "protocolo: holds a control character (U+0000)"
    assert [e.state for e in store.events_of("2026-00000003")] == [InboxState.PENDING]
    cursor = store.load_cursor()
    assert cursor is not None and cursor.watermark == 3


# --- one bad event stops nothing --------------------------------------------------------------


def test_a_sequencia_past_64_bits_is_quarantined_and_the_rest_of_the_page_stored(
    store: Store, hostile: HostileServer
) -> None:
    huge = 2**64 + 5
    hostile.script(
        EVENTOS,
        json_answer(
            page(
                raw.evento(1, id_evento="one"),
                raw.evento(2, protocolo="2026-00000002", id_evento="two"),
                {**raw.evento(3, id_evento="huge"), "sequencia": huge},
                ultima=huge,
            )
        ),
        json_answer(page()),
    )
    client = client_of(hostile.url + "/sigrc")
    poll_into(store, client)
    poll_into(store, client)  # and again: nothing is stuck, nothing repeats

    states = {e.id_evento: e.state for e in store.events_of("2026-00000001")}
    assert states == {"one": InboxState.PENDING, "huge": InboxState.QUARANTINED}
    assert [e.id_evento for e in store.events_of("2026-00000002")] == ["two"]
    (bad,) = [q for q in store.status().quarantine if q.id_evento == "huge"]
    assert bad.reason == "sequencia: larger than a 64-bit integer"
    cursor = store.load_cursor()
    assert cursor is not None and cursor.watermark == 2


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after",
    [
        "9" * 400,  # overflowed float() and the clock
        "9" * 5000,  # past Python's int() digit limit
        "²³",  # isdigit() is True, float() raises
        "Fri, 31 Dec 9999 23:59:59 GMT",  # parks the item until then
        "Mon, 01 Jan 0001 00:00:00 GMT",
        "99999999999999999999, 01 Jan 2026",
    ],
)
def test_a_hostile_retry_after_is_read_strictly_clamped_and_never_crashes(
    hostile: HostileServer, retry_after: str, tmp_path: Path
) -> None:
    hostile.script(
        "/sigrc/v1/solicitacoes/P1/anexos/an-1",
        Answer(503, b'{"erro":"manutencao"}', {"Retry-After": retry_after}),
    )
    client = client_of(hostile.url + "/sigrc")
    anexo = models.Anexo("an-1", "a.pdf", "application/pdf", 1, "0" * 64)
    with pytest.raises(errors.SigrcUnavailable) as info:
        client.download_anexo("P1", anexo, tmp_path)
    exc = info.value
    assert exc.retry_after is None or 0.0 <= exc.retry_after <= 24 * 3600
    # what the dispatcher does with it: the next attempt is within the policy, and storable
    outcome = outcomes.classify(exc, ActionKind.ANEXO)
    assert isinstance(outcome, outcomes.Retry)
    policy = RetryPolicy()
    now = 1_767_268_800.0
    at = policy.next_attempt(1, now=now, at_least=outcome.at_least)
    assert at <= now + policy.maximum
    dt.datetime.fromtimestamp(at, dt.UTC)  # what the store does: must not overflow


# --- bodies that cannot be read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b'{"eventos": [], "ha_mais": false, "atraso_maximo_segundos": 0, "x": "\xff"}', "UTF-8"),
        (b"[1, 2, 3]", "(root): expected an object"),
        (b'{"eventos": ', "malformed"),
    ],
)
def test_a_page_that_cannot_be_read_is_an_invalid_response_never_a_crash(
    hostile: HostileServer, body: bytes, why: str
) -> None:
    hostile.script(EVENTOS, Answer(200, body))
    with pytest.raises(errors.SigrcInvalidResponse, match="SIGRC answered") as info:
        client_of(hostile.url + "/sigrc").fetch_events(apos=0)
    assert why in str(info.value)
    assert "\n" not in str(info.value)


def test_a_deeply_nested_event_is_quarantined_and_its_neighbours_stored(
    store: Store, hostile: HostileServer
) -> None:
    deep = "[" * 500 + "]" * 500  # parses, but too deep to keep as raw JSON
    good = json.dumps(raw.evento(1, id_evento="good"))
    bad = json.dumps(raw.evento(2, id_evento="deep"))[:-1] + f', "x": {deep}}}'
    body = (
        f'{{"eventos": [{good}, {bad}], "ultima_sequencia": 2, "ha_mais": false, '
        '"atraso_maximo_segundos": 0}'
    )
    hostile.script(EVENTOS, Answer(200, body.encode()))
    poll_into(store, client_of(hostile.url + "/sigrc"))
    states = {e.id_evento: e.state for e in store.events_of("2026-00000001")}
    assert states == {"good": InboxState.PENDING, "deep": InboxState.QUARANTINED}
    assert parsing.MAX_DEPTH < 500
