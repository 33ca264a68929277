"""Prometheus metrics (prometheus_client: the de-facto standard, scraped by the city's monitoring
without any adapter). Labels carry only operation names, kinds, states and outcomes: never a
protocolo, a CPF or any text, so cardinality stays bounded and no personal data leaks."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ACTIONS",
    "ACTIONS_BY_STATE",
    "CIRCUIT_OPEN",
    "EVENTS",
    "FEED_LAG",
    "FEED_UPDATED",
    "FEED_WATERMARK",
    "INBOX_BY_STATE",
    "JOB_FAILURES",
    "JOB_SECONDS",
    "LAST_SUCCESS",
    "MAPPINGS_INFO",
    "NEEDS_PERSON",
    "OLDEST_DUE_SECONDS",
    "POLL_LOCK_HELD",
    "POLL_LOCK_SINCE",
    "QUARANTINE",
    "READY",
    "RECONCILE_COMPLETE",
    "RECONCILE_FINDINGS",
    "RECONCILE_LAST_RUN",
    "SEI_CALLS",
    "SEI_CALL_SECONDS",
    "SIGRC_AUTH_FAILING",
    "SIGRC_CALLS",
    "UNCERTAIN",
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
SIGRC_CALLS = Counter(
    "sei_bridge_sigrc_calls_total",
    "SIGRC feed API calls by endpoint (the contract's path template) and outcome",
    ["endpoint", "outcome"],
)
EVENTS = Counter("sei_bridge_feed_events_total", "Feed items stored in the inbox", ["kind"])
ACTIONS = Counter(
    "sei_bridge_actions_total", "Ledger actions finished by kind and outcome", ["kind", "outcome"]
)
CIRCUIT_OPEN = Gauge(
    "sei_bridge_sei_circuit_open", "1 while the circuit breaker toward SEI is open"
)
JOB_SECONDS = Histogram("sei_bridge_job_seconds", "Duration of scheduled jobs", ["job"])
JOB_FAILURES = Counter("sei_bridge_job_failures_total", "Scheduled job runs that failed", ["job"])
LAST_SUCCESS = Gauge(
    "sei_bridge_last_success_timestamp_seconds",
    "When poll, plan and dispatch last completed without error in this process (POSIX time)",
    ["step"],
)
MAPPINGS_INFO = Gauge(
    "sei_bridge_mappings_info",
    "1 for the version (fingerprint) of the mappings in use",
    ["version"],
)
SIGRC_AUTH_FAILING = Gauge(
    "sei_bridge_sigrc_auth_failing", "1 while SIGRC refuses our token (polling is backed off)"
)
READY = Gauge("sei_bridge_ready", "1 while /readyz answers ready")
POLL_LOCK_HELD = Gauge(
    "sei_bridge_poll_lock_held", "1 while this worker holds the poller lock (one per database)"
)
POLL_LOCK_SINCE = Gauge(
    "sei_bridge_poll_lock_since_timestamp_seconds",
    "Since when this worker holds the poller lock (POSIX time; 0 when it does not)",
)

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

# Read from the store when /metrics is scraped (every worker of a database reports the same
# figures: aggregate them with max(), not sum())
ACTIONS_BY_STATE = Gauge("sei_bridge_ledger_actions", "Ledger actions by state", ["state"])
INBOX_BY_STATE = Gauge("sei_bridge_inbox_events", "Inbox events by state", ["state"])
QUARANTINE = Gauge(
    "sei_bridge_quarantine_items",
    "Quarantined items by what is quarantined (action, event, request) and reason code",
    ["item", "reason"],
)
UNCERTAIN = Gauge(
    "sei_bridge_uncertain_actions",
    "Actions whose effect in SEI is unknown and that probes are still settling",
)
NEEDS_PERSON = Gauge(
    "sei_bridge_needs_person_actions",
    "Actions that only a person can settle (sei-bridge status, then sei-bridge resolve)",
)
OLDEST_DUE_SECONDS = Gauge(
    "sei_bridge_oldest_due_age_seconds",
    "How long the longest-waiting due action has been due (0 when nothing is due)",
)
FEED_LAG = Gauge(
    "sei_bridge_feed_lag_events",
    "Highest sequencia read from SIGRC's feed minus the watermark (events read, not settled)",
)
FEED_WATERMARK = Gauge("sei_bridge_feed_watermark", "The feed cursor's watermark (sequencia)")
FEED_UPDATED = Gauge(
    "sei_bridge_feed_updated_timestamp_seconds",
    "When the feed cursor was last written by a poll, by whichever worker polls (POSIX time)",
)

# The service indicators (sei_bridge.ops.indicator_gauges), over the last year, recomputed at
# most every few minutes; labels are service codes ("total" for all) and indicator keys only
INDICATOR = Gauge(
    "sei_bridge_indicator",
    "Service indicator value (seconds, ratio or count) of the last 365 days, by servico code",
    ["servico", "indicator"],
)
INDICATOR_LEVEL = Gauge(
    "sei_bridge_indicator_level",
    "Level of a service indicator: 0 ideal, 1 alert, 2 critical, -1 no data",
    ["servico", "indicator"],
)
