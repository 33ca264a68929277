"""The progress reported by sync --until-idle while the feeder plans and the dispatcher runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sei_bridge.engine import outcomes
from sei_bridge.engine.engine import _ProgressTracker
from sei_bridge.store.types import ActionKind, NewAction, StatusReport
from tests.unit.engine import builders as b
from tests.unit.engine.fakes import FakeStore


class _Store(FakeStore):
    def __init__(self, pending: int) -> None:
        super().__init__()
        self._pending = pending

    def status(self) -> StatusReport:
        return StatusReport(
            generated_at=dt.datetime.now(dt.UTC),
            inbox={},
            actions={"OPEN": {"PENDING": self._pending, "DONE": 7}},
            requests={},
            in_flight=0,
            oldest_due_at=None,
            quarantine=(),
            attention=(),
        )


def test_actions_done_before_their_batch_is_reported_are_not_counted_twice() -> None:
    seen: list[tuple[int, int]] = []
    tracker = _ProgressTracker(_Store(pending=2), lambda done, total: seen.append((done, total)))
    action: Any = b.action_from(NewAction(ActionKind.OPEN))
    # the dispatcher settles three actions of a batch the feeder has not reported yet
    for outcome in (outcomes.Done({}), outcomes.Quarantine("r"), outcomes.Done({})):
        tracker.finished(action, outcome)
    tracker.finished(action, outcomes.Retry("later"))  # not settled: not counted
    tracker.planned(3)
    tracker.finished(action, outcomes.Done({}))
    assert seen == [(0, 2), (1, 2), (2, 2), (3, 3), (3, 5), (4, 5)]
