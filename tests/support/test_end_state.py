"""The end-state checker itself (no I/O): what it expects agrees with the generator's own account
of the traffic, an exact state passes, and every kind of damage is reported precisely."""

from __future__ import annotations

import dataclasses
import html
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sei_bridge import mapping
from sei_bridge.sandboxes.sei import ContactView, DocumentView, ProcessView
from sei_bridge.sandboxes.sei.rules import stored_html
from sei_bridge.sandboxes.sigrc import SimulatorConfig, SimulatorState
from sei_bridge.sandboxes.traffic import GeneratedRequest, generate_traffic
from sei_bridge.sei.html import FragmentBuilder
from tests.support import end_state
from tests.support.traffic import malformed_midway

MAPPINGS = mapping.load_mappings(Path(__file__).resolve().parents[2] / "mappings")
SEED = 156
_INTERACAO = "solicitacao.interacao"
_FINALIZADA = "solicitacao.finalizada"
_NEEDS = (_INTERACAO, _FINALIZADA)


def _png(ext: str) -> bool:
    return ext != "png"


@pytest.fixture(scope="module")
def traffic() -> list[GeneratedRequest]:
    requests = generate_traffic(SEED, 40)
    requests += [malformed_midway(SEED + 1, closed=c) for c in (True, False)]
    assert len({r.protocolo for r in requests}) == len(requests)
    return requests


@pytest.fixture(scope="module")
def expected(traffic: list[GeneratedRequest]) -> end_state.ExpectedState:
    state = SimulatorState(SimulatorConfig(requests=0, duplicate_rate=0.0))
    state.load(traffic)
    first = state.written[0]
    state.duplicate(first.sequencia)  # a re-delivery changes nothing
    return end_state.expected_end_state(state.written, MAPPINGS, allowed_extension=_png)


def test_expected_state_agrees_with_the_generated_timelines(
    traffic: list[GeneratedRequest], expected: end_state.ExpectedState
) -> None:
    mapped = [r for r in traffic if MAPPINGS.servico(r.servico_codigo) is not None]
    assert set(expected.processes) == {r.protocolo for r in mapped}
    assert set(expected.unmapped) == {r.protocolo for r in traffic} - set(expected.processes)
    assert expected.events == sum(len(r.events) for r in traffic)
    for r in mapped:
        want = expected.processes[r.protocolo]
        roles = Counter(d.role for d in want.documents)
        # a malformed interaction reaches SEI only when a later interaction or closure needs it
        later_needs = [
            k < max((j for j, e in enumerate(r.events) if e.tipo in _NEEDS), default=-1)
            for k in range(len(r.events))
        ]
        applied = [e for k, e in enumerate(r.events) if e.intact is None or later_needs[k]]
        assert roles["interacao"] == sum(e.tipo == _INTERACAO for e in applied), r.protocolo
        assert roles["finalizado"] == r.closure_count, r.protocolo
        assert roles["solicitacao"] == 1
        files = [f for e in applied for f in e.files]
        assert roles["anexo"] == sum(not f.nome_arquivo.endswith(".png") for f in files)
        assert len(expected.refused.get(r.protocolo, [])) == len(files) - roles["anexo"]
        # each Finalizado comes right after the interactions its closure counts
        counted = [
            e.payload["encerramento"]["quantidade_interacoes"]
            for e in r.events
            if e.tipo == _FINALIZADA
        ]
        roles_in_order = [d.role for d in want.documents]
        finalizados = [k for k, role in enumerate(roles_in_order) if role == "finalizado"]
        assert [roles_in_order[:k].count("interacao") for k in finalizados] == counted
    assert expected.malformed and expected.unknown and expected.refused


def _contact(protocolo: str) -> ContactView:
    return ContactView(id_contato="100000001", sigla=f"SP156-{protocolo}", nome="x")


def _document(doc: end_state.ExpectedDocument, n: int, nivel: int) -> DocumentView:
    return DocumentView(
        id_documento=str(n),
        documento_formatado=f"{n:07d}",
        tipo="G",
        id_serie=doc.id_serie,
        serie="",
        descricao=doc.descricao,
        data="01/03/2026",
        nivel_acesso=nivel,
        id_hipotese_legal="34",
        numero=None,
        nome_arquivo=None,
        id_unidade="110000001",
        size=0,
        md5="",
        sha256="",
        # as SEI stores what the client sends
        content=stored_html(FragmentBuilder(doc.role).paragraph(doc.text).render()),
    )


def _process(want: end_state.ExpectedProcess, n: int) -> ProcessView:
    return ProcessView(
        id_procedimento=str(n),
        procedimento_formatado=want.numero or f"99990.{n:06d}/2026-00",
        numero_informado=want.numero,
        id_tipo_procedimento=want.id_tipo_procedimento,
        tipo_procedimento="",
        especificacao=f"SP156 {want.protocolo} serviço",
        data_autuacao="01/03/2026",
        nivel_acesso=want.nivel_acesso,
        id_hipotese_legal=want.id_hipotese_legal,
        assuntos=(),
        interessados=(_contact(want.protocolo),),
        id_unidade_geradora=want.id_unidade,
        unidades_abertas=() if want.concluded else (want.id_unidade,),
        documents=tuple(
            _document(d, 1000 * n + k, want.nivel_acesso) for k, d in enumerate(want.documents)
        ),
        andamentos=(),
    )


@dataclasses.dataclass
class FakeSei:
    """SEI as a list of processes (what ``SandboxState.processes()`` returns)."""

    held: list[ProcessView]

    def processes(self) -> list[ProcessView]:
        return list(self.held)


def _exact(expected: end_state.ExpectedState) -> FakeSei:
    return FakeSei([_process(p, n) for n, p in enumerate(expected.processes.values(), 1)])


def _with(sei: FakeSei, protocolo: str, **changes: Any) -> FakeSei:
    held = [
        dataclasses.replace(p, **changes) if end_state.protocolo_of(p) == protocolo else p
        for p in sei.held
    ]
    return FakeSei(held)


def _busy(expected: end_state.ExpectedState) -> end_state.ExpectedProcess:
    """A request with at least two interactions and a closure."""
    return next(
        p
        for p in expected.processes.values()
        if sum(d.role == "interacao" for d in p.documents) >= 2
        and any(d.role == "finalizado" for d in p.documents)
    )


def test_an_exact_sei_passes(expected: end_state.ExpectedState) -> None:
    assert end_state.check_sei(expected, _exact(expected)) == []


def test_every_kind_of_damage_is_reported(expected: end_state.ExpectedState) -> None:
    sei = _exact(expected)
    want = _busy(expected)
    p = want.protocolo
    [process] = [x for x in sei.held if end_state.protocolo_of(x) == p]
    docs = list(process.documents)
    where = f"request {p} (process {process.procedimento_formatado})"

    duplicated = end_state.check_sei(expected, _with(sei, p, documents=(*docs, docs[-1])))
    assert duplicated == [f"{where}: 2 documents with descrição {docs[-1].descricao!r} (duplicate)"]

    # the text as a real SEI keeps Latin-1 bytes (what sei-bridge used to send): accents as "?"
    k = next(
        k
        for k, d in enumerate(want.documents)
        if d.role == "interacao" and any(0x80 <= ord(ch) < 0x100 for ch in d.text)
    )
    latin1 = f"<p>{html.escape(want.documents[k].text)}</p>".encode("latin-1", "xmlcharrefreplace")
    damaged = [*docs]
    damaged[k] = dataclasses.replace(docs[k], content=stored_html(latin1))
    assert end_state.check_sei(expected, _with(sei, p, documents=tuple(damaged))) == [
        f"{where}: interacao document {docs[k].documento_formatado} does not read as SIGRC "
        "wrote it (characters lost or changed in SEI)"
    ]

    lost = end_state.check_sei(expected, _with(sei, p, documents=tuple(docs[:-1])))
    assert lost == [f"{where}: missing finalizado document {docs[-1].descricao!r} (lost)"]

    i, j = [k for k, d in enumerate(want.documents) if d.role == "interacao"][:2]
    swapped = docs.copy()
    swapped[i], swapped[j] = swapped[j], swapped[i]
    [order] = end_state.check_sei(expected, _with(sei, p, documents=tuple(swapped)))
    assert order.startswith(f"{where}: documents out of order")

    finalizado_first = [docs[-1], *docs[:-1]]
    [order] = end_state.check_sei(expected, _with(sei, p, documents=tuple(finalizado_first)))
    assert "out of order" in order

    flipped = () if process.unidades_abertas else (want.id_unidade,)
    [state] = end_state.check_sei(expected, _with(sei, p, unidades_abertas=flipped))
    assert state.startswith(f"{where}: ") and "at the end, expected" in state

    wrong_serie = dataclasses.replace(docs[0], id_serie="99")
    [serie] = end_state.check_sei(expected, _with(sei, p, documents=(wrong_serie, *docs[1:])))
    assert "has série 99" in serie

    twice = FakeSei([*sei.held, dataclasses.replace(process, procedimento_formatado="X-2")])
    assert f"request {p}: 2 processes" in "\n".join(end_state.check_sei(expected, twice))

    unmapped = next(iter(expected.unmapped))
    intruder = dataclasses.replace(process, interessados=(_contact(unmapped),))
    [extra] = end_state.check_sei(expected, FakeSei([*sei.held, intruder]))
    assert extra.startswith(f"request {unmapped}: process ") and "has no mapping" in extra

    missing = FakeSei([x for x in sei.held if x is not process])
    assert end_state.check_sei(expected, missing) == [f"request {p}: no process in SEI (lost)"]


def _exact_status(expected: end_state.ExpectedState) -> dict[str, Any]:
    quarantine: list[dict[str, Any]] = [
        {"what": "request", "protocolo": p, "kind": s, "reason": f"unmapped: no mapping for {s}"}
        for p, s in expected.unmapped.items()
    ]
    quarantine += [
        {
            "what": "event",
            "protocolo": None,
            "kind": "solicitacao.interacao",
            "reason": "interacao.ocorrida_em: not a date",
            "id_evento": e,
        }
        for e in expected.malformed
    ]
    quarantine += [
        {
            "what": "action",
            "protocolo": p,
            "kind": "ANEXO",
            "action_id": 1,
            "reason": "attachment-refused: png",
        }
        for p, ids in expected.refused.items()
        for _ in ids
    ]
    skipped = len(expected.unknown)
    return {
        "inbox": {"PLANNED": expected.events - skipped, "SKIPPED": skipped},
        "actions": {kind: {"DONE": n} for kind, n in expected.done.items()},
        "actions_by_state": {"DONE": sum(expected.done.values())},
        "quarantine": quarantine,
        "attention": [],
    }


def test_the_ledger_check_passes_an_exact_status_and_names_each_gap(
    expected: end_state.ExpectedState,
) -> None:
    status = _exact_status(expected)
    assert end_state.check_status(expected, status) == []

    malformed = sorted(expected.malformed)[0]
    without = [q for q in status["quarantine"] if q.get("id_evento") != malformed]
    assert end_state.check_status(expected, {**status, "quarantine": without}) == [
        f"quarantine: malformed event {malformed} is not in quarantine"
    ]
    pending = {**status, "actions_by_state": {"DONE": 1, "PENDING": 2}}
    assert "ledger: 2 action(s) PENDING" in end_state.check_status(expected, pending)
    fewer = {**status, "actions": {**status["actions"], "OPEN": {"DONE": 1}}}
    assert end_state.check_status(expected, fewer) == [
        f"ledger: 1 OPEN action(s) DONE, expected {expected.done['OPEN']}"
    ]
