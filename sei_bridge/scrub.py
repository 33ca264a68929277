"""Text that came from outside, made safe to store and to print.

SEI's fault texts (and SIGRC's ``erro`` lines) end up in log lines, in ``last_error``, in
quarantine reasons and in the audit trail, which promises no personal data. A server that
misbehaves may put anything there: a megabyte of text, the request echoed back with a CPF, an
``Authorization`` header, one of our own credentials. :func:`scrub` bounds such a text and masks

- every secret of ours it is given (the SIGRC token, the SEI identificação/Chave de Acesso),
  wherever it appears;
- ``Bearer``/``Basic``/``Token`` credentials and ``token=``/``senha:``-style values;
- CPFs (11 digits, with or without ``ddd.ddd.ddd-dd`` punctuation) and CNPJs (14 digits, with or
  without ``dd.ddd.ddd/dddd-dd``), and e-mail addresses;
- long runs of base64/hex-like characters (32 or more, with a digit or mixed case): keys,
  hashes, encoded blobs;
- control characters (a line break would forge a log line), which become spaces.

An ordinary fault ("Processo [99990.000001/2026-53] não encontrado.", "Anexo X vazio.") comes
out unchanged: protocolos, SEI process numbers and ids are not personal data and are kept
(digit runs are matched whole, so a 17-digit process number never looks like a CPF).

Masking runs over the whole text before it is cut, so a secret cut in half is never shown.
Every pattern is linear in the length of the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_LIMIT", "MIN_SECRET", "SECURE", "mask", "scrub", "truncate"]

#: characters of an outside text kept (the rest is cut with a note of how much)
DEFAULT_LIMIT = 500
#: secrets shorter than this are not searched for: they would garble ordinary words
MIN_SECRET = 6
#: what a secret or credential becomes
SECURE = "[secure]"

# a credential is a whole word of 6 or more: "Token inválido" is SEI's Portuguese, not a token
_AUTH_SCHEME = re.compile(
    r"\b(Bearer|Basic|Token|Digest)(\s+)[A-Za-z0-9._~+/=-]{6,}(?![^\s\"'<>,;)\]])",
    re.IGNORECASE,
)
_KEY_VALUE = re.compile(
    r"\b(access_token|api[_-]?key|token|senha|password|passwd|secret|chave)(\s*[=:]\s*)"
    r"[^\s&\"'<>,;]+",
    re.IGNORECASE,
)
# starts only where a run of such characters starts: tried from every position of a long run,
# the local part would be rescanned each time (quadratic)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CNPJ = re.compile(r"(?<!\d)\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?!\d)")
_CPF = re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)")
_RUN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _token_like(match: re.Match[str]) -> str:
    run = match.group(0)
    has_digit = any(c.isdigit() for c in run)
    mixed_case = any(c.islower() for c in run) and any(c.isupper() for c in run)
    return SECURE if has_digit or mixed_case else run


def mask(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with secrets, credentials, CPFs/CNPJs, e-mails and token-like runs masked and
    control characters turned into spaces (see the module doc); its length is not bounded."""
    wanted = {s for s in secrets if s and len(s.strip()) >= MIN_SECRET}
    # longest first, so a secret holding another is masked whole
    for secret in sorted(wanted, key=len, reverse=True):
        text = text.replace(secret, SECURE)
        stripped = secret.strip()
        if stripped != secret:
            text = text.replace(stripped, SECURE)
    text = _AUTH_SCHEME.sub(rf"\1\2{SECURE}", text)
    text = _KEY_VALUE.sub(rf"\1\2{SECURE}", text)
    text = _EMAIL.sub("[e-mail]", text)
    text = _CNPJ.sub("[CNPJ]", text)
    text = _CPF.sub("[CPF]", text)
    text = _RUN.sub(_token_like, text)
    return _CONTROL.sub(" ", text)


def truncate(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} characters cut]"


def scrub(text: str, *, secrets: Iterable[str] = (), limit: int = DEFAULT_LIMIT) -> str:
    """``text`` masked (:func:`mask`) and then bounded (:func:`truncate`): safe to log, store
    and show."""
    return truncate(mask(text, secrets=secrets), limit)
