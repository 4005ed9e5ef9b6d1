"""What the monitoring files ask of Prometheus: the rules, the dashboards' queries, the metric names they read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tinyworld.loop.monitor import RULES_FILE

MONITORING = RULES_FILE.parent
DASHBOARDS = sorted((MONITORING / "dashboards").glob("*.json"))
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$job": ".*"}

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
_KEYWORDS |= {"inf", "nan", "Inf", "NaN"}
_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_:])\d+(\.\d+)?(ms|[smhdwy]|[eE][+-]?\d+)?")
_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*\w+\s*\)")


def rules() -> list[dict[str, Any]]:
    """Every rule (recording and alerting) of rules.yaml."""
    groups = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def recorded() -> dict[str, str]:
    """Recording rule name -> its expression."""
    return {rule["record"]: rule["expr"] for rule in rules() if "record" in rule}


def dashboard_queries(path: Path) -> Iterator[str]:
    """Every PromQL query of a dashboard: its panels' targets and its variables' queries."""
    board = json.loads(path.read_text(encoding="utf-8"))
    panels = list(board["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            yield query["query"] if isinstance(query, dict) else query


def substitute(query: str) -> str:
    """A dashboard query as Prometheus would get it, its Grafana variables filled in."""
    for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda item: -len(item[0])):
        query = query.replace(variable, value)
    return query


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names a PromQL expression reads.

    String literals, label matchers, ranges, grouping clauses, numbers and durations are cut first;
    what remains that is not a function (followed by ``(``) or a keyword is a name.
    """
    found = _LABEL_VALUES.fullmatch(expr.strip())
    if found:
        return {found.group(1)}
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', substitute(expr))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _CLAUSE.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for match in _NAME.finditer(text):
        if match.group() in _KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(match.group())
    return names


def exported_names(exposition: str) -> dict[str, str]:
    """Series name -> its family, from ``# TYPE`` lines (histogram families give _bucket, _sum, _count)."""
    names = {}
    for line in exposition.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, family, kind = line.split(maxsplit=3)
        suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}.get(kind, ("",))
        names.update({family + suffix: family for suffix in suffixes})
    return names
