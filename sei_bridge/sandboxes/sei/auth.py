"""How SEI 4.1 authenticates a web-service call, as the sandbox does it.

SEI's ``SeiUtilWS::__call__`` (see docs/sei-authentication.md): the sistema by its sigla, then
either

- a *Chave de Acesso* — an ``IdentificacaoServico`` of 72 characters without a space: its first
  8 characters (``crc32b`` of the serviço's id) find the serviço, which must authenticate by key,
  and the other 64 are checked against the stored hash; the client's address is not looked at;
- or the serviço's identificação, which must authenticate by address: the client's host (after
  reverse DNS: 127.0.0.1 is ``localhost``) or any ``X-Forwarded-For`` entry must match the
  serviço's allow-list (``*`` wildcards as ``InfraUtil::verificarEnderecoPermitido``).

Texts and kinds are SEI's (:mod:`~.rules`). Lookups compare as SEI's MariaDB collation does:
case and trailing spaces ignored. Where SEI keeps ``bcrypt(md5(secret))`` the sandbox keeps
``md5(secret)`` and compares in constant time; the sandbox does no DNS (loopback is
``localhost``, any other address stays as it is).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sei_bridge.sandboxes.sei import rules

__all__ = [
    "ACCESS_KEY_LENGTH",
    "Authenticator",
    "Client",
    "Servico",
    "generate_access_key",
    "host_allowed",
    "is_access_key",
    "key_crc",
    "reverse_dns",
]

#: Length of a Chave de Acesso: 8 characters of CRC, then 64 hex digits of secret.
ACCESS_KEY_LENGTH = 72
CRC_LENGTH = 8
#: SeiUtilWS's test, unanchored as SEI writes it: one digit or lower-case letter anywhere.
_KEY_CHARACTER = re.compile(r"[0-9a-z]")


def is_access_key(value: str) -> bool:
    """True when SEI takes ``value`` (an IdentificacaoServico) for a Chave de Acesso."""
    return (
        " " not in value
        and len(value) == ACCESS_KEY_LENGTH
        and _KEY_CHARACTER.search(value) is not None
    )


def key_crc(id_servico: int) -> str:
    """The first 8 characters of serviço ``id_servico``'s keys: PHP's
    ``strtolower(hash('crc32b', $id))``."""
    return f"{zlib.crc32(str(id_servico).encode('ascii')):08x}"


def generate_access_key(id_servico: int = 1) -> str:
    """A new Chave de Acesso for serviço ``id_servico``, made as SEI's
    ``ServicoRN::gerarChaveAcessoControlado`` makes it: CRC, then ``sha256(random_bytes(32))``."""
    return key_crc(id_servico) + hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def reverse_dns(address: str) -> str:
    """The name SEI's ``gethostbyaddr`` would give: ``localhost`` for loopback, else (the
    sandbox asks no DNS) the address itself — what PHP returns when the lookup fails."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return "localhost" if ip.is_loopback else address


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """``InfraUtil::verificarEnderecoPermitido``: ``host`` equals an entry (case matters), an
    entry is ``*``, or an entry has one ``*`` with a matching prefix and suffix."""
    for entry in (e.strip() for e in allowed):
        if not entry:
            continue
        if entry == "*":
            return True
        if "*" in entry:
            prefix, _, suffix = entry.partition("*")
            if (
                len(host) >= len(prefix) + len(suffix)
                and host.startswith(prefix)
                and host.endswith(suffix)
            ):
                return True
        elif entry == host:
            return True
    return False


@dataclass(frozen=True)
class Client:
    """Where a call comes from: ``REMOTE_ADDR`` and the ``X-Forwarded-For`` header sent."""

    address: str = "127.0.0.1"
    forwarded_for: str | None = None


@dataclass(frozen=True)
class Servico:
    """The sandbox's serviço, as SEI's row in table ``servico`` holds it."""

    #: identificacao
    identificacao: str = field(repr=False)
    #: sin_servidor: the identificação is accepted from an allowed host
    address_auth: bool = True
    #: servidor: the allowed hosts, after reverse DNS (``*`` wildcards)
    allowed_hosts: tuple[str, ...] = ("*",)
    #: the Chave de Acesso last generated (its first 8 characters are ``crc``); None: none
    access_key: str | None = field(default=None, repr=False)
    #: sin_chave_acesso: the key is accepted
    key_auth: bool = False


def _collated(value: str) -> bytes:
    # latin1_swedish_ci with PAD SPACE, as far as ASCII goes: case and trailing spaces ignored
    return value.rstrip(" ").casefold().encode("utf-8")


def _secret_digest(secret: str) -> bytes:
    return hashlib.md5(secret.encode("utf-8"), usedforsecurity=False).digest()


def _client_allowed(client: Client, allowed: tuple[str, ...]) -> bool:
    """``InfraWS::validarAcessoAutorizado``: the caller's name, then every X-Forwarded-For
    entry as sent and by name. The header is whatever the client sent: SEI trusts it."""
    if host_allowed(reverse_dns(client.address), allowed):
        return True
    for entry in (client.forwarded_for or "").split(","):
        if entry and (host_allowed(entry, allowed) or host_allowed(reverse_dns(entry), allowed)):
            return True
    return False


class Authenticator:
    """Checks each call's ``SiglaSistema`` and ``IdentificacaoServico`` against the sistema
    ``sigla`` and its one ``servico``; raises :class:`~.rules.SeiFault` as SEI would."""

    def __init__(self, sigla: str, servico: Servico) -> None:
        self.sigla = sigla
        self.servico = servico
        key = servico.access_key
        self._crc = _collated(key[:CRC_LENGTH]) if key else None
        self._digest = _secret_digest(key[CRC_LENGTH:]) if key else None

    def __repr__(self) -> str:
        return f"Authenticator(sigla={self.sigla!r}, servico={self.servico!r})"

    def authenticate(self, sigla: str | None, identificacao: str | None, client: Client) -> None:
        """Accept the call or raise SEI's fault for it."""
        if sigla is None or _collated(sigla) != _collated(self.sigla):
            raise rules.sistema_nao_encontrado(sigla)
        sent = identificacao or ""
        servico = self.servico
        if is_access_key(sent):
            if (
                self._crc is None
                or self._digest is None
                or (_collated(sent[:CRC_LENGTH]) != self._crc)
            ):
                raise rules.servico_da_chave_nao_encontrado(sigla)
            # From here on SEI names the serviço and the sistema as its database has them.
            if not servico.key_auth:
                raise rules.sem_autenticacao(servico.identificacao, self.sigla, "Chave de Acesso")
            if not hmac.compare_digest(_secret_digest(sent[CRC_LENGTH:]), self._digest):
                raise rules.chave_invalida(servico.identificacao, self.sigla)
            return
        if not hmac.compare_digest(_collated(sent), _collated(servico.identificacao)):
            raise rules.servico_nao_encontrado(sent, sigla)
        if not servico.address_auth:
            raise rules.sem_autenticacao(sent, sigla, "Endereço")
        if not _client_allowed(client, servico.allowed_hosts):
            raise rules.SeiFault(rules.ACESSO_NEGADO, rules.INFRA_ERRO)
