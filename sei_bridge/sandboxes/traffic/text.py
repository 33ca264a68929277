"""The free text and personal data of generated requests, hard cases included.

Composes :mod:`~sei_bridge.sandboxes.traffic.vocab`'s material into what a citizen types
(``descricao``), what the unit and the citizen write to each other (``texto``), the citizen
(``municipe``) and the address (``endereco``), and injects the text hard cases: non-Latin-1 text,
markup-like text and the 20,000-character description.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Set
from typing import Any

from sei_bridge.sandboxes.traffic import vocab

__all__ = [
    "MARKUP_SNIPPETS",
    "MAX_TEXT_LENGTH",
    "UNICODE_SNIPPETS",
    "descricao",
    "endereco",
    "interacao",
    "municipe",
]

#: The contract's maxLength of ``descricao`` and ``texto``.
MAX_TEXT_LENGTH = 20_000

#: Text outside Latin-1: emoji (with skin tone and ZWJ sequences), CJK, Cyrillic, Arabic,
#: combining marks (decomposed accents), astral-plane letters, a zero-width space.
UNICODE_SNIPPETS = (
    "Obrigado! 🙏🏽👍",
    "Документы приложены.",
    "请尽快处理，谢谢。",
    "Sa\u0303o Paulo, a\u0301gua e ac\u0327a\u0303o (acentos combinantes).",
    "𝐔𝐧𝐢𝐜𝐨𝐝𝐞 fora do plano básico 🏠💸",
    "zero\u200bwidth e texto RTL: مرحبا",
    "👨\u200d👩\u200d👧 família",
)
#: Text that breaks naive HTML or XML building: tags, a CDATA terminator, entities, quotes.
MARKUP_SNIPPETS = (
    "<script>alert(1)</script>",
    "]]>",
    "Tom &amp; Jerry & cia",
    "\"aspas duplas\" e 'simples'",
    "<b>urgente</b> <!-- comentário -->",
    "<![CDATA[ x ]]>",
    "&lt;tag&gt; &#x27; &nbsp;",
    "{{ modelo }} ${expr} %s %(nome)s",
)
_UNICODE_NAMES = (
    "Nguyễn Thị Minh Khai",
    "Дмитрий Иванов",
    "山田 太郎",
    "Zoë Ångström",
    "José\u0301 Conceic\u0327a\u0303o",
)
_CLOSINGS = ("Aguardo retorno.", "Obrigado.", "Att.", "Grato(a) pela atenção.", "")
_FILLER = (
    "Reitero que todos os documentos foram apresentados no prazo e que o cadastro da "
    "Prefeitura não corresponde à situação real do imóvel. ",
    "Já estive na Praça de Atendimento duas vezes e fui orientado(a) a abrir esta "
    "solicitação pelo portal. ",
    "Peço que considerem também os anos anteriores, em que a mesma cobrança ocorreu. ",
)


def _money(rng: random.Random) -> str:
    value = rng.randint(5_000, 2_500_000)
    reais = f"{value // 100:,}".replace(",", ".")
    return f"R$ {reais},{value % 100:02d}"


def _document_number(rng: random.Random, assunto: str) -> str:
    if assunto in ("IPTU", "Restituição"):  # número do contribuinte (SQL) of the property
        d = f"{rng.randrange(10**10):010d}"
        return f"{d[:3]}.{d[3:6]}.{d[6:10]}-{rng.randrange(10)}"
    if assunto == "ISS":  # Cadastro de Contribuintes Mobiliários
        d = f"{rng.randrange(10**7):07d}"
        return f"{d[0]}.{d[1:4]}.{d[4:7]}-{rng.randrange(10)}"
    cpf = vocab.random_cpf(rng)
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def _with_hard_text(rng: random.Random, base: str, hard: Set[str], *, always: bool) -> str:
    parts = [base]
    if "unicode" in hard and (always or rng.random() < 0.5):
        parts.append(" ".join(UNICODE_SNIPPETS))
    if "markup" in hard and (always or rng.random() < 0.5):
        parts.append(" ".join(MARKUP_SNIPPETS))
    return " ".join(parts)


def descricao(rng: random.Random, service: vocab.FazendaService, hard: Set[str]) -> str:
    """What the citizen typed when opening the request."""
    template = rng.choice(service.descricoes)
    body = template.format(
        doc=_document_number(rng, service.assunto),
        ano=rng.randint(2019, 2026),
        valor=_money(rng),
        numero=rng.randint(10_000, 99_999_999),
    )
    text = " ".join(p for p in (rng.choice(vocab.OPENINGS), body, rng.choice(_CLOSINGS)) if p)
    text = _with_hard_text(rng, text, hard, always=True)
    if "long_text" in hard:
        filler = "".join(_FILLER)
        text = (text + " " + filler * (MAX_TEXT_LENGTH // len(filler) + 1))[:MAX_TEXT_LENGTH]
    return text


def interacao(rng: random.Random, turn: tuple[str, str], hard: Set[str]) -> str:
    """The text of one interaction by ``turn`` = (autor, tipo)."""
    author, tipo = turn
    if author == "MUNICIPE":
        choices = (
            vocab.MUNICIPE_COMPLEMENTOS if tipo == "COMPLEMENTO" else vocab.MUNICIPE_MANIFESTACOES
        )
    elif author == "ORGAO":
        choices = (
            vocab.ORGAO_PEDIDOS if tipo == "SOLICITACAO_COMPLEMENTO" else vocab.ORGAO_RESPOSTAS
        )
    else:
        choices = vocab.ATENDENTE_REGISTROS
    return _with_hard_text(rng, rng.choice(choices), hard, always=False)


def _email_slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [w for w in "".join(c if c.isalnum() else " " for c in ascii_name).lower().split()]
    return ".".join(words[:2]) or "municipe"


def municipe(rng: random.Random, service: vocab.FazendaService, hard: Set[str]) -> dict[str, Any]:
    """An identified citizen: a person with CPF or, mostly for ISS, a company with CNPJ."""
    company_rate = 0.6 if service.assunto == "ISS" else 0.12
    cpf: str | None = None
    cnpj: str | None = None
    if rng.random() < company_rate:
        nome = rng.choice(vocab.COMPANIES)
        cnpj = vocab.random_cnpj(rng)
    else:
        nome = f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.SURNAMES)}"
        if rng.random() < 0.5:
            nome += f" {rng.choice(vocab.SURNAMES)}"
        cpf = vocab.random_cpf(rng) if rng.random() < 0.95 else None
    if "unicode" in hard:
        nome = rng.choice(_UNICODE_NAMES)
    domain = rng.choice(("example.com", "example.org", "example.net"))
    email = f"{_email_slug(nome)}{rng.randrange(100)}@{domain}" if rng.random() < 0.7 else None
    telefone = f"119{rng.randrange(10**8):08d}" if rng.random() < 0.8 else None
    return {"nome": nome, "cpf": cpf, "cnpj": cnpj, "email": email, "telefone": telefone}


def endereco(rng: random.Random, *, required: bool) -> dict[str, Any] | None:
    """A São Paulo address (a real street, a made-up number), or None for some requests."""
    if not required and rng.random() < 0.2:
        return None
    place = rng.choice(vocab.ADDRESSES)
    result: dict[str, Any] = {
        "logradouro": place.logradouro,
        "numero": str(rng.randint(1, 4000)),
        "cep": place.cep,
        "bairro": place.bairro,
        "distrito": place.distrito,
        "subprefeitura": place.subprefeitura,
        "latitude": None,
        "longitude": None,
    }
    if rng.random() < 0.35:
        result["complemento"] = rng.choice(("apto 42", "casa 2", "fundos", "bloco B, apto 1203"))
    if rng.random() < 0.9:
        result["latitude"] = round(place.latitude + rng.uniform(-0.004, 0.004), 6)
        result["longitude"] = round(place.longitude + rng.uniform(-0.004, 0.004), 6)
    return result
