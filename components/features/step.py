"""The features step: register the feature views over an ETL output, then materialise them online.

``run(FeaturesParams(...), StepIO(...))`` opens the Feast repository that
``params.store`` describes, applies its definitions over the ETL's feature tables under
``params.etl_out`` (:func:`components.features.apply.apply`) and copies each view's latest rows into
the online store (:func:`components.features.materialize.materialize`). The CLI
(``tinyworld features run``), the ``daily`` pipeline's component and the closed loop call it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.features.apply import apply
from components.features.config import FeatureStoreConfig, redact_url
from components.features.materialize import materialize, utc
from components.features.repo import open_repo
from components.step import Lineage, StepIO, timed

log = logging.getLogger(__name__)


class FeaturesParams(BaseModel):
    """One features run: which ETL output, which feature store, and how far to materialise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the ETL's output root (one Parquet folder per table): a folder or an object-store URL
    etl_out: str
    # where the definitions and Feast's state live, and which stores serve them
    store: FeatureStoreConfig = Field(default_factory=FeatureStoreConfig)
    # materialise rows up to this instant (UTC; a naive one is taken as UTC); None: the latest
    # event_timestamp in the tables, the data's own "now" rather than the clock
    end: datetime | None = None
    # the views to materialise (every view is applied regardless); None: all of them
    views: list[str] | None = None

    @field_validator("etl_out")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: give the ETL's output folder or URL")
        return value

    @field_validator("end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @field_validator("views")
    @classmethod
    def _some(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("name at least one view, or leave views unset for all of them")
        return value


class ViewRows(BaseModel):
    """One feature view's run: rows registered, entities materialised, and the time materialising took."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applied: int  # rows of the view's ETL table when it was applied
    materialised: int = 0  # entities written to the online store by this run (0: up to date or not chosen)
    start: datetime | None = None  # where this run's interval began; None: the view was not materialised
    seconds: float = 0.0  # materialising the view: reading its interval, writing it online, recording it


class FeaturesResult(BaseModel):
    """What the features step registered and materialised, and its lineage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str  # the Feast project applied
    registry: str  # Feast's registry (a path or URL)
    online_store: str  # sqlite or redis
    end: datetime  # the chosen views are materialised up to here (UTC)
    views: dict[str, ViewRows]  # per feature view, in the definitions' order
    apply_seconds: float  # checking the tables and registering the definitions
    materialize_seconds: float  # copying rows into the online store
    lineage: Lineage
    deleted: list[str] = []  # registry objects removed because the definitions no longer declare them

    @property
    def materialised(self) -> int:
        """Entities written to the online store over all views."""
        return sum(view.materialised for view in self.views.values())


def _public(params: FeaturesParams) -> dict[str, Any]:
    """``params`` as JSON for the lineage record, a Redis password masked."""
    data = params.model_dump(mode="json")
    if params.store.redis_url:
        data["store"]["redis_url"] = redact_url(params.store.redis_url)
    return data


def run(params: FeaturesParams, io: StepIO) -> FeaturesResult:
    """Apply the feature definitions over ``params.etl_out``, then materialise up to ``params.end``.

    Raises :class:`components.features.errors.FeatureStoreError` (a ValueError) for a missing or
    mis-shaped ETL table, unknown view names or bad definitions, before anything is written.
    """
    etl = io.root(params.etl_out)
    with timed() as elapsed:
        io.progress("opening the feature repository", 0.0)
        repo = open_repo(params.store, storage=io.storage)
        for name in params.views or ():
            repo.definitions.view(name)  # an unknown name fails before apply writes anything
        io.progress(f"applying {len(repo.definitions.views)} feature views over {etl}", 0.05)
        applied = apply(repo, etl.url)
        io.progress("materialising", 0.5)
        done = materialize(
            repo,
            params.end,
            params.views,
            progress=lambda message, fraction: io.progress(message, 0.5 + 0.5 * (fraction or 0.0)),
        )
        io.progress("done", 1.0)
    runs = {view.name: view for view in done.views if not view.skipped}
    views = {
        view.name: ViewRows(
            applied=view.rows,
            materialised=runs[view.name].rows if view.name in runs else 0,
            start=runs[view.name].start if view.name in runs else None,
            seconds=runs[view.name].seconds if view.name in runs else 0.0,
        )
        for view in applied.views
    }
    online = repo.online_store_path
    lineage = Lineage(
        step="features",
        inputs={"etl": etl.url},
        outputs={
            "feature_store": io.root(params.store.state).url,
            "online_store": str(online) if online else redact_url(params.store.redis_url or ""),
        },
        params=_public(params),
        seconds=elapsed(),
    )
    result = FeaturesResult(
        project=applied.project,
        registry=applied.registry,
        online_store=applied.online_store,
        end=done.end,
        views=views,
        deleted=applied.deleted,
        apply_seconds=applied.seconds,
        materialize_seconds=done.seconds,
        lineage=lineage,
    )
    log.info("features: %s entities materialised up to %s", f"{result.materialised:,}", result.end)
    return result
