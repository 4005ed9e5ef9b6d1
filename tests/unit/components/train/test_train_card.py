"""The model card: the lake window, code version and features, and the lineage in metadata.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from components.step import Lineage, Window
from components.storage import resolve
from components.train.card import CARD_FILE, METADATA_FILE, render_card, write_card

METADATA = {
    "version": "v-1",
    "model": "two_tower",
    "rows": {"interactions": 10, "positives": 4, "users": 3, "items": 5},
    "features": {"user": ["user_id"], "item": ["item_id", "text_vec"]},
    "train": {"seconds": 1.23456, "world_size": 1, "device": "cpu"},
}


def _lineage() -> Lineage:
    etl = Lineage(
        step="etl", inputs={"lake": "s3://b/lake"}, window=Window(start=date(2026, 1, 1), end=date(2026, 1, 3))
    )
    split = Lineage(
        step="split", inputs={"interactions": "x"}, window=Window(start=date(2026, 1, 3), end=date(2026, 1, 3))
    )
    return Lineage(step="train", inputs={"interactions": "t"}, upstream=[split, etl], code_version="9.9+src.abc")


def test_card_names_the_lake_window_code_and_features() -> None:
    """The event window is the ETL's (not the split's test day); code version and features are listed."""
    card = render_card(METADATA, _lineage())
    assert "event window (lake): 2026-01-01 .. 2026-01-03 (step etl)" in card
    assert "code version: 9.9+src.abc" in card
    assert "item features: item_id, text_vec" in card
    assert "training: 1.2 s" in card
    rows = [line for line in card.splitlines() if line.startswith("| ") and "step" not in line]
    assert [row.split("|")[1].strip() for row in rows] == ["etl", "split", "train"]  # lake first, model last


def test_write_card_adds_the_lineage_to_the_metadata(tmp_path: Path) -> None:
    """write_card keeps the metadata, adds the lineage chain, and writes card.md beside it."""
    (tmp_path / METADATA_FILE).write_text(json.dumps(METADATA))
    write_card(resolve(str(tmp_path)), _lineage())
    saved = json.loads((tmp_path / METADATA_FILE).read_text())
    assert saved["version"] == "v-1"
    assert [entry["step"] for entry in saved["lineage"]["upstream"]] == ["split", "etl"]
    assert (tmp_path / CARD_FILE).read_text().startswith("# Model v-1")
