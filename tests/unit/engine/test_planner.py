"""The planner: events → ordered actions, quarantine, and when it needs SIGRC's snapshot."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sei_bridge.engine import payloads, planner
from sei_bridge.sigrc import models
from sei_bridge.store.types import ActionKind, NewAction, RequestRow, RequestState
from tests.unit.engine import builders as b

T = models.TipoEvento
MAPPINGS = b.fazenda()


def _request(
    state: RequestState = RequestState.ACTIVE,
    servico: str = "3222",
    reason: str | None = None,
    closures: int = 0,
) -> RequestRow:
    return RequestRow(
        protocolo=b.PROTOCOLO,
        servico_codigo=servico,
        state=state,
        reason=reason,
        id_procedimento=None,
        procedimento_formatado=None,
        link_acesso=None,
        next_seq=0,
        closures=closures,
        created_at=b.UTC0,
        updated_at=b.UTC0,
    )


def _history(*planned: Sequence[NewAction], closures: int = 0) -> planner.History:
    """The history after the given plans were stored, in order."""
    actions = [
        b.action_from(new, seq=i) for i, new in enumerate(a for plan in planned for a in plan)
    ]
    return planner.History.of(_request(closures=closures), actions)


def _kinds(decision: planner.Decision) -> list[tuple[ActionKind, str]]:
    assert isinstance(decision, planner.Plan), decision
    return [(a.kind, a.source_id) for a in decision.actions]


def _registered(**kwargs: object) -> planner.Plan:
    decision = planner.plan_event(
        b.evento(T.REGISTRADA, solicitacao=b.solicitacao(**kwargs)),  # type: ignore[arg-type]
        planner.History(),
        MAPPINGS,
    )
    assert isinstance(decision, planner.Plan)
    return decision


def test_registrada_opens_then_attachments_then_the_opening_document_then_sigrc() -> None:
    plan = _registered(anexos=[b.anexo("a1"), b.anexo("a2", "foto.png")])
    assert _kinds(plan) == [
        (ActionKind.OPEN, ""),
        (ActionKind.ANEXO, "a1"),
        (ActionKind.ANEXO, "a2"),
        (ActionKind.SOLICITACAO_DOC, ""),
        (ActionKind.SIGRC_PROCESSO, ""),
    ]
    blocking = {a.kind: a.blocking for a in plan.actions}
    # a refused attachment or a SIGRC conflict must not hold back the SEI record
    assert blocking[ActionKind.OPEN] and blocking[ActionKind.SOLICITACAO_DOC]
    assert not blocking[ActionKind.ANEXO] and not blocking[ActionKind.SIGRC_PROCESSO]
    assert plan.request.servico_codigo == "3222"
    assert plan.request.state is RequestState.ACTIVE


def test_the_open_payload_carries_what_the_probe_looks_for() -> None:
    plan = _registered()
    p = payloads.decode(payloads.OpenPayload, plan.actions[0].payload)
    assert p.numero_protocolo == f"SP156-{b.PROTOCOLO}"
    assert p.data_autuacao == dt.date(2026, 11, 20)
    assert p.interessado_sigla == f"SP156-{b.PROTOCOLO}"
    assert p.interessado_nome.endswith(f"(SP156 {b.PROTOCOLO})")
    assert len(p.especificacao) <= 50
    solicitacao = payloads.decode(payloads.SolicitacaoPayload, plan.actions[-2].payload)
    assert solicitacao.solicitacao.protocolo == b.PROTOCOLO


def test_dates_for_sei_are_the_day_in_sao_paulo_whatever_offset_sigrc_sent() -> None:
    # 22:30 in São Paulo on 4 December is 01:30 UTC on the 5th: SEI, whose "today" is still
    # the 4th, refuses the 5th ("Data do protocolo não pode estar no futuro.", seen on the
    # real SEI 4.1.0) — the date must not depend on the offset SIGRC writes
    late = dt.datetime(2026, 12, 5, 1, 30, tzinfo=dt.UTC)
    registrada = b.evento(
        T.REGISTRADA,
        solicitacao=dataclasses.replace(b.solicitacao(anexos=[b.anexo("a1")]), aberta_em=late),
    )
    plan = planner.plan_event(registrada, planner.History(), MAPPINGS)
    assert isinstance(plan, planner.Plan)
    opened = payloads.decode(payloads.OpenPayload, plan.actions[0].payload)
    assert opened.data_autuacao == dt.date(2026, 12, 4)
    anexo = payloads.decode(payloads.AnexoPayload, plan.actions[1].payload)
    assert anexo.data == dt.date(2026, 12, 4)


def test_an_unmapped_service_quarantines_event_and_request_with_the_replay_hint() -> None:
    decision = planner.plan_event(
        b.evento(T.REGISTRADA, solicitacao=b.solicitacao(servico="9999")),
        planner.History(),
        MAPPINGS,
    )
    assert isinstance(decision, planner.Quarantine)
    assert decision.protocolo == b.PROTOCOLO
    assert decision.reason.startswith("unmapped: no mapping for servico 9999")
    assert "sei-bridge replay --reason unmapped" in decision.reason


def test_later_events_of_a_quarantined_request_wait_with_it_under_the_same_reason() -> None:
    reason = planner.unmapped_reason("9999")
    history = planner.History(request=_request(RequestState.QUARANTINED, "", reason))
    decision = planner.plan_event(b.evento(T.INTERACAO, interacao=b.interacao()), history, MAPPINGS)
    assert decision == planner.Quarantine(reason, b.PROTOCOLO)


def test_an_interaction_adds_its_attachments_then_its_document() -> None:
    opening = _registered().actions
    i = b.interacao("i1", anexos=[b.anexo("x1"), b.anexo("x2")])
    decision = planner.plan_event(b.evento(T.INTERACAO, interacao=i), _history(opening), MAPPINGS)
    assert _kinds(decision) == [
        (ActionKind.ANEXO, "x1"),
        (ActionKind.ANEXO, "x2"),
        (ActionKind.INTERACAO_DOC, "i1"),
    ]
    assert isinstance(decision, planner.Plan)
    anexo = payloads.decode(payloads.AnexoPayload, decision.actions[0].payload)
    assert anexo.interacao == "i1" and anexo.data == dt.date(2026, 11, 20)


def test_a_repeated_interaction_plans_nothing_new() -> None:
    opening = _registered().actions
    i = b.interacao("i1")
    first = planner.plan_event(b.evento(T.INTERACAO, interacao=i), _history(opening), MAPPINGS)
    assert isinstance(first, planner.Plan)
    again = planner.plan_event(
        b.evento(T.INTERACAO, interacao=i), _history(opening, first.actions), MAPPINGS
    )
    assert _kinds(again) == []


def test_an_event_before_any_registrada_asks_for_the_snapshot_then_opens_from_it() -> None:
    i1, i2 = b.interacao("i1"), b.interacao("i2", anexos=[b.anexo("z")], minutes=90)
    ev = b.evento(T.INTERACAO, interacao=i2)
    need = planner.plan_event(ev, planner.History(), MAPPINGS)
    assert isinstance(need, planner.NeedSnapshot) and need.protocolo == b.PROTOCOLO
    snapshot = b.solicitacao(anexos=[b.anexo("a1")], interacoes=[i1, i2, b.interacao("i3")])
    decision = planner.plan_event(ev, planner.History(), MAPPINGS, snapshot=snapshot)
    assert _kinds(decision) == [
        (ActionKind.OPEN, ""),
        (ActionKind.ANEXO, "a1"),
        (ActionKind.SOLICITACAO_DOC, ""),
        (ActionKind.SIGRC_PROCESSO, ""),
        (ActionKind.INTERACAO_DOC, "i1"),  # the earlier one, in the order it happened
        (ActionKind.ANEXO, "z"),
        (ActionKind.INTERACAO_DOC, "i2"),
    ]  # i3 comes with its own event
    assert isinstance(decision, planner.Plan) and decision.request.servico_codigo == "3222"


def test_a_snapshot_of_an_unmapped_service_quarantines() -> None:
    ev = b.evento(T.FINALIZADA, encerramento=b.encerramento(0))
    decision = planner.plan_event(
        ev, planner.History(), MAPPINGS, snapshot=b.solicitacao(servico="9999")
    )
    assert isinstance(decision, planner.Quarantine)
    assert decision.reason.startswith("unmapped:")


def test_finalizada_comes_after_every_interaction_it_counts() -> None:
    opening = _registered().actions
    i1 = b.interacao("i1")
    first = planner.plan_event(b.evento(T.INTERACAO, interacao=i1), _history(opening), MAPPINGS)
    assert isinstance(first, planner.Plan)
    ev = b.evento(T.FINALIZADA, encerramento=b.encerramento(3))
    history = _history(opening, first.actions)
    need = planner.plan_event(ev, history, MAPPINGS)
    assert isinstance(need, planner.NeedSnapshot)
    snapshot = b.solicitacao(
        interacoes=[i1, b.interacao("i2", anexos=[b.anexo("q")]), b.interacao("i3")]
    )
    decision = planner.plan_event(ev, history, MAPPINGS, snapshot=snapshot)
    assert _kinds(decision) == [
        (ActionKind.ANEXO, "q"),
        (ActionKind.INTERACAO_DOC, "i2"),
        (ActionKind.INTERACAO_DOC, "i3"),
        (ActionKind.FINALIZADO_DOC, ev.id_evento),
        (ActionKind.CONCLUIR, ev.id_evento),
    ]
    assert isinstance(decision, planner.Plan) and decision.request.closures == 1


def test_finalizada_with_every_interaction_planned_needs_no_snapshot() -> None:
    opening = _registered().actions
    ev = b.evento(T.FINALIZADA, encerramento=b.encerramento(0))
    assert _kinds(planner.plan_event(ev, _history(opening), MAPPINGS)) == [
        (ActionKind.FINALIZADO_DOC, ev.id_evento),
        (ActionKind.CONCLUIR, ev.id_evento),
    ]


def test_a_service_that_is_not_concluded_gets_the_document_only_and_no_reopening() -> None:
    opening = _registered(servico="5030").actions
    history = planner.History.of(_request(servico="5030"), [b.action_from(a) for a in opening])
    closing = b.evento(T.FINALIZADA, encerramento=b.encerramento(0))
    assert _kinds(planner.plan_event(closing, history, MAPPINGS)) == [
        (ActionKind.FINALIZADO_DOC, closing.id_evento)
    ]
    reopening = b.evento(T.REABERTA, reabertura=models.Reabertura("motivo", b.T0))
    assert _kinds(planner.plan_event(reopening, history, MAPPINGS)) == []


def test_reopening_and_a_second_closure_get_their_own_actions() -> None:
    opening = _registered().actions
    first = b.evento(T.FINALIZADA, encerramento=b.encerramento(0))
    closed = planner.plan_event(first, _history(opening), MAPPINGS)
    assert isinstance(closed, planner.Plan)
    reopen = b.evento(T.REABERTA, reabertura=models.Reabertura("motivo", b.T0))
    reopened = planner.plan_event(reopen, _history(opening, closed.actions, closures=1), MAPPINGS)
    assert _kinds(reopened) == [(ActionKind.REABRIR, reopen.id_evento)]
    assert isinstance(reopened, planner.Plan)
    second = b.evento(T.FINALIZADA, encerramento=b.encerramento(0))
    again = planner.plan_event(
        second, _history(opening, closed.actions, reopened.actions, closures=1), MAPPINGS
    )
    assert _kinds(again) == [
        (ActionKind.FINALIZADO_DOC, second.id_evento),
        (ActionKind.CONCLUIR, second.id_evento),
    ]
    assert isinstance(again, planner.Plan) and again.request.closures == 2
    first_doc = payloads.decode(payloads.FinalizadoPayload, closed.actions[0].payload)
    second_doc = payloads.decode(payloads.FinalizadoPayload, again.actions[0].payload)
    assert first_doc.descricao != second_doc.descricao  # the probe tells them apart


def test_an_interaction_after_one_set_aside_as_malformed_brings_it_back_first() -> None:
    opening = _registered().actions
    i1, i2 = b.interacao("i1"), b.interacao("i2", minutes=120)
    ev = b.evento(T.INTERACAO, interacao=i2)
    history = planner.History.of(
        _request(), [b.action_from(a, seq=n) for n, a in enumerate(opening)], missing_before=True
    )
    need = planner.plan_event(ev, history, MAPPINGS)
    assert isinstance(need, planner.NeedSnapshot)
    snapshot = b.solicitacao(interacoes=[i1, i2])
    assert _kinds(planner.plan_event(ev, history, MAPPINGS, snapshot=snapshot)) == [
        (ActionKind.INTERACAO_DOC, "i1"),
        (ActionKind.INTERACAO_DOC, "i2"),
    ]
