"""Seeded, deterministic SP156 traffic of the Secretaria Municipal da Fazenda.

``generate_traffic(seed, count)`` returns ``count`` requests, each with its timeline of feed
events (``registrada``, ``interacao``, ``finalizada``, ``reaberta``) exactly as SIGRC serves them
except for ``sequencia``, which the simulator assigns when it writes each event. The same seed
gives the same traffic, byte for byte, in any process; request ``i`` depends only on
``(seed, i)`` and the options, so any request can be regenerated alone.

The traffic is realistic (several Fazenda services, every channel, identified citizens with valid
CPF or CNPJ and anonymous requests, São Paulo addresses, dialogues of 0–5 interactions, PDF and
PNG attachments from a few hundred bytes to a few megabytes, closures with every ``resultado``,
some requests reopened and closed again) and carries the hard cases of the contract at a low
rate, each switchable (:class:`HardCase`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import itertools
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sei_bridge.sandboxes.traffic import files, text, vocab
from sei_bridge.sandboxes.traffic.text import MAX_TEXT_LENGTH
from sei_bridge.sandboxes.traffic.vocab import (
    FAZENDA_SERVICES,
    ORGAO_NOME,
    ORGAO_SIGLA,
    UNMAPPED_SERVICE,
    FazendaService,
    cnpj_is_valid,
    cpf_is_valid,
)

__all__ = [
    "ALL_HARD_CASES",
    "DEFAULT_OPTIONS",
    "DEFAULT_START",
    "FAZENDA_SERVICES",
    "MAX_TEXT_LENGTH",
    "ORGAO_NOME",
    "ORGAO_SIGLA",
    "SP_TZ",
    "UNKNOWN_TIPO",
    "UNMAPPED_SERVICE",
    "FazendaService",
    "GeneratedEvent",
    "GeneratedFile",
    "GeneratedRequest",
    "HardCase",
    "TrafficOptions",
    "cnpj_is_valid",
    "cpf_is_valid",
    "forced_hard_cases",
    "generate_request",
    "generate_traffic",
    "iter_traffic",
]

_T = TypeVar("_T")

#: São Paulo time (no daylight saving since 2019); every generated timestamp carries it.
SP_TZ = dt.timezone(dt.timedelta(hours=-3))
#: When generated traffic starts, unless the options say otherwise.
DEFAULT_START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=SP_TZ)
#: The ``tipo`` of the event the contract does not know yet (hard case UNKNOWN_TIPO).
UNKNOWN_TIPO = "solicitacao.encaminhada"


class HardCase(enum.StrEnum):
    """Deliberately difficult content; each can be switched off in :class:`TrafficOptions`."""

    UNICODE = "unicode"  #: emoji, CJK, Cyrillic and combining marks in text, names, file names
    MARKUP = "markup"  #: ``<script>``, ``]]>``, ``&amp;``, quotes in free text
    LONG_TEXT = "long_text"  #: a ``descricao`` of exactly 20,000 characters
    UNKNOWN_TIPO = "unknown_tipo"  #: an extra event of tipo ``solicitacao.encaminhada``
    MALFORMED = "malformed"  #: an ``interacao`` event without ``ocorrida_em`` or a bad date
    UNMAPPED_SERVICE = "unmapped_service"  #: ``servico.codigo`` "9999", in no mapping


ALL_HARD_CASES: frozenset[HardCase] = frozenset(HardCase)

_CANAIS = ("PORTAL", "APLICATIVO", "CENTRAL_TELEFONICA", "CHAT", "PRACA_ATENDIMENTO", "OUTRO")
_CANAL_CUM = tuple(itertools.accumulate((35, 20, 25, 8, 10, 2)))
_RESULTADOS = ("ATENDIDA", "NAO_ATENDIDA", "INDEFERIDA", "CANCELADA")
_RESULTADO_CUM = tuple(itertools.accumulate((55, 15, 20, 10)))
_INTERACTION_COUNT_CUM = tuple(itertools.accumulate((25, 25, 20, 15, 10, 5)))  # 0..5
# (author, tipo, weight): the citizen complements or asks, the unit answers or asks for more,
# the call-centre attendant records what the citizen said on the phone or at the counter.
_DIALOGUE = (
    ("MUNICIPE", "COMPLEMENTO", 20),
    ("MUNICIPE", "MANIFESTACAO", 15),
    ("ORGAO", "RESPOSTA", 25),
    ("ORGAO", "SOLICITACAO_COMPLEMENTO", 25),
    ("ATENDENTE", "MANIFESTACAO", 15),
)
_DIALOGUE_CUM = tuple(itertools.accumulate(w for *_, w in _DIALOGUE))
_SERVICE_LIST = tuple(FAZENDA_SERVICES.values())
_SERVICE_CUM = tuple(itertools.accumulate(s.weight for s in _SERVICE_LIST))
# Attachment sizes: (cumulative probability, smallest, largest, distinct files). Each size tier
# draws from a seeded pool of files, so 50,000 requests do not render and hash gigabytes; the
# same scanned form attached to several requests is ordinary in SIGRC anyway.
_FILE_TIERS = (
    (0.75, 300, 64 * 1024, 256),
    (0.96, 64 * 1024, 600 * 1024, 32),
    (1.01, 600 * 1024, 5 * 1024 * 1024, 16),
)


@dataclass(frozen=True)
class TrafficOptions:
    """How traffic is generated. The defaults give realistic Fazenda traffic with every hard
    case present at a low rate."""

    hard_cases: frozenset[HardCase] = ALL_HARD_CASES  #: the hard cases that may appear
    hard_case_rate: float = 0.02  #: chance of each enabled hard case in each request
    #: put each enabled hard case in at least one request (spread over the traffic)
    ensure_hard_cases: bool = True
    start: dt.datetime = DEFAULT_START  #: opening time of the first request
    mean_gap_seconds: float = 90.0  #: mean time between two openings
    anonymous_rate: float = 0.08
    closed_rate: float = 0.85  #: requests with at least one closure
    reopen_rate: float = 0.08  #: closed requests that are reopened and closed again
    #: requests of another órgão (SMSUB), to exercise the ``orgao`` filter; 0 by default
    other_orgao_rate: float = 0.0
    max_file_bytes: int = 5 * 1024 * 1024  #: the largest attachment generated


DEFAULT_OPTIONS = TrafficOptions()

_OTHER_SERVICE = FazendaService(
    "1120",
    "Tapa-buraco",
    "Pavimentação",
    "SMSUB-PAV",
    "Coordenadoria de Pavimentação",
    0,
    ("Buraco na via em frente ao número {numero}, risco de acidente.",),
    ("foto-buraco.png",),
    tema="Ruas e bairros",
)
_OTHER_ORGAO = ("SMSUB", "Secretaria Municipal das Subprefeituras")


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """An attachment: its ``Anexo`` metadata and the spec its bytes are rendered from."""

    id_anexo: str
    nome_arquivo: str
    tamanho_bytes: int
    sha256: str
    spec: files.FileSpec = field(repr=False)

    @property
    def tipo_conteudo(self) -> str:
        return self.spec.kind.content_type

    def content(self) -> bytes:
        """The bytes, rendered again from the spec (never stored)."""
        return files.render(self.spec)

    def to_json(self) -> dict[str, Any]:
        """The ``Anexo`` object of the contract."""
        return {
            "id_anexo": self.id_anexo,
            "nome_arquivo": self.nome_arquivo,
            "tipo_conteudo": self.tipo_conteudo,
            "tamanho_bytes": self.tamanho_bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class GeneratedEvent:
    """One feed event of a request, as SIGRC serves it minus ``sequencia``."""

    id_evento: str
    tipo: str
    ocorrido_em: dt.datetime
    payload: dict[str, Any] = field(repr=False)  #: the event JSON (may be malformed on purpose)
    #: for an event malformed on purpose, the well-formed event SIGRC's own records hold
    intact: dict[str, Any] | None = field(default=None, repr=False)
    files: tuple[GeneratedFile, ...] = ()  #: attachments this event introduces


@dataclass(frozen=True, slots=True)
class GeneratedRequest:
    """A request and its ordered timeline (``ocorrido_em`` strictly increasing)."""

    index: int
    protocolo: str
    orgao_sigla: str
    servico_codigo: str
    canal: str
    anonima: bool
    hard_cases: frozenset[HardCase]
    events: tuple[GeneratedEvent, ...] = field(repr=False)

    @property
    def files(self) -> tuple[GeneratedFile, ...]:
        return tuple(f for e in self.events for f in e.files)

    @property
    def interaction_count(self) -> int:
        return sum(1 for e in self.events if e.tipo == "solicitacao.interacao")

    @property
    def closure_count(self) -> int:
        return sum(1 for e in self.events if e.tipo == "solicitacao.finalizada")


def forced_hard_cases(count: int, options: TrafficOptions) -> dict[int, frozenset[HardCase]]:
    """Which request index carries which hard case for sure (``ensure_hard_cases``): each enabled
    case once, spread evenly over the ``count`` requests."""
    if not options.ensure_hard_cases or count <= 0 or not options.hard_cases:
        return {}
    enabled = [c for c in HardCase if c in options.hard_cases]
    forced: dict[int, set[HardCase]] = {}
    for k, case in enumerate(enabled):
        forced.setdefault((2 * k + 1) * count // (2 * len(enabled)), set()).add(case)
    return {i: frozenset(cases) for i, cases in forced.items()}


def iter_traffic(
    seed: int, count: int, options: TrafficOptions = DEFAULT_OPTIONS
) -> Iterator[GeneratedRequest]:
    """The requests of :func:`generate_traffic`, one at a time (constant memory)."""
    forced = forced_hard_cases(count, options)
    for index in range(count):
        yield generate_request(seed, index, options, force=forced.get(index, frozenset()))


def generate_traffic(
    seed: int, count: int, options: TrafficOptions = DEFAULT_OPTIONS
) -> list[GeneratedRequest]:
    """``count`` requests in opening order; the same arguments always give the same traffic."""
    return list(iter_traffic(seed, count, options))


def _pick(rng: random.Random, items: Sequence[_T], cumulative: Sequence[int]) -> _T:
    """A weighted choice with precomputed cumulative weights (random.choices redoes them)."""
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(SP_TZ).isoformat(timespec="seconds")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@functools.lru_cache(maxsize=64)
def _first_protocolo_number(seed: int) -> int:
    return random.Random(f"sigrc:{seed}:protocolo").randrange(100_000, 9_000_000)


@functools.lru_cache(maxsize=2048)
def _pooled_file(
    seed: int, kind: files.FileKind, low: int, high: int, slot: int
) -> tuple[files.FileSpec, int, str]:
    """File ``slot`` of a size tier of the traffic of ``seed``: spec, size and sha256."""
    pool = random.Random(f"sigrc:{seed}:file:{kind}:{low}:{slot}")
    target = min(high, int(low * (max(high, low + 1) / low) ** pool.random()))
    title = "Documento digitalizado" if target > 64 * 1024 else "Documento anexado"
    spec = files.FileSpec(kind, target, pool.getrandbits(64), title)
    size, sha = files.digest(spec)
    return spec, size, sha


class _RequestBuilder:
    """Builds one request; holds the per-request random stream and the running clock."""

    def __init__(
        self, seed: int, index: int, options: TrafficOptions, force: frozenset[HardCase]
    ) -> None:
        self.seed = seed
        self.index = index
        self.options = options
        self.rng = random.Random(f"sigrc:{seed}:{index}")
        rng = self.rng
        self.hard = set(force & options.hard_cases)
        for case in HardCase:
            if case in options.hard_cases and rng.random() < options.hard_case_rate:
                self.hard.add(case)
        gap = options.mean_gap_seconds
        self.now = options.start + dt.timedelta(seconds=index * gap + rng.uniform(0, gap))
        self.protocolo = f"{self.now.year}-{_first_protocolo_number(seed) + index:08d}"
        self.events: list[GeneratedEvent] = []
        self.file_count = 0
        if rng.random() < options.other_orgao_rate:
            self.service, self.orgao = _OTHER_SERVICE, _OTHER_ORGAO
        else:
            self.orgao = (ORGAO_SIGLA, ORGAO_NOME)
            if HardCase.UNMAPPED_SERVICE in self.hard:
                self.service = UNMAPPED_SERVICE
            else:
                self.service = _pick(rng, _SERVICE_LIST, _SERVICE_CUM)

    # --- clock and ids ---------------------------------------------------------------------

    def advance(self, mean_seconds: float) -> dt.datetime:
        step = max(60.0, self.rng.expovariate(1.0 / mean_seconds))
        self.now += dt.timedelta(seconds=int(step))
        return self.now

    def event(self, tipo: str, body: dict[str, Any], **extra: Any) -> GeneratedEvent:
        id_evento = _uuid(self.rng)
        payload = {
            "id_evento": id_evento,
            "tipo": tipo,
            "ocorrido_em": _iso(self.now),
            "protocolo": self.protocolo,
            **body,
        }
        return GeneratedEvent(id_evento, tipo, self.now, payload, **extra)

    # --- attachments -----------------------------------------------------------------------

    def file(self, names: tuple[str, ...]) -> GeneratedFile:
        rng = self.rng
        name = rng.choice(names)
        self.file_count += 1
        stem, _, ext = name.rpartition(".")
        kind = files.FileKind.PNG if ext == "png" else files.FileKind.PDF
        if self.file_count > 1:
            name = f"{stem}-{self.file_count}.{ext}"
        if HardCase.UNICODE in self.hard and self.file_count == 1:
            name = f"{stem}-ação-文件-😀.{ext}"
        draw = rng.random()
        tier = next(t for t in _FILE_TIERS if draw < t[0])
        slot = rng.randrange(tier[3])
        high = min(tier[2], self.options.max_file_bytes)
        spec, size, sha = _pooled_file(self.seed, kind, tier[1], high, slot)
        return GeneratedFile(f"ANX-{rng.getrandbits(48):012x}", name, size, sha, spec)

    def files_for(self, names: tuple[str, ...], weights: tuple[int, ...]) -> list[GeneratedFile]:
        count = _pick(self.rng, range(len(weights)), tuple(itertools.accumulate(weights)))
        return [self.file(names) for _ in range(count)]

    # --- timeline --------------------------------------------------------------------------

    def build(self) -> GeneratedRequest:
        rng, options = self.rng, self.options
        canal = _pick(rng, _CANAIS, _CANAL_CUM)
        anonima = rng.random() < options.anonymous_rate
        registrada = self.registrada(canal, anonima)
        self.events.append(registrada)
        if HardCase.UNKNOWN_TIPO in self.hard:
            self.advance(3600)
            self.events.append(self.encaminhada())
        interactions = _pick(rng, range(6), _INTERACTION_COUNT_CUM)
        if HardCase.MALFORMED in self.hard:
            interactions = max(1, interactions)
        closes = rng.random() < options.closed_rate
        reopens = closes and rng.random() < options.reopen_rate
        before = rng.randint(0, interactions) if reopens else interactions
        malformed_at = rng.randrange(interactions) if HardCase.MALFORMED in self.hard else -1
        done = 0
        previous: tuple[str, str] | None = None
        phases = (before, interactions - before) if reopens else (interactions,)
        for phase, phase_count in enumerate(phases):
            for _ in range(phase_count):
                previous = self.next_turn(previous)
                self.advance(2 * 86400)
                self.events.append(self.interacao(previous, canal, malformed=done == malformed_at))
                done += 1
            if closes:
                self.advance(5 * 86400)
                self.events.append(self.finalizada(done))
            if reopens and phase == 0:
                self.advance(3 * 86400)
                self.events.append(self.reaberta())
        return GeneratedRequest(
            index=self.index,
            protocolo=self.protocolo,
            orgao_sigla=self.orgao[0],
            servico_codigo=self.service.codigo,
            canal=canal,
            anonima=anonima,
            hard_cases=frozenset(self.hard),
            events=tuple(self.events),
        )

    def next_turn(self, previous: tuple[str, str] | None) -> tuple[str, str]:
        # A request for documents is usually answered by the citizen sending them.
        if previous == ("ORGAO", "SOLICITACAO_COMPLEMENTO") and self.rng.random() < 0.7:
            return ("MUNICIPE", "COMPLEMENTO")
        author, tipo, _ = _pick(self.rng, _DIALOGUE, _DIALOGUE_CUM)
        return (author, tipo)

    def registrada(self, canal: str, anonima: bool) -> GeneratedEvent:
        rng, service = self.rng, self.service
        anexos = self.files_for(service.anexos, (40, 35, 15, 10))
        descricao = text.descricao(rng, service, self.hard)
        solicitacao: dict[str, Any] = {
            "protocolo": self.protocolo,
            "servico": {"codigo": service.codigo, "nome": service.nome},
            "tema": service.tema,
            "assunto": service.assunto,
            "canal": canal,
            "orgao": {"sigla": self.orgao[0], "nome": self.orgao[1]},
            "unidade": {"codigo": service.unidade_codigo, "nome": service.unidade_nome},
            "anonima": anonima,
            "municipe": None if anonima else text.municipe(rng, service, self.hard),
            "endereco": text.endereco(rng, required=service.assunto == "IPTU"),
            "descricao": descricao,
            "anexos": [f.to_json() for f in anexos],
            "aberta_em": _iso(self.now),
            "prazo_em": _iso(self.now + dt.timedelta(days=30)) if rng.random() < 0.85 else None,
            "situacao": "ABERTA",
            "encerramento": None,
            "processo_sei": None,
        }
        return self.event(
            "solicitacao.registrada", {"solicitacao": solicitacao}, files=tuple(anexos)
        )

    def interacao(self, turn: tuple[str, str], canal: str, *, malformed: bool) -> GeneratedEvent:
        rng = self.rng
        author, tipo = turn
        if author == "MUNICIPE" and tipo == "COMPLEMENTO":
            anexos = self.files_for(self.service.anexos, (20, 60, 20))
        elif author == "ORGAO":
            anexos = self.files_for(("oficio.pdf", "parecer-tecnico.pdf"), (85, 15))
        else:
            anexos = self.files_for(("documento-entregue.pdf", "foto.png"), (80, 20))
        interacao: dict[str, Any] = {
            "id_interacao": f"INT-{rng.getrandbits(40):010x}",
            "autor": author,
            "tipo": tipo,
            "texto": text.interacao(rng, turn, self.hard),
            "anexos": [f.to_json() for f in anexos],
            "ocorrida_em": _iso(self.now),
        }
        if author == "MUNICIPE":
            interacao["canal"] = canal if rng.random() < 0.6 else rng.choice(_CANAIS[:4])
        elif author == "ATENDENTE":
            interacao["canal"] = rng.choice(("CENTRAL_TELEFONICA", "PRACA_ATENDIMENTO"))
        evento = self.event("solicitacao.interacao", {"interacao": interacao}, files=tuple(anexos))
        if not malformed:
            return evento
        broken = dict(interacao)
        if rng.random() < 0.5:
            del broken["ocorrida_em"]
        else:
            broken["ocorrida_em"] = rng.choice(("2026-02-30T25:61:00-03:00", "31/02/2026 14:00"))
        payload = {**evento.payload, "interacao": broken}
        return GeneratedEvent(
            evento.id_evento, evento.tipo, evento.ocorrido_em, payload, evento.payload, evento.files
        )

    def finalizada(self, interactions: int) -> GeneratedEvent:
        rng = self.rng
        resultado = _pick(rng, _RESULTADOS, _RESULTADO_CUM)
        encerramento: dict[str, Any] = {
            "resultado": resultado,
            "texto": rng.choice(vocab.ENCERRAMENTOS[resultado]),
            "encerrada_em": _iso(self.now),
            "quantidade_interacoes": interactions,
        }
        if rng.random() < 0.8:
            encerramento["responsavel"] = {
                "nome": rng.choice(vocab.SERVIDORES),
                "unidade": self.service.unidade_codigo,
            }
        return self.event("solicitacao.finalizada", {"encerramento": encerramento})

    def reaberta(self) -> GeneratedEvent:
        body = {
            "reabertura": {
                "motivo": self.rng.choice(vocab.REABERTURAS),
                "reaberta_em": _iso(self.now),
            }
        }
        return self.event("solicitacao.reaberta", body)

    def encaminhada(self) -> GeneratedEvent:
        destino = self.rng.choice(
            [u for u in vocab.ENCAMINHAMENTOS if u != self.service.unidade_codigo]
        )
        body = {
            "encaminhamento": {
                "unidade_origem": self.service.unidade_codigo,
                "unidade_destino": destino,
                "motivo": "Redistribuição de carga entre caixas",
            }
        }
        return self.event(UNKNOWN_TIPO, body)


def generate_request(
    seed: int,
    index: int,
    options: TrafficOptions = DEFAULT_OPTIONS,
    *,
    force: frozenset[HardCase] = frozenset(),
) -> GeneratedRequest:
    """Request ``index`` of the traffic of ``seed``; ``force`` adds hard cases (if enabled)."""
    return _RequestBuilder(seed, index, options, force).build()
