"""The exact end state a finished sync must leave, and a checker that lists every difference.

:func:`expected_end_state` computes what SEI must hold from what SIGRC wrote (the simulator's
event log: every event, closures and reopenings, interactions and attachments, hard cases) and
the mapping, without asking sei-bridge anything:

- one process per request of a mapped service (none for an unmapped one, such as "9999"), with
  the mapping's process type, unit, access level, and ``sei.numero_protocolo`` when set;
- its documents in the order things happened in SIGRC: the request's accepted attachments and
  "Solicitação SP156 nº …", then per interaction its accepted attachments and its document, and
  one "SP 156 Finalizado" per closure (after every interaction the closure counts); an
  attachment whose extension SEI does not allow (PNG in the sandbox's catalog) has no document;
- the process concluded at the end exactly when the mapping concludes processes and the
  request's last closure was not followed by a reopening;
- an interaction the feed served malformed is taken from SIGRC's snapshot (its intact record)
  when a later event of the request needs it (a later interaction, or a closure that counts
  it), in its own place, and is otherwise absent from SEI, waiting in quarantine (a malformed
  registrada likewise comes from the snapshot once any later event of the request arrives);
- in the ledger (``sei-bridge status --json``): the unmapped requests and the malformed events
  in quarantine with their reasons, each refused attachment quarantined on its own, nothing
  else in quarantine, nothing uncertain or waiting for a person, nothing left pending.

:func:`check_sei` and :func:`check_status` compare a sandbox's state and a status report with
it and return precise, readable discrepancies (empty: exact). :func:`check_end_state` does both.
Tests assert ``problems == []`` so that a failure prints the list.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Protocol

from sei_bridge import documents, mapping
from sei_bridge.sandboxes.sei import ProcessView, SandboxState
from sei_bridge.sandboxes.sigrc import SimulatorState, WrittenEvent
from sei_bridge.sigrc import models, parsing

__all__ = [
    "ExpectedDocument",
    "ExpectedProcess",
    "ExpectedState",
    "SeiHoldings",
    "check_end_state",
    "check_sei",
    "check_status",
    "expected_end_state",
    "protocolo_of",
]

#: Reason prefixes (the part before ":") sei-bridge gives each kind of quarantine.
UNMAPPED = "unmapped"
ATTACHMENT_REFUSED = "attachment-refused"

_ESPECIFICACAO = re.compile(r"^SP156 (\S+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SIGLA_PREFIX = "SP156-"


@dataclass(frozen=True, slots=True)
class ExpectedDocument:
    """One document SEI must hold."""

    #: "anexo", "solicitacao", "interacao" or "finalizado" (the mapping's série roles)
    role: str
    id_serie: str
    descricao: str
    #: the SIGRC id it stands for: id_anexo, id_interacao, id_evento of the closure, or ""
    source: str
    #: text SIGRC holds that a reader of the generated document must see, character for
    #: character (the solicitação's descrição, the interação's or the encerramento's texto)
    text: str = field(default="", repr=False)

    @property
    def label(self) -> str:
        """Short name for messages."""
        short = {"anexo": "A", "solicitacao": "S", "interacao": "I", "finalizado": "F"}
        return f"{short[self.role]}:{self.source[:14]}" if self.source else short[self.role]


@dataclass(frozen=True, slots=True)
class ExpectedProcess:
    """The process of one mapped request, as SEI must hold it."""

    protocolo: str
    servico: str
    #: the NumeroProtocolo asked for (``sei.numero_protocolo``), None when SEI numbers it
    numero: str | None
    id_tipo_procedimento: str
    id_unidade: str
    nivel_acesso: int
    id_hipotese_legal: str | None
    documents: tuple[ExpectedDocument, ...]
    concluded: bool


@dataclass(slots=True)
class ExpectedState:
    """Everything a finished sync must leave (see the module doc)."""

    processes: dict[str, ExpectedProcess] = field(default_factory=dict)
    #: protocolo → servico codigo of requests whose service has no mapping
    unmapped: dict[str, str] = field(default_factory=dict)
    #: id_evento of events the feed served malformed (each quarantined as an event)
    malformed: set[str] = field(default_factory=set)
    #: id_evento of events of a tipo sei-bridge does not know (recorded and skipped)
    unknown: set[str] = field(default_factory=set)
    #: protocolo → id_anexo of attachments SEI refuses (each quarantined on its own)
    refused: dict[str, list[str]] = field(default_factory=dict)
    #: distinct events written (re-deliveries counted once): every one must be in the inbox
    events: int = 0
    #: ledger actions that must end DONE, by ActionKind value
    done: Counter[str] = field(default_factory=Counter)

    @property
    def refused_count(self) -> int:
        return sum(len(v) for v in self.refused.values())


# --- what SIGRC wrote -> what SEI must hold ------------------------------------------------------


def _truth(event: WrittenEvent) -> tuple[models.FeedItem, models.FeedItem]:
    """(what the feed served, what SIGRC's records hold) for one written event."""
    served = parsing.parse_event(event.payload())
    if event.intact is None:
        return served, served
    intact = json.loads(event.intact)
    intact["sequencia"] = event.sequencia
    return served, parsing.parse_event(intact)


def _extension(nome_arquivo: str) -> str:
    return PurePath(nome_arquivo.strip()).suffix.lower().lstrip(".")


def expected_end_state(
    written: Iterable[WrittenEvent],
    mappings: mapping.Mappings,
    *,
    allowed_extension: Callable[[str], bool],
    orgao: str | None = "SF",
) -> ExpectedState:
    """What SEI and the ledger must hold once every event in ``written`` is synced.

    ``written`` is the simulator's log (``SimulatorState.written``; re-deliveries are ignored),
    ``allowed_extension(ext)`` says whether SEI accepts a file extension (lower case, no dot),
    ``orgao`` is the feed's órgão filter (events of other órgãos are never read).
    """
    state = ExpectedState()
    by_request: dict[str, list[tuple[models.FeedItem, models.FeedItem]]] = {}
    for event in written:
        if event.duplicate_of is not None:
            continue
        if orgao is not None and event.orgao != orgao:
            continue
        state.events += 1
        served, intact = _truth(event)
        if isinstance(served, models.UnknownEvent):
            state.unknown.add(served.id_evento)
            continue
        if isinstance(served, models.QuarantinedEvent):
            state.malformed.add(served.id_evento)
        if event.protocolo is not None:
            by_request.setdefault(event.protocolo, []).append((served, intact))
    for protocolo, timeline in by_request.items():
        _expect_request(state, protocolo, timeline, mappings, allowed_extension)
    return state


#: what the feed served malformed comes back from SIGRC's snapshot when a later event of one of
#: these tipos arrives (the engine reads the snapshot then); otherwise it waits in quarantine
_NEEDED_BY: dict[models.TipoEvento, frozenset[models.TipoEvento]] = {
    models.TipoEvento.REGISTRADA: frozenset(models.TipoEvento),
    models.TipoEvento.INTERACAO: frozenset(
        {models.TipoEvento.INTERACAO, models.TipoEvento.FINALIZADA}
    ),
}


def _needed_later(
    timeline: Sequence[tuple[models.FeedItem, models.FeedItem]], k: int, tipo: models.TipoEvento
) -> bool:
    wanted = _NEEDED_BY.get(tipo, frozenset())
    return any(
        isinstance(served, models.Evento) and served.tipo in wanted
        for served, _ in timeline[k + 1 :]
    )


def _expect_request(
    state: ExpectedState,
    protocolo: str,
    timeline: Sequence[tuple[models.FeedItem, models.FeedItem]],
    mappings: mapping.Mappings,
    allowed_extension: Callable[[str], bool],
) -> None:
    registrada = next(
        (
            i.solicitacao
            for _, i in timeline
            if isinstance(i, models.Evento) and i.tipo is models.TipoEvento.REGISTRADA
        ),
        None,
    )
    if registrada is None:
        raise ValueError(f"request {protocolo}: no registrada in the log; the checker needs one")
    m = mappings.servico(registrada.servico_codigo)
    if m is None:
        state.unmapped[protocolo] = registrada.servico_codigo
        return

    docs: list[ExpectedDocument] = []
    done: Counter[str] = Counter({"OPEN": 1, "SOLICITACAO_DOC": 1, "SIGRC_PROCESSO": 1})
    concluded = False

    def anexos(items: Iterable[models.Anexo]) -> None:
        for a in items:
            if allowed_extension(_extension(a.nome_arquivo)):
                docs.append(
                    ExpectedDocument(
                        "anexo", m.series.anexo, documents.descricao_anexo(protocolo, a), a.id_anexo
                    )
                )
                done["ANEXO"] += 1
            else:
                state.refused.setdefault(protocolo, []).append(a.id_anexo)

    for k, (served, intact) in enumerate(timeline):
        if not isinstance(intact, models.Evento):
            continue
        if not isinstance(served, models.Evento) and not _needed_later(timeline, k, intact.tipo):
            continue  # malformed, and nothing later needs it
        if intact.tipo is models.TipoEvento.REGISTRADA:
            assert intact.solicitacao is not None
            anexos(intact.solicitacao.anexos)
            docs.append(
                ExpectedDocument(
                    "solicitacao",
                    m.series.solicitacao,
                    documents.descricao_solicitacao(protocolo),
                    "",
                    intact.solicitacao.descricao,
                )
            )
        elif intact.tipo is models.TipoEvento.INTERACAO:
            i = intact.interacao
            assert i is not None
            anexos(i.anexos)
            docs.append(
                ExpectedDocument(
                    "interacao",
                    m.series.interacao,
                    documents.descricao_interacao(protocolo, i),
                    i.id_interacao,
                    i.texto,
                )
            )
            done["INTERACAO_DOC"] += 1
        elif intact.tipo is models.TipoEvento.FINALIZADA:
            e = intact.encerramento
            assert e is not None
            docs.append(
                ExpectedDocument(
                    "finalizado",
                    m.series.finalizado,
                    documents.descricao_finalizado(protocolo, intact.id_evento, e.encerrada_em),
                    intact.id_evento,
                    e.texto,
                )
            )
            done["FINALIZADO_DOC"] += 1
            if m.concluir_ao_finalizar:
                done["CONCLUIR"] += 1
                concluded = True
        elif intact.tipo is models.TipoEvento.REABERTA and m.concluir_ao_finalizar:
            done["REABRIR"] += 1
            concluded = False
    state.done.update(done)
    state.processes[protocolo] = ExpectedProcess(
        protocolo=protocolo,
        servico=m.codigo,
        numero=m.numero_protocolo_for(protocolo),
        id_tipo_procedimento=m.tipo_procedimento,
        id_unidade=m.unidade,
        nivel_acesso=int(m.nivel_acesso),
        id_hipotese_legal=m.hipotese_legal,
        documents=tuple(docs),
        concluded=concluded,
    )


# --- SEI ---------------------------------------------------------------------------------------


class SeiHoldings(Protocol):
    """What SEI holds: :class:`~sei_bridge.sandboxes.sei.SandboxState` is one."""

    def processes(self) -> list[ProcessView]: ...


def protocolo_of(process: ProcessView) -> str | None:
    """The SP156 protocolo a process in SEI was opened for: from its interessado's Sigla
    (``SP156-<protocolo>``), else its especificação; None when neither tells."""
    for contact in process.interessados:
        if contact.sigla and contact.sigla.startswith(_SIGLA_PREFIX):
            return contact.sigla[len(_SIGLA_PREFIX) :]
    found = _ESPECIFICACAO.match(process.especificacao or "")
    return found.group(1) if found else None


def _visible(text: str | bytes) -> str:
    """What a reader sees of a text or of SEI's stored HTML (Latin-1): entities resolved,
    line breaks and runs of white space as one space, control characters (which documents
    drop) removed."""
    if isinstance(text, bytes):
        text = html.unescape(text.decode("latin-1").replace("<br />", "\n"))
    text = "".join(ch for ch in text if ch in "\t\n\r" or not _CONTROL.match(ch))
    return " ".join(text.split())


def _norm(text: str | None) -> str:
    """A descrição as compared: SEI may keep non-Latin-1 characters as ``&#N;``."""
    return " ".join(html.unescape(text or "").split())


def check_sei(
    expected: ExpectedState,
    sei: SeiHoldings,
    *,
    sigrc: SimulatorState | None = None,
) -> list[str]:
    """Every difference between what SEI holds and ``expected`` (and, with ``sigrc``, the SEI
    number SIGRC was given for each request)."""
    problems: list[str] = []
    found: dict[str, list[ProcessView]] = {}
    for process in sei.processes():
        protocolo = protocolo_of(process)
        if protocolo is None:
            problems.append(
                f"process {process.procedimento_formatado}: opened for no SP156 request "
                "(no SP156- interessado, no SP156 especificação)"
            )
            continue
        found.setdefault(protocolo, []).append(process)
    for protocolo, servico in sorted(expected.unmapped.items()):
        for process in found.pop(protocolo, []):
            problems.append(
                f"request {protocolo}: process {process.procedimento_formatado} exists, but "
                f"servico {servico} has no mapping"
            )
    for protocolo, want in sorted(expected.processes.items()):
        processes = found.pop(protocolo, [])
        if not processes:
            problems.append(f"request {protocolo}: no process in SEI (lost)")
            continue
        if len(processes) > 1:
            numbers = ", ".join(p.procedimento_formatado for p in processes)
            problems.append(f"request {protocolo}: {len(processes)} processes ({numbers})")
        for process in processes:
            problems += _check_process(want, process)
        if sigrc is not None:
            told = sigrc.processo_sei(protocolo)
            held = sorted(p.procedimento_formatado for p in processes)
            if told not in held:
                problems.append(
                    f"request {protocolo}: SIGRC was given processo_sei {told!r}, SEI has {held}"
                )
    for protocolo, processes in sorted(found.items()):
        for process in processes:
            problems.append(
                f"request {protocolo}: process {process.procedimento_formatado} exists, but "
                "SIGRC wrote no such request"
            )
    return problems


def _check_process(want: ExpectedProcess, process: ProcessView) -> list[str]:
    where = f"request {want.protocolo} (process {process.procedimento_formatado})"
    problems: list[str] = []
    if want.numero is not None and process.procedimento_formatado != want.numero:
        problems.append(f"{where}: numbered {process.procedimento_formatado}, not {want.numero}")
    for name, got, wanted in (
        ("process type", process.id_tipo_procedimento, want.id_tipo_procedimento),
        ("unit", process.id_unidade_geradora, want.id_unidade),
        ("access level", process.nivel_acesso, want.nivel_acesso),
        ("hipótese legal", process.id_hipotese_legal, want.id_hipotese_legal),
    ):
        if got != wanted:
            problems.append(f"{where}: {name} {got!r}, the mapping says {wanted!r}")
    if process.concluded != want.concluded:
        state = "concluded" if process.concluded else "open"
        problems.append(
            f"{where}: {state} at the end, expected {'concluded' if want.concluded else 'open'}"
        )
    problems += _check_documents(where, want, process)
    return problems


def _check_documents(where: str, want: ExpectedProcess, process: ProcessView) -> list[str]:
    problems: list[str] = []
    wanted = {_norm(d.descricao): d for d in want.documents}
    counts = Counter(_norm(d.descricao) for d in process.documents)
    for descricao, n in sorted(counts.items()):
        if n > 1:
            problems.append(f"{where}: {n} documents with descrição {descricao!r} (duplicate)")
    for descricao, want_doc in wanted.items():
        if descricao not in counts:
            problems.append(f"{where}: missing {want_doc.role} document {descricao!r} (lost)")
    labels: list[str] = []
    for doc in process.documents:
        d = wanted.get(_norm(doc.descricao))
        if d is None:
            problems.append(
                f"{where}: unexpected document {doc.documento_formatado} série {doc.id_serie} "
                f"{_norm(doc.descricao)!r}"
            )
            continue
        labels.append(d.label)
        if doc.id_serie != d.id_serie:
            problems.append(
                f"{where}: {d.role} document {doc.documento_formatado} has série "
                f"{doc.id_serie}, the mapping says {d.id_serie}"
            )
        if doc.tipo == "G" and d.text and _visible(d.text) not in _visible(doc.content):
            problems.append(
                f"{where}: {d.role} document {doc.documento_formatado} does not read as SIGRC "
                "wrote it (characters lost or changed in SEI)"
            )
        if doc.nivel_acesso != want.nivel_acesso:
            problems.append(
                f"{where}: document {doc.documento_formatado} access level {doc.nivel_acesso}, "
                f"the mapping says {want.nivel_acesso}"
            )
    order = [d.label for d in want.documents]
    seen = list(dict.fromkeys(labels))
    present = [label for label in order if label in set(seen)]
    if seen != present:
        problems.append(
            f"{where}: documents out of order: expected {' '.join(present)}; SEI has "
            f"{' '.join(seen)}"
        )
    return problems


# --- the ledger (sei-bridge status --json) ----------------------------------------------------


def _reason_code(reason: str | None) -> str:
    return (reason or "").split(":", 1)[0]


def check_status(expected: ExpectedState, status: Mapping[str, Any]) -> list[str]:
    """Every difference between a ``sei-bridge status --json`` report and ``expected``: what is
    in quarantine and why, what is DONE, and that nothing waits or is left uncertain."""
    problems: list[str] = []
    inbox: Mapping[str, int] = status.get("inbox", {})
    if inbox.get("PENDING", 0):
        problems.append(f"inbox: {inbox['PENDING']} event(s) still PENDING")
    total = sum(inbox.values())
    if total != expected.events:
        problems.append(f"inbox: {total} event(s), SIGRC wrote {expected.events} distinct ones")
    if inbox.get("SKIPPED", 0) != len(expected.unknown):
        problems.append(
            f"inbox: {inbox.get('SKIPPED', 0)} SKIPPED, expected {len(expected.unknown)} "
            "event(s) of an unknown tipo"
        )
    by_state: Mapping[str, int] = status.get("actions_by_state", {})
    for state in ("PENDING", "UNCERTAIN", "NEEDS_PERSON"):
        if by_state.get(state, 0):
            problems.append(f"ledger: {by_state[state]} action(s) {state}")
    for entry in status.get("attention", []):
        problems.append(
            f"ledger: action {entry['action_id']} ({entry['kind']}, {entry['protocolo']}) is "
            f"{entry['state']}: {entry.get('last_error')}"
        )
    actions: Mapping[str, Mapping[str, int]] = status.get("actions", {})
    for kind in sorted(set(expected.done) | set(actions)):
        got = actions.get(kind, {}).get("DONE", 0)
        if got != expected.done.get(kind, 0):
            problems.append(f"ledger: {got} {kind} action(s) DONE, expected {expected.done[kind]}")
    problems += _check_quarantine(expected, status.get("quarantine", []))
    return problems


def _check_quarantine(expected: ExpectedState, entries: Sequence[Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    requests = {e["protocolo"]: e for e in entries if e["what"] == "request"}
    events = {e["id_evento"]: e for e in entries if e["what"] == "event"}
    refused: Counter[str] = Counter()
    for e in entries:
        if e["what"] != "action":
            continue
        if e["kind"] == "ANEXO" and _reason_code(e["reason"]) == ATTACHMENT_REFUSED:
            refused[e["protocolo"]] += 1
        else:
            problems.append(
                f"quarantine: unexpected action {e['action_id']} ({e['kind']}, "
                f"{e['protocolo']}): {e['reason']}"
            )
    for protocolo, servico in sorted(expected.unmapped.items()):
        entry = requests.pop(protocolo, None)
        if entry is None or _reason_code(entry["reason"]) != UNMAPPED:
            problems.append(
                f"quarantine: request {protocolo} (servico {servico}) should be quarantined as "
                f"unmapped, found {entry and entry['reason']!r}"
            )
    for protocolo, entry in sorted(requests.items()):
        problems.append(f"quarantine: unexpected request {protocolo}: {entry['reason']}")
    for id_evento in sorted(expected.malformed):
        if events.pop(id_evento, None) is None:
            problems.append(f"quarantine: malformed event {id_evento} is not in quarantine")
    for id_evento, entry in sorted(events.items()):
        if entry["protocolo"] in expected.unmapped and _reason_code(entry["reason"]) == UNMAPPED:
            continue  # the events of an unmapped request wait with it
        problems.append(
            f"quarantine: unexpected event {id_evento} ({entry['kind']}, {entry['protocolo']}): "
            f"{entry['reason']}"
        )
    for protocolo in sorted(set(refused) | set(expected.refused)):
        want = len(expected.refused.get(protocolo, []))
        if refused[protocolo] != want:
            problems.append(
                f"quarantine: request {protocolo} has {refused[protocolo]} refused "
                f"attachment(s) in quarantine, expected {want}"
            )
    return problems


def check_end_state(
    *,
    sigrc: SimulatorState,
    sei: SandboxState,
    mappings: mapping.Mappings,
    status: Mapping[str, Any] | None = None,
    orgao: str | None = "SF",
) -> list[str]:
    """:func:`check_sei` and (with ``status``, the parsed ``sei-bridge status --json``)
    :func:`check_status` against the state expected from everything ``sigrc`` wrote."""
    expected = expected_end_state(
        sigrc.written,
        mappings,
        allowed_extension=lambda ext: sei.catalog.extensao(ext) is not None,
        orgao=orgao,
    )
    problems = check_sei(expected, sei, sigrc=sigrc)
    if status is not None:
        problems += check_status(expected, status)
    return problems
