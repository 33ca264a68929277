"""Prometheus metrics (prometheus_client: the de-facto standard, scraped by the city's monitoring
without any adapter). Labels carry only operation names, kinds, states and outcomes: never a
protocolo, a CPF or any text, so cardinality stays bounded and no personal data leaks."""

from __future__ import annotations

import errno

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from sei_bridge import errors

__all__ = [
    "ACTIONS",
    "ACTIONS_BY_STATE",
    "CIRCUIT_OPEN",
    "EVENTS",
    "JOB_FAILURES",
    "JOB_SECONDS",
    "SEI_CALLS",
    "SEI_CALL_SECONDS",
    "serve",
]

SEI_CALLS = Counter(
    "sei_bridge_sei_calls_total",
    "SEI SOAP calls by operation and outcome",
    ["operation", "outcome"],
)
SEI_CALL_SECONDS = Histogram(
    "sei_bridge_sei_call_seconds",
    "Duration of SEI SOAP calls",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
EVENTS = Counter("sei_bridge_feed_events_total", "Feed items stored in the inbox", ["kind"])
ACTIONS = Counter(
    "sei_bridge_actions_total", "Ledger actions finished by kind and outcome", ["kind", "outcome"]
)
ACTIONS_BY_STATE = Gauge("sei_bridge_ledger_actions", "Ledger actions by state", ["state"])
CIRCUIT_OPEN = Gauge(
    "sei_bridge_sei_circuit_open", "1 while the circuit breaker toward SEI is open"
)
JOB_SECONDS = Histogram("sei_bridge_job_seconds", "Duration of scheduled jobs", ["job"])
JOB_FAILURES = Counter("sei_bridge_job_failures_total", "Scheduled job runs that failed", ["job"])


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics on ``addr:port`` (a daemon thread). A port that cannot be bound (in
    use, or reserved to root) is a ConfigurationError naming SEI_BRIDGE_METRICS_PORT."""
    try:
        start_http_server(port, addr=addr)
    except OSError as exc:
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
        raise errors.ConfigurationError(
            f"SEI_BRIDGE_METRICS_PORT={port}: {addr}:{port} {why}: choose a free port "
            "(or unset it to serve no metrics)"
        ) from None
