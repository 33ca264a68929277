"""Mapping files: which SIGRC services open which SEI process, where, and how.

Every ``*.yaml`` (or ``*.yml``) in the mappings folder (``SEI_BRIDGE_MAPPINGS``) is one mapping
file with the keys of DESIGN.md ("Mapping file")::

    sei:
      unidade: "110000001"                  # IdUnidade where processes are opened
      numero_protocolo: "SP156-{protocolo}" # optional: number processes from the protocolo
    defaults:
      nivel_acesso: 1                       # 0 público, 1 restrito
      hipotese_legal: "34"                  # required for restrito
      series: {solicitacao: "12", interacao: "13", anexo: "14", finalizado: "15"}
    servicos:
      "3222":                               # SIGRC servico.codigo
        tipo_procedimento: "100000345"
        assuntos: ["052.1"]
        unidade: "110000002"                # optional override
        concluir_ao_finalizar: true         # optional, default false

A service may also override ``nivel_acesso``, ``hipotese_legal`` and single ``series`` entries.
Files are validated whole at load time; every problem is a :class:`~sei_bridge.errors.MappingError`
whose one-line message names the file, the key and the fix. A service code mapped in two files is
an error (which one would win is not obvious to an operator). :func:`check_against_sei` checks
the ids against SEI's own catalogs (``sei-bridge mappings check``).
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sei_bridge import chars, errors, safe_yaml
from sei_bridge.sei import types

__all__ = [
    "SERIES_KEYS",
    "MappingFile",
    "Mappings",
    "SeiCatalogs",
    "Series",
    "ServicoMapping",
    "check_against_sei",
    "load_mapping_file",
    "load_mappings",
    "parse_mapping",
]

#: The four document roles every mapping gives a série for.
SERIES_KEYS: tuple[str, ...] = ("solicitacao", "interacao", "anexo", "finalizado")

_TOP_KEYS = frozenset({"sei", "defaults", "servicos"})
_SEI_KEYS = frozenset({"unidade", "numero_protocolo"})
_DEFAULT_KEYS = frozenset({"nivel_acesso", "hipotese_legal", "series"})
_SERVICO_KEYS = frozenset(
    {
        "tipo_procedimento",
        "assuntos",
        "unidade",
        "concluir_ao_finalizar",
        "nivel_acesso",
        "hipotese_legal",
        "series",
    }
)


@dataclass(frozen=True, slots=True)
class Series:
    """IdSerie of each document sei-bridge creates."""

    #: the opening document "Solicitação SP156 nº …"
    solicitacao: str
    #: one document per interaction
    interacao: str
    #: every attachment (an external document)
    anexo: str
    #: "SP 156 Finalizado"
    finalizado: str

    def ids(self) -> dict[str, str]:
        """Role → IdSerie."""
        return {key: getattr(self, key) for key in SERIES_KEYS}


@dataclass(frozen=True, slots=True)
class ServicoMapping:
    """Everything needed to open and fill the process of one SIGRC service, resolved: the
    file's defaults are already applied and ``unidade`` is the unit actually used."""

    codigo: str
    tipo_procedimento: str
    assuntos: tuple[str, ...]
    unidade: str
    nivel_acesso: types.NivelAcesso
    hipotese_legal: str | None
    series: Series
    concluir_ao_finalizar: bool
    #: the ``sei.numero_protocolo`` template, or None: SEI numbers the processes
    numero_protocolo: str | None
    #: the mapping file it came from (for messages)
    source: str

    def numero_protocolo_for(self, protocolo: str) -> str | None:
        """The NumeroProtocolo to open the request's process with, or None."""
        if self.numero_protocolo is None:
            return None
        return self.numero_protocolo.format(protocolo=protocolo)


@dataclass(frozen=True, slots=True)
class MappingFile:
    """One validated mapping file."""

    source: str
    unidade: str
    numero_protocolo: str | None
    nivel_acesso: types.NivelAcesso
    hipotese_legal: str | None
    series: Series
    servicos: Mapping[str, ServicoMapping]


@dataclass(frozen=True, slots=True)
class Mappings:
    """Every mapping file of the folder, with the services of all of them."""

    files: tuple[MappingFile, ...]
    #: servico.codigo → its mapping, over every file
    servicos: Mapping[str, ServicoMapping]

    def servico(self, codigo: str) -> ServicoMapping | None:
        """The mapping of a SIGRC service, or None when no file maps it."""
        return self.servicos.get(codigo)

    @property
    def unidade(self) -> str:
        """The ``sei.unidade`` of the first file (by name): a fallback for reports about a
        request whose service is no longer mapped."""
        return self.files[0].unidade if self.files else ""

    def unidades(self) -> tuple[str, ...]:
        """Every unit some service uses, once each, in file order."""
        seen: dict[str, None] = {}
        for f in self.files:
            seen.setdefault(f.unidade, None)
            for s in f.servicos.values():
                seen.setdefault(s.unidade, None)
        return tuple(seen)


def _write_quoted(value: Any) -> str:
    """The fix for an id written as a YAML number, list, ...: quote it (a bounded excerpt)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = safe_yaml.excerpt(value)
        return f'write "{shown}"' if not shown.endswith("…") else "write it as a quoted string"
    return f"write it as a quoted string, not {safe_yaml.excerpt(value)}"


def _key_text(key: Any) -> str:
    """A key as a message names it: short, control characters escaped."""
    text = str(key) if isinstance(key, str | int) and not isinstance(key, bool) else None
    if text is None or len(text) > safe_yaml.EXCERPT_LIMIT:
        return safe_yaml.excerpt(key)
    return chars.escape_controls(text)


class _Reader:
    """Validation helpers that know which file and key they are reading (for the messages)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str, fix: str) -> errors.MappingError:
        return errors.MappingError(f"{self.source}: {key} {problem}: {fix}")

    def table(self, data: Any, key: str, allowed: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.error(key, "must be a mapping of keys", "see mappings/fazenda.yaml")
        unknown = sorted(_key_text(k) for k in data if str(k) not in allowed)
        if unknown:
            raise self.error(
                f"{key}.{unknown[0]}" if key else unknown[0],
                "is not a known key",
                f"use only {', '.join(sorted(allowed))} (check the spelling)",
            )
        return {str(k): v for k, v in data.items()}

    def ident(self, data: Mapping[str, Any], key: str, path: str, what: str) -> str:
        value = data.get(key)
        if value is None or value == "":
            raise self.error(f"{path}.{key}", "is missing", f"give the SEI id of the {what}")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(
                f"{path}.{key}", "must be an id (a quoted string)", _write_quoted(value)
            )
        text = str(value).strip()
        if not text:
            raise self.error(f"{path}.{key}", "is empty", f"give the SEI id of the {what}")
        return text

    def nivel(self, value: Any, path: str) -> types.NivelAcesso:
        if isinstance(value, bool) or value not in (0, 1, "0", "1", 2, "2"):
            raise self.error(
                path,
                f"must be 0 (público) or 1 (restrito), not {safe_yaml.excerpt(value)}",
                "fix it",
            )
        nivel = types.NivelAcesso(int(value))
        if nivel is types.NivelAcesso.SIGILOSO:
            raise self.error(
                path,
                "cannot be 2 (sigiloso)",
                "SEI does not create sigiloso processes over web services; use 1 (restrito)",
            )
        return nivel

    def series(self, data: Any, path: str, base: Series | None) -> Series:
        table = self.table(data, path, frozenset(SERIES_KEYS))
        values: dict[str, str] = dict(base.ids()) if base is not None else {}
        for key in SERIES_KEYS:
            if key in table:
                values[key] = self.ident(table, key, path, f"série (document type) for {key}")
            elif key not in values:
                raise self.error(
                    f"{path}.{key}", "is missing", f"give the IdSerie of the {key} documents"
                )
        return Series(**values)

    def template(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                path, "must be a text such as SP156-{protocolo}", "fix it or remove it"
            )
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise self.error(
                path,
                f"is not a valid template ({safe_yaml.excerpt(str(exc), 80)})",
                "use SP156-{protocolo}",
            ) from None
        if fields != ["protocolo"]:
            raise self.error(
                path,
                "must contain {protocolo} exactly once and no other {field}",
                "use e.g. SP156-{protocolo}",
            )
        return value


def _hipotese(reader: _Reader, value: Any, path: str, nivel: types.NivelAcesso) -> str | None:
    if value is None or value == "":
        if nivel is types.NivelAcesso.RESTRITO:
            raise reader.error(
                path,
                "is missing",
                "restrito (nivel_acesso 1) needs the IdHipoteseLegal (e.g. Informação Pessoal)",
            )
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise reader.error(path, "must be an id (a quoted string)", _write_quoted(value))
    return str(value).strip()


def _assuntos(reader: _Reader, value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise reader.error(path, "must be a list", 'write e.g. ["052.1"]')
    out: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item):
            raise reader.error(f"{path}[{i}]", "must be an assunto code", 'write e.g. "052.1"')
        out.append(str(item).strip())
    return tuple(out)


def parse_mapping(data: Any, *, source: str) -> MappingFile:
    """Validate the parsed YAML of one mapping file (``source`` names it in messages)."""
    reader = _Reader(source)
    top = reader.table(data, "", _TOP_KEYS)
    for key in ("sei", "defaults", "servicos"):
        if key not in top:
            raise reader.error(key, "is missing", "see mappings/fazenda.yaml for the layout")
    sei = reader.table(top["sei"], "sei", _SEI_KEYS)
    unidade = reader.ident(sei, "unidade", "sei", "unit (IdUnidade) where processes are opened")
    numero = reader.template(sei.get("numero_protocolo"), "sei.numero_protocolo")
    defaults = reader.table(top["defaults"], "defaults", _DEFAULT_KEYS)
    if "nivel_acesso" not in defaults:
        raise reader.error(
            "defaults.nivel_acesso", "is missing", "give 0 (público) or 1 (restrito)"
        )
    nivel = reader.nivel(defaults["nivel_acesso"], "defaults.nivel_acesso")
    hipotese = _hipotese(reader, defaults.get("hipotese_legal"), "defaults.hipotese_legal", nivel)
    if "series" not in defaults:
        raise reader.error("defaults.series", "is missing", "give the four IdSerie")
    series = reader.series(defaults["series"], "defaults.series", None)
    raw_servicos = top["servicos"]
    if not isinstance(raw_servicos, Mapping) or not raw_servicos:
        raise reader.error("servicos", "must map at least one servico code", "see fazenda.yaml")
    servicos: dict[str, ServicoMapping] = {}
    for raw_code, raw in raw_servicos.items():
        if isinstance(raw_code, bool) or not isinstance(raw_code, str | int):
            raise reader.error(
                "servicos", f"has a key {safe_yaml.excerpt(raw_code)}", "use the quoted code"
            )
        code = str(raw_code).strip()
        path = f"servicos.{code}"
        entry = reader.table(raw, path, _SERVICO_KEYS)
        s_nivel = (
            reader.nivel(entry["nivel_acesso"], f"{path}.nivel_acesso")
            if "nivel_acesso" in entry
            else nivel
        )
        s_hipotese = _hipotese(
            reader, entry.get("hipotese_legal", hipotese), f"{path}.hipotese_legal", s_nivel
        )
        concluir = entry.get("concluir_ao_finalizar", False)
        if not isinstance(concluir, bool):
            raise reader.error(f"{path}.concluir_ao_finalizar", "must be true or false", "fix it")
        servicos[code] = ServicoMapping(
            codigo=code,
            tipo_procedimento=reader.ident(entry, "tipo_procedimento", path, "process type"),
            assuntos=_assuntos(reader, entry.get("assuntos"), f"{path}.assuntos"),
            unidade=(
                reader.ident(entry, "unidade", path, "unit") if "unidade" in entry else unidade
            ),
            nivel_acesso=s_nivel,
            hipotese_legal=s_hipotese if s_nivel is types.NivelAcesso.RESTRITO else None,
            series=(
                reader.series(entry["series"], f"{path}.series", series)
                if "series" in entry
                else series
            ),
            concluir_ao_finalizar=concluir,
            numero_protocolo=numero,
            source=source,
        )
    return MappingFile(
        source=source,
        unidade=unidade,
        numero_protocolo=numero,
        nivel_acesso=nivel,
        hipotese_legal=hipotese,
        series=series,
        servicos=servicos,
    )


def load_mapping_file(path: Path) -> MappingFile:
    """Read and validate one mapping file (see :mod:`sei_bridge.safe_yaml`: at most 1 MiB, no
    anchors or aliases)."""
    data = safe_yaml.load_file(path, error=errors.MappingError)
    return parse_mapping(data, source=str(path))


def load_mappings(directory: Path) -> Mappings:
    """Load every mapping file of ``directory`` (``SEI_BRIDGE_MAPPINGS``), in name order."""
    if not directory.is_dir():
        raise errors.MappingError(
            f"mappings folder {directory} does not exist: set SEI_BRIDGE_MAPPINGS to the folder "
            "holding the mapping files"
        )
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not paths:
        raise errors.MappingError(
            f"mappings folder {directory} has no *.yaml file: add one (see mappings/fazenda.yaml)"
        )
    files = tuple(load_mapping_file(p) for p in paths)
    return combine(files)


def combine(files: Iterable[MappingFile]) -> Mappings:
    """Mappings over several files; a service mapped twice is an error."""
    files = tuple(files)
    servicos: dict[str, ServicoMapping] = {}
    for f in files:
        for code, servico in f.servicos.items():
            if code in servicos:
                raise errors.MappingError(
                    f"{f.source}: servicos.{code} is also mapped in {servicos[code].source}: "
                    "keep it in one file only"
                )
            servicos[code] = servico
    return Mappings(files=files, servicos=servicos)


class SeiCatalogs(Protocol):
    """The catalog operations of SEI that :func:`check_against_sei` reads."""

    def listar_unidades(self) -> list[types.Unidade]: ...

    def listar_tipos_procedimento(self) -> list[types.TipoProcedimento]: ...

    def listar_series(self) -> list[types.Serie]: ...

    def listar_hipoteses_legais(
        self, *, nivel_acesso: types.NivelAcesso | None = None
    ) -> list[types.HipoteseLegal]: ...


def check_against_sei(mappings: Mappings, sei: SeiCatalogs) -> list[str]:
    """Every id of the mappings that SEI's catalogs do not have, as one-line problems
    (empty: all good). Raises the SEI client's errors when SEI cannot be asked."""
    unidades = {u.id_unidade for u in sei.listar_unidades()}
    tipos = {t.id_tipo_procedimento for t in sei.listar_tipos_procedimento()}
    series = {s.id_serie for s in sei.listar_series()}
    hipoteses: dict[types.NivelAcesso, set[str]] = {}
    problems: list[str] = []
    for f in mappings.files:
        if f.unidade not in unidades:
            problems.append(
                f"{f.source}: sei.unidade {f.unidade} is not a unit SEI lets this serviço use "
                "(listarUnidades): fix the id or the serviço's units in SEI"
            )
    for code, s in mappings.servicos.items():
        path = f"{s.source}: servicos.{code}"
        if s.unidade not in unidades:
            problems.append(f"{path}.unidade {s.unidade} is not a unit SEI lists: fix the id")
        if s.tipo_procedimento not in tipos:
            problems.append(
                f"{path}.tipo_procedimento {s.tipo_procedimento} is not a process type SEI "
                "lists (listarTiposProcedimento): fix the id"
            )
        for role, id_serie in s.series.ids().items():
            if id_serie not in series:
                problems.append(
                    f"{path}: série {role} {id_serie} is not a document type SEI lists "
                    "(listarSeries): fix defaults.series or the service's series"
                )
        if s.hipotese_legal is not None:
            if s.nivel_acesso not in hipoteses:
                hipoteses[s.nivel_acesso] = {
                    h.id_hipotese_legal
                    for h in sei.listar_hipoteses_legais(nivel_acesso=s.nivel_acesso)
                    if h.nivel_acesso == s.nivel_acesso
                }
            if s.hipotese_legal not in hipoteses[s.nivel_acesso]:
                problems.append(
                    f"{path}: hipótese legal {s.hipotese_legal} does not apply to nível de "
                    f"acesso {int(s.nivel_acesso)} in SEI (listarHipotesesLegais): fix "
                    "defaults.hipotese_legal"
                )
    return _unique(problems)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def folder_version(directory: Path) -> str | None:
    """A short fingerprint of the mapping files of ``directory`` (their names and bytes), to
    tell which mappings a worker runs with and to notice that they changed; None when the
    folder cannot be read."""
    digest = hashlib.sha256()
    try:
        paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
        for path in paths:
            if not path.is_file():
                continue
            stat = path.stat()
            # a file too large to be a mapping is not read here (loading refuses it)
            content = path.read_bytes() if stat.st_size <= 4 << 20 else str(stat).encode()
            digest.update(path.name.encode() + b"\0" + content + b"\0")
    except OSError:
        return None
    return digest.hexdigest()[:12]
