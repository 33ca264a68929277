"""Small builders of SIGRC models and ledger rows for the engine's unit tests."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sei_bridge import mapping
from sei_bridge.sigrc import models
from sei_bridge.store.types import Action, ActionKind, ActionState, NewAction

BRT = dt.timezone(dt.timedelta(hours=-3))
T0 = dt.datetime(2026, 11, 20, 14, 3, 11, tzinfo=BRT)
UTC0 = dt.datetime(2026, 11, 20, 17, 3, 11, tzinfo=dt.UTC)
PROTOCOLO = "2026-00000001"
FAZENDA_DIR = Path(__file__).resolve().parents[3] / "mappings"

_ids = itertools.count(1)


def fazenda() -> mapping.Mappings:
    return mapping.load_mappings(FAZENDA_DIR)


def anexo(
    id_anexo: str = "a1", nome: str = "carne-iptu.pdf", tipo: str = "application/pdf"
) -> models.Anexo:
    return models.Anexo(id_anexo, nome, tipo, 1234, "0" * 64)


def solicitacao(
    protocolo: str = PROTOCOLO,
    *,
    servico: str = "3222",
    anexos: Sequence[models.Anexo] = (),
    interacoes: Sequence[models.Interacao] = (),
    anonima: bool = False,
    nome: str = "Maria da Silva",
    descricao: str = "Peço a revisão do valor venal.",
) -> models.Solicitacao:
    return models.Solicitacao(
        protocolo=protocolo,
        servico_codigo=servico,
        servico_nome="IPTU - Revisão do valor venal",
        canal=models.Canal.PORTAL,
        orgao_sigla="SF",
        orgao_nome="Secretaria Municipal da Fazenda",
        unidade_codigo="SF-DIVCAD",
        unidade_nome="Divisão de Cadastro Imobiliário",
        anonima=anonima,
        descricao=descricao,
        anexos=tuple(anexos),
        aberta_em=T0,
        situacao=models.Situacao.ABERTA,
        municipe=None if anonima else models.Municipe(nome=nome, cpf="12345678909"),
        interacoes=tuple(interacoes),
    )


def interacao(
    id_interacao: str = "i1",
    *,
    anexos: Sequence[models.Anexo] = (),
    texto: str = "Segue o documento pedido.",
    minutes: int = 60,
) -> models.Interacao:
    return models.Interacao(
        id_interacao=id_interacao,
        autor="MUNICIPE",
        tipo="COMPLEMENTO",
        texto=texto,
        anexos=tuple(anexos),
        ocorrida_em=T0 + dt.timedelta(minutes=minutes),
        canal="PORTAL",
    )


def encerramento(quantidade: int = 0, texto: str = "Revisão deferida.") -> models.Encerramento:
    return models.Encerramento(
        resultado=models.Resultado.ATENDIDA,
        texto=texto,
        encerrada_em=T0 + dt.timedelta(days=3),
        quantidade_interacoes=quantidade,
        responsavel_unidade="SF-DIVCAD",
    )


def evento(tipo: models.TipoEvento, protocolo: str = PROTOCOLO, **payload: Any) -> models.Evento:
    n = next(_ids)
    return models.Evento(
        id_evento=f"00000000-0000-4000-8000-{n:012d}",
        sequencia=n,
        tipo=tipo,
        ocorrido_em=T0,
        protocolo=protocolo,
        **payload,
    )


def action_from(
    new: NewAction,
    *,
    protocolo: str = PROTOCOLO,
    seq: int = 0,
    state: ActionState = ActionState.PENDING,
    attempts: int = 1,
    last_error: str | None = None,
    result: dict[str, Any] | None = None,
    action_id: int | None = None,
) -> Action:
    """An Action row as the store would hand it out for ``new``."""
    return Action(
        id=action_id if action_id is not None else next(_ids),
        protocolo=protocolo,
        kind=new.kind,
        source_id=new.source_id,
        seq=seq,
        state=state,
        blocking=new.blocking,
        attempts=attempts,
        next_attempt_at=UTC0,
        lease_owner="w",
        lease_expires_at=UTC0,
        last_error=last_error,
        payload=dict(new.payload),
        result=result or {},
        evidence=None,
        event_id=1,
        created_at=UTC0,
        updated_at=UTC0,
        state_since=UTC0,
    )


def opened(
    numero: str = "SP156-2026-00000001", unidade: str = "110000001", action_id: int = 1
) -> Action:
    """A DONE OPEN action with its process ids."""
    return action_from(
        NewAction(ActionKind.OPEN, "", {"servico": "3222"}),
        state=ActionState.DONE,
        result={
            "id_procedimento": "900",
            "procedimento_formatado": numero,
            "link_acesso": "http://sei/900",
            "unidade": unidade,
        },
        action_id=action_id,
    )
