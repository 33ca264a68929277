"""SigrcClient against SIGRC's HTTP answers (``responses``): auth, Retry-After, errors, PUT."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
import requests
import responses
from responses import matchers

from sei_bridge import config, errors
from sei_bridge.sigrc import models
from sei_bridge.sigrc.client import SigrcClient
from tests.unit.sigrc import raw
from tests.unit.sigrc.raw import BASE, TOKEN

EVENTOS = BASE + "/v1/eventos"
PROTOCOLO = "2026-00000001"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> SigrcClient:
    return SigrcClient(base_url=BASE + "/", token=TOKEN, orgao="SF", sleep=sleeps.append)


def page(
    *eventos: dict[str, object], ha_mais: bool = False, atraso: int = 120
) -> dict[str, object]:
    return {
        "eventos": list(eventos),
        "ultima_sequencia": eventos[-1]["sequencia"] if eventos else None,
        "ha_mais": ha_mais,
        "atraso_maximo_segundos": atraso,
    }


def test_every_call_carries_the_bearer_token_timeouts_and_orgao(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    mock.get(
        EVENTOS,
        json=page(raw.evento(1)),
        match=[
            matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"}),
            matchers.query_param_matcher({"apos": "0", "limite": "500", "orgao": "SF"}),
            matchers.request_kwargs_matcher({"timeout": (5.0, 30.0)}),
        ],
    )
    result = client.fetch_events(apos=0)
    assert [i.sequencia for i in result.items] == [1]
    assert (result.ha_mais, result.atraso_maximo_segundos, result.ultima_sequencia) == (
        False,
        120,
        1,
    )


def test_a_malformed_event_in_a_page_is_quarantined_and_the_rest_delivered(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    bad = raw.evento(2, "solicitacao.interacao", interacao={"texto": raw.TEXTO})
    mock.get(EVENTOS, json=page(raw.evento(1), bad, raw.evento(3, "algo.novo")))
    items = client.fetch_events(apos=0, limite=3).items
    assert [type(i) for i in items] == [
        models.Evento,
        models.QuarantinedEvent,
        models.UnknownEvent,
    ]
    assert isinstance(items[1], models.QuarantinedEvent)
    assert items[1].error == "interacao.id_interacao: missing"


def test_retry_after_is_honoured_then_the_call_succeeds(
    mock: responses.RequestsMock, client: SigrcClient, sleeps: list[float]
) -> None:
    mock.get(EVENTOS, status=503, headers={"Retry-After": "7"}, json={"erro": "manutenção"})
    mock.get(EVENTOS, status=429, headers={"Retry-After": "2"})
    mock.get(EVENTOS, json=page(raw.evento(1)))
    assert len(client.fetch_events(apos=0).items) == 1
    assert sleeps == [7.0, 2.0]
    assert len(mock.calls) == 3


def test_overload_is_retried_a_bounded_number_of_times(
    mock: responses.RequestsMock, client: SigrcClient, sleeps: list[float]
) -> None:
    mock.get(EVENTOS, status=429, headers={"Retry-After": "3"})
    with pytest.raises(errors.SigrcUnavailable) as info:
        client.fetch_events(apos=0)
    assert info.value.retry_after == 3.0
    assert sleeps == [3.0, 3.0, 3.0]
    assert len(mock.calls) == 4


def test_total_wait_is_bounded_by_max_retry_after(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    client = SigrcClient(base_url=BASE, token=TOKEN, max_retry_after=100, sleep=sleeps.append)
    mock.get(EVENTOS, status=503, headers={"Retry-After": "40"})
    with pytest.raises(errors.SigrcUnavailable):
        client.fetch_events(apos=0)
    assert sleeps == [40.0, 40.0]  # a third wait would pass 100 s


def test_a_retry_after_longer_than_allowed_is_not_waited_for(
    mock: responses.RequestsMock, client: SigrcClient, sleeps: list[float]
) -> None:
    mock.get(EVENTOS, status=503, headers={"Retry-After": "3600"})
    with pytest.raises(errors.SigrcUnavailable) as info:
        client.fetch_events(apos=0)
    assert info.value.retry_after == 3600.0
    assert sleeps == [] and len(mock.calls) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("9" * 400, 86400.0),  # float("9"*400) is inf: it overflowed the next attempt's time
        ("9" * 5000, 86400.0),  # past int()'s digit limit
        ("0000000000000000000012", 12.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 86400.0),  # would park the item until then
        ("Mon, 01 Jan 1990 00:00:00 GMT", 0.0),
        ("²", None),  # isdigit() is True and float() raises
        ("١٢", None),  # Arabic-Indic digits: isdigit() is True and float() reads 12
        ("12.5", None),
        ("-5", None),
        ("soon", None),
    ],
)
def test_retry_after_is_parsed_strictly_and_clamped(
    mock: responses.RequestsMock,
    client: SigrcClient,
    sleeps: list[float],
    header: str,
    expected: float | None,
) -> None:
    mock.get(EVENTOS, status=503, headers={"Retry-After": header})
    with pytest.raises(errors.SigrcUnavailable) as info:
        client.fetch_events(apos=0)
    assert info.value.retry_after == expected
    assert all(0 <= s <= 300 for s in sleeps)


def test_overload_without_retry_after_backs_off(
    mock: responses.RequestsMock, client: SigrcClient, sleeps: list[float]
) -> None:
    mock.get(EVENTOS, status=503)
    with pytest.raises(errors.SigrcUnavailable) as info:
        client.fetch_events(apos=0)
    assert info.value.retry_after is None
    assert sleeps == [2.0, 4.0, 8.0]


def test_401_is_a_one_line_configuration_error_without_retry(
    mock: responses.RequestsMock, client: SigrcClient, sleeps: list[float]
) -> None:
    mock.get(EVENTOS, status=401, json={"erro": "token inválido"})
    with pytest.raises(errors.SigrcAuthError) as info:
        client.fetch_events(apos=0)
    message = str(info.value)
    assert message == ("SIGRC refused the token (401): set SEI_BRIDGE_SIGRC_TOKEN to a valid token")
    assert isinstance(info.value, errors.ConfigurationError)
    assert len(mock.calls) == 1 and sleeps == []


def test_404_of_a_request_is_not_found_naming_the_protocolo(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    mock.get(f"{BASE}/v1/solicitacoes/{PROTOCOLO}", status=404, json={"erro": "não existe"})
    with pytest.raises(errors.SigrcNotFound, match=f"solicitação {PROTOCOLO} \\(404\\)"):
        client.get_solicitacao(PROTOCOLO)


def test_404_of_the_feed_itself_points_at_the_url_setting(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    mock.get(EVENTOS, status=404)
    with pytest.raises(errors.SigrcEndpointError, match="SEI_BRIDGE_SIGRC_URL"):
        client.fetch_events(apos=0)


def test_network_errors_and_5xx_are_unavailable(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    mock.get(EVENTOS, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(errors.SigrcUnavailable, match="cannot reach SIGRC"):
        client.fetch_events(apos=0)
    mock.replace(responses.GET, EVENTOS, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(errors.SigrcUnavailable, match=r"within 30\.0 s"):
        client.fetch_events(apos=0)
    mock.replace(responses.GET, EVENTOS, status=500)
    with pytest.raises(errors.SigrcUnavailable, match="HTTP 500"):
        client.fetch_events(apos=0)


def test_a_body_that_is_not_json_is_an_invalid_response(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    mock.get(EVENTOS, body="<html>proxy</html>")
    with pytest.raises(errors.SigrcInvalidResponse, match="not JSON"):
        client.fetch_events(apos=0)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            b"[" * 50_000 + b"]" * 50_000,
            "not JSON (nested too deep)",
        ),  # RecursionError escaped as a traceback
        ('{"erro": "ção"}'.encode("latin-1"), "not JSON (not UTF-8)"),  # requests swapped in U+FFFD
        (b"\xef\xbb\xbf{}", "not JSON (malformed)"),
    ],
)
def test_a_body_that_cannot_be_read_is_an_invalid_response_whatever_breaks(
    mock: responses.RequestsMock, client: SigrcClient, body: bytes, why: str
) -> None:
    mock.get(f"{BASE}/v1/solicitacoes/{PROTOCOLO}", body=body, content_type="application/json")
    with pytest.raises(errors.SigrcInvalidResponse, match=re.escape(why)):
        client.get_solicitacao(PROTOCOLO)


def test_sigrcs_erro_text_reaches_a_message_with_its_control_characters_escaped(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    mock.get(EVENTOS, status=400, json={"erro": "apos\x1b[2J inválido\r\nFORJADO\x00"})
    with pytest.raises(errors.SigrcError) as info:
        client.fetch_events(apos=0)
    assert str(info.value).endswith(": apos\\x1b[2J inválido FORJADO\\x00")


def test_the_token_never_shows_in_repr_or_errors(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    assert TOKEN not in repr(client) and "[secure]" in repr(client)
    found: list[str] = []
    for status in (400, 401, 403, 404, 409, 500, 503):
        mock.upsert(responses.GET, EVENTOS, status=status, headers={"Retry-After": "1000"})
        with pytest.raises(errors.SigrcError) as info:
            client.fetch_events(apos=0)
        found.append(str(info.value))
    assert all(TOKEN not in text and "\n" not in text for text in found)


def test_a_token_with_whitespace_is_refused_before_any_call() -> None:
    with pytest.raises(errors.ConfigurationError, match="spaces or control") as info:
        SigrcClient(base_url=BASE, token="abc\r\nX-Evil: 1")
    assert "abc" not in str(info.value)


def test_from_settings_requires_url_and_token() -> None:
    with pytest.raises(errors.ConfigurationError, match="SEI_BRIDGE_SIGRC_TOKEN"):
        SigrcClient.from_settings(config.Settings(sigrc_url=BASE))
    client = SigrcClient.from_settings(
        config.Settings(sigrc_url=BASE, sigrc_token=TOKEN, sigrc_read_timeout=9.0)
    )
    assert client.base_url == BASE and client.orgao == "SF"


def test_get_solicitacao_quotes_the_protocolo_and_parses_the_snapshot(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    protocolo = "2026/00000001"
    body = raw.solicitacao(protocolo, interacoes=[raw.interacao(1)])
    mock.get(f"{BASE}/v1/solicitacoes/2026%2F00000001", json=body)
    snapshot = client.get_solicitacao(protocolo)
    assert snapshot.protocolo == protocolo and len(snapshot.interacoes) == 1


def test_list_solicitacoes_reads_every_page(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    since = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def resumo(n: int) -> dict[str, object]:
        return {
            "protocolo": f"2026-{n:08d}",
            "servico_codigo": "3222",
            "situacao": "ABERTA",
            "quantidade_interacoes": n,
            "atualizada_em": "2026-11-20T14:03:11Z",
            "processo_sei": None,
        }

    for pagina, numbers in ((1, [1, 2]), (2, [3, 4]), (3, [5])):
        mock.get(
            BASE + "/v1/solicitacoes",
            json={
                "solicitacoes": [resumo(n) for n in numbers],
                "pagina": pagina,
                "total_paginas": 3,
            },
            match=[
                matchers.query_param_matcher(
                    {
                        "orgao": "SF",
                        "atualizadas_desde": since.isoformat(),
                        "pagina": str(pagina),
                        "limite": "500",
                    }
                )
            ],
        )
    summaries = list(client.list_solicitacoes(atualizadas_desde=since))
    assert [s.quantidade_interacoes for s in summaries] == [1, 2, 3, 4, 5]
    assert summaries[0].atualizada_em.tzinfo is not None


def test_put_processo_sei_204_and_its_repeat_succeed(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    url = f"{BASE}/v1/solicitacoes/{PROTOCOLO}/processo-sei"
    body = {"numero_processo": "6017.2026/0001234-5", "link_acesso": "https://sei/x"}
    mock.put(url, status=204, match=[matchers.json_params_matcher(body)])
    client.put_processo_sei(PROTOCOLO, body["numero_processo"], body["link_acesso"])
    client.put_processo_sei(PROTOCOLO, body["numero_processo"], body["link_acesso"])
    assert len(mock.calls) == 2
    request_body = mock.calls[0].request.body
    assert request_body is not None and json.loads(request_body) == body


def test_put_processo_sei_without_link_sends_only_the_number(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    url = f"{BASE}/v1/solicitacoes/{PROTOCOLO}/processo-sei"
    mock.put(url, status=204, match=[matchers.json_params_matcher({"numero_processo": "1/2026"})])
    client.put_processo_sei(PROTOCOLO, "1/2026")


def test_put_processo_sei_409_is_a_conflict_naming_the_protocolo(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    url = f"{BASE}/v1/solicitacoes/{PROTOCOLO}/processo-sei"
    mock.put(url, status=409, json={"erro": "outro processo"})
    with pytest.raises(errors.SigrcConflict, match=f"solicitação {PROTOCOLO} \\(409\\)"):
        client.put_processo_sei(PROTOCOLO, "6017.2026/0009999-9")
    assert len(mock.calls) == 1


def test_an_erro_echoing_personal_data_or_the_token_is_scrubbed_and_bounded(
    mock: responses.RequestsMock, client: SigrcClient
) -> None:
    echoed = f"pedido inválido: cpf=123.456.789-09 Authorization: Bearer {TOKEN} " + "x" * 5000
    mock.get(EVENTOS, status=422, json={"erro": echoed})
    with pytest.raises(errors.SigrcError) as info:
        client.fetch_events(apos=0)
    text = str(info.value)
    assert TOKEN not in text and "123.456.789-09" not in text
    assert "pedido inválido: cpf=[CPF]" in text
    assert text.endswith("characters cut]") and len(text) < 400
