"""The sync engine: every SIGRC event becomes exactly one effect in SEI, through faults and
restarts (docs/internals.md).

- :mod:`.planner` — settled events → ledger actions (pure);
- :mod:`.planning` — a planning pass over the inbox (reads, snapshots, writes);
- :mod:`.executors` — one SEI/SIGRC call sequence per action kind;
- :mod:`.probes` — settling actions whose outcome is unknown, from SEI's own state;
- :mod:`.runner` — one attempt: probe or send, and its outcome (:mod:`.outcomes`);
- :mod:`.dispatcher` — claims due actions and runs them on a thread pool with leases;
- :mod:`.policy` — backoff, circuit breaker, rate limit;
- :mod:`.engine` — the facade the commands and the scheduler call.
"""

from __future__ import annotations

from sei_bridge.engine.engine import DEFAULT_POLL_INTERVAL, Engine, Progress, SyncReport
from sei_bridge.engine.policy import RetryPolicy, SeiGuard

__all__ = ["DEFAULT_POLL_INTERVAL", "Engine", "Progress", "RetryPolicy", "SeiGuard", "SyncReport"]
