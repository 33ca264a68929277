"""Every YAML file sei-bridge reads (settings file, mapping files, the schedule) goes through
sei_bridge.safe_yaml: no anchors or aliases (the alias-expansion bomb), at most 1 MiB read
before parsing, bounded nesting, and messages that never quote a whole value or PyYAML's
snippet of the offending line."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from sei_bridge import config, errors, mapping, safe_yaml, scheduler

REPO = Path(__file__).resolve().parents[2]

#: nine levels of nine aliases: 387 million items once expanded (a few hundred bytes)
BOMB = "\n".join(
    ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
)

MAPPING = """\
sei: {unidade: "110000001"}
defaults:
  nivel_acesso: 1
  hipotese_legal: "34"
  series: &series {solicitacao: "12", interacao: "13", anexo: "14", finalizado: "15"}
servicos:
  "3222":
    tipo_procedimento: "100000345"
    series: *series
"""


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_an_alias_bomb_in_a_mapping_file_is_refused_at_its_first_anchor(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(errors.MappingError) as caught:
        mapping.load_mapping_file(path)
    text = _one_line(caught.value)
    assert text.startswith(f"{path}: anchors are not allowed at line 1,")
    assert "write the value out" in text


def test_a_mapping_file_sharing_a_value_by_alias_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "shared.yaml").write_text(MAPPING.replace("&series ", ""), encoding="utf-8")
    with pytest.raises(errors.MappingError) as caught:
        mapping.load_mappings(tmp_path)
    assert "aliases are not allowed at line 9, column 13" in _one_line(caught.value)


def test_a_merge_key_is_an_alias_too() -> None:
    text = "base: {a: 1}\nother:\n  <<: *base\n"
    with pytest.raises(errors.ConfigurationError, match="aliases are not allowed at line 3"):
        safe_yaml.load_text(text, name="f.yaml", error=errors.ConfigurationError)


def test_an_alias_bomb_in_the_settings_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("sei_url: http://sei.example/ws\n" + BOMB, encoding="utf-8")
    with pytest.raises(errors.ConfigurationError) as caught:
        config.load_settings({"SEI_BRIDGE_CONFIG": str(path)})
    text = _one_line(caught.value)
    assert "SEI_BRIDGE_CONFIG" in text and "anchors are not allowed at line 2" in text


def test_an_alias_in_the_schedule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(
        "defaults: &d {coalesce: true}\njobs:\n  poll: {trigger: {type: interval, seconds: 5}}\n",
        encoding="utf-8",
    )
    with pytest.raises(errors.ConfigurationError, match="anchors are not allowed at line 1"):
        scheduler.load_schedule(path)


def test_the_repository_files_need_no_anchor() -> None:
    mappings = mapping.load_mappings(REPO / "mappings")
    assert mappings.servicos
    assert {s.name for s in scheduler.load_schedule()} >= {"poll", "dispatch"}


def test_a_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    # valid YAML, so only the size can refuse it
    path.write_text("# " + "x" * safe_yaml.MAX_BYTES + "\nsei: {}\n", encoding="utf-8")
    with pytest.raises(errors.MappingError, match="is larger than 1024 KiB"):
        mapping.load_mapping_file(path)


def test_a_device_or_a_directory_is_not_read(tmp_path: Path) -> None:
    with pytest.raises(errors.MappingError, match="/dev/zero: is not a regular file"):
        mapping.load_mapping_file(Path("/dev/zero"))
    with pytest.raises(errors.ConfigurationError, match="is not a regular file"):
        scheduler.load_schedule(tmp_path)
    with pytest.raises(errors.ConfigurationError, match="cannot be read"):
        config.load_settings({"SEI_BRIDGE_CONFIG": str(tmp_path / "missing.yaml")})


def test_nesting_deeper_than_the_limit_is_refused_without_recursion_error() -> None:
    depth = 100_000
    text = "k: " + "[" * depth + "]" * depth
    with pytest.raises(errors.ConfigurationError, match="nesting is deeper than 64 levels"):
        safe_yaml.load_text(text, name="deep.yaml", error=errors.ConfigurationError)
    nested = "k: " + "[" * 60 + "]" * 60
    assert safe_yaml.load_text(nested, name="ok.yaml", error=errors.ConfigurationError)


def test_text_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sigrc_orgao: Fazenda São Paulo\n".encode("latin-1"))
    with pytest.raises(errors.ConfigurationError, match="is not UTF-8 text"):
        config.load_settings({"SEI_BRIDGE_CONFIG": str(path)})


def test_a_number_too_long_to_convert_is_one_line() -> None:
    with pytest.raises(errors.ConfigurationError, match="number too long"):
        safe_yaml.load_text("n: " + "9" * 5000, name="n.yaml", error=errors.ConfigurationError)


def test_a_syntax_error_in_the_settings_file_never_quotes_the_line(tmp_path: Path) -> None:
    secret = "token-super-secreto-123"
    path = tmp_path / "settings.yaml"
    path.write_text(f"sigrc_url: http://sigrc\nsigrc_token: '{secret}\n  x: [\n", "utf-8")
    with pytest.raises(errors.ConfigurationError) as caught:
        config.load_settings({"SEI_BRIDGE_CONFIG": str(path)})
    text = _one_line(caught.value)
    assert secret not in text and "is not valid YAML at line" in text
    assert secret not in "".join(traceback.format_exception(caught.value))


@pytest.mark.parametrize(
    "value",
    [
        "[" + ", ".join(['"x"'] * 50_000) + "]",
        "{" + ", ".join(f"k{i}: v" for i in range(20_000)) + "}",
        "1." + "5" * 300,
    ],
    ids=["list", "mapping", "long-float"],
)
def test_a_mapping_error_quotes_at_most_an_excerpt(tmp_path: Path, value: str) -> None:
    text = MAPPING.replace("&series ", "").replace("*series", '{anexo: "14"}')
    text = text.replace('tipo_procedimento: "100000345"', f"tipo_procedimento: {value}")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(errors.MappingError) as caught:
        mapping.load_mappings(tmp_path)
    message = _one_line(caught.value)
    assert "servicos.3222.tipo_procedimento must be an id" in message


def test_unknown_keys_and_odd_values_are_bounded_in_messages(tmp_path: Path) -> None:
    long_key = "k" * 1000
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace("&series ", "").replace("*series", "{" + long_key + ": 1}"))
    with pytest.raises(errors.MappingError) as caught:
        mapping.load_mapping_file(path)
    assert "is not a known key" in _one_line(caught.value)
    path.write_text(MAPPING.replace("nivel_acesso: 1", "nivel_acesso: '" + "9\\x1b" * 5000 + "'"))
    with pytest.raises(errors.MappingError) as caught:
        mapping.load_mapping_file(path)
    assert "\x1b" not in _one_line(caught.value)


def test_excerpt_is_short_and_escapes_controls() -> None:
    assert safe_yaml.excerpt("a" * 1000) == repr("a" * 40) + "…"
    assert safe_yaml.excerpt("x\x1b[2Jy") == "'x\\x1b[2Jy'"
    assert safe_yaml.excerpt(list(range(10**6))) == "a list of 1000000 item(s)"
    assert safe_yaml.excerpt(2**1000) == "an integer of 1001 bits"
    assert safe_yaml.excerpt(1.5) == "1.5" and safe_yaml.excerpt(None) == "None"


def test_a_key_given_twice_is_refused_naming_the_line(tmp_path: Path) -> None:
    twice = MAPPING.replace("&series ", "").replace("*series", '{anexo: "14"}')
    twice += '  "3222":\n    tipo_procedimento: "100000999"\n'
    (tmp_path / "twice.yaml").write_text(twice, encoding="utf-8")
    with pytest.raises(errors.MappingError) as caught:
        mapping.load_mappings(tmp_path)
    assert "the key '3222' is given twice at line 10, column 3: keep one" in _one_line(caught.value)
    path = tmp_path / "settings.yaml"
    path.write_text("sei_url: http://a/ws\nsei_url: http://b/ws\n", encoding="utf-8")
    with pytest.raises(errors.ConfigurationError, match="'sei_url' is given twice at line 2"):
        config.load_settings({"SEI_BRIDGE_CONFIG": str(path)})
