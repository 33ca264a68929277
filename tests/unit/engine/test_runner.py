"""One attempt: when the runner sends, when it probes first, and what each failure becomes."""

from __future__ import annotations

from collections.abc import Sequence
from html import unescape
from pathlib import Path

import pytest

from sei_bridge import errors, mapping
from sei_bridge.engine import outcomes, planner
from sei_bridge.engine.executors import Executor, ExtensionCatalog
from sei_bridge.engine.policy import CircuitOpenError
from sei_bridge.engine.probes import Prober
from sei_bridge.engine.runner import ActionRunner, previous_attempt_recorded
from sei_bridge.sei import types as sei_types
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    ActionKind,
    ActionState,
    NewAction,
    RequestRow,
    RequestState,
)
from tests.unit.engine import builders as b
from tests.unit.engine.fakes import FakeSei, FakeSigrc, FakeStore

T = models.TipoEvento
NUMERO = f"SP156-{b.PROTOCOLO}"


class World:
    """A runner over fake SEI, SIGRC and store, with the request's ledger in the store."""

    def __init__(self, tmp_path: Path, mappings: mapping.Mappings | None = None) -> None:
        self.mappings = mappings or b.fazenda()
        self.sei, self.sigrc, self.store = FakeSei(), FakeSigrc(), FakeStore()
        executor = Executor(
            sei=self.sei,
            sigrc=self.sigrc,
            mappings=self.mappings,
            catalog=ExtensionCatalog(self.sei),
            work_dir=tmp_path,
        )
        self.runner = ActionRunner(
            executor=executor,
            prober=Prober(sei=self.sei, mappings=self.mappings),
            read_ledger=self.store.ledger_of,
        )

    def plan(self, solicitacao: models.Solicitacao) -> list[NewAction]:
        decision = planner.plan_event(
            b.evento(T.REGISTRADA, solicitacao=solicitacao), planner.History(), self.mappings
        )
        assert isinstance(decision, planner.Plan)
        return list(decision.actions)

    def add(self, new: NewAction, **kwargs: object) -> Action:
        action = b.action_from(new, seq=len(self.store.actions), **kwargs)  # type: ignore[arg-type]
        self.store.actions[action.id] = action
        return action

    def open_process(self) -> None:
        """Create the process in the fake SEI and record OPEN as DONE."""
        gerado = self.sei.gerar_procedimento(
            id_unidade="110000001",
            procedimento=sei_types.NovoProcedimento(
                id_tipo_procedimento="100000345", especificacao="e", numero_protocolo=NUMERO
            ),
        )
        self.sei.calls.clear()
        opened = b.opened(gerado.procedimento_formatado, action_id=10_000)
        self.store.actions[opened.id] = opened


def _kind(actions: Sequence[NewAction], kind: ActionKind, source: str = "") -> NewAction:
    return next(a for a in actions if a.kind is kind and a.source_id == source)


def test_a_first_attempt_opens_the_process_without_documents(tmp_path: Path) -> None:
    w = World(tmp_path)
    action = w.add(w.plan(b.solicitacao())[0])
    outcome = w.runner.run(action)
    assert isinstance(outcome, outcomes.Done)
    assert outcome.result["procedimento_formatado"] == NUMERO
    assert outcome.result["unidade"] == "110000001"
    assert w.sei.calls == ["gerarProcedimento"]
    assert w.sei.contacts[0].sigla == f"SP156-{b.PROTOCOLO}"


def test_no_answer_to_a_creation_makes_it_uncertain(tmp_path: Path) -> None:
    w = World(tmp_path)
    action = w.add(w.plan(b.solicitacao())[0])
    w.sei.fail_next(
        "gerarProcedimento", errors.SeiOutcomeUnknownError("timeout"), after_commit=True
    )
    assert isinstance(w.runner.run(action), outcomes.Uncertain)


def test_an_uncertain_open_that_committed_is_found_by_its_number_and_not_sent_again(
    tmp_path: Path,
) -> None:
    w = World(tmp_path)
    new = w.plan(b.solicitacao())[0]
    w.sei.fail_next("gerarProcedimento", errors.SeiOutcomeUnknownError("t"), after_commit=True)
    w.runner.run(w.add(new))
    uncertain = w.add(
        NewAction(ActionKind.OPEN, "again", new.payload), state=ActionState.UNCERTAIN, attempts=2
    )
    outcome = w.runner.run(uncertain)
    assert isinstance(outcome, outcomes.Done)
    assert outcome.result["procedimento_formatado"] == NUMERO
    assert w.sei.count("gerarProcedimento") == 1


def test_an_uncertain_open_proven_absent_is_sent_again_as_its_own_step(tmp_path: Path) -> None:
    w = World(tmp_path)
    action = w.add(w.plan(b.solicitacao())[0], state=ActionState.UNCERTAIN, attempts=2)
    outcome = w.runner.run(action)
    assert isinstance(outcome, outcomes.Retry) and outcome.immediate
    assert "proven absent" in outcome.error
    assert w.sei.count("gerarProcedimento") == 0


def _without_numero() -> mapping.Mappings:
    m = b.fazenda()
    f = m.files[0]
    servicos = {
        code: mapping.ServicoMapping(**{**_fields(s), "numero_protocolo": None})
        for code, s in f.servicos.items()
    }
    return mapping.combine([mapping.MappingFile(**{**_fields(f), "servicos": servicos})])


def _fields(obj: object) -> dict[str, object]:
    return {name: getattr(obj, name) for name in obj.__slots__}  # type: ignore[attr-defined]


def test_without_a_numero_the_contact_proves_creation_and_a_person_decides(tmp_path: Path) -> None:
    w = World(tmp_path, _without_numero())
    new = w.plan(b.solicitacao())[0]
    w.sei.fail_next("gerarProcedimento", errors.SeiOutcomeUnknownError("t"), after_commit=True)
    w.runner.run(w.add(new))
    outcome = w.runner.run(w.add(new, state=ActionState.UNCERTAIN, attempts=2))
    assert isinstance(outcome, outcomes.NeedsPerson)
    assert outcome.evidence["sigla"] == f"SP156-{b.PROTOCOLO}"
    assert outcome.evidence["contato_ids"]
    assert "Maria" not in str(outcome.evidence)  # no personal data in the evidence


def test_without_a_numero_no_contact_proves_absence(tmp_path: Path) -> None:
    w = World(tmp_path, _without_numero())
    outcome = w.runner.run(
        w.add(w.plan(b.solicitacao())[0], state=ActionState.UNCERTAIN, attempts=2)
    )
    assert isinstance(outcome, outcomes.Retry) and outcome.immediate


def test_a_document_found_by_serie_and_descricao_settles_an_uncertain_action(
    tmp_path: Path,
) -> None:
    w = World(tmp_path)
    w.open_process()
    doc = _kind(w.plan(b.solicitacao()), ActionKind.SOLICITACAO_DOC)
    w.sei.fail_next("incluirDocumento", errors.SeiOutcomeUnknownError("t"), after_commit=True)
    assert isinstance(w.runner.run(w.add(doc, action_id=1)), outcomes.Uncertain)
    del w.store.actions[1]
    outcome = w.runner.run(w.add(doc, state=ActionState.UNCERTAIN, attempts=2))
    assert isinstance(outcome, outcomes.Done)
    assert outcome.result["found_by"] == "listarAndamentos"
    assert w.sei.count("incluirDocumento") == 1


def test_a_crashed_attempt_is_probed_before_sending_and_a_clean_retry_is_not(
    tmp_path: Path,
) -> None:
    w = World(tmp_path)
    w.open_process()
    doc = _kind(w.plan(b.solicitacao()), ActionKind.SOLICITACAO_DOC)
    # attempt 1 ended with a recorded retry: attempt 2 sends straight away
    clean = w.add(doc, attempts=2, last_error="attempt 1: SEI not sent")
    assert previous_attempt_recorded(clean)
    assert isinstance(w.runner.run(clean), outcomes.Done)
    assert w.sei.calls == ["incluirDocumento"]
    # attempt 1 died mid-call (lease expired, no mark): attempt 2 finds its document
    w.sei.calls.clear()
    crashed = w.add(doc, attempts=2, last_error=None)
    assert not previous_attempt_recorded(crashed)
    outcome = w.runner.run(crashed)
    assert isinstance(outcome, outcomes.Done) and outcome.result["found_by"]
    assert "incluirDocumento" not in w.sei.calls


def test_a_crashed_attempt_proven_absent_is_sent_in_the_same_attempt(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    doc = _kind(w.plan(b.solicitacao()), ActionKind.SOLICITACAO_DOC)
    outcome = w.runner.run(w.add(doc, attempts=3, last_error="attempt 1: lost"))
    assert isinstance(outcome, outcomes.Done)
    assert w.sei.calls == ["listarAndamentos", "incluirDocumento"]


def test_a_probe_that_fails_leaves_the_action_uncertain(tmp_path: Path) -> None:
    w = World(tmp_path)
    action = w.add(w.plan(b.solicitacao())[0], state=ActionState.UNCERTAIN, attempts=2)
    w.sei.fail_next("consultarProcedimento", errors.SeiNotSentError("refused"))
    assert isinstance(w.runner.run(action), outcomes.Uncertain)
    w.sei.fail_next("consultarProcedimento", CircuitOpenError("open", operation="x", until=1.0))
    assert isinstance(w.runner.run(action), outcomes.Uncertain)


def test_an_sei_refusal_quarantines_with_seis_own_text(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    doc = _kind(w.plan(b.solicitacao()), ActionKind.SOLICITACAO_DOC)
    fault = "Tipo de documento [12] não encontrado."
    w.sei.fail_next(
        "incluirDocumento",
        errors.SeiValidationFault("x", operation="incluirDocumento", fault=fault),
    )
    outcome = w.runner.run(w.add(doc))
    assert isinstance(outcome, outcomes.Quarantine)
    assert outcome.reason.startswith("sei-refused: ") and fault in outcome.reason


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (errors.SeiNotSentError("503"), outcomes.Retry),
        (errors.SeiInfrastructureFault("INFRA_ERRO"), outcomes.Retry),
        (errors.SeiAccessDenied("Acesso negado."), outcomes.StopDispatching),
        (errors.SeiEndpointError("404"), outcomes.StopDispatching),
    ],
)
def test_failures_are_classified(tmp_path: Path, exc: Exception, expected: type) -> None:
    w = World(tmp_path)
    w.sei.fail_next("gerarProcedimento", exc)
    assert isinstance(w.runner.run(w.add(w.plan(b.solicitacao())[0])), expected)


def test_an_open_circuit_reschedules_for_its_end(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.sei.fail_next("gerarProcedimento", CircuitOpenError("open", operation="g", until=123.0))
    outcome = w.runner.run(w.add(w.plan(b.solicitacao())[0]))
    assert isinstance(outcome, outcomes.Retry) and outcome.until == 123.0


def test_a_png_is_quarantined_on_its_own_before_anything_is_sent(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    actions = w.plan(b.solicitacao(anexos=[b.anexo("p1", "foto.png", "image/png")]))
    anexo = _kind(actions, ActionKind.ANEXO, "p1")
    assert not anexo.blocking
    outcome = w.runner.run(w.add(anexo))
    assert isinstance(outcome, outcomes.Quarantine)
    assert outcome.reason.startswith('attachment-refused: arquivo ".png"')
    assert w.sigrc.downloads == 0 and "incluirDocumento" not in w.sei.calls


def test_an_attachment_is_sent_inline_as_an_external_document(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    anexo = _kind(w.plan(b.solicitacao(anexos=[b.anexo("a1")])), ActionKind.ANEXO, "a1")
    outcome = w.runner.run(w.add(anexo))
    assert isinstance(outcome, outcomes.Done) and outcome.result["documento_formatado"]
    sent = w.sei.last_document
    assert sent is not None and sent.tipo.value == "R" and sent.id_serie == "14"
    assert sent.conteudo == b"%PDF-1.4 fake" and sent.nome_arquivo == "carne-iptu.pdf"
    assert sent.data is not None and sent.protocolo_procedimento == NUMERO
    assert list(tmp_path.rglob("*")) == [tmp_path / "anexos"]  # the download was removed


def test_a_corrupt_attachment_is_quarantined(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    w.sigrc.failures.append(errors.AttachmentIntegrityError("sha256 mismatch for a1"))
    anexo = _kind(w.plan(b.solicitacao(anexos=[b.anexo("a1")])), ActionKind.ANEXO, "a1")
    outcome = w.runner.run(w.add(anexo))
    assert isinstance(outcome, outcomes.Quarantine)
    assert outcome.reason.startswith("attachment-integrity: ")


def test_the_opening_document_lists_each_attachment_as_it_stands(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    actions = w.plan(b.solicitacao(anexos=[b.anexo("a1"), b.anexo("p1", "foto.png")]))
    w.add(
        _kind(actions, ActionKind.ANEXO, "a1"),
        state=ActionState.DONE,
        result={"documento_formatado": "0000777"},
    )
    w.add(
        _kind(actions, ActionKind.ANEXO, "p1"),
        state=ActionState.QUARANTINED,
        last_error='attachment-refused: arquivo ".png" não é aceito pelo SEI | allow it',
    )
    outcome = w.runner.run(w.add(_kind(actions, ActionKind.SOLICITACAO_DOC)))
    assert isinstance(outcome, outcomes.Done)
    sent = w.sei.last_document
    assert sent is not None and sent.conteudo is not None
    html = unescape(sent.conteudo.decode("ascii"))
    assert "0000777" in html and 'não incluído no SEI: arquivo ".png"' in html
    assert sent.id_serie == "12" and sent.tipo.value == "G" and sent.data is None


def test_a_finalizado_lists_the_attachments_before_it_not_those_of_a_later_reopening(
    tmp_path: Path,
) -> None:
    w = World(tmp_path)
    w.open_process()
    opening = w.plan(b.solicitacao(anexos=[b.anexo("a1")]))
    w.add(
        _kind(opening, ActionKind.ANEXO, "a1"),
        state=ActionState.DONE,
        result={"documento_formatado": "0000701"},
    )
    finalizado = w.add(_closing(w, ActionKind.FINALIZADO_DOC))
    # reopened and a new interaction with an attachment planned before the closure was sent
    later = b.action_from(
        NewAction(ActionKind.ANEXO, "a9", {**_kind(opening, ActionKind.ANEXO, "a1").payload}),
        seq=finalizado.seq + 5,
        action_id=20_000,
    )
    w.store.actions[later.id] = later
    assert isinstance(w.runner.run(finalizado), outcomes.Done)
    sent = w.sei.last_document
    assert sent is not None and sent.conteudo is not None
    html = unescape(sent.conteudo.decode("ascii"))
    assert html.count("0000701") == 1 and "não incluído" not in html


def test_sigrc_backlink_conflict_is_quarantined_and_overload_waits(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    put = _kind(w.plan(b.solicitacao()), ActionKind.SIGRC_PROCESSO)
    w.sigrc.failures.append(errors.SigrcConflict("409"))
    outcome = w.runner.run(w.add(put))
    assert isinstance(outcome, outcomes.Quarantine) and outcome.reason.startswith("sigrc-conflict")
    w.sigrc.failures.append(errors.SigrcUnavailable("503", retry_after=30))
    overloaded = w.runner.run(w.add(put))
    assert isinstance(overloaded, outcomes.Retry) and overloaded.at_least == 30
    assert isinstance(w.runner.run(w.add(put)), outcomes.Done)
    assert w.sigrc.processo_sei[b.PROTOCOLO] == NUMERO


def _closing(w: World, kind: ActionKind) -> NewAction:
    ev = b.evento(T.FINALIZADA, encerramento=b.encerramento(0))
    decision = planner.plan_event(ev, _opened_history(w), w.mappings)
    assert isinstance(decision, planner.Plan)
    return next(a for a in decision.actions if a.kind is kind)


def _opened_history(w: World) -> planner.History:
    row = RequestRow(
        b.PROTOCOLO, "3222", RequestState.ACTIVE, None, None, None, None, 1, 0, b.UTC0, b.UTC0
    )
    return planner.History.of(row, [w.store.actions[10_000]])


def test_concluir_on_a_process_already_concluded_is_done(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    concluir = _closing(w, ActionKind.CONCLUIR)
    assert isinstance(w.runner.run(w.add(concluir)), outcomes.Done)
    outcome = w.runner.run(w.add(concluir))
    assert isinstance(outcome, outcomes.Done) and outcome.result == {"ja_concluido": True}


def test_an_uncertain_concluir_is_settled_by_the_process_state(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.open_process()
    concluir = _closing(w, ActionKind.CONCLUIR)
    w.sei.fail_next("concluirProcesso", errors.SeiOutcomeUnknownError("t"), after_commit=True)
    assert isinstance(w.runner.run(w.add(concluir)), outcomes.Uncertain)
    outcome = w.runner.run(w.add(concluir, state=ActionState.UNCERTAIN, attempts=2))
    assert isinstance(outcome, outcomes.Done)
    assert w.sei.count("concluirProcesso") == 1
