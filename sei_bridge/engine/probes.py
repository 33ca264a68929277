"""Settling an action whose outcome is unknown, from SEI's own state.

SEI has no idempotency key (SEI-FACTS.md, "Idempotency"), so a call sent without an answer may
or may not have committed, and sending it again blindly may duplicate it. Before anything is
sent again the prober asks SEI, with reads only, whether the effect exists:

- OPEN with a NumeroProtocolo: ``consultarProcedimento(number)`` finds the process, or SEI says
  it does not exist (proven absent). Without one: ``listarContatos(Sigla=SP156-<protocolo>)`` —
  the request's own contact exists only if the creating transaction committed; no contact
  proves absence, a contact proves creation but not *which* process: a person decides.
- Documents: ``listarAndamentos`` (tarefas 2 and 13) lists every document added to the process;
  ``consultarDocumento`` on each one not already known gives its série and descrição, which
  are unique to the action.
- CONCLUIR / REABRIR: ``consultarProcedimento`` says whether the process is open in the unit.

A probe that itself fails raises, and the action stays UNCERTAIN (see ``outcomes.classify``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sei_bridge import documents, mapping
from sei_bridge.engine import executors, outcomes, payloads, planner, ports
from sei_bridge.store.types import Action, ActionKind

__all__ = [
    "DOCUMENT_TAREFAS",
    "Absent",
    "Found",
    "ProbeResult",
    "Prober",
    "Undecided",
    "serie_of",
]

log = logging.getLogger(__name__)

#: listarAndamentos tarefas of a document being added: 2 gerado, 13 recebido
DOCUMENT_TAREFAS: tuple[str, ...] = ("2", "13")


@dataclass(frozen=True, slots=True)
class Found:
    """The effect exists in SEI; ``result`` holds its ids."""

    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Absent:
    """SEI proves the effect does not exist: it may be sent again. ``how``: what was checked."""

    how: str


@dataclass(frozen=True, slots=True)
class Undecided:
    """SEI shows the call had an effect but not which one: a person settles it."""

    evidence: Mapping[str, Any]


ProbeResult = Found | Absent | Undecided


def serie_of(m: mapping.ServicoMapping, kind: ActionKind) -> str:
    """The série of the documents of ``kind`` (probes and reconciliation find them by it)."""
    return {
        ActionKind.ANEXO: m.series.anexo,
        ActionKind.SOLICITACAO_DOC: m.series.solicitacao,
        ActionKind.INTERACAO_DOC: m.series.interacao,
        ActionKind.FINALIZADO_DOC: m.series.finalizado,
    }[kind]


class Prober:
    """Asks SEI whether an action's effect exists. ``sei`` should be guarded like the
    executors' (probes count toward the rate limit and the circuit breaker too)."""

    def __init__(
        self,
        *,
        sei: ports.SeiGateway,
        mappings: mapping.Mappings,
        send_window_seconds: float = 65.0,
    ) -> None:
        self.sei = sei
        self.mappings = mappings
        #: how long before becoming UNCERTAIN the lost call may have been sent (for evidence)
        self.send_window_seconds = send_window_seconds

    def probe(self, action: Action, ledger: executors.RequestLedger) -> ProbeResult:
        """Whether ``action``'s effect exists in SEI (raises when SEI cannot be asked)."""
        codigo = str(action.payload.get("servico", ""))
        m = self.mappings.servico(codigo)
        if m is None:
            raise outcomes.ActionRefused(planner.unmapped_reason(codigo))
        if action.kind is ActionKind.OPEN:
            return self._open(action, m)
        if action.kind in executors.DOCUMENT_KINDS:
            return self._document(action, ledger, m)
        if action.kind in (ActionKind.CONCLUIR, ActionKind.REABRIR):
            return self._open_in_unit(action, ledger, m)
        # SIGRC's PUT is idempotent: sending it again is the probe
        return Absent("idempotent: sending again is safe")

    def _open(self, action: Action, m: mapping.ServicoMapping) -> ProbeResult:
        p = payloads.decode(payloads.OpenPayload, action.payload)
        if p.numero_protocolo:
            found = self.sei.buscar_procedimento(
                id_unidade=m.unidade, protocolo_procedimento=p.numero_protocolo
            )
            if found is None:
                return Absent(f"consultarProcedimento: no process {p.numero_protocolo}")
            return Found(
                {
                    executors.R_ID_PROCEDIMENTO: found.id_procedimento,
                    executors.R_PROCEDIMENTO_FORMATADO: found.procedimento_formatado,
                    executors.R_LINK_ACESSO: found.link_acesso,
                    executors.R_UNIDADE: m.unidade,
                    "found_by": "numero_protocolo",
                }
            )
        contatos = [
            c
            for c in self.sei.listar_contatos(id_unidade=m.unidade, sigla=p.interessado_sigla)
            if (c.sigla or "").casefold() == p.interessado_sigla.casefold()
        ]
        if not contatos:
            return Absent(f"listarContatos: no contact {p.interessado_sigla}")
        sent_before = action.state_since
        return Undecided(
            {
                "why": "the request's own contact exists, so gerarProcedimento committed, but "
                "SEI cannot say which process it created (no NumeroProtocolo in the mapping)",
                "contato_ids": [c.id_contato for c in contatos],
                "sigla": p.interessado_sigla,
                "especificacao": p.especificacao,
                "unidade": m.unidade,
                "tipo_procedimento": m.tipo_procedimento,
                "sent_after": (
                    sent_before - dt.timedelta(seconds=self.send_window_seconds)
                ).isoformat(),
                "sent_before": sent_before.isoformat(),
                "how_to_resolve": "find the process of this interessado in SEI, then run "
                "sei-bridge resolve ACTION --done --processo NUMBER --id-procedimento ID "
                "--actor NAME (or --absent if there is none)",
            }
        )

    def _document(
        self, action: Action, ledger: executors.RequestLedger, m: mapping.ServicoMapping
    ) -> ProbeResult:
        ref = ledger.process(m.unidade)
        if ref is None:
            return Undecided({"why": "the request's OPEN action is not DONE with a process"})
        serie = serie_of(m, action.kind)
        descricao = str(action.payload.get("descricao", ""))
        known = ledger.known_documents()
        andamentos = self.sei.listar_andamentos(
            id_unidade=ref.unidade,
            protocolo_procedimento=ref.procedimento_formatado,
            tarefas=DOCUMENT_TAREFAS,
        )
        numeros = list(
            dict.fromkeys(
                n for a in andamentos if (n := a.atributo("DOCUMENTO")) and n not in known
            )
        )
        for numero in numeros:
            doc = self.sei.consultar_documento(id_unidade=ref.unidade, protocolo_documento=numero)
            if doc.id_serie == serie and documents.same_descricao(descricao, doc.descricao):
                return Found(
                    {
                        executors.R_ID_DOCUMENTO: doc.id_documento,
                        executors.R_DOCUMENTO_FORMATADO: doc.documento_formatado,
                        executors.R_LINK_ACESSO: doc.link_acesso,
                        "found_by": "listarAndamentos",
                    }
                )
        return Absent(
            f"listarAndamentos: none of {len(numeros)} unknown document(s) of "
            f"{ref.procedimento_formatado} has série {serie} and this descrição"
        )

    def _open_in_unit(
        self, action: Action, ledger: executors.RequestLedger, m: mapping.ServicoMapping
    ) -> ProbeResult:
        ref = ledger.process(m.unidade)
        if ref is None:
            return Undecided({"why": "the request's OPEN action is not DONE with a process"})
        proc = self.sei.consultar_procedimento(
            id_unidade=ref.unidade, protocolo_procedimento=ref.procedimento_formatado
        )
        is_open = any(u.id_unidade == ref.unidade for u in proc.unidades_aberto)
        wanted_open = action.kind is ActionKind.REABRIR
        if is_open == wanted_open:
            return Found({"found_by": "consultarProcedimento", "aberto": is_open})
        return Absent(f"consultarProcedimento: process {'open' if is_open else 'not open'}")
