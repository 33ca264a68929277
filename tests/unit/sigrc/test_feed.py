"""FeedReader: paging, the lag window, dedup, restarts; against a lagging SIGRC over ``responses``.

``LaggingFeed`` behaves as the contract says SIGRC may: an event is written with the next
sequencia but becomes visible only when it commits, up to ``lag`` seconds later; it may be served
again, under the same sequencia or (as the simulator does) as a copy written under a new one when
the original is served. Time is the ``now`` the test passes to ``poll``.
"""

from __future__ import annotations

import json
import random
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import responses
from requests.models import PreparedRequest

from sei_bridge import errors
from sei_bridge.sigrc import models
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedBatch, FeedCursor, FeedReader, Sweep
from tests.unit.sigrc import raw
from tests.unit.sigrc.raw import BASE, TOKEN

LAG = 120
CRASH = 0.1


@dataclass
class LaggingFeed:
    lag: int = LAG
    clock: float = 0.0
    #: (sequencia, commit time, raw event)
    written: list[tuple[int, float, dict[str, Any]]] = field(default_factory=list)
    #: sequencias served twice in a row (at-least-once)
    repeat: set[int] = field(default_factory=set)
    #: chance that serving an original writes a copy under a new sequencia (once per event)
    copy_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    copied: set[int] = field(default_factory=set)
    copies: set[int] = field(default_factory=set)
    requests: list[dict[str, int]] = field(default_factory=list)

    def write(self, *, delay: float = 0.0, tipo: str = "solicitacao.registrada", **kw: Any) -> int:
        """Write the next event at ``clock``; it commits ``delay`` seconds later."""
        assert 0 <= delay <= self.lag
        seq = len(self.written) + 1
        self.written.append((seq, self.clock + delay, raw.evento(seq, tipo, **kw)))
        return seq

    def copy(self, seq: int, *, delay: float = 0.0) -> int:
        """Re-deliver event ``seq``: same id_evento, the next sequencia, written now."""
        self.copied.add(seq)
        new = len(self.written) + 1
        event = {**self.written[seq - 1][2], "sequencia": new}
        self.written.append((new, self.clock + delay, event))
        self.copies.add(new)
        return new

    def replace(self, seq: int, event: dict[str, Any]) -> None:
        s, commit, _ = self.written[seq - 1]
        self.written[seq - 1] = (s, commit, event)

    def visible(self) -> list[tuple[int, dict[str, Any]]]:
        return [(s, e) for s, c, e in self.written if c <= self.clock]

    def serve(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url or "").query)
        apos, limite = int(query["apos"][0]), int(query["limite"][0])
        self.requests.append({"apos": apos, "limite": limite})
        after = [(s, e) for s, e in self.visible() if s > apos]
        chosen = after[:limite]
        eventos: list[dict[str, Any]] = []
        for s, e in chosen:
            eventos.append(e)
            if s in self.repeat:
                eventos.append(e)
            fresh = s not in self.copied and s not in self.copies
            if self.copy_rate and fresh and self.rng.random() < self.copy_rate:
                self.copy(s, delay=self.rng.uniform(0, self.lag))
        body = {
            "eventos": eventos,
            "ultima_sequencia": chosen[-1][0] if chosen else None,
            "ha_mais": len(after) > limite,
            "atraso_maximo_segundos": self.lag,
        }
        return 200, {}, json.dumps(body)


@pytest.fixture
def feed() -> Iterator[LaggingFeed]:
    lagging = LaggingFeed()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, BASE + "/v1/eventos", callback=lagging.serve)
        yield lagging


def reader(page_size: int = 500, max_pages: int | None = None) -> FeedReader:
    client = SigrcClient(base_url=BASE, token=TOKEN, sleep=lambda s: None)
    return FeedReader(client, page_size=page_size, max_pages=max_pages, safety_margin=1.0)


def seqs(batch: FeedBatch) -> list[int | None]:
    return [i.sequencia for i in batch.items]


def test_a_pass_reads_every_page_until_ha_mais_is_false(feed: LaggingFeed) -> None:
    for _ in range(7):
        feed.write()
    batch = reader(page_size=3).poll(None, now=0.0)
    assert seqs(batch) == [1, 2, 3, 4, 5, 6, 7]
    assert [r["apos"] for r in feed.requests] == [0, 3, 6]
    assert batch.caught_up and batch.pages == 3


def test_a_lower_sequencia_seen_after_higher_ones_is_delivered_exactly_once(
    feed: LaggingFeed,
) -> None:
    r = reader()
    feed.write()
    late = feed.write(delay=100)
    feed.write()
    first = r.poll(None, now=0.0)
    assert seqs(first) == [1, 3]
    assert first.cursor.watermark == 0  # nothing is settled before the lag has passed

    feed.clock = 100.0  # seq 2 commits now, after 3 was served
    second = r.poll(first.cursor, now=100.0)
    assert seqs(second) == [late]
    assert second.duplicates == 2  # 1 and 3 were served again and not delivered again

    feed.clock = 500.0
    third = r.poll(second.cursor, now=500.0)
    assert third.items == []
    assert third.cursor.watermark == 3 and dict(third.cursor.window) == {}


def test_the_watermark_waits_for_the_lag_measured_from_first_sight(feed: LaggingFeed) -> None:
    r = reader()
    feed.write()
    batch = r.poll(None, now=1000.0)
    for now in (1000.0, 1060.0, 1120.0):  # first seen at 1000: not yet 121 s before a pass
        batch = r.poll(batch.cursor, now=now)
        assert batch.cursor.watermark == 0
    batch = r.poll(batch.cursor, now=1121.0)
    assert batch.cursor.watermark == 1
    assert feed.requests[-1]["apos"] == 0 and r.poll(batch.cursor, now=1200.0).items == []
    assert feed.requests[-1]["apos"] == 1


def test_a_duplicate_is_never_delivered_again(feed: LaggingFeed) -> None:
    r = reader()
    for _ in range(4):
        feed.write()
    feed.repeat = {2, 3}
    batch = r.poll(None, now=0.0)
    assert seqs(batch) == [1, 2, 3, 4] and batch.duplicates == 2
    again = r.poll(batch.cursor, now=10.0)
    assert again.items == [] and again.duplicates == 6


def test_a_copy_under_a_new_sequencia_after_the_original_settled_is_not_delivered(
    feed: LaggingFeed,
) -> None:
    r = reader()
    feed.write()
    first = r.poll(None, now=0.0)
    feed.clock = 200.0
    settled = r.poll(first.cursor, now=200.0)  # serves 1 again, then settles it
    assert settled.cursor.watermark == 1 and dict(settled.cursor.window) == {}
    copy = feed.copy(1, delay=100)  # SIGRC re-delivers it, committing within the lag
    feed.clock = 300.0
    again = r.poll(settled.cursor, now=300.0)
    assert again.items == [] and again.duplicates == 1
    feed.clock = 500.0
    final = r.poll(again.cursor, now=500.0)
    assert final.cursor.watermark == copy  # the copy's sequencia settles like any other
    feed.clock = 800.0
    assert r.poll(final.cursor, now=800.0).cursor.recent == {}


def test_a_restart_from_the_persisted_cursor_loses_nothing(feed: LaggingFeed) -> None:
    feed.write()
    feed.write(delay=50)
    feed.write()
    stored = FeedCursor.from_json(reader().poll(None, now=0.0).cursor.to_json())
    feed.clock = 50.0
    # a new process (new reader, new client) resumes from what was stored
    resumed = reader().poll(FeedCursor.from_json(stored.to_json()), now=50.0)
    assert seqs(resumed) == [2]


def test_a_crash_before_storing_the_batch_rereads_it(feed: LaggingFeed) -> None:
    r = reader()
    feed.write()
    lost = r.poll(None, now=0.0)  # the process dies before record_feed_batch
    again = r.poll(None, now=5.0)  # restarts from the last stored cursor (none)
    assert seqs(again) == seqs(lost) == [1]


def test_cursor_json_round_trip_keeps_everything() -> None:
    cursor = FeedCursor(
        watermark=10,
        window={"b": (12, 5.5), "a": (11, 4.0)},
        unplaced={"invalid:x": (12, 4.5), "invalid:y": (None, 6.0)},
        recent={"c": 3.0},
        sweep=Sweep(position=13, started_at=2.5, lag=120),
    )
    assert FeedCursor.from_json(cursor.to_json()) == cursor
    with pytest.raises(errors.StoreError, match="feed cursor is unreadable"):
        FeedCursor.from_json('{"version": 1, "watermark": -1}')


def test_malformed_and_unknown_items_are_delivered_and_deduplicated(feed: LaggingFeed) -> None:
    r = reader()
    feed.write()
    feed.write(tipo="solicitacao.transferida")
    bad = feed.write(tipo="solicitacao.interacao")
    feed.replace(bad, raw.edited(raw.evento(bad, "solicitacao.interacao"), "interacao.texto", 1))
    feed.write()
    batch = r.poll(None, now=0.0)
    kinds = [type(i) for i in batch.items]
    assert kinds == [models.Evento, models.UnknownEvent, models.QuarantinedEvent, models.Evento]
    quarantined = batch.items[2]
    assert isinstance(quarantined, models.QuarantinedEvent)
    assert quarantined.error == "interacao.texto: expected a string, got number"
    assert r.poll(batch.cursor, now=1.0).items == []


def test_an_item_without_a_readable_sequencia_is_delivered_once_and_then_forgotten(
    feed: LaggingFeed,
) -> None:
    r = reader()
    feed.write()
    broken = feed.write()
    feed.replace(broken, raw.edited(raw.evento(broken), "sequencia", "two"))
    feed.write()
    first = r.poll(None, now=0.0)
    assert seqs(first) == [1, None, 3]
    assert r.poll(first.cursor, now=10.0).items == []
    settled = r.poll(first.cursor, now=500.0).cursor
    assert settled.watermark == 3 and dict(settled.unplaced) == {}


def test_a_sweep_can_span_polls_without_losing_anything(feed: LaggingFeed) -> None:
    r = reader(page_size=2, max_pages=2)
    for _ in range(9):
        feed.write()
    first = r.poll(None, now=0.0)
    assert seqs(first) == [1, 2, 3, 4] and not first.caught_up
    assert first.cursor.sweep is not None and first.cursor.sweep.position == 4
    second = r.poll(first.cursor, now=1.0)
    third = r.poll(second.cursor, now=2.0)
    assert seqs(second) + seqs(third) == [5, 6, 7, 8, 9]
    assert third.caught_up and third.cursor.sweep is None


def test_a_page_claiming_more_without_advancing_is_refused(feed: LaggingFeed) -> None:
    with responses.RequestsMock() as mock:
        mock.get(
            BASE + "/v1/eventos",
            json={
                "eventos": [],
                "ultima_sequencia": None,
                "ha_mais": True,
                "atraso_maximo_segundos": 1,
            },
        )
        with pytest.raises(errors.SigrcInvalidResponse, match="ha_mais=true"):
            reader().poll(None, now=0.0)


@pytest.mark.parametrize("seed", range(12))
def test_random_lag_and_duplicates_deliver_every_event_exactly_once(
    feed: LaggingFeed, seed: int
) -> None:
    """Events written at random times with random commit lags (<= LAG), repeats and copies
    under new sequencias, read by polls at random intervals through a cursor persisted as JSON,
    with a crash now and then: every event is delivered exactly once, and every event at or
    below the watermark has been delivered by the time the watermark passes it."""
    rng = random.Random(seed)
    feed.copy_rate = 0.15
    feed.rng = random.Random(seed + 1000)
    r = reader(page_size=rng.choice([2, 5, 50]), max_pages=rng.choice([None, 1, 3]))
    stored: str | None = None
    delivered: Counter[str] = Counter()
    for _ in range(60):
        feed.clock += rng.uniform(0, 40)
        for _ in range(rng.randrange(4)):
            seq = feed.write(delay=rng.choice([0.0, 0.0, rng.uniform(0, LAG)]))
            if rng.random() < 0.2:
                feed.repeat.add(seq)
        cursor = None if stored is None else FeedCursor.from_json(stored)
        batch = r.poll(cursor, now=feed.clock)
        if rng.random() < 0.1:
            continue  # crashed before storing: the batch is lost, the old cursor stays
        delivered.update(i.id_evento for i in batch.items)
        stored = batch.cursor.to_json()
        watermark = batch.cursor.watermark
        settled_ids = {feed.written[s - 1][2]["id_evento"] for s in range(1, watermark + 1)}
        assert settled_ids <= set(delivered)
    feed.copy_rate = 0.0  # hazards off: let everything commit and settle
    for _ in range(3):
        feed.clock += LAG + 10
        while True:
            batch = r.poll(FeedCursor.from_json(stored) if stored else None, now=feed.clock)
            delivered.update(i.id_evento for i in batch.items)
            stored = batch.cursor.to_json()
            if batch.caught_up:
                break
    written = {e["id_evento"] for _, _, e in feed.written}
    assert set(delivered) == written
    assert max(delivered.values()) == 1
    assert FeedCursor.from_json(stored or "").watermark == len(feed.written)
