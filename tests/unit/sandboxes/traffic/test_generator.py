"""The traffic generator: deterministic, realistic, and carrying every hard case on request."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from sei_bridge.sandboxes.traffic import (
    FAZENDA_SERVICES,
    MAX_TEXT_LENGTH,
    UNKNOWN_TIPO,
    HardCase,
    TrafficOptions,
)
from sei_bridge.sandboxes.traffic import generator as gen
from sei_bridge.sandboxes.traffic.vocab import cnpj_is_valid, cpf_is_valid
from sei_bridge.sigrc.models import Canal, Resultado

CLEAN = TrafficOptions(hard_cases=frozenset())


def _dump(traffic: list[gen.GeneratedRequest]) -> str:
    return json.dumps([[e.payload for e in r.events] for r in traffic], ensure_ascii=False)


@pytest.fixture(scope="module")
def traffic() -> list[gen.GeneratedRequest]:
    return gen.generate_traffic(2026, 400)


def _solicitacoes(traffic: list[gen.GeneratedRequest]) -> list[dict]:
    return [r.events[0].payload["solicitacao"] for r in traffic]


def _interacoes(traffic: list[gen.GeneratedRequest]) -> list[dict]:
    return [
        (e.intact or e.payload)["interacao"]
        for r in traffic
        for e in r.events
        if e.tipo == "solicitacao.interacao"
    ]


def test_same_seed_gives_the_same_traffic_and_another_seed_another() -> None:
    first = gen.generate_traffic(7, 40)
    assert _dump(first) == _dump(gen.generate_traffic(7, 40))
    assert _dump(first) != _dump(gen.generate_traffic(8, 40))


def test_one_request_can_be_regenerated_alone() -> None:
    traffic = gen.generate_traffic(7, 40)
    forced = gen.forced_hard_cases(40, gen.DEFAULT_OPTIONS)
    alone = gen.generate_request(7, 33, force=forced.get(33, frozenset()))
    assert _dump([alone]) == _dump([traffic[33]])


def test_protocolos_and_event_ids_are_unique(traffic: list[gen.GeneratedRequest]) -> None:
    protocolos = [r.protocolo for r in traffic]
    ids = [e.id_evento for r in traffic for e in r.events]
    assert len(set(protocolos)) == len(protocolos)
    assert len(set(ids)) == len(ids)
    assert protocolos == sorted(protocolos)  # opening order is protocolo order


def test_every_service_channel_result_and_author_appears(
    traffic: list[gen.GeneratedRequest],
) -> None:
    solicitacoes = _solicitacoes(traffic)
    assert {s["servico"]["codigo"] for s in solicitacoes} >= set(FAZENDA_SERVICES)
    assert {s["canal"] for s in solicitacoes} == {c.value for c in Canal}
    resultados = {
        e.payload["encerramento"]["resultado"]
        for r in traffic
        for e in r.events
        if e.tipo == "solicitacao.finalizada"
    }
    assert resultados == {r.value for r in Resultado}
    kinds = {(i["autor"], i["tipo"]) for i in _interacoes(traffic)}
    assert {a for a, _ in kinds} == {"MUNICIPE", "ORGAO", "ATENDENTE"}
    assert {t for _, t in kinds} == {
        "COMPLEMENTO",
        "RESPOSTA",
        "SOLICITACAO_COMPLEMENTO",
        "MANIFESTACAO",
    }


def test_citizens_have_valid_cpf_or_cnpj_and_anonymous_requests_have_none(
    traffic: list[gen.GeneratedRequest],
) -> None:
    solicitacoes = _solicitacoes(traffic)
    anonymous = [s for s in solicitacoes if s["anonima"]]
    identified = [s["municipe"] for s in solicitacoes if not s["anonima"]]
    assert anonymous and all(s["municipe"] is None for s in anonymous)
    cpfs = [m["cpf"] for m in identified if m["cpf"]]
    cnpjs = [m["cnpj"] for m in identified if m["cnpj"]]
    assert len(cpfs) > 100 and len(cnpjs) > 10
    assert all(cpf_is_valid(c) for c in cpfs)
    assert all(cnpj_is_valid(c) for c in cnpjs)
    assert all(m["nome"] for m in identified)


def test_addresses_are_in_sao_paulo(traffic: list[gen.GeneratedRequest]) -> None:
    addresses = [s["endereco"] for s in _solicitacoes(traffic) if s["endereco"]]
    assert len(addresses) > 200
    for address in addresses:
        assert len(address["cep"]) == 8 and address["cep"][0] in "0"
        if address["latitude"] is not None:
            assert -24.0 < address["latitude"] < -23.3
            assert -46.9 < address["longitude"] < -46.3
    assert any(not a["bairro"].isascii() for a in addresses)  # Jardim Ângela, Belém, ...


def test_timelines_are_ordered_and_closures_count_the_interactions_so_far(
    traffic: list[gen.GeneratedRequest],
) -> None:
    reopened = 0
    for request in traffic:
        events = request.events
        assert events[0].tipo == "solicitacao.registrada"
        moments = [e.ocorrido_em for e in events]
        assert moments == sorted(moments) and len(set(moments)) == len(moments)
        assert 0 <= request.interaction_count <= 5
        interactions = 0
        for event in events:
            if event.tipo == "solicitacao.interacao":
                interactions += 1
            elif event.tipo == "solicitacao.finalizada":
                assert event.payload["encerramento"]["quantidade_interacoes"] == interactions
        tipos = [e.tipo for e in events]
        if "solicitacao.reaberta" in tipos:
            reopened += 1
            i = tipos.index("solicitacao.reaberta")
            assert "solicitacao.finalizada" in tipos[:i] and "solicitacao.finalizada" in tipos[i:]
    assert reopened >= 5
    assert any(r.closure_count == 0 for r in traffic)  # some are still open


def test_every_hard_case_is_present_by_default_and_marked() -> None:
    traffic = gen.generate_traffic(11, 30)
    carried = Counter(case for r in traffic for case in r.hard_cases)
    assert set(carried) == set(HardCase)
    for request in traffic:
        solicitacao = request.events[0].payload["solicitacao"]
        descricao = solicitacao["descricao"]
        tipos = [e.tipo for e in request.events]
        assert (HardCase.UNICODE in request.hard_cases) == any(ord(c) > 0xFFFF for c in descricao)
        assert (HardCase.MARKUP in request.hard_cases) == ("<script>alert(1)</script>" in descricao)
        if HardCase.MARKUP in request.hard_cases:
            assert "]]>" in descricao and "&amp;" in descricao and '"' in descricao
        assert (HardCase.LONG_TEXT in request.hard_cases) == (len(descricao) == MAX_TEXT_LENGTH)
        assert (HardCase.UNKNOWN_TIPO in request.hard_cases) == (UNKNOWN_TIPO in tipos)
        malformed = [e for e in request.events if e.intact is not None]
        assert (HardCase.MALFORMED in request.hard_cases) == bool(malformed)
        unmapped = solicitacao["servico"]["codigo"] == "9999"
        assert (HardCase.UNMAPPED_SERVICE in request.hard_cases) == unmapped


def test_a_malformed_event_breaks_only_the_interaction_date() -> None:
    traffic = gen.generate_traffic(
        11, 30, TrafficOptions(hard_cases=frozenset({HardCase.MALFORMED}))
    )
    broken = [e for r in traffic for e in r.events if e.intact is not None]
    assert broken
    for event in broken:
        served, intact = event.payload["interacao"], event.intact["interacao"]  # type: ignore[index]
        assert served.get("ocorrida_em") != intact["ocorrida_em"]
        assert {k: v for k, v in served.items() if k != "ocorrida_em"} == {
            k: v for k, v in intact.items() if k != "ocorrida_em"
        }


def test_the_unmapped_service_is_not_a_fazenda_service() -> None:
    assert gen.UNMAPPED_SERVICE.codigo not in FAZENDA_SERVICES


def test_hard_cases_can_be_switched_off() -> None:
    traffic = gen.generate_traffic(11, 200, CLEAN)
    assert all(not r.hard_cases for r in traffic)
    for request in traffic:
        for event in request.events:
            text = json.dumps(event.payload, ensure_ascii=False)
            assert event.intact is None and event.tipo != UNKNOWN_TIPO
            assert "<script>" not in text and not any(ord(c) > 0xFFFF for c in text)
        assert request.servico_codigo in FAZENDA_SERVICES


def test_hard_case_rate_controls_how_often_they_appear() -> None:
    options = TrafficOptions(hard_case_rate=0.5, ensure_hard_cases=False)
    traffic = gen.generate_traffic(3, 200, options)
    share = sum(HardCase.MARKUP in r.hard_cases for r in traffic) / len(traffic)
    assert 0.35 < share < 0.65


def test_attachments_range_from_hundreds_of_bytes_to_megabytes(
    traffic: list[gen.GeneratedRequest],
) -> None:
    files = [f for r in traffic for f in r.files]
    sizes = [f.tamanho_bytes for f in files]
    assert min(sizes) < 1000 and max(sizes) > 1024 * 1024
    assert {f.tipo_conteudo for f in files} == {"application/pdf", "image/png"}
    for file in (
        min(files, key=lambda f: f.tamanho_bytes),
        max(files, key=lambda f: f.tamanho_bytes),
    ):
        content = file.content()
        assert len(content) == file.tamanho_bytes
        assert hashlib.sha256(content).hexdigest() == file.sha256


def test_anexo_metadata_matches_the_files_each_event_introduces(
    traffic: list[gen.GeneratedRequest],
) -> None:
    for request in traffic[:50]:
        for event in request.events:
            body = event.intact or event.payload
            anexos = (body.get("solicitacao") or body.get("interacao") or {}).get("anexos", [])
            assert anexos == [f.to_json() for f in event.files]


def test_other_orgao_traffic_is_off_by_default_and_available() -> None:
    assert {r.orgao_sigla for r in gen.generate_traffic(5, 50)} == {"SF"}
    mixed = gen.generate_traffic(5, 50, TrafficOptions(other_orgao_rate=0.5))
    assert {r.orgao_sigla for r in mixed} == {"SF", "SMSUB"}


@pytest.mark.parametrize(
    ("cpf", "valid"),
    [("52998224725", True), ("52998224724", False), ("11111111111", False), ("5299822472", False)],
)
def test_cpf_validation(cpf: str, valid: bool) -> None:
    assert cpf_is_valid(cpf) is valid


@pytest.mark.parametrize(
    ("cnpj", "valid"),
    [("11222333000181", True), ("11222333000180", False), ("00000000000000", False)],
)
def test_cnpj_validation(cnpj: str, valid: bool) -> None:
    assert cnpj_is_valid(cnpj) is valid
