"""The traffic generator: seeded, deterministic SP156 traffic of the Secretaria Municipal da
Fazenda, which the SIGRC stand-in (:mod:`sei_bridge.sandboxes.sigrc`) serves::

    from sei_bridge.sandboxes.traffic import HardCase, TrafficOptions, generate_traffic

    requests = generate_traffic(seed=156, count=20)
    requests[0].events          # registrada, interacao..., finalizada (no sequencia yet)

- :mod:`~sei_bridge.sandboxes.traffic.generator`: requests and their timelines of feed events,
  with the contract's hard cases (:class:`HardCase`);
- :mod:`~sei_bridge.sandboxes.traffic.text`: what citizens and units write, hard cases included;
- :mod:`~sei_bridge.sandboxes.traffic.vocab`: services, names, addresses, valid CPF and CNPJ;
- :mod:`~sei_bridge.sandboxes.traffic.files`: the attachments' bytes (real PDF and PNG files).
"""

from __future__ import annotations

from sei_bridge.sandboxes.traffic.generator import (
    ALL_HARD_CASES,
    DEFAULT_OPTIONS,
    DEFAULT_START,
    FAZENDA_SERVICES,
    MAX_TEXT_LENGTH,
    ORGAO_NOME,
    ORGAO_SIGLA,
    SP_TZ,
    UNKNOWN_TIPO,
    UNMAPPED_SERVICE,
    FazendaService,
    GeneratedEvent,
    GeneratedFile,
    GeneratedRequest,
    HardCase,
    TrafficOptions,
    cnpj_is_valid,
    cpf_is_valid,
    forced_hard_cases,
    generate_request,
    generate_traffic,
    iter_traffic,
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
