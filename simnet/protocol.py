"""The wire protocol between the world and any platform.

These models are the only part of :mod:`simnet` that a platform may import.
They describe what crosses the boundary: the events the world emits and the
recommendation requests and responses it exchanges with a policy. Nothing
here reveals the world's hidden state (interests, quality, satisfaction).

Single events and single requests are pydantic models (the HTTP form). The
accelerated mode moves whole batches at once, so it uses columnar forms: an
Arrow table with :data:`EVENT_SCHEMA` for events, and the ``*Batch*`` models
for recommendations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

import pyarrow as pa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

IMAGE_SHAPE = (8, 8, 3)
"""Height, width and channels of an item's image; pixels are uint8, row-major HWC."""

IMAGE_SIZE = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]

MAX_SLATE = 100
"""The largest slate a request may ask for."""


class EventType(StrEnum):
    """What happened. Item-less types (signup, churn) carry no item_id."""

    IMPRESSION = "impression"
    CLICK = "click"
    LIKE = "like"
    SHARE = "share"
    DWELL = "dwell"
    FOLLOW = "follow"
    CREATE = "create"
    SIGNUP = "signup"
    CHURN = "churn"


ITEM_EVENTS = frozenset(
    {
        EventType.IMPRESSION,
        EventType.CLICK,
        EventType.LIKE,
        EventType.SHARE,
        EventType.DWELL,
        EventType.FOLLOW,
        EventType.CREATE,
    }
)
"""Event types that must name an item."""

SLATE_EVENTS = frozenset({EventType.IMPRESSION, EventType.CLICK, EventType.LIKE, EventType.SHARE, EventType.DWELL})
"""Event types that answer a recommendation and so carry request_id and position."""


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (e.g. 2026-01-01T00:00:00Z)")
    return ts.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Event(BaseModel):
    """One thing a user did, as the world reports it to the platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=64, description="unique; ingestion is idempotent on it")
    ts: UtcDatetime = Field(description="when it happened, timezone-aware")
    user_id: int = Field(ge=0, description="who did it")
    type: EventType
    item_id: int | None = Field(default=None, ge=0, description="the item, for item events")
    request_id: str | None = Field(default=None, max_length=64, description="the response it answers")
    position: int | None = Field(default=None, ge=0, lt=MAX_SLATE, description="rank in the slate, from 0")
    arm: str | None = Field(default=None, max_length=64, description="experiment arm, echoed")
    model_version: str | None = Field(default=None, max_length=64, description="echoed from the response")
    dwell_ms: int | None = Field(default=None, ge=0, le=3_600_000, description="time spent, dwell events")
    text: str | None = Field(default=None, max_length=4096, description="item text, create events")
    image: list[int] | None = Field(default=None, description="item pixels, create events, IMAGE_SHAPE")

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        if self.type in ITEM_EVENTS and self.item_id is None:
            raise ValueError(f"{self.type.value} events need an item_id")
        if self.type not in ITEM_EVENTS and self.item_id is not None:
            raise ValueError(f"{self.type.value} events carry no item_id")
        if self.type is EventType.DWELL and self.dwell_ms is None:
            raise ValueError("dwell events need dwell_ms")
        if self.type is EventType.CREATE:
            if self.text is None or self.image is None:
                raise ValueError("create events need text and image")
            if len(self.image) != IMAGE_SIZE or not all(0 <= p <= 255 for p in self.image):
                raise ValueError(f"image must be {IMAGE_SIZE} values in 0..255 (shape {IMAGE_SHAPE})")
        elif self.text is not None or self.image is not None:
            raise ValueError("only create events carry text and image")
        return self


EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("user_id", pa.int64(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("item_id", pa.int64()),
        pa.field("request_id", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("arm", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("dwell_ms", pa.int64()),
        pa.field("text", pa.string()),
        pa.field("image", pa.list_(pa.uint8())),
    ]
)
"""The columnar form of :class:`Event`, field for field, microsecond UTC timestamps."""


# --- the HTTP routes and forms --------------------------------------------------------------
# A platform serves these paths; a remote world (simnet run --platform URL) calls them.

EVENTS_PATH = "/events"
"""``POST``: a batch of events, as a JSON array of :class:`Event` or as an Arrow IPC stream."""

EVENTS_FLUSH_PATH = "/events/flush"
"""``POST``: returns once every event acknowledged before the call is durable in the lake."""

RECOMMENDATIONS_PATH = "/recommendations"
"""``POST``: a :class:`RecommendationRequest` or a :class:`RecommendationBatchRequest`."""

ARROW_STREAM = "application/vnd.apache.arrow.stream"
"""The media type of an events batch sent as one Arrow IPC stream with :data:`EVENT_SCHEMA`."""


def events_to_table(events: list[Event]) -> pa.Table:
    """Columnar form of a list of events."""
    rows: list[dict[str, Any]] = [e.model_dump(mode="python") for e in events]
    for row in rows:
        row["type"] = str(row["type"])
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def table_to_events(table: pa.Table) -> list[Event]:
    """Validated events from their columnar form."""
    return [Event.model_validate(row) for row in table.cast(EVENT_SCHEMA).to_pylist()]


# --- the lake layout -------------------------------------------------------------------------
# Events at rest: Parquet files with EVENT_SCHEMA under one root (a path or an object-store URL),
# one folder per UTC day and hour of the event time: <root>/dt=YYYY-MM-DD/hour=HH/<name>.parquet.
# Every writer (SimNet, ingest) and reader (ETL, validation) takes the layout from here.

LAKE_PARTITIONS = ("dt", "hour")
"""The lake's partition keys, outermost first (hive style: ``key=value`` folders)."""

_US_PER_HOUR = 3_600_000_000


def lake_day_dir(day: date | str) -> str:
    """The folder of one UTC day, relative to the lake root: ``dt=YYYY-MM-DD``."""
    text = day.isoformat() if isinstance(day, date) else day
    return f"{LAKE_PARTITIONS[0]}={date.fromisoformat(text).isoformat()}"


def lake_partition_dir(day: date | str, hour: int) -> str:
    """The folder of one UTC hour, relative to the lake root: ``dt=YYYY-MM-DD/hour=HH``."""
    if not 0 <= hour <= 23:
        raise ValueError(f"an hour of the day is 0..23, got {hour}")
    return f"{lake_day_dir(day)}/{LAKE_PARTITIONS[1]}={hour:02d}"


def lake_day_of(folder: str) -> date | None:
    """The day a ``dt=YYYY-MM-DD`` folder name (the last path segment) holds; None for any other name."""
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    prefix = f"{LAKE_PARTITIONS[0]}="
    if not name.startswith(prefix):
        return None
    try:
        return date.fromisoformat(name[len(prefix) :])
    except ValueError:
        return None


def lake_partitions(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """The rows of an EVENT_SCHEMA table grouped by the UTC hour of ``ts``: (partition folder, rows), in time order."""
    import numpy as np
    import pyarrow.compute as pc

    if len(table) == 0:
        return []
    hours = pc.cast(table["ts"], pa.int64()).to_numpy() // _US_PER_HOUR
    parts = []
    for h in np.unique(hours):
        stamp = datetime.fromtimestamp(int(h) * 3600, tz=UTC)
        parts.append((lake_partition_dir(stamp.date(), stamp.hour), table.filter(pa.array(hours == h))))
    return parts


class RecommendationRequest(BaseModel):
    """A user asks for a feed of ``k`` items."""

    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=0)
    k: int = Field(default=10, ge=1, le=MAX_SLATE, description="how many items")
    ts: UtcDatetime | None = Field(default=None, description="when asked; the server's clock if absent")
    context: dict[str, str | int | float] = Field(default_factory=dict, description="free-form hints")


class ScoredItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: int = Field(ge=0)
    score: float


class RecommendationResponse(BaseModel):
    """The platform's answer; the world echoes request_id, arm and model_version in its events."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    items: list[ScoredItem]
    arm: str = Field(max_length=64)
    model_version: str = Field(max_length=64)
    fallback: bool = Field(default=False, description="true when the answer came from a fallback policy")


class RecommendationBatchRequest(BaseModel):
    """Many users at once, all asking at ``ts`` (the accelerated mode)."""

    model_config = ConfigDict(extra="forbid")

    user_ids: list[int]
    k: int = Field(default=10, ge=1, le=MAX_SLATE)
    ts: UtcDatetime

    @model_validator(mode="after")
    def _non_negative(self) -> RecommendationBatchRequest:
        if any(u < 0 for u in self.user_ids):
            raise ValueError("user_ids must be >= 0")
        return self


class RecommendationBatchResponse(BaseModel):
    """Answers in request order; ``item_ids[i]`` is the slate for ``user_ids[i]``."""

    model_config = ConfigDict(extra="forbid")

    request_ids: list[str]
    item_ids: list[list[int]]
    scores: list[list[float]]
    arms: list[str]
    model_versions: list[str]
    fallback: list[bool]

    @model_validator(mode="after")
    def _aligned(self) -> RecommendationBatchResponse:
        n = len(self.request_ids)
        lengths = {
            len(self.item_ids),
            len(self.scores),
            len(self.arms),
            len(self.model_versions),
            len(self.fallback),
        }
        if lengths != {n}:
            raise ValueError("all columns of a batch response must have one entry per request")
        for items, scores in zip(self.item_ids, self.scores, strict=True):
            if len(items) != len(scores):
                raise ValueError("each slate needs one score per item")
        return self
