"""Seeded fault injection: the same seed and calls give the same faults; specs parse."""

from __future__ import annotations

from collections import Counter

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei import FaultConfig, FaultInjector, FaultKind, OutageMode

OPERATIONS = ("gerarProcedimento", "incluirDocumento", "consultarProcedimento") * 200


def _fates(injector: FaultInjector) -> list[str | None]:
    return [(d.kind.value if d.kind else None) for d in (injector.decide(op) for op in OPERATIONS)]


def test_the_same_seed_gives_the_same_faults_and_another_seed_others() -> None:
    config = FaultConfig(http503=0.05, reset=0.05, lost=0.05, hang=0.05)
    first = _fates(FaultInjector(config, seed=7))
    assert first == _fates(FaultInjector(config, seed=7))
    assert first != _fates(FaultInjector(config, seed=8))


def test_probabilities_are_exclusive_and_roughly_honoured() -> None:
    config = FaultConfig(http503=0.1, reset=0.1, lost=0.1, hang=0.1, infra_erro=0.1)
    counts = Counter(_fates(FaultInjector(config, seed=1)))
    assert counts[None] + sum(counts[k.value] for k in FaultKind) == len(OPERATIONS)
    for kind in FaultKind:
        assert 0.05 < counts[kind.value] / len(OPERATIONS) < 0.15, kind


def test_latency_does_not_change_which_calls_fail() -> None:
    plain = _fates(FaultInjector(FaultConfig(lost=0.1), seed=3))
    slow = FaultInjector(FaultConfig(lost=0.1, latency=0.01, jitter=0.02), seed=3)
    decisions = [slow.decide(op) for op in OPERATIONS]
    assert [(d.kind.value if d.kind else None) for d in decisions] == plain
    assert all(0.01 <= d.delay < 0.03 for d in decisions)


def test_faults_can_be_limited_to_some_operations() -> None:
    injector = FaultInjector(FaultConfig(reset=1.0, operations=frozenset({"incluirDocumento"})))
    assert injector.decide("gerarProcedimento").kind is None
    assert injector.decide("incluirDocumento").kind is FaultKind.RESET
    assert injector.history() == [("incluirDocumento", "reset")]


def test_a_scheduled_fault_hits_the_next_matching_call_once() -> None:
    injector = FaultInjector(seed=1)
    injector.schedule("lost", operation="gerarProcedimento")
    assert injector.decide("incluirDocumento").kind is None
    assert injector.decide("gerarProcedimento").kind is FaultKind.LOST
    assert injector.decide("gerarProcedimento").kind is None


def test_hang_carries_its_duration_and_whether_it_commits() -> None:
    injector = FaultInjector(FaultConfig(hang=1.0, hang_seconds=4, hang_commits=True))
    decision = injector.decide("incluirDocumento")
    assert (decision.kind, decision.hold, decision.commits) == (FaultKind.HANG, 4, True)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_outage_windows_from_config_and_started_at_run_time() -> None:
    clock = _Clock()
    injector = FaultInjector(
        FaultConfig(outage_start=30, outage_duration=10, outage_mode=OutageMode.RESET),
        clock=clock,
    )
    assert injector.outage() is None
    clock.now += 30
    assert injector.outage() is OutageMode.RESET
    clock.now += 10
    assert injector.outage() is None
    injector.start_outage(5)
    assert injector.outage() is OutageMode.HTTP503
    injector.clear()
    assert injector.outage() is None


def test_configure_changes_faults_while_running() -> None:
    injector = FaultInjector(seed=1)
    assert injector.decide("x").kind is None
    injector.configure(reset=1.0)
    assert injector.decide("x").kind is FaultKind.RESET
    injector.clear()
    assert injector.decide("x").kind is None


def test_spec_round_trip() -> None:
    spec = "latency=0.01+0.005,reset=0.02,lost=0.02,hang=0.01,http503=0.02,outage=30+10"
    config = FaultConfig.parse(spec + ",hang_seconds=12,hang_commits=yes,ops=a+b")
    assert (config.latency, config.jitter, config.reset, config.hang_seconds) == (
        0.01,
        0.005,
        0.02,
        12,
    )
    assert (config.outage_start, config.outage_duration, config.hang_commits) == (30, 10, True)
    assert config.operations == frozenset({"a", "b"})
    assert FaultConfig.parse(config.describe()) == config
    assert FaultConfig.parse("") == FaultConfig() == FaultConfig.parse("none")
    assert FaultConfig().describe() == "none"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("reset=2", "not a probability"),
        ("reset=0.6,lost=0.6", "add up to 1.2"),
        ("explode=0.1", "unknown fault 'explode'"),
        ("reset", "cannot read 'reset'"),
        ("hang_commits=maybe", "cannot read"),
        ("latency=-1", "must not be negative"),
    ],
)
def test_bad_specs_are_refused_with_a_hint(spec: str, message: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=message):
        FaultConfig.parse(spec)
