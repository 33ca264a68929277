"""JSON served by SIGRC → typed models, validated against the contract.

Two policies, one per kind of caller:

- A feed event never raises: :func:`parse_event` turns anything malformed into a
  :class:`~sei_bridge.sigrc.models.QuarantinedEvent` (kept, quarantined with the reason, replayed
  after a fix) and an unknown ``tipo`` into an :class:`~sei_bridge.sigrc.models.UnknownEvent`
  (recorded and skipped). One bad event must not stop the feed.
- Everything else (a request snapshot, a summary, a page envelope) raises
  :class:`~sei_bridge.errors.SigrcInvalidResponse`: the caller asked for one thing and cannot go
  on without it.

Every error is one line naming the field path and what is wrong
(``interacao.ocorrida_em: not an RFC 3339 date-time``) and NEVER the value: free text, names and
CPFs are personal data. Date-times must carry an offset and come out timezone-aware. Fields the
contract does not name are ignored, so that SIGRC may add some.

What the rest of the bridge cannot carry is settled here, where it enters (see
:mod:`sei_bridge.chars`):

- Free text and names (``descricao``, ``texto``, ``motivo``, ``nome``, ``nome_arquivo``, the
  address, ...) lose the characters XML 1.0 forbids (NUL and other C0 controls, lone
  surrogates, U+FFFE/U+FFFF) and keep everything else: SEI could never receive them, and
  nothing a reader could see is lost.
- Identifiers and codes (``id_evento``, ``protocolo``, ``tipo``, ``id_anexo``,
  ``id_interacao``, codes and siglas, ``tipo_conteudo``, ...) holding any control character
  make the event malformed, naming the field and the code point: cleaning them would silently
  change a key (and they reach logs, the store's columns and the operator's terminal).
- Integers must fit the store's 64-bit columns; ids and protocolos the store's lengths.
- An event nested deeper than :data:`MAX_DEPTH` is quarantined with a stub instead of its raw
  JSON, which the store could not serialise.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, NoReturn, TypeGuard, TypeVar

from sei_bridge import chars, errors
from sei_bridge.sigrc import models

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_INTEGER",
    "MAX_PROTOCOLO_LENGTH",
    "MAX_TEXT_LENGTH",
    "parse_event",
    "parse_event_page",
    "parse_solicitacao",
    "parse_solicitacao_resumo",
    "parse_solicitacoes_page",
    "synthetic_id",
]

#: longest ``descricao`` / ``texto`` the contract allows (characters)
MAX_TEXT_LENGTH = 20_000
#: longest ``id_evento`` (and any other id) we accept: the inbox column holds 200 characters
MAX_ID_LENGTH = 200
#: longest ``protocolo`` we accept: the store's columns hold 64 characters
MAX_PROTOCOLO_LENGTH = 64
#: longest service code we accept: the store's ``servico_codigo`` column holds 64 characters
MAX_CODE_LENGTH = 64
#: largest integer we accept (the contract's int64; the store's BIGINT columns)
MAX_INTEGER = 2**63 - 1
#: deepest nesting of one event kept as raw JSON (the contract's events nest 4 levels)
MAX_DEPTH = 32

_E = TypeVar("_E", bound=enum.Enum)

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_CPF = re.compile(r"\d{11}", re.ASCII)
_CNPJ = re.compile(r"\d{14}", re.ASCII)

_AUTORES = frozenset({"MUNICIPE", "ORGAO", "ATENDENTE"})
_TIPOS_INTERACAO = frozenset({"COMPLEMENTO", "RESPOSTA", "SOLICITACAO_COMPLEMENTO", "MANIFESTACAO"})

#: the payload key each known tipo must carry (and the others must not)
_PAYLOAD_OF: dict[models.TipoEvento, str] = {
    models.TipoEvento.REGISTRADA: "solicitacao",
    models.TipoEvento.INTERACAO: "interacao",
    models.TipoEvento.FINALIZADA: "encerramento",
    models.TipoEvento.REABERTA: "reabertura",
}


class _Invalid(Exception):
    """A contract violation at ``path``; ``problem`` never quotes the value."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _kind(value: Any) -> str:
    """The JSON type of ``value``, for messages that must not show the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


_MISSING: Any = object()


class _Obj:
    """A JSON object being read, with its path for error messages."""

    __slots__ = ("_data", "path")

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise _Invalid(path or "(root)", f"expected an object, got {_kind(data)}")
        self._data: Mapping[str, Any] = data
        self.path = path

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> NoReturn:
        raise _Invalid(self.at(name), problem)

    def has(self, name: str) -> bool:
        """True when ``name`` is present and not null."""
        return self._data.get(name) is not None

    def _required(self, name: str) -> Any:
        value = self._data.get(name, _MISSING)
        if value is _MISSING:
            self.fail(name, "missing")
        return value

    def string(self, name: str, *, max_length: int | None = None, nonempty: bool = False) -> str:
        """An identifier or code: any control character makes it invalid."""
        return self._check_string(name, self._required(name), max_length, nonempty, False)

    def opt_string(self, name: str, *, max_length: int | None = None) -> str | None:
        value = self._data.get(name)
        return None if value is None else self._check_string(name, value, max_length, False, False)

    def text(self, name: str, *, max_length: int | None = None) -> str:
        """Free text or a name: the characters XML cannot carry are dropped."""
        return self._check_string(name, self._required(name), max_length, False, True)

    def opt_text(self, name: str, *, max_length: int | None = None) -> str | None:
        value = self._data.get(name)
        return None if value is None else self._check_string(name, value, max_length, False, True)

    def _check_string(
        self, name: str, value: Any, max_length: int | None, nonempty: bool, clean: bool
    ) -> str:
        if not isinstance(value, str):
            self.fail(name, f"expected a string, got {_kind(value)}")
        if max_length is not None and len(value) > max_length:
            self.fail(name, f"longer than {max_length} characters")
        text: str = value
        if clean:
            text = chars.without_xml_forbidden(text)
        else:
            control = chars.first_control(text)
            if control is not None:
                self.fail(name, f"holds a control character ({chars.describe(control)})")
        if nonempty and not text.strip():
            self.fail(name, "must not be empty")
        return text

    def integer(self, name: str, *, minimum: int | None = None) -> int:
        value = self._required(name)
        # bool is an int in Python but not in JSON
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"expected an integer, got {_kind(value)}")
        if minimum is not None and value < minimum:
            self.fail(name, f"must be at least {minimum}")
        if value > MAX_INTEGER:
            self.fail(name, "larger than a 64-bit integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._required(name)
        if not isinstance(value, bool):
            self.fail(name, f"expected a boolean, got {_kind(value)}")
        return value

    def opt_number(self, name: str) -> float | None:
        value = self._data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, f"expected a number, got {_kind(value)}")
        return float(value)

    def datetime(self, name: str) -> dt.datetime:
        return self._check_datetime(name, self._required(name))

    def opt_datetime(self, name: str) -> dt.datetime | None:
        value = self._data.get(name)
        return None if value is None else self._check_datetime(name, value)

    def _check_datetime(self, name: str, value: Any) -> dt.datetime:
        if not isinstance(value, str) or not _RFC3339.fullmatch(value):
            self.fail(name, "not an RFC 3339 date-time")
        try:
            # fromisoformat (3.11) takes "Z" but not the lower-case letters RFC 3339 allows
            parsed = dt.datetime.fromisoformat(value.upper())
        except ValueError:
            self.fail(name, "not a valid date-time (out-of-range field)")
        if parsed.tzinfo is None:  # pragma: no cover - the pattern requires an offset
            self.fail(name, "date-time without a UTC offset")
        return parsed

    def enum(self, name: str, cls: type[_E]) -> _E:
        value = self._required(name)
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in cls)
            self.fail(name, f"not one of {allowed}")

    def choice(self, name: str, allowed: frozenset[str]) -> str:
        value = self._required(name)
        if not isinstance(value, str) or value not in allowed:
            self.fail(name, f"not one of {', '.join(sorted(allowed))}")
        return value

    def obj(self, name: str) -> _Obj:
        return _Obj(self._required(name), self.at(name))

    def opt_obj(self, name: str) -> _Obj | None:
        value = self._data.get(name)
        return None if value is None else _Obj(value, self.at(name))

    def array(self, name: str, *, required: bool = True) -> list[Any]:
        value = self._required(name) if required else self._data.get(name, [])
        if not isinstance(value, list):
            self.fail(name, f"expected an array, got {_kind(value)}")
        return value

    def objects(self, name: str, *, required: bool = True) -> list[_Obj]:
        items = self.array(name, required=required)
        return [_Obj(item, f"{self.at(name)}[{i}]") for i, item in enumerate(items)]


# --- the contract's schemas -------------------------------------------------------------------


def _anexo(o: _Obj) -> models.Anexo:
    id_anexo = o.string("id_anexo", max_length=MAX_ID_LENGTH, nonempty=True)
    nome_arquivo = o.text("nome_arquivo")
    tipo_conteudo = o.string("tipo_conteudo")
    tamanho = o.integer("tamanho_bytes", minimum=0)
    sha256 = o.string("sha256")
    if not _SHA256.fullmatch(sha256):
        o.fail("sha256", "not a 64-character hex digest")
    return models.Anexo(
        id_anexo=id_anexo,
        nome_arquivo=nome_arquivo,
        tipo_conteudo=tipo_conteudo,
        tamanho_bytes=tamanho,
        sha256=sha256.lower(),
    )


def _anexos(o: _Obj, name: str = "anexos") -> tuple[models.Anexo, ...]:
    return tuple(_anexo(a) for a in o.objects(name))


def _interacao(o: _Obj) -> models.Interacao:
    return models.Interacao(
        id_interacao=o.string("id_interacao", max_length=MAX_ID_LENGTH, nonempty=True),
        autor=o.choice("autor", _AUTORES),
        tipo=o.choice("tipo", _TIPOS_INTERACAO),
        texto=o.text("texto", max_length=MAX_TEXT_LENGTH),
        anexos=_anexos(o),
        ocorrida_em=o.datetime("ocorrida_em"),
        canal=o.opt_string("canal"),
    )


def _encerramento(o: _Obj) -> models.Encerramento:
    responsavel = o.opt_obj("responsavel")
    return models.Encerramento(
        resultado=o.enum("resultado", models.Resultado),
        texto=o.text("texto", max_length=MAX_TEXT_LENGTH),
        encerrada_em=o.datetime("encerrada_em"),
        quantidade_interacoes=o.integer("quantidade_interacoes", minimum=0),
        responsavel_nome=responsavel.opt_text("nome") if responsavel else None,
        responsavel_unidade=responsavel.opt_text("unidade") if responsavel else None,
    )


def _reabertura(o: _Obj) -> models.Reabertura:
    return models.Reabertura(motivo=o.text("motivo"), reaberta_em=o.datetime("reaberta_em"))


def _municipe(o: _Obj) -> models.Municipe:
    cpf, cnpj = o.opt_string("cpf"), o.opt_string("cnpj")
    if cpf is not None and not _CPF.fullmatch(cpf):
        o.fail("cpf", "not 11 digits without punctuation")
    if cnpj is not None and not _CNPJ.fullmatch(cnpj):
        o.fail("cnpj", "not 14 digits without punctuation")
    return models.Municipe(
        nome=o.text("nome"),
        cpf=cpf,
        cnpj=cnpj,
        email=o.opt_text("email"),
        telefone=o.opt_text("telefone"),
    )


def _endereco(o: _Obj) -> models.Endereco:
    return models.Endereco(
        logradouro=o.opt_text("logradouro"),
        numero=o.opt_text("numero"),
        complemento=o.opt_text("complemento"),
        cep=o.opt_text("cep"),
        bairro=o.opt_text("bairro"),
        distrito=o.opt_text("distrito"),
        subprefeitura=o.opt_text("subprefeitura"),
        latitude=o.opt_number("latitude"),
        longitude=o.opt_number("longitude"),
    )


def _solicitacao(o: _Obj) -> models.Solicitacao:
    servico, orgao, unidade = o.obj("servico"), o.obj("orgao"), o.obj("unidade")
    anonima = o.boolean("anonima")
    municipe_obj = o.opt_obj("municipe")
    if anonima and municipe_obj is not None:
        # an anonymous request carrying a citizen would leak identity into SEI: a person decides
        o.fail("municipe", "must be null when anonima is true")
    endereco_obj = o.opt_obj("endereco")
    encerramento_obj = o.opt_obj("encerramento")
    return models.Solicitacao(
        protocolo=o.string("protocolo", max_length=MAX_PROTOCOLO_LENGTH, nonempty=True),
        servico_codigo=servico.string("codigo", max_length=MAX_CODE_LENGTH, nonempty=True),
        servico_nome=servico.text("nome"),
        canal=o.enum("canal", models.Canal),
        orgao_sigla=orgao.string("sigla", nonempty=True),
        orgao_nome=orgao.text("nome"),
        unidade_codigo=unidade.string("codigo", nonempty=True),
        unidade_nome=unidade.text("nome"),
        anonima=anonima,
        descricao=o.text("descricao", max_length=MAX_TEXT_LENGTH),
        anexos=_anexos(o),
        aberta_em=o.datetime("aberta_em"),
        situacao=o.enum("situacao", models.Situacao),
        municipe=_municipe(municipe_obj) if municipe_obj is not None else None,
        endereco=_endereco(endereco_obj) if endereco_obj is not None else None,
        tema=o.opt_text("tema"),
        assunto=o.opt_text("assunto"),
        prazo_em=o.opt_datetime("prazo_em"),
        interacoes=tuple(_interacao(i) for i in o.objects("interacoes", required=False)),
        encerramento=_encerramento(encerramento_obj) if encerramento_obj is not None else None,
        processo_sei=o.opt_string("processo_sei"),
    )


def _resumo(o: _Obj) -> models.SolicitacaoResumo:
    return models.SolicitacaoResumo(
        protocolo=o.string("protocolo", max_length=MAX_PROTOCOLO_LENGTH, nonempty=True),
        servico_codigo=o.string("servico_codigo"),
        situacao=o.string("situacao"),
        quantidade_interacoes=o.integer("quantidade_interacoes", minimum=0),
        atualizada_em=o.datetime("atualizada_em"),
        processo_sei=o.opt_string("processo_sei"),
    )


# --- feed events ------------------------------------------------------------------------------


def synthetic_id(raw: Any) -> str:
    """A stable id for an event whose ``id_evento`` is unusable: ``invalid:`` + the sha256 of
    its canonical JSON, so that a re-read of the same bytes deduplicates."""
    canonical = json.dumps(
        raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    # surrogatepass: a lone surrogate (legal in JSON text) must not make this raise
    return "invalid:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _usable_key(value: Any, max_length: int) -> TypeGuard[str]:
    """True for a string the store can file an item under (and a terminal can show)."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value) <= max_length
        and chars.first_control(value) is None
    )


_CLOSE_OBJECT, _CLOSE_ARRAY = object(), object()


def _deep_id(raw: Any) -> str:
    """:func:`synthetic_id`'s counterpart for JSON too deep to serialise: a sha256 over a
    canonical walk of ``raw`` done without recursion (stable across re-reads)."""
    digest = hashlib.sha256(b"deep:")
    stack: list[Any] = [raw]
    while stack:
        value = stack.pop()
        if value is _CLOSE_OBJECT or value is _CLOSE_ARRAY:
            digest.update(b"}" if value is _CLOSE_OBJECT else b"]")
        elif isinstance(value, Mapping):
            digest.update(b"{")
            stack.append(_CLOSE_OBJECT)
            for key in sorted(value, key=str, reverse=True):
                stack.append(value[key])
                stack.append(("key", str(key)))
        elif isinstance(value, list):
            digest.update(b"[")
            stack.append(_CLOSE_ARRAY)
            stack.extend(reversed(value))
        else:
            scalar = value[1] + ":" if isinstance(value, tuple) else json.dumps(value, default=str)
            digest.update(scalar.encode("utf-8", "surrogatepass") + b",")
    return "invalid:" + digest.hexdigest()


def _deeper_than(raw: Any, limit: int) -> bool:
    """True when ``raw`` nests more than ``limit`` arrays/objects (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(raw, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _envelope(o: _Obj) -> tuple[str, int, str, str]:
    id_evento = o.string("id_evento", max_length=MAX_ID_LENGTH, nonempty=True)
    sequencia = o.integer("sequencia", minimum=0)
    tipo = o.string("tipo", nonempty=True)
    o.datetime("ocorrido_em")
    protocolo = o.string("protocolo", max_length=MAX_PROTOCOLO_LENGTH, nonempty=True)
    return id_evento, sequencia, tipo, protocolo


def _evento(o: _Obj, id_evento: str, sequencia: int, tipo: models.TipoEvento) -> models.Evento:
    expected = _PAYLOAD_OF[tipo]
    for key in _PAYLOAD_OF.values():
        if key != expected and o.has(key):
            o.fail(key, f"not allowed in a {tipo.value} event")
    if not o.has(expected):
        o.fail(expected, f"missing (required by {tipo.value})")
    payload = o.obj(expected)
    protocolo = o.string("protocolo")
    fields: dict[str, Any] = {}
    if tipo is models.TipoEvento.REGISTRADA:
        solicitacao = _solicitacao(payload)
        if solicitacao.protocolo != protocolo:
            payload.fail("protocolo", "differs from the event's protocolo")
        fields["solicitacao"] = solicitacao
    elif tipo is models.TipoEvento.INTERACAO:
        fields["interacao"] = _interacao(payload)
    elif tipo is models.TipoEvento.FINALIZADA:
        fields["encerramento"] = _encerramento(payload)
    else:
        fields["reabertura"] = _reabertura(payload)
    return models.Evento(
        id_evento=id_evento,
        sequencia=sequencia,
        tipo=tipo,
        ocorrido_em=o.datetime("ocorrido_em"),
        protocolo=protocolo,
        **fields,
    )


def _salvage(raw: Mapping[str, Any], *, deep: bool = False) -> tuple[str, int | None, str | None]:
    """Whatever identifies a malformed event: its own id when usable (else a synthetic one),
    its sequencia and protocolo when well-typed."""
    id_evento = raw.get("id_evento")
    if not _usable_key(id_evento, MAX_ID_LENGTH):
        id_evento = _deep_id(raw) if deep else synthetic_id(raw)
    sequencia = raw.get("sequencia")
    if (
        isinstance(sequencia, bool)
        or not isinstance(sequencia, int)
        or not 0 <= sequencia <= MAX_INTEGER
    ):
        sequencia = None
    protocolo = raw.get("protocolo")
    if not _usable_key(protocolo, MAX_PROTOCOLO_LENGTH):
        protocolo = None
    return id_evento, sequencia, protocolo


def parse_event(raw: Any) -> models.FeedItem:
    """One element of ``eventos`` → Evento, UnknownEvent or QuarantinedEvent; never raises.

    A valid event of a known tipo carries exactly the payload of its tipo (registrada →
    solicitacao, interacao → interacao, finalizada → encerramento, reaberta → reabertura), and a
    registrada's solicitacao has the event's protocolo. An unknown tipo with a valid envelope
    becomes an UnknownEvent. Anything else becomes a QuarantinedEvent whose ``error`` names the
    first wrong field (path and problem, never the value).
    """
    if not isinstance(raw, Mapping):
        wrapped: dict[str, Any] = {"evento": raw}
        if _deeper_than(raw, MAX_DEPTH):
            key = _deep_id(wrapped)
            wrapped = {"evento": None, "raw_dropped": "nested too deep"}
        else:
            key = synthetic_id(wrapped)
        return models.QuarantinedEvent(
            id_evento=key,
            sequencia=None,
            protocolo=None,
            error=f"evento: expected an object, got {_kind(raw)}",
            raw=wrapped,
        )
    if _deeper_than(raw, MAX_DEPTH):
        # the store could not serialise it (nor should it try): keep what identifies it
        known_id, known_sequencia, known_protocolo = _salvage(raw, deep=True)
        stub = {"id_evento": known_id, "sequencia": known_sequencia, "protocolo": known_protocolo}
        return models.QuarantinedEvent(
            id_evento=known_id,
            sequencia=known_sequencia,
            protocolo=known_protocolo,
            error=f"evento: nested deeper than {MAX_DEPTH} levels (raw JSON not kept)",
            raw={**stub, "raw_dropped": "nested too deep"},
        )
    try:
        o = _Obj(raw, "")
        id_evento, sequencia, tipo_text, protocolo = _envelope(o)
        try:
            tipo = models.TipoEvento(tipo_text)
        except ValueError:
            return models.UnknownEvent(
                id_evento=id_evento,
                sequencia=sequencia,
                tipo=tipo_text,
                protocolo=protocolo,
                raw=dict(raw),
            )
        return _evento(o, id_evento, sequencia, tipo)
    except _Invalid as exc:
        known_id, known_sequencia, known_protocolo = _salvage(raw)
        return models.QuarantinedEvent(
            id_evento=known_id,
            sequencia=known_sequencia,
            protocolo=known_protocolo,
            error=str(exc),
            raw=dict(raw),
        )


# --- whole answers (raise) --------------------------------------------------------------------


def _invalid(what: str, exc: _Invalid) -> errors.SigrcInvalidResponse:
    return errors.SigrcInvalidResponse(
        f"SIGRC answered an invalid {what}: {exc}; report it to the SIGRC team", path=exc.path
    )


def parse_solicitacao(raw: Any) -> models.Solicitacao:
    """The body of ``GET /v1/solicitacoes/{protocolo}`` (with ``interacoes``) → Solicitacao.

    Raises :class:`~sei_bridge.errors.SigrcInvalidResponse` naming the field path when invalid.
    """
    try:
        return _solicitacao(_Obj(raw, ""))
    except _Invalid as exc:
        raise _invalid("solicitação", exc) from None


def parse_solicitacao_resumo(raw: Any) -> models.SolicitacaoResumo:
    """One element of ``GET /v1/solicitacoes``'s ``solicitacoes`` → SolicitacaoResumo.

    Raises :class:`~sei_bridge.errors.SigrcInvalidResponse` naming the field path when invalid.
    """
    try:
        return _resumo(_Obj(raw, ""))
    except _Invalid as exc:
        raise _invalid("solicitação summary", exc) from None


def parse_event_page(raw: Any) -> models.EventPage:
    """The body of ``GET /v1/eventos`` → EventPage.

    The envelope (``eventos``, ``ha_mais``, ``atraso_maximo_segundos``, ``ultima_sequencia``)
    must be valid, else :class:`~sei_bridge.errors.SigrcInvalidResponse`; each event goes through
    :func:`parse_event`, so a bad event is quarantined, never lost.
    """
    try:
        o = _Obj(raw, "")
        eventos = o.array("eventos")
        ultima = o.integer("ultima_sequencia", minimum=0) if _placeable(o) else None
        return models.EventPage(
            items=tuple(parse_event(e) for e in eventos),
            ultima_sequencia=ultima,
            ha_mais=o.boolean("ha_mais"),
            atraso_maximo_segundos=o.integer("atraso_maximo_segundos", minimum=0),
        )
    except _Invalid as exc:
        raise _invalid("page of events", exc) from None


def _placeable(o: _Obj) -> bool:
    """True when the page's ``ultima_sequencia`` is present and usable as the next ``apos``.

    One that does not fit 64 bits is the sequencia of an event out of range (that event is
    quarantined, unplaced): ignored, so that the page's other events still move the cursor.
    """
    value = o._data.get("ultima_sequencia")
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_INTEGER:
        return False
    return o.has("ultima_sequencia")


def parse_solicitacoes_page(raw: Any) -> tuple[tuple[models.SolicitacaoResumo, ...], int, int]:
    """The body of ``GET /v1/solicitacoes`` → (summaries, pagina, total_paginas).

    Raises :class:`~sei_bridge.errors.SigrcInvalidResponse` naming the field path when invalid.
    """
    try:
        o = _Obj(raw, "")
        resumos = tuple(_resumo(r) for r in o.objects("solicitacoes"))
        return resumos, o.integer("pagina", minimum=1), o.integer("total_paginas", minimum=0)
    except _Invalid as exc:
        raise _invalid("page of solicitação summaries", exc) from None
