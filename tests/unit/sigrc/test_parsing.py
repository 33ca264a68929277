"""JSON → models: valid events, unknown tipos, and malformed events quarantined with the field
path and never the value."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sigrc import models, parsing
from tests.unit.sigrc import raw
from tests.unit.sigrc.raw import DELETE, edited


def quarantined(data: Any) -> models.QuarantinedEvent:
    item = parsing.parse_event(data)
    assert isinstance(item, models.QuarantinedEvent), item
    return item


def assert_no_personal_data(text: str) -> None:
    for secret in (raw.CPF, raw.NOME, raw.TEXTO, "Laranjeiras", "12345678909"):
        assert secret not in text


# --- valid events -----------------------------------------------------------------------------


def test_registrada_becomes_evento_with_its_solicitacao() -> None:
    item = parsing.parse_event(raw.evento(7))
    assert isinstance(item, models.Evento)
    assert (item.sequencia, item.tipo, item.protocolo) == (
        7,
        models.TipoEvento.REGISTRADA,
        "2026-00000001",
    )
    s = item.solicitacao
    assert s is not None and item.interacao is None and item.encerramento is None
    assert s.servico_codigo == "3222" and s.canal is models.Canal.PORTAL
    assert s.municipe is not None and s.municipe.cpf == raw.CPF
    assert s.anexos[0].sha256 == raw.anexo(1)["sha256"]
    assert s.aberta_em == dt.datetime(2026, 11, 20, 17, 3, 11, tzinfo=dt.UTC)
    assert s.aberta_em.utcoffset() == dt.timedelta(hours=-3)


@pytest.mark.parametrize(
    ("tipo", "attribute", "model"),
    [
        ("solicitacao.interacao", "interacao", models.Interacao),
        ("solicitacao.finalizada", "encerramento", models.Encerramento),
        ("solicitacao.reaberta", "reabertura", models.Reabertura),
    ],
)
def test_each_known_tipo_carries_exactly_its_payload(
    tipo: str, attribute: str, model: type
) -> None:
    item = parsing.parse_event(raw.evento(3, tipo))
    assert isinstance(item, models.Evento)
    payloads = {
        a: getattr(item, a) for a in ("solicitacao", "interacao", "encerramento", "reabertura")
    }
    assert isinstance(payloads.pop(attribute), model)
    assert set(payloads.values()) == {None}


def test_date_times_are_timezone_aware_in_every_accepted_form() -> None:
    for text in ("2026-11-21T09:00:00Z", "2026-11-21t09:00:00z", "2026-11-21T06:00:00.123-03:00"):
        data = edited(raw.evento(1, "solicitacao.interacao"), "interacao.ocorrida_em", text)
        item = parsing.parse_event(data)
        assert isinstance(item, models.Evento) and item.interacao is not None
        assert item.interacao.ocorrida_em.tzinfo is not None
        assert item.interacao.ocorrida_em.astimezone(dt.UTC).hour == 9


def test_texto_of_exactly_20000_characters_is_accepted() -> None:
    data = edited(raw.evento(1, "solicitacao.interacao"), "interacao.texto", "ã" * 20_000)
    assert isinstance(parsing.parse_event(data), models.Evento)


def test_anonymous_request_without_municipe_is_valid() -> None:
    data = edited(edited(raw.evento(1), "solicitacao.anonima", True), "solicitacao.municipe", None)
    item = parsing.parse_event(data)
    assert isinstance(item, models.Evento) and item.solicitacao is not None
    assert item.solicitacao.municipe is None


def test_unknown_fields_are_ignored() -> None:
    data = edited(raw.evento(1), "solicitacao.campo_novo", {"qualquer": 1})
    assert isinstance(parsing.parse_event(edited(data, "outro_campo", [1])), models.Evento)


# --- unknown tipo -----------------------------------------------------------------------------


def test_unknown_tipo_is_recorded_not_quarantined() -> None:
    data = raw.evento(9, "solicitacao.transferida", unidade_nova="SF-OUTRA")
    item = parsing.parse_event(data)
    assert isinstance(item, models.UnknownEvent)
    assert (item.id_evento, item.sequencia, item.tipo, item.protocolo) == (
        data["id_evento"],
        9,
        "solicitacao.transferida",
        "2026-00000001",
    )
    assert item.raw == data


# --- malformed → quarantined with the path ----------------------------------------------------


MALFORMED = [
    (
        "interacao.ocorrida_em",
        "20/11/2026 14:03",
        "interacao.ocorrida_em: not an RFC 3339 date-time",
    ),
    (
        "interacao.ocorrida_em",
        "2026-11-21T09:00:00",
        "interacao.ocorrida_em: not an RFC 3339 date-time",
    ),
    (
        "interacao.ocorrida_em",
        "2026-13-21T09:00:00Z",
        "interacao.ocorrida_em: not a valid date-time",
    ),
    ("interacao.texto", "x" * 20_001, "interacao.texto: longer than 20000 characters"),
    ("interacao.texto", None, "interacao.texto: expected a string, got null"),
    ("interacao.texto", DELETE, "interacao.texto: missing"),
    ("interacao.autor", "VIZINHO", "interacao.autor: not one of ATENDENTE, MUNICIPE, ORGAO"),
    ("interacao.anexos", {}, "interacao.anexos: expected an array, got object"),
    ("interacao.anexos", [{"id_anexo": "a"}], "interacao.anexos[0].nome_arquivo: missing"),
    ("sequencia", "12", "sequencia: expected an integer, got string"),
    ("sequencia", True, "sequencia: expected an integer, got boolean"),
    ("sequencia", -1, "sequencia: must be at least 0"),
    ("ocorrido_em", 1732111391, "ocorrido_em: not an RFC 3339 date-time"),
    ("protocolo", "", "protocolo: must not be empty"),
    ("protocolo", "9" * 65, "protocolo: longer than 64 characters"),
    ("interacao", DELETE, "interacao: missing (required by solicitacao.interacao)"),
]


@pytest.mark.parametrize(("path", "value", "error"), MALFORMED)
def test_malformed_interacao_event_is_quarantined_with_the_path(
    path: str, value: Any, error: str
) -> None:
    data = edited(raw.evento(5, "solicitacao.interacao"), path, value)
    item = quarantined(data)
    assert item.error.startswith(error)
    assert "\n" not in item.error
    assert item.raw == data
    assert_no_personal_data(item.error)


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("solicitacao.canal", "TELEGRAMA", "solicitacao.canal: not one of"),
        ("solicitacao.situacao", 3, "solicitacao.situacao: not one of"),
        ("solicitacao.descricao", "y" * 20_001, "solicitacao.descricao: longer than 20000"),
        ("solicitacao.anexos.0.sha256", "nothex" * 10, "solicitacao.anexos[0].sha256: not a 64"),
        ("solicitacao.anexos.0.tamanho_bytes", -5, "solicitacao.anexos[0].tamanho_bytes: must be"),
        ("solicitacao.municipe.cpf", "390.533.447-05", "solicitacao.municipe.cpf: not 11 digits"),
        ("solicitacao.servico", "3222", "solicitacao.servico: expected an object, got string"),
        ("solicitacao.protocolo", "2026-99999999", "solicitacao.protocolo: differs from the event"),
        ("solicitacao.anonima", True, "solicitacao.municipe: must be null when anonima is true"),
        ("interacao", raw.interacao(), "interacao: not allowed in a solicitacao.registrada event"),
    ],
)
def test_malformed_registrada_is_quarantined_without_the_value(
    path: str, value: Any, error: str
) -> None:
    item = quarantined(edited(raw.evento(5), path, value))
    assert item.error.startswith(error), item.error
    assert (item.sequencia, item.protocolo) == (5, "2026-00000001")
    assert_no_personal_data(item.error)


def test_negative_quantidade_interacoes_is_quarantined() -> None:
    data = edited(raw.evento(4, "solicitacao.finalizada"), "encerramento.quantidade_interacoes", -1)
    assert quarantined(data).error == "encerramento.quantidade_interacoes: must be at least 0"


def test_missing_id_evento_gets_a_stable_synthetic_id() -> None:
    data = edited(raw.evento(4), "id_evento", DELETE)
    first, again = quarantined(data), quarantined(edited(data, "sequencia", 4))
    assert first.error == "id_evento: missing"
    assert first.id_evento.startswith("invalid:") and first.id_evento == again.id_evento
    other = quarantined(edited(data, "sequencia", 5))
    assert other.id_evento != first.id_evento
    assert first.sequencia == 4 and first.protocolo == "2026-00000001"


def test_salvaged_fields_are_only_the_well_typed_ones() -> None:
    data = {"id_evento": 12, "sequencia": "x", "protocolo": ["a"], "tipo": "solicitacao.registrada"}
    item = quarantined(data)
    assert item.id_evento.startswith("invalid:")
    assert (item.sequencia, item.protocolo) == (None, None)
    assert item.error == "id_evento: expected a string, got number"


def test_an_event_that_is_not_an_object_is_quarantined_not_dropped() -> None:
    item = quarantined(["not", "an", "event"])
    assert item.error == "evento: expected an object, got array"
    assert item.raw == {"evento": ["not", "an", "event"]}
    assert item.id_evento == quarantined(["not", "an", "event"]).id_evento


# --- whole answers raise ----------------------------------------------------------------------


def test_parse_solicitacao_reads_interacoes() -> None:
    data = raw.solicitacao(
        interacoes=[raw.interacao(1), raw.interacao(2)],
        encerramento=raw.encerramento(quantidade_interacoes=2),
        situacao="FINALIZADA",
        processo_sei="6017.2026/0001234-5",
    )
    s = parsing.parse_solicitacao(data)
    assert [i.id_interacao for i in s.interacoes] == ["int-1", "int-2"]
    assert s.encerramento is not None and s.encerramento.quantidade_interacoes == 2
    assert s.situacao is models.Situacao.FINALIZADA and s.processo_sei == "6017.2026/0001234-5"


def test_parse_solicitacao_raises_with_the_path_and_no_value() -> None:
    data = raw.solicitacao(interacoes=[raw.interacao(1), raw.interacao(2, ocorrida_em="ontem")])
    with pytest.raises(errors.SigrcInvalidResponse) as info:
        parsing.parse_solicitacao(data)
    assert info.value.path == "interacoes[1].ocorrida_em"
    assert "interacoes[1].ocorrida_em: not an RFC 3339 date-time" in str(info.value)
    assert "ontem" not in str(info.value)


def test_parse_event_page_rejects_a_bad_envelope_but_keeps_bad_events() -> None:
    page = parsing.parse_event_page(
        {
            "eventos": [raw.evento(1), {"sequencia": 2}],
            "ultima_sequencia": 2,
            "ha_mais": False,
            "atraso_maximo_segundos": 120,
        }
    )
    assert [type(i).__name__ for i in page.items] == ["Evento", "QuarantinedEvent"]
    assert (page.ultima_sequencia, page.ha_mais, page.atraso_maximo_segundos) == (2, False, 120)
    with pytest.raises(errors.SigrcInvalidResponse, match="ha_mais: expected a boolean"):
        parsing.parse_event_page({"eventos": [], "ha_mais": "no", "atraso_maximo_segundos": 1})


# --- characters XML cannot carry, integers the store cannot hold ------------------------------

#: one of each class XML 1.0 forbids: NUL, another C0 control, a lone surrogate, U+FFFE, U+FFFF
FORBIDDEN = ["\x00", "\x1b", "\ud800", "\ufffe", "\uffff"]


@pytest.mark.parametrize("bad", FORBIDDEN)
@pytest.mark.parametrize(
    ("tipo", "path"),
    [
        ("solicitacao.registrada", "solicitacao.descricao"),
        ("solicitacao.registrada", "solicitacao.servico.nome"),
        ("solicitacao.registrada", "solicitacao.municipe.nome"),
        ("solicitacao.registrada", "solicitacao.endereco.logradouro"),
        ("solicitacao.registrada", "solicitacao.anexos.0.nome_arquivo"),
        ("solicitacao.interacao", "interacao.texto"),
        ("solicitacao.finalizada", "encerramento.texto"),
        ("solicitacao.reaberta", "reabertura.motivo"),
    ],
)
def test_free_text_loses_only_the_characters_xml_forbids(bad: str, tipo: str, path: str) -> None:
    data = edited(raw.evento(3, tipo), path, f"Rua\tA{bad}\nção {bad}€ 😀")
    item = parsing.parse_event(data)
    assert isinstance(item, models.Evento), item
    texts = _strings_of(item)
    assert "Rua\tA\nção € 😀" in texts
    assert not any(c in t for t in texts for c in FORBIDDEN)


def _strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for v in value for s in _strings_of(v)]
    slots = getattr(type(value), "__slots__", ())
    return [s for name in slots for s in _strings_of(getattr(value, name))]


@pytest.mark.parametrize("bad", [*FORBIDDEN, "\n", "\x7f", "\x9b", "\u202e"])
@pytest.mark.parametrize(
    ("tipo", "path"),
    [
        ("solicitacao.registrada", "id_evento"),
        ("solicitacao.registrada", "protocolo"),
        ("solicitacao.registrada", "tipo"),
        ("solicitacao.registrada", "solicitacao.servico.codigo"),
        ("solicitacao.registrada", "solicitacao.anexos.0.id_anexo"),
        ("solicitacao.registrada", "solicitacao.anexos.0.tipo_conteudo"),
        ("solicitacao.interacao", "interacao.id_interacao"),
    ],
)
def test_an_identifier_with_a_control_character_quarantines_the_event_naming_it(
    bad: str, tipo: str, path: str
) -> None:
    data = raw.evento(3, tipo)
    original = data
    for part in path.split(".")[:-1]:
        original = original[int(part)] if isinstance(original, list) else original[part]
    last = path.split(".")[-1]
    value = original[int(last)] if isinstance(original, list) else original[last]
    item = quarantined(edited(data, path, value[:3] + bad + value[3:]))
    shown = path.replace(".0.", "[0].")
    assert item.error == f"{shown}: holds a control character (U+{ord(bad):04X})"
    # nothing unsafe is kept to file it under: the store's columns and the terminal get none
    for key in (item.id_evento, item.protocolo or ""):
        assert bad not in key


def test_an_identifier_forbidden_character_never_reaches_the_salvaged_keys() -> None:
    item = quarantined({**raw.evento(3), "id_evento": "id\x00", "protocolo": "P\x1b[2J"})
    assert item.id_evento.startswith("invalid:") and item.protocolo is None
    assert item.sequencia == 3


def test_a_lone_surrogate_anywhere_does_not_make_the_parser_raise() -> None:
    data = {**raw.evento(3), "ocorrido_em": 5, "extra": "\udfff", "\ud800": 1}
    item = quarantined(data)
    assert item.id_evento == parsing.synthetic_id(data) or item.id_evento == data["id_evento"]


@pytest.mark.parametrize("path", ["sequencia", "encerramento.quantidade_interacoes"])
def test_an_integer_past_64_bits_quarantines_the_event(path: str) -> None:
    data = edited(raw.evento(3, "solicitacao.finalizada"), path, 2**63)
    item = quarantined(data)
    assert item.error == f"{path}: larger than a 64-bit integer"
    if path == "sequencia":
        assert item.sequencia is None  # unplaced: the store's BIGINT could not hold it
    assert isinstance(parsing.parse_event(edited(data, path, 2**63 - 1)), models.Evento)


def test_a_page_whose_ultima_sequencia_is_out_of_range_still_delivers_the_rest() -> None:
    page = parsing.parse_event_page(
        {
            "eventos": [raw.evento(1), {**raw.evento(2), "sequencia": 2**70}],
            "ultima_sequencia": 2**70,
            "ha_mais": False,
            "atraso_maximo_segundos": 0,
        }
    )
    assert page.ultima_sequencia is None
    assert [type(i).__name__ for i in page.items] == ["Evento", "QuarantinedEvent"]


def test_an_event_nested_too_deep_is_quarantined_with_a_stub() -> None:
    deep: Any = "fundo"
    for _ in range(5000):
        deep = [deep]
    data = {**raw.evento(3), "extra": deep}
    item = quarantined(data)
    depth = parsing.MAX_DEPTH
    assert item.error == f"evento: nested deeper than {depth} levels (raw JSON not kept)"
    assert item.id_evento == data["id_evento"] and item.sequencia == 3
    assert item.raw["raw_dropped"] == "nested too deep"
    del data["id_evento"]
    first, again = quarantined(data), quarantined(data)
    assert first.id_evento == again.id_evento and first.id_evento.startswith("invalid:")


def test_an_event_that_is_a_deeply_nested_array_is_quarantined_without_raising() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    first, again = parsing.parse_event(deep), parsing.parse_event(deep)
    assert isinstance(first, models.QuarantinedEvent)
    assert first.id_evento == again.id_evento and first.raw["raw_dropped"] == "nested too deep"
    assert first.error == "evento: expected an object, got array"
