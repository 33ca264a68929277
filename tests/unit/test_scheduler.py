"""The schedule file (jobs/schedule.yaml) is configuration too: every trigger, APScheduler
option and known job option is checked when it is loaded, one line naming the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from sei_bridge import errors, scheduler


def _load(tmp_path: Path, job: str) -> list[scheduler.JobSpec]:
    path = tmp_path / "schedule.yaml"
    path.write_text(f"jobs:\n  dispatch: {job}\n", encoding="utf-8")
    return scheduler.load_schedule(path)


def test_the_repository_schedule_loads() -> None:
    specs = {s.name: s for s in scheduler.load_schedule()}
    assert specs["dispatch"].options == {"max_seconds": 300}
    assert specs["reconcile"].misfire_grace_time == 7200


@pytest.mark.parametrize(
    ("job", "problem"),
    [
        ("{trigger: {type: interval, seconds: -5}}", "the interval must be from 1 s"),
        ("{trigger: {type: interval, seconds: .nan}}", "has an invalid trigger"),
        ("{trigger: {type: interval, seconds: 1e12}}", "has an invalid trigger"),
        ("{trigger: {type: interval, seconds: 0.2}}", "the interval must be from 1 s"),
        ("{trigger: {type: cron, hour: 25}}", "has an invalid trigger"),
        ("{trigger: {type: weekly}}", "trigger type must be 'interval' or 'cron'"),
        ("{trigger: [interval]}", "trigger must be a mapping"),
        ("{trigger: {type: interval, seconds: 5}, max_instances: .inf}", "max_instances must"),
        ("{trigger: {type: interval, seconds: 5}, misfire_grace_time: x}", "misfire_grace_time"),
        ("{trigger: {type: interval, seconds: 5}, options: {max_seconds: .inf}}", "max_seconds"),
        ("{trigger: {type: interval, seconds: 5}, options: {max_seconds: -1}}", "from 1 to"),
        ("{trigger: {type: interval, seconds: 5}, options: {since_days: .nan}}", "since_days"),
        ('{trigger: {type: interval, seconds: 5}, options: {report_dir: "a\\x1bb"}}', "report"),
        ("{trigger: {type: interval, seconds: 5}, options: [1]}", "options must be a mapping"),
    ],
)
def test_a_bad_job_is_one_line_naming_it(tmp_path: Path, job: str, problem: str) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        _load(tmp_path, job)
    text = str(caught.value)
    assert "\n" not in text and "\x1b" not in text and len(text) < 300, text
    assert "'dispatch'" in text and problem in text


def test_unknown_options_pass_to_their_job(tmp_path: Path) -> None:
    (spec,) = _load(tmp_path, "{trigger: {type: interval, seconds: 5}, options: {max_pages: 9}}")
    assert spec.options == {"max_pages": 9}
