"""Prometheus metrics (prometheus_client: the de-facto standard, scraped by the city's monitoring
without any adapter). Labels carry only operation names, kinds, states and outcomes: never a
protocolo, a CPF or any text, so cardinality stays bounded and no personal data leaks."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

__all__ = [
    "ACTIONS",
    "ACTIONS_BY_STATE",
    "CIRCUIT_OPEN",
    "EVENTS",
    "JOB_FAILURES",
    "JOB_SECONDS",
    "RECONCILE_COMPLETE",
    "RECONCILE_FINDINGS",
    "RECONCILE_LAST_RUN",
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

RECONCILE_FINDINGS = Gauge(
    "sei_bridge_reconcile_findings", "Findings of the last reconciliation run, by kind", ["kind"]
)
RECONCILE_LAST_RUN = Gauge(
    "sei_bridge_reconcile_last_run_timestamp_seconds", "When the last reconciliation run ended"
)
RECONCILE_COMPLETE = Gauge(
    "sei_bridge_reconcile_complete",
    "1 when the last reconciliation run read everything (no budget reached, nothing unread)",
)


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics on ``addr:port`` (a daemon thread)."""
    start_http_server(port, addr=addr)
