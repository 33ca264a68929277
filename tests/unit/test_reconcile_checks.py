"""One request compared three ways, on values (no I/O): the ledger is what the engine's planner
makes of SIGRC's record, SEI's side is a SeiProcess built by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path

from sei_bridge import mapping
from sei_bridge.engine import executors, probes
from sei_bridge.reconcile import FindingKind, checks, expected
from sei_bridge.reconcile.sei_view import SeiDocument, SeiProcess
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    ActionKind,
    ActionState,
    InboxEvent,
    InboxState,
    PayloadFormat,
)

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = mapping.load_mappings(REPO / "mappings")
SERVICO = "3222"
M = MAPPINGS.servico(SERVICO)
assert M is not None
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=2)
NUMERO = "SP156-2026-1"


def _snapshot(interactions: int = 2, *, closed: bool = True) -> models.Solicitacao:
    interacoes = tuple(
        models.Interacao(
            id_interacao=f"INT-{n}",
            autor="MUNICIPE",
            tipo="COMPLEMENTO",
            texto="texto do munícipe",
            anexos=(),
            ocorrida_em=T0 + dt.timedelta(hours=n + 1),
        )
        for n in range(interactions)
    )
    enc = (
        models.Encerramento(
            resultado=models.Resultado.ATENDIDA,
            texto="encerrada",
            encerrada_em=T0 + dt.timedelta(hours=12),
            quantidade_interacoes=interactions,
        )
        if closed
        else None
    )
    return models.Solicitacao(
        protocolo="2026-1",
        servico_codigo=SERVICO,
        servico_nome="IPTU",
        canal=models.Canal.PORTAL,
        orgao_sigla="SF",
        orgao_nome="Fazenda",
        unidade_codigo="SF-DIVCAD",
        unidade_nome="Divisão",
        anonima=False,
        descricao="descrição",
        anexos=(),
        aberta_em=T0,
        situacao=models.Situacao.FINALIZADA if closed else models.Situacao.EM_ANDAMENTO,
        prazo_em=T0 + dt.timedelta(days=30),
        interacoes=interacoes,
        encerramento=enc,
        processo_sei=NUMERO,
    )


def _ledger(snapshot: models.Solicitacao) -> list[Action]:
    """Every action the planner makes of the record, DONE, each document numbered."""
    numbers = itertools.count(1)
    actions = []
    for seq, new in enumerate(expected.unplanned(snapshot, None, (), MAPPINGS, now=NOW)):
        result: dict[str, str] = {}
        if new.kind is ActionKind.OPEN:
            result = {executors.R_PROCEDIMENTO_FORMATADO: NUMERO, executors.R_UNIDADE: M.unidade}
        elif new.kind in executors.DOCUMENT_KINDS:
            result = {executors.R_DOCUMENTO_FORMATADO: f"{next(numbers):07d}"}
        actions.append(
            Action(
                id=seq + 1,
                protocolo=snapshot.protocolo,
                kind=new.kind,
                source_id=new.source_id,
                seq=seq,
                state=ActionState.DONE,
                blocking=new.blocking,
                attempts=1,
                next_attempt_at=T0,
                lease_owner=None,
                lease_expires_at=None,
                last_error=None,
                payload=new.payload,
                result=result,
                evidence=None,
                event_id=None,
                created_at=T0,
                updated_at=T0,
                state_since=T0,
            )
        )
    return actions


def _sei(actions: Sequence[Action], *, open_in_unit: bool = False) -> SeiProcess:
    docs = [
        SeiDocument(
            str(a.result[executors.R_DOCUMENTO_FORMATADO]),
            probes.serie_of(M, a.kind),
            str(a.payload["descricao"]),
        )
        for a in actions
        if a.kind in executors.DOCUMENT_KINDS
    ]
    return SeiProcess(NUMERO, open_in_unit=open_in_unit, documents=tuple(docs))


def _check(
    snapshot: models.Solicitacao,
    actions: Sequence[Action],
    sei: SeiProcess,
    *,
    events: Sequence[InboxEvent] = (),
    sigrc_numero: str | None = NUMERO,
) -> checks.RequestCheck:
    return checks.check_request(
        checks.Inputs(
            snapshot=snapshot,
            sigrc_numero=sigrc_numero,
            request=None,
            actions=actions,
            events=events,
            sei=sei,
            sei_read=True,
            now=NOW,
        ),
        MAPPINGS,
    )


def test_what_the_planner_makes_of_the_record_is_consistent() -> None:
    s = _snapshot()
    actions = _ledger(s)
    assert {a.kind for a in actions} >= {ActionKind.OPEN, ActionKind.FINALIZADO_DOC}
    result = _check(s, actions, _sei(actions))
    assert result.findings == () and result.repairs == ()


def test_a_duplicate_document_is_unexplained_and_named() -> None:
    s = _snapshot()
    actions = _ledger(s)
    sei = _sei(actions)
    twin = next(d for d in sei.documents if d.id_serie == M.series.interacao)
    sei = dataclasses.replace(
        sei, documents=(*sei.documents, dataclasses.replace(twin, numero="0000099"))
    )
    result = _check(s, actions, sei)
    assert [(f.kind, f.documentos) for f in result.findings] == [
        (FindingKind.DOCUMENT_UNEXPLAINED, ("0000099",))
    ]
    assert result.repairs == ()  # nothing is ever deleted


def test_sigrc_without_a_number_is_repaired_with_another_is_left_to_a_person() -> None:
    s = _snapshot()
    actions = _ledger(s)
    none = _check(s, actions, _sei(actions), sigrc_numero=None)
    assert [(f.kind, f.fixable) for f in none.findings] == [(FindingKind.SEI_NUMBER_MISMATCH, True)]
    assert [(r.kind, r.source_id) for r in none.repairs] == [
        (ActionKind.SIGRC_PROCESSO, "#reconcile")
    ]
    other = _check(s, actions, _sei(actions), sigrc_numero="6017.2026/0000001-1")
    assert [(f.kind, f.fixable) for f in other.findings] == [
        (FindingKind.SEI_NUMBER_MISMATCH, False)
    ]
    assert other.repairs == ()


def test_a_quarantine_reason_is_shown_scrubbed() -> None:
    s = _snapshot(closed=False)
    actions = _ledger(s)
    bad = dataclasses.replace(
        actions[-1],
        state=ActionState.QUARANTINED,
        last_error="sei-fault: Interessado 123.456.789-09 joao@example.org inválido | fix it",
    )
    result = _check(s, [*actions[:-1], bad], _sei(actions[:-1], open_in_unit=True))
    [finding] = [f for f in result.findings if f.kind is FindingKind.QUARANTINED]
    assert "123.456.789-09" not in finding.detail and "joao@example.org" not in finding.detail
    assert "fix it" not in finding.detail  # the reason's cause only


def test_a_request_with_events_still_to_plan_is_compared_later() -> None:
    s = _snapshot()
    pending = InboxEvent(
        id=1,
        id_evento="e1",
        sequencia=9,
        tipo="solicitacao.finalizada",
        protocolo=s.protocolo,
        state=InboxState.PENDING,
        reason=None,
        payload_format=PayloadFormat.RAW,
        payload={},
        received_at=T0,
        updated_at=T0,
    )
    result = _check(s, [], _sei([]), events=[pending])
    assert result.findings == () and result.repairs == ()


def test_a_missing_interaction_is_repaired_before_a_new_finalizado_and_a_conclusion() -> None:
    s = _snapshot()
    actions = _ledger(s)
    sei = _sei(actions)
    gone = next(a for a in actions if a.kind is ActionKind.INTERACAO_DOC)
    numero = str(gone.result[executors.R_DOCUMENTO_FORMATADO])
    sei = dataclasses.replace(sei, documents=tuple(d for d in sei.documents if d.numero != numero))
    result = _check(s, actions, sei)
    assert [(f.kind, f.documentos) for f in result.findings] == [
        (FindingKind.INTERACTION_MISSING, (numero,))
    ]
    assert [r.kind for r in result.repairs] == [
        ActionKind.INTERACAO_DOC,
        ActionKind.FINALIZADO_DOC,
        ActionKind.CONCLUIR,
    ]
    assert result.repairs[0].source_id == f"{gone.source_id}#redo-{numero}"
