"""The SEI sandbox: a fake SEI web service over real HTTP, faithful to a real SEI 4.1.0.

It answers SEI's SOAP (rpc/encoded, exactly like the recorded exchanges in
``tests/data/real-sei-4.1.0``), enforces SEI's rules with SEI's own fault texts, keeps
what SEI would keep (processos, documentos, andamentos, contatos, uploads) and injects seeded
faults (latency, 503, connection reset, lost answer after commit, hang, outage)::

    from sei_bridge.sandboxes.sei import FaultConfig, SandboxConfig, start_sandbox

    with start_sandbox(SandboxConfig(faults=FaultConfig(lost=0.02), seed=7)) as sei:
        sei.endpoint_url        # http://127.0.0.1:PORT/sei/ws/SeiWS.php
        sei.wsdl_url            # http://127.0.0.1:PORT/sei/controlador_ws.php?servico=sei
        sei.faults.configure(reset=0.1, operations={"incluirDocumento"})  # at run time
        sei.faults.schedule("lost", operation="gerarProcedimento")        # the next one
        sei.state.processes()   # ProcessView with documents in order
        sei.state.counters()    # calls per operation, faults injected

Accepted credentials: ``SandboxConfig.sigla_sistema``/``identificacao_servico``, else
``SEI_BRIDGE_SEI_SIGLA_SISTEMA``/``SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO``, else ``SEI_BRIDGE`` /
``sandbox-key``; the serviço authenticates as SEI 4.x does (:mod:`~.auth`): by that
identificação from ``allowed_hosts`` (default any) and/or by a Chave de Acesso
(``access_key``). The default catalog (units, types, séries, ...) is documented in
:mod:`sei_bridge.sandboxes.sei.catalog`. The command is ``sei-bridge sandbox sei``.
"""

from __future__ import annotations

from sei_bridge.sandboxes.sei.catalog import DEFAULT_CATALOG, Catalog
from sei_bridge.sandboxes.sei.config import (
    DEFAULT_IDENTIFICACAO_SERVICO,
    DEFAULT_PORT,
    DEFAULT_SIGLA_SISTEMA,
    ChunkedUpload,
    ResponseEncoding,
    SandboxConfig,
)
from sei_bridge.sandboxes.sei.faults import (
    FaultConfig,
    FaultDecision,
    FaultInjector,
    FaultKind,
    OutageMode,
)
from sei_bridge.sandboxes.sei.operations import nup
from sei_bridge.sandboxes.sei.server import RunningSandbox, start_sandbox
from sei_bridge.sandboxes.sei.state import SandboxState
from sei_bridge.sandboxes.sei.views import (
    AndamentoView,
    ContactView,
    Counters,
    DocumentView,
    ProcessView,
)

__all__ = [
    "DEFAULT_CATALOG",
    "DEFAULT_IDENTIFICACAO_SERVICO",
    "DEFAULT_PORT",
    "DEFAULT_SIGLA_SISTEMA",
    "AndamentoView",
    "Catalog",
    "ChunkedUpload",
    "ContactView",
    "Counters",
    "DocumentView",
    "FaultConfig",
    "FaultDecision",
    "FaultInjector",
    "FaultKind",
    "OutageMode",
    "ProcessView",
    "ResponseEncoding",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxState",
    "nup",
    "start_sandbox",
]
