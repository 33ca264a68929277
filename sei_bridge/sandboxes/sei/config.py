"""How a sandbox is set up: :class:`SandboxConfig` (immutable, with named defaults)."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sei_bridge import errors
from sei_bridge.sandboxes.sei import auth
from sei_bridge.sandboxes.sei.catalog import DEFAULT_CATALOG, Catalog
from sei_bridge.sandboxes.sei.faults import FaultConfig

__all__ = [
    "DEFAULT_IDENTIFICACAO_SERVICO",
    "DEFAULT_MAX_DOCUMENTOS",
    "DEFAULT_MAX_EXTERNAL_MB",
    "DEFAULT_PORT",
    "DEFAULT_SIGLA_SISTEMA",
    "ChunkedUpload",
    "ResponseEncoding",
    "SandboxConfig",
]

#: Credentials accepted when neither the config nor the environment names them.
DEFAULT_SIGLA_SISTEMA = "SEI_BRIDGE"
DEFAULT_IDENTIFICACAO_SERVICO = "sandbox-key"
#: The same variables the SEI client reads.
SIGLA_VARIABLE = "SEI_BRIDGE_SEI_SIGLA_SISTEMA"
IDENTIFICACAO_VARIABLE = "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO"
#: ``sei-bridge sandbox sei`` listens here unless told otherwise.
DEFAULT_PORT = 8157
#: SEI's default limit for external documents (parameter SEI_TAM_MB_DOC_EXTERNO).
DEFAULT_MAX_EXTERNAL_MB = 50
#: SEI_WS_NUM_MAX_DOCS: documents accepted in one gerarProcedimento.
DEFAULT_MAX_DOCUMENTOS = 5


class ChunkedUpload(enum.StrEnum):
    """What ``incluirDocumento`` does with an ``IdArquivo`` from a chunked upload."""

    #: like SEI 4.1.0: with the NomeArquivo SEI takes an empty file by that name ("Anexo X
    #: vazio."), without it "Atributo [IdAnexo] não recebeu valor."
    BROKEN = "broken"
    #: the assembled file becomes the documento
    WORKING = "working"


class ResponseEncoding(enum.StrEnum):
    """Charset of the answers: SEI 4.1 answers UTF-8, older installations ISO-8859-1."""

    UTF8 = "utf-8"
    LATIN1 = "iso-8859-1"


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox can be told. Credentials left None are read from
    ``SEI_BRIDGE_SEI_SIGLA_SISTEMA`` / ``SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO``, else the defaults
    ``SEI_BRIDGE`` / ``sandbox-key`` (see :meth:`credentials`).

    The sistema has one serviço, authenticated as SEI 4.x does (:mod:`~.auth`): by its
    identificação from an allowed host (``address_auth``, ``allowed_hosts``) and/or by its Chave
    de Acesso (``access_key``, ``key_auth``). By default any host may use the identificação and
    there is no key; an identificação shaped like a key (72 characters, no ``access_key``) makes
    a serviço authenticated by that key only (see :meth:`servico`)."""

    sigla_sistema: str | None = None
    identificacao_servico: str | None = field(default=None, repr=False)
    #: sin_servidor: the identificação is accepted from ``allowed_hosts``
    address_auth: bool = True
    #: servidor: client hosts allowed, after reverse DNS (127.0.0.1 is "localhost"); "*" and
    #: one-star patterns ("*.prefeitura.sp.gov.br") as SEI matches them
    allowed_hosts: tuple[str, ...] = ("*",)
    #: the serviço's Chave de Acesso (72 characters; :func:`~.auth.generate_access_key`)
    access_key: str | None = field(default=None, repr=False)
    #: sin_chave_acesso; None: on when there is a key
    key_auth: bool | None = None
    #: operations configured for the serviço (None: every one); the others answer "Nenhuma
    #: operação configurada para [op] no serviço [...] ..." as SEI does
    allowed_operations: frozenset[str] | None = None
    #: faults injected from the start (adjustable at run time through ``RunningSandbox.faults``)
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: seed of the fault draws
    seed: int = 156
    #: journal file keeping the state across restarts; None: memory only
    state_path: str | Path | None = None
    #: the bundled WSDL served and decoded against: "4.1" or "3.0"
    wsdl_version: str = "4.1"
    #: serve this WSDL file instead of a bundled one (e.g. a server's full 67-operation WSDL)
    wsdl_path: str | Path | None = None
    response_encoding: ResponseEncoding = ResponseEncoding.UTF8
    chunked_upload: ChunkedUpload = ChunkedUpload.BROKEN
    catalog: Catalog = DEFAULT_CATALOG
    #: SEI_HABILITAR_HIPOTESE_LEGAL: restrito needs an applicable IdHipoteseLegal
    enforce_hipotese_legal: bool = True
    max_external_mb: int = DEFAULT_MAX_EXTERNAL_MB
    max_documentos: int = DEFAULT_MAX_DOCUMENTOS
    #: first digits of generated processo numbers (99990.000001/2026-53)
    protocolo_prefix: str = "99990"
    #: base of LinkAcesso (default: this server, http://127.0.0.1:PORT)
    link_base: str | None = None
    #: the user SEI shows as author of the serviço's andamentos
    id_usuario: str = "8"
    usuario_nome: str | None = None
    #: id of the first contact the sandbox creates (SEI's contact ids are 9 digits)
    first_contact_id: int = 100000001
    #: keep documentos' bytes (False: size and digests only, for long benchmarks)
    keep_content: bool = True
    host: str = "127.0.0.1"
    #: like Apache's "Keep-Alive: timeout=5, max=100"
    keepalive_timeout: float = 5.0
    keepalive_max: int = 100
    max_body_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.wsdl_version not in ("4.1", "3.0"):
            raise errors.ConfigurationError(
                f"SEI sandbox: unknown WSDL version {self.wsdl_version!r}: use 4.1 or 3.0"
            )
        if self.max_external_mb < 1 or self.max_documentos < 0:
            raise errors.ConfigurationError(
                "SEI sandbox: max_external_mb must be at least 1 and max_documentos at least 0"
            )
        if len(self.protocolo_prefix) != 5 or not self.protocolo_prefix.isdigit():
            raise errors.ConfigurationError(
                f"SEI sandbox: protocolo_prefix must be 5 digits, not {self.protocolo_prefix!r}"
            )
        object.__setattr__(self, "response_encoding", ResponseEncoding(self.response_encoding))
        object.__setattr__(self, "chunked_upload", ChunkedUpload(self.chunked_upload))
        if self.allowed_operations is not None:
            object.__setattr__(self, "allowed_operations", frozenset(self.allowed_operations))
        # SEI removes the spaces of the list (ServicoRN::validarStrServidor)
        hosts = tuple(h.replace(" ", "") for h in self.allowed_hosts)
        object.__setattr__(self, "allowed_hosts", tuple(h for h in hosts if h))
        if self.access_key is not None and not auth.is_access_key(self.access_key):
            raise errors.ConfigurationError(
                "SEI sandbox: access_key is not a Chave de Acesso (72 characters without spaces, "
                "as SEI generates them)"
            )

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
        """``(SiglaSistema, IdentificacaoServico)`` accepted: config, environment, defaults."""
        env = os.environ if environ is None else environ
        sigla = self.sigla_sistema or env.get(SIGLA_VARIABLE) or DEFAULT_SIGLA_SISTEMA
        servico = (
            self.identificacao_servico
            or env.get(IDENTIFICACAO_VARIABLE)
            or DEFAULT_IDENTIFICACAO_SERVICO
        )
        return sigla, servico

    def servico(self, environ: Mapping[str, str] | None = None) -> auth.Servico:
        """The serviço the sandbox authenticates calls against."""
        identificacao = self.credentials(environ)[1]
        key, address_auth = self.access_key, self.address_auth
        if key is None and auth.is_access_key(identificacao):
            # The client's variable holds a key, which SEI takes for one: a key-only serviço.
            key, identificacao, address_auth = identificacao, DEFAULT_IDENTIFICACAO_SERVICO, False
        return auth.Servico(
            identificacao=identificacao,
            address_auth=address_auth,
            allowed_hosts=self.allowed_hosts,
            access_key=key,
            key_auth=key is not None if self.key_auth is None else self.key_auth,
        )
