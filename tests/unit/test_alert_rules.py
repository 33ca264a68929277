"""docs/prometheus/alerts.yml: valid rules (promtool, where installed) that name only metrics
sei-bridge exports — a renamed metric must not leave an alert that can never fire."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import prometheus_client
import pytest
import yaml

from sei_bridge.ops import metrics

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus" / "alerts.yml"


def _exported() -> set[str]:
    names = set()
    for collector in vars(metrics).values():
        if isinstance(collector, prometheus_client.metrics.MetricWrapperBase):
            for family in collector.describe():
                names.add(family.name)
                names.update(
                    f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count")
                )
    return names


def test_every_metric_an_alert_names_is_exported() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert len(rules) >= 8
    exported = _exported()
    for rule in rules:
        for name in re.findall(r"\bsei_bridge_[a-z_]+", rule["expr"]):
            assert name in exported, f"alert {rule['alert']} names {name}, which is not exported"
        assert rule["annotations"]["summary"]


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)"
)
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
