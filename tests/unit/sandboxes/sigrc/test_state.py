"""The simulator's state: each delivery hazard reproducible on purpose, and what it serves."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sigrc import ManualClock, Overload, SimulatorConfig, SimulatorState
from sei_bridge.sandboxes.traffic import HardCase, TrafficOptions
from sei_bridge.sandboxes.traffic import generator as gen

CLEAN = TrafficOptions(hard_cases=frozenset())
SINCE_EVER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _request(
    *, min_events: int = 1, tipo: str | None = None, files: bool = False, seed: int = 1
) -> gen.GeneratedRequest:
    """The first clean generated request with the wanted shape."""
    for index in range(500):
        request = gen.generate_request(seed, index, CLEAN)
        tipos = [e.tipo for e in request.events]
        if (
            len(request.events) >= min_events
            and (tipo is None or tipo in tipos)
            and (not files or request.files)
        ):
            return request
    raise AssertionError("no generated request of that shape")


def _state(clock: ManualClock, **config: object) -> SimulatorState:
    return SimulatorState(SimulatorConfig(**config), clock=clock)  # type: ignore[arg-type]


def _sequences(state: SimulatorState, **query: object) -> list[int]:
    return [e.sequencia for e in state.events_page(**query).events]  # type: ignore[arg-type]


def test_commit_lag_shows_a_lower_sequence_after_a_higher_one_was_served() -> None:
    clock = ManualClock()
    state = _state(clock, lag_seconds=1.0)
    request = _request(min_events=2)
    state.write_event(request.events[0].payload, delay=0.8)
    state.write_event(request.events[1].payload, delay=0.0)
    assert _sequences(state) == [2]
    assert state.events_page().atraso_maximo_segundos == 1
    clock.advance(0.79)
    assert _sequences(state) == [2]
    clock.advance(0.01)
    assert _sequences(state) == [1, 2]
    # A consumer that only asks after the highest sequence seen never gets event 1.
    assert _sequences(state, apos=2) == []


def test_random_commit_lag_stays_within_the_advertised_maximum() -> None:
    clock = ManualClock()
    state = _state(clock, lag_seconds=2.5, lagged_fraction=1.0)
    state.load(gen.generate_traffic(3, 30, CLEAN))
    written = state.written
    delays = [e.visible_at - e.written_at for e in written]
    assert all(0.0 <= d <= 2.5 for d in delays) and max(delays) > 1.0
    assert state.events_page().atraso_maximo_segundos == 3  # rounded up, never below the lag
    assert len(state.events_page(limite=500).events) < len(written)
    clock.advance(2.5)
    assert len(state.events_page(limite=500).events) == len(written)


def test_a_delay_beyond_the_contract_is_refused() -> None:
    state = _state(ManualClock(), lag_seconds=1.0)
    with pytest.raises(ValueError, match="lag_seconds"):
        state.write_event(_request().events[0].payload, delay=1.5)


def test_progressive_writing_follows_the_clock_in_order_of_occurrence() -> None:
    clock = ManualClock(start=100.0)
    state = _state(clock, write_rate=10.0)
    total = state.load(gen.generate_traffic(4, 10, CLEAN))
    assert state.written == [] and state.pending_count == total
    clock.advance(0.35)
    assert [e.written_at for e in state.written] == pytest.approx([100.1, 100.2, 100.3])
    clock.advance(total / 10)
    written = state.written
    assert len(written) == total and state.pending_count == 0
    moments = [dt.datetime.fromisoformat(e.payload()["ocorrido_em"]) for e in written]
    assert moments == sorted(moments)


def test_duplicates_redeliver_served_events_once_with_a_new_sequencia() -> None:
    clock = ManualClock()
    state = _state(clock, duplicate_rate=1.0)
    state.load(gen.generate_traffic(4, 3, CLEAN))
    first = state.events_page(limite=500)
    assert not first.ha_mais
    again = state.events_page(apos=first.ultima_sequencia or 0, limite=500)
    assert [e.id_evento for e in again.events] == [e.id_evento for e in first.events]
    assert [e.duplicate_of for e in again.events] == [e.sequencia for e in first.events]
    assert all(e.sequencia > (first.ultima_sequencia or 0) for e in again.events)
    assert [e.payload() | {"sequencia": 0} for e in again.events] == [
        e.payload() | {"sequencia": 0} for e in first.events
    ]
    assert state.events_page(apos=again.ultima_sequencia or 0).events == ()
    assert {state.served_count(e.id_evento or "") for e in first.events} == {2}
    # A consumer re-reading its window does not multiply the re-deliveries.
    state.events_page(limite=500)
    assert len(state.written) == 2 * len(first.events)


def test_an_event_can_be_redelivered_on_purpose() -> None:
    state = _state(ManualClock())
    original = state.write_event(_request().events[0].payload)
    copy = state.duplicate(original.sequencia)
    assert (copy.sequencia, copy.id_evento, copy.duplicate_of) == (2, original.id_evento, 1)
    assert _sequences(state) == [1, 2]
    assert state.request(original.protocolo or "")["quantidade_interacoes"] == 0  # type: ignore[index]


def test_forced_overloads_come_first_then_none() -> None:
    state = _state(ManualClock())
    state.fail_next(2, status=429, retry_after=7)
    state.fail_next(status=503)
    outcomes = [state.take_overload() for _ in range(4)]
    assert outcomes == [Overload(429, 7), Overload(429, 7), Overload(503, 1), None]
    assert state.overloads == {429: 2, 503: 1}
    with pytest.raises(ValueError, match="429 or 503"):
        state.fail_next(status=500)


def test_random_overloads_are_reproducible_from_the_seed() -> None:
    def outcomes() -> list[Overload | None]:
        state = _state(ManualClock(), overload_rate=0.3, seed=9)
        return [state.take_overload() for _ in range(200)]

    first = outcomes()
    assert first == outcomes()
    statuses = {o.status for o in first if o}
    assert statuses == {429, 503}
    assert 30 < sum(o is not None for o in first) < 90


def test_an_attachment_is_corrupted_the_given_number_of_times_then_served_right() -> None:
    state = _state(ManualClock())
    request = _request(files=True)
    state.add_request(request)
    file = request.files[0]
    state.corrupt_attachment(request.protocolo, file.id_anexo, times=2)
    fetched = [state.fetch_attachment(request.protocolo, file.id_anexo) for _ in range(3)]
    digests = [hashlib.sha256(a.content).hexdigest() for a in fetched if a]
    assert [a.corrupted for a in fetched if a] == [True, True, False]
    assert digests[0] != file.sha256 and digests[1] != file.sha256 and digests[2] == file.sha256
    assert all(len(a.content) == file.tamanho_bytes for a in fetched if a)
    assert state.attachment_fetches(request.protocolo, file.id_anexo) == 3
    assert state.corrupt_served == 2


def test_random_corruption_spoils_only_the_first_fetches() -> None:
    state = _state(ManualClock(), corrupt_attachment_rate=1.0, corrupt_times=1)
    request = _request(files=True)
    state.add_request(request)
    for file in request.files:
        first = state.fetch_attachment(request.protocolo, file.id_anexo)
        second = state.fetch_attachment(request.protocolo, file.id_anexo)
        assert (
            first and first.corrupted and hashlib.sha256(first.content).hexdigest() != file.sha256
        )
        assert second and hashlib.sha256(second.content).hexdigest() == file.sha256
        assert second.tipo_conteudo == file.tipo_conteudo


def test_unknown_attachments_are_none_and_given_bytes_are_served() -> None:
    state = _state(ManualClock())
    assert state.fetch_attachment("2026-1", "ANX-x") is None
    state.add_attachment("2026-1", "ANX-x", b"%PDF-1.4 tiny", tipo_conteudo="application/pdf")
    attachment = state.fetch_attachment("2026-1", "ANX-x")
    assert attachment and attachment.content == b"%PDF-1.4 tiny"


def test_snapshot_holds_every_interaction_and_the_closure() -> None:
    state = _state(ManualClock())
    request = next(
        r
        for r in gen.generate_traffic(5, 200, CLEAN)
        if r.interaction_count >= 2
        and r.closure_count == 1
        and r.events[-1].tipo.endswith("finalizada")
    )
    state.add_request(request)
    snapshot = state.snapshot(request.protocolo)
    assert snapshot is not None
    encerramento = request.events[-1].payload["encerramento"]
    assert len(snapshot["interacoes"]) == request.interaction_count
    assert snapshot["encerramento"] == encerramento
    assert snapshot["situacao"] in {"FINALIZADA", "INDEFERIDA", "CANCELADA"}
    assert snapshot["processo_sei"] is None


def test_a_reopened_request_is_open_again_until_closed_again() -> None:
    state = _state(ManualClock())
    request = _request(tipo="solicitacao.reaberta", seed=2)
    cut = [e.tipo for e in request.events].index("solicitacao.reaberta") + 1
    for event in request.events[:cut]:
        state.write_event(event.payload)
    snapshot = state.snapshot(request.protocolo)
    assert snapshot and snapshot["situacao"] == "EM_ANDAMENTO" and snapshot["encerramento"] is None
    for event in request.events[cut:]:
        state.write_event(event.payload)
    snapshot = state.snapshot(request.protocolo)
    assert snapshot and snapshot["encerramento"] == request.events[-1].payload["encerramento"]


def test_snapshot_holds_the_intact_version_of_a_malformed_event() -> None:
    state = _state(ManualClock())
    options = TrafficOptions(hard_cases=frozenset({HardCase.MALFORMED}))
    request = gen.generate_traffic(6, 1, options)[0]
    state.add_request(request)
    broken = next(e for e in request.events if e.intact is not None)
    snapshot = state.snapshot(request.protocolo)
    assert snapshot and broken.intact["interacao"] in snapshot["interacoes"]  # type: ignore[index]
    served = [e.payload() for e in state.events_page().events]
    assert broken.payload["interacao"] in [e.get("interacao") for e in served]


def test_no_snapshot_without_a_registrada() -> None:
    state = _state(ManualClock())
    request = _request(tipo="solicitacao.interacao")
    interacao = next(e for e in request.events if e.tipo == "solicitacao.interacao")
    state.write_event(interacao.payload, orgao="SF")
    assert state.snapshot(request.protocolo) is None
    assert state.snapshot("2099-00000000") is None
    assert state.record_processo_sei(request.protocolo, "6017.2026/0000001-1", None) == 404


def test_processo_sei_is_idempotent_and_refuses_another_number() -> None:
    clock = ManualClock()
    state = _state(clock)
    request = _request()
    state.add_request(request)
    p = request.protocolo
    assert state.record_processo_sei(p, "6017.2026/0000001-1", "https://sei/x") == 204
    assert state.record_processo_sei(p, "6017.2026/0000001-1", None) == 204
    assert state.record_processo_sei(p, "6017.2026/0000009-9", None) == 409
    assert state.processo_sei(p) == "6017.2026/0000001-1"
    assert [put.status for put in state.puts(p)] == [204, 204, 409]
    assert state.snapshot(p)["processo_sei"] == "6017.2026/0000001-1"  # type: ignore[index]


def test_summaries_filter_by_orgao_and_moment_and_page_by_protocolo() -> None:
    state = _state(ManualClock())
    state.load(
        gen.generate_traffic(7, 30, TrafficOptions(hard_cases=frozenset(), other_orgao_rate=0.3))
    )
    everything: list[dict[str, object]] = []
    page, pages = state.summaries(orgao="SF", since=SINCE_EVER, limite=7)
    everything += page
    for number in range(2, pages + 1):
        everything += state.summaries(orgao="SF", since=SINCE_EVER, pagina=number, limite=7)[0]
    sf = [p for p in state.protocolos() if state.request(p)["orgao"] == "SF"]  # type: ignore[index]
    assert [s["protocolo"] for s in everything] == sorted(sf) and 0 < len(sf) < 30
    middle = dt.datetime.fromisoformat(str(everything[len(everything) // 2]["atualizada_em"]))
    recent, _ = state.summaries(orgao="SF", since=middle, limite=500)
    assert recent and all(
        dt.datetime.fromisoformat(str(s["atualizada_em"])) >= middle for s in recent
    )
    assert len(recent) < len(everything)
    assert state.summaries(orgao="XX", since=SINCE_EVER) == ([], 1)


def test_the_orgao_filter_serves_only_that_orgaos_events() -> None:
    state = _state(ManualClock())
    state.load(
        gen.generate_traffic(7, 30, TrafficOptions(hard_cases=frozenset(), other_orgao_rate=0.3))
    )
    sf = state.events_page(orgao="SF", limite=500).events
    all_events = state.events_page(limite=500).events
    assert {e.orgao for e in sf} == {"SF"}
    assert {e.orgao for e in all_events} == {"SF", "SMSUB"}
    assert len(sf) == sum(e.orgao == "SF" for e in all_events)


def test_pages_respect_limite_and_say_whether_more_is_visible() -> None:
    state = _state(ManualClock())
    state.load(gen.generate_traffic(8, 5, CLEAN))
    total = len(state.written)
    page = state.events_page(limite=3)
    assert len(page.events) == 3 and page.ha_mais and page.ultima_sequencia == 3
    last = state.events_page(apos=total - 2, limite=3)
    assert len(last.events) == 2 and not last.ha_mais
    body = json.loads(page.to_json_bytes())
    assert body["ultima_sequencia"] == 3 and body["ha_mais"] is True
    assert [e["sequencia"] for e in body["eventos"]] == [1, 2, 3]
    assert json.loads(state.events_page(apos=total).to_json_bytes())["ultima_sequencia"] is None


def test_any_dict_can_be_written_and_is_served_as_is() -> None:
    state = _state(ManualClock())
    state.write_event({"tipo": "solicitacao.interacao", "sequencia": 99, "interacao": "?"})
    written = state.write_event({})
    page = state.events_page().events
    assert [e.payload() for e in page] == [
        {"sequencia": 1, "tipo": "solicitacao.interacao", "interacao": "?"},
        {"sequencia": 2},
    ]
    assert state.served_count(f"#{written.sequencia}") == 1
    assert state.protocolos() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"duplicate_rate": 1.5},
        {"overload_rate": -0.1},
        {"lag_seconds": -1},
        {"write_rate": 0},
        {"requests": -1},
        {"base_path": "sigrc"},
        {"token": ""},
        {"corrupt_times": 0},
    ],
)
def test_wrong_settings_are_refused_with_the_setting_named(bad: dict[str, object]) -> None:
    with pytest.raises(errors.ConfigurationError, match=next(iter(bad))):
        SimulatorConfig(**bad)  # type: ignore[arg-type]


def test_the_token_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(SimulatorConfig(token="s3cret"))


def test_attachments_are_cut_short_the_given_number_of_fetches_or_until_told() -> None:
    state = _state(ManualClock())
    request = _request(files=True)
    state.add_request(request)
    file = request.files[0]
    fetch = lambda: state.fetch_attachment(request.protocolo, file.id_anexo)  # noqa: E731
    assert fetch().short is False  # type: ignore[union-attr]
    state.cut_attachments_short(2)
    assert [fetch().short for _ in range(3)] == [True, True, False]  # type: ignore[union-attr]
    state.cut_attachments_short()
    assert all(fetch().short for _ in range(5))  # type: ignore[union-attr]
    state.cut_attachments_short(0)
    assert fetch().short is False  # type: ignore[union-attr]


def test_a_lost_event_is_in_sigrcs_records_but_never_served() -> None:
    clock = ManualClock()
    state = _state(clock)
    request = next(
        r
        for r in gen.generate_traffic(5, 200, CLEAN)
        if r.closure_count == 1 and r.events[-1].tipo.endswith("finalizada")
    )
    written = state.add_request(request, delay=0.0, lost=[len(request.events) - 1])
    clock.advance(3600.0)
    assert _sequences(state, limite=500) == [e.sequencia for e in written[:-1]]
    snapshot = state.snapshot(request.protocolo)
    assert snapshot is not None
    assert snapshot["encerramento"] == request.events[-1].payload["encerramento"]
    [summary], _ = state.summaries(orgao=request.orgao_sigla, since=SINCE_EVER)
    assert summary["situacao"] in {"FINALIZADA", "INDEFERIDA", "CANCELADA"}
    lone = state.write_event(_request(seed=2).events[0].payload, lost=True)
    assert lone.sequencia not in _sequences(state, limite=500)


def test_a_request_amended_by_hand_shows_it_in_the_list_and_snapshot_only() -> None:
    state = _state(ManualClock())
    request = _request()
    state.add_request(request, delay=0.0)
    served = _sequences(state)
    prazo = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    state.amend_request(request.protocolo, processo_sei="6017.2026/0000001-1", prazo_em=prazo)
    snapshot = state.snapshot(request.protocolo)
    assert snapshot is not None
    assert snapshot["processo_sei"] == "6017.2026/0000001-1"
    assert dt.datetime.fromisoformat(snapshot["prazo_em"]) == prazo
    [summary], _ = state.summaries(orgao=request.orgao_sigla, since=SINCE_EVER)
    assert summary["processo_sei"] == "6017.2026/0000001-1"
    assert _sequences(state) == served  # no event
    state.amend_request(request.protocolo, prazo_em=None)
    snapshot = state.snapshot(request.protocolo)
    assert snapshot is not None and snapshot["prazo_em"] is None
    assert snapshot["processo_sei"] == "6017.2026/0000001-1"  # ... leaves it as it was
    with pytest.raises(KeyError):
        state.amend_request("no-such", prazo_em=None)
