"""Everything a full run writes, scanned for personal data and secrets.

One ``sei-bridge sync --until-idle`` at DEBUG over generated requests with every hard case
(unicode names and texts, markup, 20,000-character descriptions, malformed and unmapped events)
while SEI misbehaves (lost answers, resets, 503s, hangs) and SIGRC lags, re-delivers and
overloads; then what operators and auditors read: ``status``, ``status --json``, ``reconcile``
(text and JSON), ``audit verify``, the audit trail and the quarantine as the store holds them,
and the daemon's ``/metrics`` page. Not one line may carry a citizen's CPF, CNPJ, name, e-mail,
telephone, address or any stretch of what the citizen or the unit wrote, nor one of our secrets.

The personal data is taken from the events the SIGRC simulator served, field by field, so the
test follows the generator: a new personal field is scanned as soon as it is generated.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.store import Store
from tests.acceptance.conftest import READ_TIMEOUT, Bridge, BridgeFactory, free_port, wait_until
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated

pytestmark = pytest.mark.slow

REQUESTS = 30
SEED = 9156
SIGRC_TOKEN = "token-do-sigrc-para-o-teste-de-vazamento"
AUDIT_KEY = "chave-de-auditoria-para-o-teste"
#: a stretch of free text this long, found anywhere in what we wrote, is a leak
WINDOW = 24
#: keys whose string values, wherever they appear, are free text written by a person
_TEXT_KEYS = frozenset({"descricao", "texto", "motivo"})
#: objects all of whose string values are personal data
_PERSON_KEYS = frozenset({"municipe", "endereco", "responsavel"})
#: values in those objects that are not personal (codes, enumerations)
_NOT_PERSONAL = frozenset({"unidade", "tipo", "uf"})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _personal(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(kind, value) of every personal datum in an event payload."""
    if isinstance(value, dict):
        for k, item in value.items():
            if k in _PERSON_KEYS and isinstance(item, dict):
                for field, datum in item.items():
                    if field not in _NOT_PERSONAL:
                        yield from ((f"{k}.{field}", s) for s in _strings(datum))
            else:
                yield from _personal(item, k)
    elif isinstance(value, list):
        for item in value:
            yield from _personal(item, key)
    elif isinstance(value, str) and key in _TEXT_KEYS:
        yield key, value


def _normalise(text: str) -> str:
    return " ".join(text.split())


class LeakScanner:
    """Knows every personal datum served and finds any of them in a text."""

    def __init__(self, data: Iterable[tuple[str, str]], secrets: Iterable[str]) -> None:
        self.exact: dict[str, str] = {s: "secret" for s in secrets}
        self.windows: dict[str, str] = {}
        for kind, value in data:
            value = _normalise(value)
            if len(value) < 6:
                continue
            if kind in _TEXT_KEYS and len(value) > WINDOW:
                for start in range(len(value) - WINDOW + 1):
                    self.windows.setdefault(value[start : start + WINDOW], kind)
            else:
                self.exact.setdefault(value, kind)
                digits = re.sub(r"\D", "", value)
                if kind.endswith((".cpf", ".cnpj")) and digits != value:
                    self.exact.setdefault(digits, kind)

    def leaks(self, what: str, text: str) -> list[str]:
        found = []
        for number, line in enumerate(text.splitlines(), 1):
            flat = _normalise(line)
            for value, kind in self.exact.items():
                if value in flat:
                    found.append(f"{what}:{number}: {kind}")
            for start in range(max(0, len(flat) - WINDOW + 1)):
                kind = self.windows.get(flat[start : start + WINDOW])
                if kind is not None:
                    found.append(f"{what}:{number}: a stretch of {kind}")
                    break
        return found


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    return sigrc_simulator_factory(
        token=SIGRC_TOKEN,
        requests=REQUESTS,
        seed=SEED,
        lag_seconds=1.0,
        duplicate_rate=0.05,
        overload_rate=0.03,
        corrupt_attachment_rate=0.05,
    )


@pytest.fixture
def sei(sei_sandbox_factory: SandboxFactory) -> RunningSandbox:
    sandbox = sei_sandbox_factory(seed=SEED)
    sandbox.faults.configure(
        FaultConfig(
            http503=0.03,
            reset=0.02,
            lost=0.03,
            hang=0.01,
            hang_seconds=READ_TIMEOUT + 1.0,
            hang_commits=True,
        )
    )
    return sandbox


def _metrics_page(bridge: Bridge) -> str:
    """The daemon's metrics page after a short run (the daemon is killed afterwards)."""
    port = free_port()
    bridge.env["SEI_BRIDGE_METRICS_PORT"] = str(port)
    bridge.start("run", log_name="daemon")
    url = f"http://127.0.0.1:{port}/metrics"
    pages: list[str] = []

    def scraped() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                pages.append(response.read().decode("utf-8"))
        except OSError:
            return False
        return "sei_bridge_" in pages[-1]

    wait_until(scraped, timeout=60, what="the daemon's metrics page")
    return pages[-1]


def test_nothing_a_full_run_writes_holds_personal_data_or_secrets(
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
) -> None:
    bridge = bridge_factory(
        sigrc,
        sei,
        migrated(sqlite_url),
        log_level="DEBUG",
        audit_key=AUDIT_KEY,
        sigrc_token=SIGRC_TOKEN,
    )
    sync = bridge.run("sync", "--until-idle", "--max-seconds", "120")
    assert sync.returncode == 0, sync.stderr[-3000:]

    outputs: dict[str, str] = {"sync": sync.stdout + sync.stderr}
    stdout: dict[str, str] = {}
    for args in (
        ("status",),
        ("status", "--json"),
        ("reconcile",),
        ("reconcile", "--json"),
        ("audit", "verify"),
        ("audit", "verify", "--json"),
        ("audit", "export"),
        ("db", "check"),
    ):
        result = bridge.run(*args)
        assert result.returncode in (0, 1), (args, result.stderr[-2000:])
        outputs[" ".join(args)] = result.stdout + result.stderr
        stdout[" ".join(args)] = result.stdout

    store = Store.from_url(sqlite_url)
    try:
        trail = [e.to_dict() for e in store.audit_trail()]
    finally:
        store.close()
    outputs["audit trail"] = "\n".join(json.dumps(e, ensure_ascii=False) for e in trail)
    status = json.loads(stdout["status --json"])
    outputs["metrics"] = _metrics_page(bridge)
    bridge.close()
    outputs["daemon"] = "".join(p.read_text() for p in bridge.workdir.glob("daemon.*"))

    served = [w.payload() for w in sigrc.state.written]
    personal = [datum for payload in served for datum in _personal(payload)]
    secrets = (SIGRC_TOKEN, AUDIT_KEY, *sei.credentials[1:])
    scanner = LeakScanner(personal, secrets)

    # the run had the hard cases, and the scan has something to find
    kinds = {kind for kind, _ in personal}
    assert {"municipe.nome", "municipe.cpf", "descricao", "texto"} <= kinds, kinds
    longest = max((v for k, v in personal if k in _TEXT_KEYS), key=len)
    middle = _normalise(longest)[len(longest) // 3 :][: WINDOW + 5]
    assert scanner.leaks("probe", f"refused: {middle}..."), "the scanner misses a stretch"
    cpf = next(v for k, v in personal if k == "municipe.cpf")
    assert scanner.leaks("probe", f"cpf={re.sub(r'[^0-9]', '', cpf)}"), "the scanner misses a CPF"
    assert sync.stderr.count("\n") > 200, "the run logged too little to prove anything"
    assert any(" DEBUG " in line for line in sync.stderr.splitlines()[:50]), sync.stderr[:2000]
    assert status["quarantine"], "no quarantined item: the hard cases did not reach the store"
    assert trail, "no audit trail"

    leaks = [leak for what, text in outputs.items() for leak in scanner.leaks(what, text)]
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(sorted(set(leaks))[:50])
