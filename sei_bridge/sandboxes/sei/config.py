"""How a sandbox is set up: :class:`SandboxConfig` (immutable, with named defaults)."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sei_bridge import errors
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

    #: like SEI 4.1.0: "Atributo [IdAnexo] não recebeu valor." for every IdArquivo
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
    ``SEI_BRIDGE`` / ``sandbox-key`` (see :meth:`credentials`)."""

    sigla_sistema: str | None = None
    identificacao_servico: str | None = field(default=None, repr=False)
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
    #: operations the serviço may not call ("*": every one) → "Acesso negado."
    denied_operations: frozenset[str] = frozenset()
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
        object.__setattr__(self, "denied_operations", frozenset(self.denied_operations))

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
