"""Stored events come back exactly as the feed delivered them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sei_bridge import errors
from sei_bridge.sigrc import models
from sei_bridge.store import codec
from tests.unit.store import builders as b


@pytest.mark.parametrize(
    "evento",
    [
        b.registrada(1),
        b.interacao(2),
        models.Evento(
            id_evento="ev-3",
            sequencia=3,
            tipo=models.TipoEvento.FINALIZADA,
            ocorrido_em=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
            protocolo="P1",
            encerramento=models.Encerramento(
                resultado=models.Resultado.ATENDIDA,
                texto="Revisão concedida.",
                encerrada_em=b.T0,
                quantidade_interacoes=2,
            ),
        ),
        models.Evento(
            id_evento="ev-4",
            sequencia=4,
            tipo=models.TipoEvento.REABERTA,
            ocorrido_em=b.T0,
            protocolo="P1",
            reabertura=models.Reabertura(motivo="Discordo.", reaberta_em=b.T0),
        ),
    ],
    ids=["registrada", "interacao", "finalizada", "reaberta"],
)
def test_round_trip_through_json(evento: models.Evento) -> None:
    stored = json.loads(json.dumps(codec.encode_evento(evento)))
    back = codec.decode_evento(stored)
    assert back == evento
    assert back.ocorrido_em.utcoffset() == evento.ocorrido_em.utcoffset()


def test_an_older_payload_without_optional_fields_still_decodes() -> None:
    stored = codec.encode_evento(b.registrada(1))
    del stored["solicitacao"]["tema"]
    del stored["solicitacao"]["interacoes"]
    assert codec.decode_evento(stored).solicitacao == b.registrada(1).solicitacao


def test_a_corrupted_payload_names_the_field_and_never_the_value() -> None:
    stored = codec.encode_evento(b.registrada(1))
    stored["solicitacao"]["municipe"]["cpf"] = 39053344705
    with pytest.raises(errors.StoreError) as caught:
        codec.decode_evento(stored)
    assert "Evento.solicitacao.municipe.cpf: not a str" in str(caught.value)
    assert "39053344705" not in str(caught.value)
    stored = codec.encode_evento(b.registrada(1))
    stored["tipo"] = "solicitacao.sumiu"
    with pytest.raises(errors.StoreError, match=r"Evento\.tipo: not a TipoEvento"):
        codec.decode_evento(stored)
    stored = codec.encode_evento(b.registrada(1))
    del stored["protocolo"]
    with pytest.raises(errors.StoreError, match=r"Evento\.protocolo: missing"):
        codec.decode_evento(stored)
