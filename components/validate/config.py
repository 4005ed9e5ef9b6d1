"""How strict the gate is: one typed model for every knob of a validation run."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class ValidateConfig(BaseModel):
    """Tolerances and costs of a validation run; the defaults are what docs/validation.md describes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # a day's raw events may move this far from the previous day's count: 0.5 is within +-50%
    row_count_tolerance: float = Field(default=0.5, ge=0.0)
    # an ETL table's rows (of the window's last day) may be at most this factor above or below the
    # previous run's: its volume follows the events and also what the recommender shows (the first
    # model after popularity widened the items engaged with 4.4-fold at 100k users); a broken job
    # loses an order of magnitude
    table_row_count_factor: float = Field(default=10.0, ge=1.0)
    # fewer rows than this in a day or table fails the gate whatever the previous count was
    min_rows: int = Field(default=1, ge=0)
    # the newest event (or table row) may be at most this far behind the end of the window
    freshness_lag: timedelta = Field(default=timedelta(hours=3), ge=timedelta(0))
    # row-level expectations see at most this many rows, drawn at random; None: every row.
    # Counts, freshness, uniqueness and types always see the whole data.
    sample_rows: int | None = Field(default=None, ge=1)
    # seed of the row sample, so a rerun checks the same rows
    sample_seed: int = 0
    # how many offending rows each failed expectation lists in the report
    unexpected_sample: int = Field(default=10, ge=0, le=1000)
    # how many days of event row counts the state file keeps
    state_days: int = Field(default=60, ge=1)
