"""The row counts one run leaves for the next: a small JSON file beside the report.

Row-count bounds compare a day (or a table) with the previous one. Within a window the
previous day is in the same batch; for the first day of a window, and for the ETL's tables
(rewritten on every run), the previous count comes from this file. Counts are recorded only
for suites that passed, so a bad day is never the yardstick for the next.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.storage import Root, resolve

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
"""The state file's name inside a report folder."""


class StateError(ValueError):
    """The state file exists but cannot be used."""


class RowCountState(BaseModel):
    """Rows per day of raw events and rows per ETL table, as of the last passing runs."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    events: dict[date, int] = Field(default_factory=dict)  # UTC day -> events in its partition
    tables: dict[str, int] = Field(default_factory=dict)  # table name -> rows

    @classmethod
    def load(cls, path: Path | Root) -> RowCountState:
        """The state in ``path`` (a local file or a storage root); an empty state when it does not exist."""
        where = path if isinstance(path, Root) else resolve(str(path))
        if not where.exists():
            log.info("no row-count state at %s; bounds against previous counts are skipped", where)
            return cls()
        try:
            return cls.model_validate(json.loads(where.read_text()))
        except (OSError, json.JSONDecodeError, ValidationError) as error:
            raise StateError(f"cannot use the state file {where} ({error}); fix or delete it") from error

    def save(self, path: Path | Root) -> None:
        """Write the state to ``path`` (a local file or a storage root), creating its folder."""
        where = path if isinstance(path, Root) else resolve(str(path))
        where.write_text(self.model_dump_json(indent=2) + "\n")
        log.info("row-count state written to %s", where)

    def previous_day(self, day: date) -> tuple[date, int] | None:
        """The latest recorded day before ``day`` and its count, if any."""
        earlier = [d for d in self.events if d < day]
        if not earlier:
            return None
        latest = max(earlier)
        return latest, self.events[latest]

    def record_events(self, counts: Mapping[date, int], keep_days: int) -> None:
        """Remember per-day event counts, keeping the ``keep_days`` latest days."""
        self.events.update(counts)
        for day in sorted(self.events)[:-keep_days]:
            del self.events[day]

    def record_table(self, name: str, rows: int) -> None:
        """Remember a table's row count."""
        self.tables[name] = rows
