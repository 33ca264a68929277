"""Mapping files: the keys of DESIGN.md, one-line errors naming file, key and fix, and the
check against SEI's catalogs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sei_bridge import errors, mapping
from sei_bridge.sandboxes.traffic.vocab import FAZENDA_SERVICES, UNMAPPED_SERVICE
from sei_bridge.sei import types

REPO = Path(__file__).resolve().parents[2]
FAZENDA = REPO / "mappings" / "fazenda.yaml"

VALID: dict[str, Any] = {
    "sei": {"unidade": "110000001", "numero_protocolo": "SP156-{protocolo}"},
    "defaults": {
        "nivel_acesso": 1,
        "hipotese_legal": "34",
        "series": {"solicitacao": "12", "interacao": "13", "anexo": "14", "finalizado": "15"},
    },
    "servicos": {
        "3222": {"tipo_procedimento": "100000345", "assuntos": ["052.1"]},
        "4015": {
            "tipo_procedimento": "100000346",
            "unidade": "110000002",
            "concluir_ao_finalizar": True,
            "series": {"anexo": "99"},
        },
    },
}


def _with(change: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    for dotted, value in (change or {}).items():
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        node[last] = value
    for dotted in drop:
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        del node[last]
    return data


def _error(data: Any) -> str:
    with pytest.raises(errors.MappingError) as info:
        mapping.parse_mapping(data, source="m.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("m.yaml: ")
    return message


def test_the_shipped_fazenda_mapping_covers_every_generated_service_but_the_unmapped_one() -> None:
    loaded = mapping.load_mappings(FAZENDA.parent)
    assert set(loaded.servicos) == set(FAZENDA_SERVICES)
    assert loaded.servico(UNMAPPED_SERVICE.codigo) is None
    iptu = loaded.servico("3222")
    assert iptu is not None
    assert iptu.unidade == "110000001"
    assert iptu.numero_protocolo_for("2026-00000001") == "SP156-2026-00000001"
    assert iptu.nivel_acesso is types.NivelAcesso.RESTRITO and iptu.hipotese_legal == "34"
    assert iptu.series == mapping.Series("12", "13", "14", "15")
    iss = loaded.servico("4015")
    assert iss is not None and iss.unidade == "110000002"


def test_defaults_apply_and_a_service_overrides_unit_and_single_series() -> None:
    m = mapping.parse_mapping(VALID, source="m.yaml")
    plain, iss = m.servicos["3222"], m.servicos["4015"]
    assert plain.unidade == "110000001" and not plain.concluir_ao_finalizar
    assert plain.assuntos == ("052.1",)
    assert iss.unidade == "110000002" and iss.concluir_ao_finalizar
    assert iss.series == mapping.Series("12", "13", "99", "15")
    assert iss.assuntos == ()


def test_without_numero_protocolo_sei_numbers_the_processes() -> None:
    m = mapping.parse_mapping(_with(drop=("sei.numero_protocolo",)), source="m.yaml")
    assert m.servicos["3222"].numero_protocolo_for("2026-1") is None


def test_unquoted_numeric_ids_are_accepted_as_text() -> None:
    m = mapping.parse_mapping(
        _with({"sei.unidade": 110000001, "servicos": {3222: {"tipo_procedimento": 100000345}}}),
        source="m.yaml",
    )
    assert m.unidade == "110000001"
    assert m.servicos["3222"].tipo_procedimento == "100000345"


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (_with(drop=("sei",)), "sei is missing"),
        (_with(drop=("sei.unidade",)), "sei.unidade is missing"),
        (_with({"sei.unidad": "1"}), "sei.unidad is not a known key"),
        (_with({"servicos.3222.tipo_procedimeto": "1"}), "servicos.3222.tipo_procedimeto"),
        (_with(drop=("servicos.3222.tipo_procedimento",)), "servicos.3222.tipo_procedimento"),
        (_with(drop=("defaults.hipotese_legal",)), "defaults.hipotese_legal is missing"),
        (_with(drop=("defaults.series.finalizado",)), "defaults.series.finalizado is missing"),
        (_with({"defaults.nivel_acesso": 2}), "sigiloso"),
        (_with({"defaults.nivel_acesso": "x"}), "defaults.nivel_acesso"),
        (_with({"sei.numero_protocolo": "SP156-{id}"}), "sei.numero_protocolo"),
        (_with({"sei.numero_protocolo": "SP156"}), "sei.numero_protocolo"),
        (_with({"servicos.3222.concluir_ao_finalizar": "yes"}), "concluir_ao_finalizar"),
        (_with({"servicos.3222.assuntos": "052.1"}), "servicos.3222.assuntos must be a list"),
        (_with({"servicos": {}}), "servicos must map at least one"),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
def test_a_wrong_file_is_refused_naming_the_key(data: Any, names: str) -> None:
    assert names in _error(data)


def test_public_level_needs_no_hipotese_and_drops_it() -> None:
    m = mapping.parse_mapping(
        _with({"defaults.nivel_acesso": 0}, drop=("defaults.hipotese_legal",)), source="m.yaml"
    )
    assert m.servicos["3222"].nivel_acesso is types.NivelAcesso.PUBLICO
    assert m.servicos["3222"].hipotese_legal is None


def test_folder_errors_name_the_folder_and_the_setting(tmp_path: Path) -> None:
    with pytest.raises(errors.MappingError, match="SEI_BRIDGE_MAPPINGS"):
        mapping.load_mappings(tmp_path / "missing")
    with pytest.raises(errors.MappingError, match=r"no \*\.yaml"):
        mapping.load_mappings(tmp_path)
    (tmp_path / "bad.yaml").write_text("sei: [unclosed\n", encoding="utf-8")
    with pytest.raises(errors.MappingError, match=r"bad\.yaml: is not valid YAML at line"):
        mapping.load_mappings(tmp_path)


def test_every_file_is_loaded_and_a_service_mapped_twice_is_refused(tmp_path: Path) -> None:
    second = _with({"servicos": {"7001": {"tipo_procedimento": "100000349"}}})
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(VALID), encoding="utf-8")
    (tmp_path / "b.yml").write_text(yaml.safe_dump(second), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    loaded = mapping.load_mappings(tmp_path)
    assert set(loaded.servicos) == {"3222", "4015", "7001"}
    restituicao = loaded.servico("7001")
    assert restituicao is not None and restituicao.source.endswith("b.yml")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(VALID), encoding="utf-8")
    with pytest.raises(errors.MappingError, match=r"servicos\.3222 is also mapped in"):
        mapping.load_mappings(tmp_path)


class Catalogs:
    """SEI's catalogs as the sandbox's default installation has them."""

    def listar_unidades(self) -> list[types.Unidade]:
        return [types.Unidade(f"11000000{i}", f"SF/{i}", "") for i in range(1, 6)]

    def listar_tipos_procedimento(self) -> list[types.TipoProcedimento]:
        return [types.TipoProcedimento(str(100000345 + i), "t") for i in range(5)]

    def listar_series(self) -> list[types.Serie]:
        return [types.Serie(s, "s") for s in ("12", "13", "14", "15")]

    def listar_hipoteses_legais(
        self, *, nivel_acesso: types.NivelAcesso | None = None
    ) -> list[types.HipoteseLegal]:
        return [types.HipoteseLegal("34", "Informação Pessoal", None, types.NivelAcesso.RESTRITO)]


def test_the_fazenda_mapping_matches_the_sandbox_catalog() -> None:
    assert mapping.check_against_sei(mapping.load_mappings(FAZENDA.parent), Catalogs()) == []


def test_check_against_sei_reports_every_unknown_id_once() -> None:
    data = _with(
        {
            "sei.unidade": "999",
            "servicos.3222.tipo_procedimento": "1",
            "defaults.hipotese_legal": "7",
        }
    )
    problems = mapping.check_against_sei(
        mapping.combine([mapping.parse_mapping(data, source="m.yaml")]), Catalogs()
    )
    text = "\n".join(problems)
    assert "sei.unidade 999" in text
    assert "servicos.3222.tipo_procedimento 1" in text
    assert "série anexo 99" in text  # the override of 4015
    assert "hipótese legal 7 does not apply to nível de acesso 1" in text
    assert len(problems) == len(set(problems))
    assert all("\n" not in p and p.startswith("m.yaml") for p in problems)


def _with_indicadores(file_level: object, servico_level: object | None = None) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(_INDICADORES_BASE)
    if file_level is not None:
        data["indicadores"] = file_level
    if servico_level is not None:
        data["servicos"]["3222"]["indicadores"] = servico_level
    return data


_INDICADORES_BASE: dict[str, Any] = {
    "sei": {"unidade": "110000001"},
    "defaults": {
        "nivel_acesso": 0,
        "series": {"solicitacao": "1", "interacao": "2", "anexo": "3", "finalizado": "4"},
    },
    "servicos": {"3222": {"tipo_procedimento": "9"}, "4015": {"tipo_procedimento": "9"}},
}


def test_indicadores_thresholds_layer_file_then_servico() -> None:
    from sei_bridge import indicators

    parsed = mapping.parse_mapping(
        _with_indicadores(
            {"abertura_p95_horas": {"alerta": 2, "critico": 8}},
            {"no_prazo_percentual": {"alerta": 95, "critico": 80}},
        ),
        source="f.yaml",
    )
    own = parsed.servicos["3222"].indicadores
    assert own["abertura_p95_horas"] == indicators.Threshold(2, 8)
    assert own["no_prazo_percentual"] == indicators.Threshold(95, 80)
    assert "no_prazo_percentual" not in parsed.servicos["4015"].indicadores
    combined = mapping.combine([parsed])
    assert combined.default_indicator_thresholds()["abertura_p95_horas"].critico == 8
    assert combined.default_indicator_thresholds()["finalizacao_p95_dias"].critico == 30


@pytest.mark.parametrize(
    ("file_level", "servico_level", "needle"),
    [
        ({"abertura_horas": {"alerta": 1, "critico": 2}}, None, "indicadores.abertura_horas"),
        ({"abertura_p95_horas": {"alerta": "x", "critico": 2}}, None, "alerta must be a number"),
        ({"abertura_p95_horas": {"alerta": 9, "critico": 2}}, None, "not above alerta"),
        (None, {"no_prazo_percentual": {"alerta": 80, "critico": 90}}, "not below alerta"),
        (None, {"no_prazo_percentual": {"alerta": 180, "critico": 90}}, "above 100"),
        ({"abertura_p95_horas": [1, 2]}, None, "must be a mapping"),
    ],
)
def test_bad_indicadores_are_one_line_errors(
    file_level: object, servico_level: object, needle: str
) -> None:
    with pytest.raises(errors.MappingError) as caught:
        mapping.parse_mapping(_with_indicadores(file_level, servico_level), source="f.yaml")
    message = str(caught.value)
    assert needle in message and "\n" not in message and message.startswith("f.yaml: ")


def test_the_fazenda_example_sets_indicator_thresholds() -> None:
    from sei_bridge import indicators

    loaded = mapping.load_mappings(Path(__file__).resolve().parents[2] / "mappings")
    assert loaded.servicos["5030"].indicadores["finalizacao_p95_dias"] == indicators.Threshold(
        5, 10
    )
    assert loaded.servicos["3222"].indicadores["finalizacao_p95_dias"].critico == 30
