"""Requests SEI would refuse are refused before sending, with a message naming the rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence

import pytest
import responses

from sei_bridge import errors
from sei_bridge.sei import types, validation
from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded

PROCEDIMENTO = types.NovoProcedimento(
    id_tipo_procedimento="100000341",
    especificacao="Solicitação SP156",
    nivel_acesso=types.NivelAcesso.RESTRITO,
    id_hipotese_legal="4",
)
GERADO = types.NovoDocumento(
    tipo=types.TipoDocumento.GERADO,
    id_serie="12",
    protocolo_procedimento=recorded.PROCESSO,
    conteudo=b"<p>texto</p>",
)
RECEBIDO = types.NovoDocumento(
    tipo=types.TipoDocumento.RECEBIDO,
    id_serie="14",
    protocolo_procedimento=recorded.PROCESSO,
    data=dt.date(2026, 11, 22),
    nome_arquivo="foto.pdf",
    conteudo=b"%PDF-1.4",
)


def test_stored_length_counts_references_for_characters_outside_latin1() -> None:
    assert validation.stored_length("ação") == 4
    assert validation.stored_length("😀") == len("&#128512;") == 9
    assert validation.stored_length("中") == len("&#20013;")


def _gerar(
    client: SeiClient,
    procedimento: types.NovoProcedimento,
    documentos: Sequence[types.NovoDocumento] = (),
) -> str:
    with pytest.raises(errors.SeiRequestInvalid) as caught:
        client.gerar_procedimento(
            id_unidade=recorded.UNIDADE, procedimento=procedimento, documentos=documentos
        )
    assert caught.value.operation == "gerarProcedimento"
    assert isinstance(caught.value, errors.SeiValidationFault)  # quarantined like SEI's refusals
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"especificacao": "x" * 101}, "especificação has 101 characters"),
        # 12 emoji look short but SEI stores 12 × 9 = 108 characters
        ({"especificacao": "😀" * 12}, "especificação has 108 characters"),
        ({"observacao": "o" * 1001}, "observação has 1001 characters"),
        ({"id_hipotese_legal": None}, "restrito needs a hipótese legal"),
        ({"nivel_acesso": types.NivelAcesso.SIGILOSO}, "sigiloso cannot be created"),
        ({"numero_protocolo": "SP156-2026-1"}, "only accepted together with data_autuacao"),
        ({"interessados": (types.Interessado(),)}, "interessado 1 has no identification"),
    ],
)
def test_procedimento_limits(
    client: SeiClient, sei_http: responses.RequestsMock, change: dict[str, object], rule: str
) -> None:
    message = _gerar(client, dataclasses.replace(PROCEDIMENTO, **change))  # type: ignore[arg-type]
    assert rule in message
    assert len(sei_http.calls) == 0
    assert "xxxx" not in message and "😀" not in message  # the text itself is never quoted


def test_limits_are_inclusive() -> None:
    validation.check_procedimento(
        "gerarProcedimento",
        dataclasses.replace(PROCEDIMENTO, especificacao="x" * 100, observacao="o" * 1000),
    )
    validation.check_documento("incluirDocumento", dataclasses.replace(GERADO, descricao="d" * 250))


def test_at_most_five_documentos_per_gerar_procedimento(
    client: SeiClient, sei_http: responses.RequestsMock
) -> None:
    documentos = [dataclasses.replace(GERADO, protocolo_procedimento=None)] * 6
    assert "6 documentos" in _gerar(client, PROCEDIMENTO, documentos)
    assert len(sei_http.calls) == 0


@pytest.mark.parametrize(
    ("documento", "rule"),
    [
        (dataclasses.replace(GERADO, descricao="d" * 251), "descrição has 251 characters"),
        (dataclasses.replace(GERADO, data=dt.date(2026, 1, 1)), "cannot have a data"),
        (dataclasses.replace(GERADO, nome_arquivo="a.html"), "cannot have a nome_arquivo"),
        (dataclasses.replace(RECEBIDO, data=None), "needs a data"),
        (dataclasses.replace(RECEBIDO, id_arquivo="7"), "either conteudo or id_arquivo"),
        (dataclasses.replace(RECEBIDO, conteudo=None), "needs conteudo or id_arquivo"),
        (dataclasses.replace(RECEBIDO, nome_arquivo=None), "needs nome_arquivo"),
        (dataclasses.replace(GERADO, protocolo_procedimento=None), "needs protocolo_procedimento"),
        (
            dataclasses.replace(GERADO, nivel_acesso=types.NivelAcesso.RESTRITO),
            "restrito needs a hipótese legal",
        ),
    ],
)
def test_documento_rules(
    client: SeiClient, sei_http: responses.RequestsMock, documento: types.NovoDocumento, rule: str
) -> None:
    with pytest.raises(errors.SeiRequestInvalid) as caught:
        client.incluir_documento(id_unidade=recorded.UNIDADE, documento=documento)
    assert rule in str(caught.value)
    assert caught.value.fault and rule in caught.value.fault
    assert len(sei_http.calls) == 0


def test_valid_documentos_pass() -> None:
    validation.check_documento("incluirDocumento", GERADO)
    validation.check_documento("incluirDocumento", RECEBIDO)
    validation.check_documento(
        "incluirDocumento", dataclasses.replace(RECEBIDO, conteudo=None, id_arquivo="9")
    )


@pytest.mark.parametrize(
    ("nome", "rule"),
    [
        ("foto 😀.pdf", "outside Latin-1"),
        ("a – b.pdf", "outside Latin-1"),
        ("a&#65;.pdf", "outside Latin-1 or '&#'"),
        ("x" * 252 + ".pdf", "256 characters (limit 255)"),
        ("semextensao", "no extension"),
    ],
)
def test_file_names_sei_refuses_are_not_sent(nome: str, rule: str) -> None:
    documento = types.NovoDocumento(
        tipo=types.TipoDocumento.RECEBIDO,
        id_serie="14",
        protocolo_procedimento="1",
        data=dt.date(2026, 1, 1),
        nome_arquivo=nome,
        conteudo=b"x",
    )
    with pytest.raises(errors.SeiRequestInvalid, match=re.escape(rule)):
        validation.check_documento("incluirDocumento", documento)
