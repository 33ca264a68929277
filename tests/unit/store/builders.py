"""Feed items and cursors for the store tests.

Every registered request carries a citizen with a CPF, a name and an address, so that tests can
check none of it reaches the audit trail.
"""

from __future__ import annotations

import datetime as dt

from sei_bridge.sigrc import models
from sei_bridge.sigrc.feed import FeedCursor
from sei_bridge.store import ActionKind, InboxEvent, NewAction, RequestUpdate, Store

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
CPF = "39053344705"
NOME = "Maria Aparecida da Silva"
LOGRADOURO = "Rua das Laranjeiras"


def cursor(watermark: int) -> FeedCursor:
    """A feed cursor at ``watermark`` (what the feed reader hands over with a batch)."""
    return FeedCursor(watermark=watermark)


def anexo(n: int) -> models.Anexo:
    return models.Anexo(
        id_anexo=f"an-{n}",
        nome_arquivo=f"documento-{n}.pdf",
        tipo_conteudo="application/pdf",
        tamanho_bytes=1000 + n,
        sha256="ab" * 32,
    )


def solicitacao(protocolo: str, *, servico: str = "3222") -> models.Solicitacao:
    return models.Solicitacao(
        protocolo=protocolo,
        servico_codigo=servico,
        servico_nome="IPTU - revisão",
        canal=models.Canal.PORTAL,
        orgao_sigla="SF",
        orgao_nome="Secretaria Municipal da Fazenda",
        unidade_codigo="SF/DIV",
        unidade_nome="Divisão",
        anonima=False,
        descricao="Peço revisão do valor venal.",
        anexos=(anexo(1), anexo(2)),
        aberta_em=T0,
        situacao=models.Situacao.ABERTA,
        municipe=models.Municipe(nome=NOME, cpf=CPF, email="maria@example.org"),
        endereco=models.Endereco(logradouro=LOGRADOURO, numero="10", latitude=-23.5),
        prazo_em=T0 + dt.timedelta(days=30),
    )


def registrada(sequencia: int, protocolo: str = "P1", *, servico: str = "3222") -> models.Evento:
    return models.Evento(
        id_evento=f"ev-{sequencia}",
        sequencia=sequencia,
        tipo=models.TipoEvento.REGISTRADA,
        ocorrido_em=T0 + dt.timedelta(seconds=sequencia),
        protocolo=protocolo,
        solicitacao=solicitacao(protocolo, servico=servico),
    )


def interacao(sequencia: int, protocolo: str = "P1") -> models.Evento:
    return models.Evento(
        id_evento=f"ev-{sequencia}",
        sequencia=sequencia,
        tipo=models.TipoEvento.INTERACAO,
        ocorrido_em=T0 + dt.timedelta(seconds=sequencia),
        protocolo=protocolo,
        interacao=models.Interacao(
            id_interacao=f"int-{sequencia}",
            autor="MUNICIPE",
            tipo="COMPLEMENTO",
            texto=f"Segue complemento, meu CPF é {CPF}.",
            anexos=(anexo(sequencia),),
            ocorrida_em=T0 + dt.timedelta(seconds=sequencia),
            canal="PORTAL",
        ),
    )


def unknown(sequencia: int, protocolo: str = "P1") -> models.UnknownEvent:
    raw = {"id_evento": f"ev-{sequencia}", "sequencia": sequencia, "tipo": "solicitacao.avaliada"}
    return models.UnknownEvent(f"ev-{sequencia}", sequencia, "solicitacao.avaliada", protocolo, raw)


def malformed(sequencia: int | None, protocolo: str | None = "P1") -> models.QuarantinedEvent:
    raw = {"id_evento": f"bad-{sequencia}", "sequencia": sequencia, "tipo": "solicitacao.interacao"}
    return models.QuarantinedEvent(
        id_evento=f"bad-{sequencia}",
        sequencia=sequencia,
        protocolo=protocolo,
        error="interacao.ocorrida_em: not an RFC 3339 date-time",
        raw=raw,
    )


def open_actions() -> list[NewAction]:
    """What a registrada plans: open, two attachments (non-blocking), tell SIGRC."""
    return [
        NewAction(ActionKind.OPEN, "", {"tipo_procedimento": "100000345"}),
        NewAction(ActionKind.ANEXO, "an-1", {"id_anexo": "an-1"}, blocking=False),
        NewAction(ActionKind.ANEXO, "an-2", {"id_anexo": "an-2"}, blocking=False),
        NewAction(ActionKind.SIGRC_PROCESSO),
    ]


def recorded(
    store: Store, *items: models.FeedItem, watermark: int | None = None
) -> list[InboxEvent]:
    """Record ``items`` with a cursor at ``watermark`` (default: the highest sequencia) and
    return the settled events."""
    if watermark is None:
        watermark = max((i.sequencia or 0) for i in items)
    store.record_feed_batch(list(items), cursor(watermark))
    return store.settled_events(1000)


def planned_request(
    store: Store,
    protocolo: str = "P1",
    *,
    sequencia: int = 1,
    actions: list[NewAction] | None = None,
) -> None:
    """A registered request whose actions are planned."""
    store.record_feed_batch([registrada(sequencia, protocolo)], cursor(sequencia))
    event = next(e for e in store.events_of(protocolo) if e.sequencia == sequencia)
    store.plan_event(
        event.id,
        request=RequestUpdate(protocolo, servico_codigo="3222"),
        actions=open_actions() if actions is None else actions,
    )
