"""The model card: what a person (and the registry) reads to know where a model came from.

Training writes ``metadata.json`` (version, data window, rows, features, parameters, code
version); the train step adds the lineage chain (lake window -> ETL -> split -> training) to it
and renders ``card.md`` beside it. The registry copies both with the model.
"""

from __future__ import annotations

import json
from typing import Any

from components.step import Lineage
from components.storage import Root
from components.train.artifact import METADATA_FILE

CARD_FILE = "card.md"
"""The card's file name, beside the artifact's ``metadata.json``."""


def _chain(lineage: Lineage) -> list[Lineage]:
    """Every entry of the lineage, depth first: the step, then what it read, and so on."""
    return [lineage, *(entry for upstream in lineage.upstream for entry in _chain(upstream))]


def _window(lineage: Lineage) -> str:
    """The lake's days the model learned from: the ETL's window, else the first window recorded."""
    chain = _chain(lineage)
    found = next((e for e in chain if e.step == "etl" and e.window), None) or next((e for e in chain if e.window), None)
    if found is None or found.window is None:
        return "unknown"
    return f"{found.window.start} .. {found.window.end} (step {found.step})"


def _seconds(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "?"


def render_card(metadata: dict[str, Any], lineage: Lineage) -> str:
    """The card's Markdown: identity, data, features, training, lineage."""
    rows = metadata.get("rows", {})
    window = metadata.get("data_window", {})
    features = metadata.get("features", {})
    train = metadata.get("train", {})
    lines = [
        f"# Model {metadata.get('version', '?')}",
        "",
        f"- family: {metadata.get('model', '?')}",
        f"- code version: {lineage.code_version}",
        f"- created: {metadata.get('created_at', '?')}",
        f"- event window (lake): {_window(lineage)}",
        f"- interactions seen: {window.get('min_ts', '?')} .. {window.get('max_ts', '?')}",
        f"- rows: {rows.get('interactions', '?')} interactions, {rows.get('positives', '?')} positives, "
        f"{rows.get('users', '?')} users, {rows.get('items', '?')} items",
        f"- user features: {', '.join(features.get('user', [])) or '-'}",
        f"- item features: {', '.join(features.get('item', [])) or '-'}",
        f"- training: {_seconds(train.get('seconds'))} s, {train.get('world_size', '?')} process(es) on "
        f"{train.get('device', '?')}",
        "",
        "## Lineage",
        "",
        "| step | window | inputs | code |",
        "|---|---|---|---|",
    ]
    for entry in reversed(_chain(lineage)):
        span = f"{entry.window.start} .. {entry.window.end}" if entry.window else ""
        inputs = ", ".join(f"{role}: {where}" for role, where in entry.inputs.items())
        lines.append(f"| {entry.step} | {span} | {inputs} | {entry.code_version} |")
    return "\n".join(lines) + "\n"


def write_card(model: Root, lineage: Lineage) -> dict[str, Any]:
    """Add ``lineage`` to the model's ``metadata.json`` and write ``card.md``; return the metadata."""
    meta_root = model.join(METADATA_FILE)
    metadata: dict[str, Any] = json.loads(meta_root.read_text())
    metadata["lineage"] = lineage.model_dump(mode="json")
    meta_root.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str))
    model.join(CARD_FILE).write_text(render_card(metadata, lineage))
    return metadata
