"""The inbox and the feed cursor, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from sei_bridge import errors
from sei_bridge.sigrc.feed import FeedCursor, Sweep
from sei_bridge.store import InboxState, PayloadFormat, RequestState, Store
from tests.unit.store import builders as b


def test_each_event_is_stored_once_however_often_it_is_read(store: Store) -> None:
    first = store.record_feed_batch([b.registrada(1), b.interacao(2)], b.cursor(0))
    again = store.record_feed_batch(
        [b.interacao(2), b.registrada(1), b.interacao(3), b.interacao(3)], b.cursor(0)
    )
    assert (first, again) == (2, 1)
    assert [e.id_evento for e in store.events_of("P1")] == ["ev-1", "ev-2", "ev-3"]


def test_items_are_stored_by_kind_with_their_reason(store: Store) -> None:
    store.record_feed_batch(
        [b.registrada(1), b.unknown(2), b.malformed(3), b.malformed(None, protocolo=None)],
        b.cursor(10),
    )
    by_id = {e.id_evento: e for e in store.events_of("P1")}
    assert by_id["ev-1"].state is InboxState.PENDING
    assert by_id["ev-1"].payload_format is PayloadFormat.EVENTO
    assert by_id["ev-2"].state is InboxState.SKIPPED
    assert by_id["ev-2"].reason == "unknown tipo solicitacao.avaliada"
    assert by_id["ev-2"].payload == b.unknown(2).raw
    assert by_id["bad-3"].state is InboxState.QUARANTINED
    assert by_id["bad-3"].reason == "interacao.ocorrida_em: not an RFC 3339 date-time"
    assert by_id["bad-3"].payload_format is PayloadFormat.RAW
    assert by_id["bad-3"].evento() is None
    # the quarantined item without protocolo or sequencia is still kept, and shown to operators
    report = store.status()
    assert report.inbox == {"PENDING": 1, "SKIPPED": 1, "QUARANTINED": 2}
    assert {q.id_evento for q in report.quarantine if q.what == "event"} == {"bad-3", "bad-None"}


def test_a_stored_evento_comes_back_equal_to_what_was_read(store: Store) -> None:
    original = b.registrada(1)
    (event,) = b.recorded(store, original)
    assert event.evento() == original
    assert event.tipo == "solicitacao.registrada"
    assert event.protocolo == "P1"


def test_cursor_is_saved_with_the_events_and_loaded_back(store: Store) -> None:
    assert store.load_cursor() is None
    saved = FeedCursor(
        watermark=7,
        window={"ev-9": (9, 1767268800.5)},
        unplaced={"bad-x": (None, 1767268801.25)},
        sweep=Sweep(position=9, started_at=1767268790.0, lag=30),
    )
    store.record_feed_batch([b.registrada(1)], saved)
    assert store.load_cursor() == saved
    # an empty pass still moves the cursor
    store.record_feed_batch([], FeedCursor(watermark=9))
    loaded = store.load_cursor()
    assert loaded is not None and loaded.watermark == 9
    assert store.load_cursor("another-feed") is None


def test_a_batch_that_fails_before_its_cursor_is_saved_leaves_nothing(store: Store) -> None:
    class BrokenCursor(FeedCursor):
        def to_json(self) -> str:
            raise RuntimeError("crash between the events and the cursor")

    store.record_feed_batch([b.registrada(1)], b.cursor(1))
    with pytest.raises(RuntimeError):
        store.record_feed_batch([b.interacao(2), b.interacao(3)], BrokenCursor(watermark=5))
    assert [e.id_evento for e in store.events_of("P1")] == ["ev-1"]
    assert store.load_cursor() == FeedCursor(watermark=1)
    # the re-read after the crash stores them
    assert store.record_feed_batch([b.interacao(2), b.interacao(3)], b.cursor(3)) == 2


def test_only_settled_events_are_handed_out_in_sequencia_order(store: Store) -> None:
    store.record_feed_batch(
        [b.interacao(5, "P2"), b.registrada(2, "P2"), b.registrada(1), b.interacao(9)],
        b.cursor(5),
    )
    settled = store.settled_events(10)
    assert [e.sequencia for e in settled] == [1, 2, 5]
    assert [e.sequencia for e in store.settled_events(2)] == [1, 2]
    store.mark_event(settled[0].id, InboxState.PLANNED)
    assert [e.sequencia for e in store.settled_events(10)] == [2, 5]


def test_nothing_is_settled_before_the_first_cursor(store: Store) -> None:
    store.record_feed_batch([b.registrada(1)], b.cursor(1), cursor_name="other")
    assert store.settled_events(10) == []
    assert [e.sequencia for e in store.settled_events(10, cursor_name="other")] == [1]


def test_quarantine_event_quarantines_its_request_too(store: Store) -> None:
    (event,) = b.recorded(store, b.registrada(1, servico="9999"))
    store.quarantine_event(event.id, "servico 9999 has no mapping", protocolo="P1")
    (stored,) = store.events_of("P1")
    assert (stored.state, stored.reason) == (InboxState.QUARANTINED, "servico 9999 has no mapping")
    request = store.get_request("P1")
    assert request is not None
    assert (request.state, request.reason) == (
        RequestState.QUARANTINED,
        "servico 9999 has no mapping",
    )
    assert store.settled_events(10) == []


def test_set_aside_interacoes_are_the_malformed_interacoes_before_a_sequencia(
    store: Store,
) -> None:
    with_id = dataclasses.replace(
        b.malformed(4),
        id_evento="bad-4b",
        raw={"tipo": "solicitacao.interacao", "interacao": {"id_interacao": "int-4"}},
    )
    b.recorded(store, b.registrada(1), b.malformed(2), b.interacao(3), with_id, b.malformed(6))
    b.recorded(store, b.malformed(3, protocolo="P2"))
    assert store.set_aside_interacoes("P1", before=5) == [None, "int-4"]
    assert store.set_aside_interacoes("P1", before=2) == []
    assert store.set_aside_interacoes("P3", before=9) == []


def test_marking_an_unknown_event_says_so(store: Store) -> None:
    with pytest.raises(errors.StoreError, match="inbox event 424242 does not exist"):
        store.mark_event(424242, InboxState.SKIPPED, "x")


def test_whatever_one_event_carries_the_page_is_stored_and_the_bad_ones_quarantined(
    store: Store,
) -> None:
    # what broke the whole page on one database or the other: a sequencia past BIGINT (both),
    # a NUL in a text, a key or a tipo (PostgreSQL), a NUL in a field the contract lacks
    from sei_bridge.sigrc import parsing
    from tests.unit.sigrc import raw

    hostile = {
        "big": {**raw.evento(2, id_evento="big"), "sequencia": 2**63},
        "nul-text": raw.evento(
            3, "solicitacao.interacao", id_evento="nul-text", interacao=raw.interacao(texto="a\0b")
        ),
        "nul-protocolo": {**raw.evento(4, id_evento="nul-protocolo"), "protocolo": "P\0"},
        "nul-tipo": {**raw.evento(5, id_evento="nul-tipo"), "tipo": "solicitacao.\0"},
        "nul-extra": {**raw.evento(6, id_evento="nul-extra"), "ocorrido_em": 1, "x": "\0\ud800"},
    }
    nul_id = {**raw.evento(7), "id_evento": "id\0"}
    items = [
        parsing.parse_event(raw.evento(1, id_evento="good-1")),
        *(parsing.parse_event(r) for r in hostile.values()),
        parsing.parse_event(nul_id),
        parsing.parse_event(raw.evento(8, "solicitacao.interacao", id_evento="good-8")),
    ]
    assert store.record_feed_batch(items, b.cursor(8)) == 8
    assert store.load_cursor() is not None and store.load_cursor().watermark == 8  # type: ignore[union-attr]
    events = {e.id_evento: e for e in store.events_of("2026-00000001")}
    assert events["good-1"].state is events["good-8"].state is InboxState.PENDING
    assert events["nul-text"].state is InboxState.PENDING
    evento = events["nul-text"].evento()
    assert evento is not None and evento.interacao is not None
    assert evento.interacao.texto == "ab"
    assert events["big"].state is InboxState.QUARANTINED and events["big"].sequencia is None
    assert events["big"].reason == "sequencia: larger than a 64-bit integer"
    assert events["nul-tipo"].reason == "tipo: holds a control character (U+0000)"
    assert events["nul-extra"].payload == hostile["nul-extra"]  # the raw JSON round-trips
    quarantined = {q.id_evento: q for q in store.status().quarantine if q.what == "event"}
    assert quarantined[parsing.synthetic_id(nul_id)].reason == (
        "id_evento: holds a control character (U+0000)"
    )
    unfiled = [q for q in quarantined.values() if q.protocolo is None]
    assert [q.reason for q in unfiled if q.id_evento == "nul-protocolo"] == [
        "protocolo: holds a control character (U+0000)"
    ]
