"""``sei-bridge indicators`` over generated traffic (SIGRC simulator → ``sync --until-idle`` →
SEI sandbox): JSON, CSV and the HTML page, the page rendered by a real headless chromium with
its screenshot kept at docs/indicators.png."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sei_bridge import indicators_report
from sei_bridge.sandboxes.sei import RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sandboxes.traffic.vocab import UNMAPPED_SERVICE
from tests.acceptance.conftest import REPO, BridgeFactory, assert_one_line_error
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated

pytestmark = pytest.mark.slow

SCREENSHOT = REPO / "docs" / "indicators.png"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_indicators_over_generated_traffic(
    sigrc_simulator_factory: SimulatorFactory,
    sei_sandbox_factory: SandboxFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    sigrc: RunningSimulator = sigrc_simulator_factory(requests=16, seed=156)
    sei: RunningSandbox = sei_sandbox_factory(seed=156)
    bridge = bridge_factory(sigrc, sei, migrated(sqlite_url))
    synced = bridge.run("sync", "--until-idle")
    assert synced.returncode in (0, 4), synced.stderr

    result = bridge.run("indicators", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    total = data["total"]
    requests = len(sigrc.state.protocolos())
    assert total["received"] == requests
    assert sum(s["received"] for s in data["servicos"]) == requests
    assert sum(u["received"] for u in data["unidades"]) == requests
    assert 0 < total["opened"] <= total["received"]
    assert total["finalized"] > 0
    assert set(total["levels"]) == {
        "abertura_p95_horas",
        "finalizacao_p95_dias",
        "no_prazo_percentual",
        "backlog_idade_max_dias",
    }
    unmapped = [s for s in data["servicos"] if s["code"] == UNMAPPED_SERVICE.codigo]
    assert unmapped and unmapped[0]["opened"] == 0
    assert unmapped[0]["backlog"] == unmapped[0]["received"]
    # nothing but codes, names of services/units, counts and durations
    assert "cpf" not in result.stdout.lower() and "municipe" not in result.stdout.lower()

    table = bridge.run("indicators", "--csv")
    assert table.returncode == 0, table.stderr
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert tuple(rows[0]) == indicators_report.CSV_COLUMNS
    assert rows[0]["dimension"] == "total" and int(rows[0]["received"]) == requests

    text = bridge.run("indicators", "--since", "2000-01-01")
    assert text.returncode == 0 and "TOTAL" in text.stdout

    bad = bridge.run("indicators", "--since", "yesterday")
    assert_one_line_error(bad, "--since", "ISO 8601")

    page = tmp_path / "indicators.html"
    written = bridge.run("indicators", "--html", str(page))
    assert written.returncode == 0, written.stderr
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium): page not rendered")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f"Totals: {requests} requests received" in dom.stdout
    assert "Per service" in dom.stdout
    shot = tmp_path / "indicators.png"
    taken = subprocess.run(
        [*flags, "--window-size=1500,1100", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    content = shot.read_bytes()
    assert content.startswith(b"\x89PNG") and len(content) > 20_000
    shutil.copyfile(shot, SCREENSHOT)
