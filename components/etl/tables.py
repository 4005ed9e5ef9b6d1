"""The ETL's output tables: every table name and column (name, type, meaning), defined once.

Each table is written as Parquet under ``<out>/<name>/``. Types are Spark SQL type names
(``date``, ``timestamp`` (microseconds, UTC), ``bigint``, ``int``, ``double``, ``float``,
``string``, ``array<float>``); :func:`arrow_type` maps them to Arrow for readers that do not
use Spark (validation suites, DuckDB, pandas). ``nullable`` says whether a null is legal;
validation suites should expect non-null values everywhere else.

This module imports nothing beyond the standard library so any component can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEXT_DIM = 32
"""Length of the hashed text vector (``text_vec``, ``content_profile``)."""

POPULARITY_HALF_LIFE_DAYS = 1.0
"""Default half-life of the decayed popularity score, in days."""


@dataclass(frozen=True)
class Column:
    """One column of an output table."""

    name: str
    dtype: str  # Spark SQL type name
    doc: str  # one line: what the value means
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    """One output table: its folder name under ``--out``, key columns and columns in order."""

    name: str
    group: str  # metrics | experiments | features | interactions
    doc: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # columns whose values barely repeat within a file (ids, timestamps of large tables): written
    # plain, since a dictionary that outgrows its page is work thrown away (docs/data.md)
    plain: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        """Column names in output order."""
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        """Spark DDL schema string, e.g. ``date date, dau bigint``."""
        return ", ".join(f"`{c.name}` {c.dtype}" for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError if absent."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


def _c(name: str, dtype: str, doc: str, nullable: bool = False) -> Column:
    return Column(name, dtype, doc, nullable)


_DATE = _c("date", "date", "the UTC day (the lake's dt partition)")
_EVENT_TS = _c("event_timestamp", "timestamp", "when the row became known: midnight UTC closing `date`")

DAU = Table(
    "dau",
    "metrics",
    "Daily activity: one row per day of the window.",
    ("date",),
    (
        _DATE,
        _c("dau", "bigint", "distinct users with at least one impression that day"),
        _c("wau", "bigint", "distinct users with an impression over the 7 days ending that day"),
        _c("impressions", "bigint", "impression events that day"),
        _c("clicks", "bigint", "click events that day"),
        _c("likes", "bigint", "like events that day"),
        _c("shares", "bigint", "share events that day"),
        _c("ctr", "double", "clicks / impressions (0 without impressions)"),
        _c("engagement_per_active_user", "double", "(clicks + likes + shares) / dau (0 when dau is 0)"),
    ),
)

RETENTION = Table(
    "retention",
    "metrics",
    "Day-N retention per signup cohort (a user's cohort: the day of their earliest signup read).",
    ("cohort_date",),
    (
        _c("cohort_date", "date", "the signup day"),
        _c("size", "bigint", "users whose earliest signup is that day"),
        _c("d1", "double", "fraction of the cohort with an impression on cohort + 1", True),
        _c("d7", "double", "fraction of the cohort with an impression on cohort + 7", True),
        _c("d30", "double", "fraction with an impression on cohort + 30; null if after the window", True),
    ),
)

ITEM_POPULARITY = Table(
    "item_popularity",
    "metrics",
    "Per item per day with any impression, click, like or share; popularity decays.",
    ("date", "item_id"),
    (
        _DATE,
        _c("item_id", "bigint", "the item"),
        _c("impressions", "bigint", "impression events of the item that day"),
        _c("clicks", "bigint", "click events that day"),
        _c("likes", "bigint", "like events that day"),
        _c("shares", "bigint", "share events that day"),
        _c("ctr", "double", "clicks / impressions (0 without impressions)"),
        _c(
            "popularity",
            "double",
            "sum over days t <= date of (clicks + likes + shares)_t * 0.5^((date - t) / half_life_days)",
        ),
    ),
)

USER_ITEM_ENGAGEMENT = Table(
    "user_item_engagement",
    "metrics",
    "Per (user, item) pair with any item event over the whole window.",
    ("user_id", "item_id"),
    (
        _c("user_id", "bigint", "the user"),
        _c("item_id", "bigint", "the item"),
        _c("impressions", "bigint", "impression events"),
        _c("clicks", "bigint", "click events"),
        _c("likes", "bigint", "like events"),
        _c("shares", "bigint", "share events"),
        _c("dwell_ms", "bigint", "total dwell_ms of dwell events (0 without any)"),
        _c("last_ts", "timestamp", "the latest ts of an impression, click, like, share or dwell"),
    ),
    plain=("user_id", "item_id", "last_ts"),
)

CREATOR_METRICS = Table(
    "creator_metrics",
    "metrics",
    "Per creator per day on which the creator posted or their items had any event.",
    ("date", "creator_id"),
    (
        _DATE,
        _c("creator_id", "bigint", "the user who created the items"),
        _c("items_posted", "bigint", "create events by the creator that day"),
        _c("impressions", "bigint", "impressions of the creator's items that day"),
        _c("clicks", "bigint", "clicks on the creator's items that day"),
        _c("followers_gained", "bigint", "follow events on the creator's items that day"),
    ),
)

EXPOSURE = Table(
    "exposure",
    "metrics",
    "Per day exposure over the catalogue (items created up to the end of that day), zeros included.",
    ("date",),
    (
        _DATE,
        _c("catalogue_size", "bigint", "items created on or before that day (whole lake) + seen items never created"),
        _c("items_impressed", "bigint", "distinct items with an impression that day"),
        _c("coverage", "double", "items_impressed / catalogue_size (0 for an empty catalogue)"),
        _c("exposure_gini", "double", "Gini of impressions per item over the catalogue, zeros included"),
        _c("top10_share", "double", "share of impressions held by the ceil(0.1 * catalogue) top items"),
        _c("click_gini", "double", "Gini of clicks per item over the catalogue, zeros included"),
    ),
)

_WELCH = "Welch 95% interval of the per-user difference"

COMPARED_METRICS = ("ctr", "engagement", "d1")
"""Per-user metrics compared with Welch: columns ``<m>_diff``, ``<m>_diff_low``, ``<m>_diff_high``, ``<m>_p_value``."""

EXPERIMENTS = Table(
    "experiments",
    "experiments",
    "One row per day, experiment and arm; rows other than the control carry their comparison with "
    "the control arm of the same day and experiment.",
    ("date", "experiment", "arm"),
    (
        _c("date", "date", "the UTC day of the impressions (the lake's dt partition)"),
        _c("experiment", "string", "the experiment in force at the event's time (the log); default without one"),
        _c("arm", "string", "the experiment arm echoed on slate events"),
        _c("model_version", "string", "the model_version that served most of the arm's impressions", True),
        _c("model_versions", "bigint", "distinct model_versions that served the arm's impressions"),
        _c("model_version_share", "double", "share of the arm's impressions served by model_version", True),
        _c("control_arm", "string", "the arm every other arm of the day and experiment is compared with"),
        _c("is_control", "boolean", "whether this row is the control arm"),
        _c("users", "bigint", "distinct users with an impression in the arm that day"),
        _c("expected_share", "double", "the arm's configured share of users (the log's, else --split, else equal)"),
        _c("impressions", "bigint", "impression events in the arm"),
        _c("clicks", "bigint", "click events in the arm"),
        _c("ctr", "double", "pooled clicks / impressions (ratio of per-user sums)"),
        _c("ctr_se", "double", "delta-method standard error of ctr over users", True),
        _c("ctr_per_user", "double", "mean over the arm's users of clicks / impressions"),
        _c("engagement_per_user", "double", "mean over users of clicks + likes + shares in the arm"),
        _c("d1_cohort", "bigint", "arm users who signed up that day, when the next day is in the window"),
        _c("d1_retention", "double", "fraction of d1_cohort with an impression the next day", True),
        _c("ctr_diff", "double", "ctr_per_user(arm) - ctr_per_user(control); null for control", True),
        _c("ctr_diff_low", "double", f"{_WELCH}, lower bound", True),
        _c("ctr_diff_high", "double", f"{_WELCH}, upper bound", True),
        _c("ctr_p_value", "double", "Welch two-sided p-value of ctr_diff", True),
        _c("ctr_pooled_diff", "double", "ctr(arm) - ctr(control), the pooled CTRs", True),
        _c("ctr_pooled_diff_low", "double", "delta-method 95% interval (over users), lower bound", True),
        _c("ctr_pooled_diff_high", "double", "delta-method 95% interval (over users), upper bound", True),
        _c("ctr_pooled_p_value", "double", "two-sided p-value of ctr_pooled_diff (delta method)", True),
        _c("engagement_diff", "double", "engagement_per_user(arm) - engagement_per_user(control)", True),
        _c("engagement_diff_low", "double", f"{_WELCH}, lower bound", True),
        _c("engagement_diff_high", "double", f"{_WELCH}, upper bound", True),
        _c("engagement_p_value", "double", "Welch two-sided p-value of engagement_diff", True),
        _c("d1_diff", "double", "d1_retention(arm) - d1_retention(control)", True),
        _c("d1_diff_low", "double", f"{_WELCH} (0/1 per cohort user), lower bound", True),
        _c("d1_diff_high", "double", f"{_WELCH} (0/1 per cohort user), upper bound", True),
        _c("d1_p_value", "double", "Welch two-sided p-value of d1_diff", True),
        _c("prob_beats_control", "double", "P(ctr_diff > 0): Student-t approximation of the Welch difference", True),
        _c("srm_chi2", "double", "chi-square of users per arm against expected_share (the day's experiment)"),
        _c("srm_p_value", "double", "its p-value (same on the experiment's rows; small means sample-ratio mismatch)"),
    ),
)

_TEXT_VEC_DOC = f"{TEXT_DIM}-dim signed feature hashing of the text's words, L2-normalised"

USER_FEATURES = Table(
    "user_features",
    "features",
    "Per user per day with activity in the 7 days ending that day.",
    ("user_id", "date"),
    (
        _c("user_id", "bigint", "the user"),
        _DATE,
        _EVENT_TS,
        _c("impressions_1d", "bigint", "impressions that day"),
        _c("clicks_1d", "bigint", "clicks that day"),
        _c("impressions_7d", "bigint", "impressions over the 7 days ending that day"),
        _c("clicks_7d", "bigint", "clicks over 7 days"),
        _c("likes_7d", "bigint", "likes over 7 days"),
        _c("shares_7d", "bigint", "shares over 7 days"),
        _c("active_days_7d", "int", "days with any event among the 7"),
        _c("ctr_7d", "double", "clicks_7d / impressions_7d (0 without impressions)"),
        _c("like_rate_7d", "double", "likes_7d / clicks_7d (0 without clicks)"),
        _c("mean_dwell_ms_7d", "double", "mean dwell_ms of dwell events over 7 days (0 without any)"),
        _c(
            "content_profile",
            "array<float>",
            f"mean text_vec of items clicked over 7 days ({TEXT_DIM} dims; zeros if none)",
        ),
    ),
)

ITEM_FEATURES = Table(
    "item_features",
    "features",
    "Per catalogue item per day (every item created on or before that day), with content features.",
    ("item_id", "date"),
    (
        _c("item_id", "bigint", "the item"),
        _DATE,
        _EVENT_TS,
        _c("creator_id", "bigint", "the user who created it"),
        _c("age_days", "double", "days from the item's create ts to event_timestamp"),
        _c("impressions_1d", "bigint", "impressions that day"),
        _c("clicks_1d", "bigint", "clicks that day"),
        _c("impressions_7d", "bigint", "impressions over the 7 days ending that day"),
        _c("clicks_7d", "bigint", "clicks over 7 days"),
        _c("ctr_7d", "double", "clicks_7d / impressions_7d (0 without impressions)"),
        _c("popularity", "double", "decayed engagement score, as in item_popularity (0 if never engaged)"),
        _c("text_vec", "array<float>", _TEXT_VEC_DOC),
        _c("text_len", "int", "words in the text"),
        _c("img_mean_r", "double", "mean red pixel value / 255", True),
        _c("img_mean_g", "double", "mean green pixel value / 255", True),
        _c("img_mean_b", "double", "mean blue pixel value / 255", True),
        _c("img_std_r", "double", "std of red pixel values / 255", True),
        _c("img_std_g", "double", "std of green pixel values / 255", True),
        _c("img_std_b", "double", "std of blue pixel values / 255", True),
        _c("img_texture", "double", "gradient energy: mean squared neighbour difference of grey / 255^2", True),
    ),
)

CREATOR_FEATURES = Table(
    "creator_features",
    "features",
    "Per creator per day with an item in the catalogue by that day.",
    ("creator_id", "date"),
    (
        _c("creator_id", "bigint", "the creator"),
        _DATE,
        _EVENT_TS,
        _c("catalogue_items", "bigint", "items created by the creator on or before that day (whole lake)"),
        _c("items_posted_7d", "bigint", "items posted over the 7 days ending that day"),
        _c("impressions_7d", "bigint", "impressions of the creator's items over 7 days"),
        _c("clicks_7d", "bigint", "clicks on the creator's items over 7 days"),
        _c("followers_gained_7d", "bigint", "follows on the creator's items over 7 days"),
        _c("ctr_7d", "double", "clicks_7d / impressions_7d (0 without impressions)"),
    ),
)

INTERACTIONS = Table(
    "interactions",
    "interactions",
    "One row per impression in the window: the training table.",
    ("request_id", "item_id", "ts"),
    (
        _c("user_id", "bigint", "who saw it"),
        _c("item_id", "bigint", "what was shown"),
        _c("ts", "timestamp", "when it was shown"),
        _c("label", "int", "1 if a click with the same request_id, user and item followed, else 0"),
        _c("weight", "double", "0 label: 1; 1 label: 1 + liked + 2 * shared + min(dwell_ms / 60000, 1)"),
        _c("request_id", "string", "the recommendation response it answers", True),
        _c("position", "int", "rank in the slate, from 0", True),
        _c("arm", "string", "experiment arm echoed from the response", True),
    ),
    plain=("user_id", "item_id", "ts", "request_id"),
)

TABLES: tuple[Table, ...] = (
    DAU,
    RETENTION,
    ITEM_POPULARITY,
    USER_ITEM_ENGAGEMENT,
    CREATOR_METRICS,
    EXPOSURE,
    EXPERIMENTS,
    USER_FEATURES,
    ITEM_FEATURES,
    CREATOR_FEATURES,
    INTERACTIONS,
)
"""Every output table, in the order the job writes them."""

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
"""Tables by folder name."""


def arrow_type(dtype: str) -> Any:
    """The pyarrow type of a Spark SQL type name used in this module."""
    import pyarrow as pa

    simple: dict[str, Any] = {
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "float": pa.float32(),
        "string": pa.string(),
        "boolean": pa.bool_(),
        "array<float>": pa.list_(pa.float32()),
    }
    return simple[dtype]


def arrow_schema(table: Table) -> Any:
    """The pyarrow schema of an output table."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.dtype), nullable=c.nullable) for c in table.columns])
