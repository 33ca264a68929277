"""Audit excerpts read from the store on SQLite and PostgreSQL: a period's contiguous entries
with the anchors that let them verify on their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sei_bridge import audit_excerpt, errors
from sei_bridge.store import Store
from tests.unit.store import builders as b

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


class _Clock:
    """The store's clock, moved by the test: entries get the times the test chooses."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def timed_store(request: pytest.FixtureRequest) -> Iterator[tuple[Store, _Clock]]:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    url = request.getfixturevalue(name)
    clock = _Clock()
    store = Store.from_url(url, clock=clock)
    store.migrate()
    try:
        yield store, clock
    finally:
        store.close()


def _day(store: Store, clock: _Clock, day: int) -> None:
    """A request registered and planned on day ``day`` (two audit entries)."""
    clock.now = T0 + dt.timedelta(days=day)
    b.planned_request(store, f"P{day}", sequencia=day)


def _lines(store: Store, **period: dt.datetime) -> list[str]:
    with store.audit_excerpt(**period) as (header, entries):
        return [audit_excerpt.header_line(header), *map(audit_excerpt.entry_line, entries)]


def test_a_period_exports_its_entries_and_verifies_alone(
    timed_store: tuple[Store, _Clock],
) -> None:
    store, clock = timed_store
    for day in range(1, 6):
        _day(store, clock, day)
    trail = store.audit_trail()
    lines = _lines(store, start=T0 + dt.timedelta(days=2), end=T0 + dt.timedelta(days=4))
    in_period = [e for e in trail if T0 + dt.timedelta(days=2) <= e.at < T0 + dt.timedelta(days=4)]
    assert [int(line.split('"id":')[1].split(",")[0]) for line in lines[1:]] == [
        e.id for e in in_period
    ]
    result = audit_excerpt.verify_lines(lines)
    assert result.ok, result.problem
    before = next(e for e in trail if e.id == in_period[0].id - 1)
    assert (result.prev_hash, result.last_hash) == (before.hash, in_period[-1].hash)
    # the whole trail, and an empty period, verify too
    assert audit_excerpt.verify_lines(_lines(store)).entries == len(trail)
    empty = _lines(store, start=T0 + dt.timedelta(days=30))
    assert len(empty) == 1 and audit_excerpt.verify_lines(empty).ok


def test_an_entry_out_of_time_order_inside_the_period_is_kept(
    timed_store: tuple[Store, _Clock],
) -> None:
    # two workers' clocks disagree: an entry with an earlier time sits between later ones
    store, clock = timed_store
    _day(store, clock, 3)
    _day(store, clock, 1)
    _day(store, clock, 4)
    lines = _lines(store, start=T0 + dt.timedelta(days=2), end=T0 + dt.timedelta(days=5))
    assert len(lines) - 1 == len(store.audit_trail())  # day 1's entries included: no gap
    assert audit_excerpt.verify_lines(lines).ok


def test_an_export_that_cannot_link_says_so(timed_store: tuple[Store, _Clock]) -> None:
    store, clock = timed_store
    for day in range(1, 4):
        _day(store, clock, day)
    trail = store.audit_trail()
    start_of_day_2 = next(e for e in trail if e.at >= T0 + dt.timedelta(days=2))
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER audit_entry_append_only ON audit_entry")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
        conn.execute(
            sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": start_of_day_2.id - 1}
        )
    with pytest.raises(errors.StoreError, match="run `sei-bridge audit verify`"):
        _lines(store, start=T0 + dt.timedelta(days=2))
