"""Generated requests with a particular shape, for tests that must contain it whatever the
seed of the rest of the traffic gives."""

from __future__ import annotations

from sei_bridge.sandboxes.traffic import (
    UNMAPPED_SERVICE,
    GeneratedRequest,
    HardCase,
    TrafficOptions,
    generate_request,
)

__all__ = ["malformed_midway"]

_INTERACAO = "solicitacao.interacao"
_FINALIZADA = "solicitacao.finalizada"
_MALFORMED_ONLY = TrafficOptions(
    hard_cases=frozenset({HardCase.MALFORMED}), hard_case_rate=1.0, ensure_hard_cases=False
)


def malformed_midway(seed: int, *, closed: bool, start: int = 0) -> GeneratedRequest:
    """The first request (from index ``start``) of ``seed``'s traffic, of a mapped service,
    whose malformed interaction is followed by another interaction, and then by a closure
    (``closed``) or by nothing else."""
    for index in range(start, start + 5000):
        request = generate_request(seed, index, _MALFORMED_ONLY)
        if request.servico_codigo == UNMAPPED_SERVICE.codigo:
            continue
        tipos = [e.tipo for e in request.events]
        bad = [k for k, e in enumerate(request.events) if e.intact is not None]
        if len(bad) != 1:
            continue
        later = tipos[bad[0] + 1 :]
        if _INTERACAO in later and (_FINALIZADA in later) == closed:
            return request
    raise LookupError(f"no such request in the first 5000 of seed {seed}: try another seed")
