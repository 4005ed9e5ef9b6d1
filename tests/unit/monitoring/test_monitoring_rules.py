"""The alert rules pass Prometheus' own checks and unit tests, and every dashboard query parses.

``promtool`` comes with Debian's ``prometheus`` package; without it these tests skip and say so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.monitoring.promql import DASHBOARDS, MONITORING, dashboard_queries, rules, substitute
from tinyworld.loop.monitor import RULES_FILE

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed: `apt-get install prometheus` (Debian) brings it"
)
RULES_TESTS = MONITORING / "rules.test.yaml"


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@needs_promtool
def test_rules_pass_promtool_check() -> None:
    """``promtool check rules``: the file parses, every expression is valid PromQL, no duplicate rule."""
    checked = promtool("check", "rules", str(RULES_FILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_rules_pass_their_unit_tests() -> None:
    """``promtool test rules``: each alert fires on the series that should fire it and on no other."""
    tested = promtool("test", "rules", RULES_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    """Each alert has a unit test where it fires and one where it stays quiet; each test names the rules file."""
    tests = yaml.safe_load(RULES_TESTS.read_text(encoding="utf-8"))
    assert tests["rule_files"] == [RULES_FILE.name]
    cases = [case for group in tests["tests"] for case in group.get("alert_rule_test", [])]
    for alert in [rule["alert"] for rule in rules() if "alert" in rule]:
        mine = [case for case in cases if case["alertname"] == alert]
        assert any(case.get("exp_alerts") for case in mine), f"{alert} is never expected to fire"
        assert any(not case.get("exp_alerts") for case in mine), f"{alert} is never expected to stay quiet"


def test_every_alert_says_how_bad_and_what_to_do() -> None:
    """Alerts carry a severity, the SLO they guard, a summary and a description."""
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["labels"]["slo"] and rule["annotations"]["summary"] and rule["annotations"]["description"]


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """Each dashboard query, its Grafana variables filled in, parses (checked as a recording rule)."""
    queries = sorted({substitute(q) for path in DASHBOARDS for q in dashboard_queries(path) if "label_values" not in q})
    as_rules = {
        "groups": [{"name": "dashboards", "rules": [{"record": f"q{i}", "expr": q} for i, q in enumerate(queries)]}]
    }
    file = tmp_path / "dashboard-queries.yaml"
    file.write_text(yaml.safe_dump(as_rules), encoding="utf-8")
    checked = promtool("check", "rules", str(file), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
