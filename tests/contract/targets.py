"""The two SEIs the contract suite runs against: the sandbox, and a real SEI when one is
configured. Each gives the same things: a client, the ids of its catalog, and what SEI stored
for a generated document (read from the sandbox's state, or from the real SEI's database).

A real SEI is configured by two environment variables:

- ``SEI_BRIDGE_TEST_REAL_SEI_URL``: its base URL, e.g. ``http://127.0.0.1:8080/sei`` (SOAP at
  ``/ws/SeiWS.php``, WSDL at ``/controlador_ws.php?servico=sei``), serviço ``ADAPTER`` /
  ``ADAPTER_WS`` authenticated by address (``../shared/realsei/`` sets it up so);
- ``SEI_BRIDGE_TEST_REAL_SEI_DB``: the MariaDB defaults file of its database (``$REALSEI_ROOT/
  mysql/my.cnf``), read with the ``mariadb`` client as root.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sei_bridge.sei.client import SeiClient
from sei_bridge.sei.sandbox import DocumentView, RunningSandbox, SandboxConfig, start_sandbox
from sei_bridge.sei.sandbox.catalog import REFERENCE_CATALOG

URL_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_URL"
DB_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_DB"
SIGLA = "ADAPTER"
SERVICO = "ADAPTER_WS"


@dataclass(frozen=True)
class Ids:
    """The catalog ids the cases use (the reference database's, in both SEIs)."""

    unidade: str = "110000001"
    unidade_sigla: str = "TESTE"
    outra_unidade: str = "110000002"
    tipo: str = "100000341"
    assunto: str = "019.113"
    hipotese: str = "4"  # Informação Pessoal, restrito
    serie_gerado: str = "83"  # Declaração
    serie_despacho: str = "5"
    serie_anexo: str = "263"  # external documents only
    serie_finalizado: str = "283"  # SP 156 Finalizado, internal documents only


IDS = Ids()

#: The sandbox as the reference database of ../shared/realsei/ sets SEI up.
SANDBOX_CONFIG = SandboxConfig(
    sigla_sistema=SIGLA,
    identificacao_servico=SERVICO,
    catalog=REFERENCE_CATALOG,
    usuario_nome="Sistema Adapter (testes)",
    max_external_mb=200,  # SEI_TAM_MB_DOC_EXTERNO of the reference database
    max_documentos=5,  # SEI_WS_NUM_MAX_DOCS
)


class Storage(Protocol):
    def generated_html(self, id_documento: str) -> bytes:
        """What SEI stored as the HTML of a generated document (Latin-1 bytes)."""

    def anexo_nome(self, id_documento: str) -> str:
        """The file name SEI stored for a received document."""


@dataclass
class Target:
    """One SEI under contract."""

    name: str
    endpoint_url: str
    wsdl_url: str
    storage: Storage
    ids: Ids = IDS
    sandbox: RunningSandbox | None = None

    def client(self, **changes: Any) -> SeiClient:
        """A client of this SEI with the suite's credentials (``changes`` override them)."""
        settings: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "sigla_sistema": SIGLA,
            "identificacao_servico": SERVICO,
            "wsdl": self.wsdl_url,
            "connect_timeout": 5.0,
            "read_timeout": 60.0,
        }
        return SeiClient(**{**settings, **changes})


@dataclass
class SandboxStorage:
    sandbox: RunningSandbox

    def _documento(self, id_documento: str) -> DocumentView:
        for processo in self.sandbox.state.processes():
            for documento in processo.documents:
                if documento.id_documento == id_documento:
                    return documento
        raise LookupError(f"no documento {id_documento} in the sandbox")

    def generated_html(self, id_documento: str) -> bytes:
        return self._documento(id_documento).content

    def anexo_nome(self, id_documento: str) -> str:
        return self._documento(id_documento).nome_arquivo or ""


@dataclass
class MariaDbStorage:
    """Reads the real SEI's database with the ``mariadb`` client (no driver needed)."""

    defaults_file: str

    def query(self, sql: str) -> list[list[str]]:
        done = subprocess.run(
            ["mariadb", f"--defaults-file={self.defaults_file}", "-uroot", "sei", "-N", "-B"],
            input=sql.encode(),
            capture_output=True,
            timeout=30,
            check=True,
        )
        return [line.split("\t") for line in done.stdout.decode().splitlines()]

    def generated_html(self, id_documento: str) -> bytes:
        # The main section of the document's latest version: what the editor shows as its
        # body (the série's model adds a header and a footer around it).
        rows = self.query(
            "SELECT HEX(v.conteudo) FROM versao_secao_documento v "
            "JOIN secao_documento s ON s.id_secao_documento = v.id_secao_documento "
            f"WHERE s.id_documento = {int(id_documento)} AND s.sin_principal = 'S' "
            "ORDER BY v.versao DESC LIMIT 1"
        )
        if not rows:
            raise LookupError(f"no main section for documento {id_documento} in SEI")
        return bytes.fromhex(rows[0][0])

    def anexo_nome(self, id_documento: str) -> str:
        rows = self.query(f"SELECT HEX(nome) FROM anexo WHERE id_protocolo = {int(id_documento)}")
        if not rows:
            raise LookupError(f"no anexo for documento {id_documento} in SEI")
        return bytes.fromhex(rows[0][0]).decode("latin-1")


def real_sei_missing() -> str | None:
    """Why the real SEI side is skipped, or None when it is configured."""
    if not os.environ.get(URL_VARIABLE) or not os.environ.get(DB_VARIABLE):
        return (
            f"no real SEI configured: set {URL_VARIABLE} (e.g. http://127.0.0.1:8080/sei) and "
            f"{DB_VARIABLE} (its MariaDB defaults file); ../shared/realsei/ installs one"
        )
    if shutil.which("mariadb") is None:
        return "the mariadb client is not installed (needed to read what the real SEI stored)"
    return None


def real_target() -> Target:
    base = os.environ[URL_VARIABLE].rstrip("/")
    return Target(
        name="real",
        endpoint_url=f"{base}/ws/SeiWS.php",
        wsdl_url=f"{base}/controlador_ws.php?servico=sei",
        storage=MariaDbStorage(os.environ[DB_VARIABLE]),
    )


@contextmanager
def sandbox_target(config: SandboxConfig = SANDBOX_CONFIG) -> Iterator[Target]:
    with start_sandbox(config) as sandbox:
        yield Target(
            name="sandbox",
            endpoint_url=sandbox.endpoint_url,
            wsdl_url=sandbox.wsdl_url,
            storage=SandboxStorage(sandbox),
            sandbox=sandbox,
        )


def with_ids(target: Target, **changes: str) -> Target:
    return dataclasses.replace(target, ids=dataclasses.replace(target.ids, **changes))
