"""What one recommender needs, handed in by its caller (the CLI builds it from ``Settings``).

An :class:`~components.registry.experiments.ExperimentConfig` (defined with the experiment log in
the registry) splits users between arms; each arm names the model it serves by a registry reference
(an alias such as ``champion`` or ``challenger``, or a version number) or ``popularity``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from components.ingest.config import IngestConfig
from components.registry.experiments import NAME_PATTERN as _NAME
from components.registry.experiments import ExperimentConfig
from components.registry.registry import DEFAULT_MODEL_NAME
from components.storage import StorageOptions

MIN_TOKEN_LENGTH = 16
"""Characters an admin token needs at least (e.g. ``openssl rand -hex 16`` gives 32)."""


class ServingConfig(BaseModel):
    """Paths, model references and limits of one recommender."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the model registry (a path or an object-store URL); None serves popularity only
    registry_root: str | None = None
    # how to reach the object store of s3:// roots (registry, ETL tables): endpoint, region, credentials
    storage: StorageOptions = StorageOptions()
    # the registered model's name
    model_name: str = Field(default=DEFAULT_MODEL_NAME, pattern=_NAME)
    experiment: ExperimentConfig = ExperimentConfig()
    # seconds between checks of the registry's aliases for a new model to swap in (0: never)
    reload_interval_s: float = Field(default=30.0, ge=0)
    # the ETL's output root: item_features seeds the candidates and item_popularity the fallback
    etl_root: str | None = None
    # a folder with a rendered feature_store.yaml (tinyworld features apply writes one): its online
    # user features embed users the model has never seen; None serves those the cold-user vector
    feature_store_dir: Path | None = None
    # items a user was shown that are kept (per user) and filtered from their next feeds
    seen_per_user: int = Field(default=500, ge=0)
    # half-life of the online popularity counts that rank the fallback feed, in hours
    popularity_half_life_h: float = Field(default=6.0, gt=0)
    # slots at the end of every feed (model or popularity) given to items drawn at random among the
    # newest: without them a feed shows only what its ranker already favours, new items never earn
    # engagement, and the nightly training sees nothing beyond the head (SimNet's own popularity
    # policy explores too; docs/serving.md has what it measured on model arms)
    explore_slots: int = Field(default=2, ge=0)
    # how many of the newest items those slots draw from
    explore_pool: int = Field(default=500, ge=1)
    # recommendation requests in flight beyond which new ones get a quick 503: about the rate the
    # server sustains times the latency a caller tolerates (600 req/s x 0.1 s here), so that past
    # capacity callers are refused at once instead of queueing into timeouts
    max_in_flight: int = Field(default=64, ge=1)
    # requests that arrive while a batch is being ranked are ranked together, at most this many
    max_batch_size: int = Field(default=16, ge=1)
    # users one batch request may name; beyond it a 413 says the limit. Scores are computed in
    # blocks of a few MB, but one batch holds the ranking for its whole length (4,096 users over
    # 100k items: about a second) and its answer grows with it: a caller splits larger batches
    max_batch_users: int = Field(default=4096, ge=1)
    # bytes of a recommendation request's body; beyond it a 413 before anything is parsed
    # (4,096 user ids in JSON take about 30 KB)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    # threads one ranking (matrix product and top-k) may use; set for the process at start-up,
    # since hosts differ (Ray limits a replica without reserved CPUs to one unless told)
    ranking_threads: int = Field(default=2, ge=1)
    # the ingest service mounted at POST /events; None serves recommendations only
    ingest: IngestConfig | None = None
    # the bearer token of the admin API (PUT /admin/experiment changes the arms while serving);
    # None turns the admin routes off (they answer 403 saying how to turn them on)
    admin_token: SecretStr | None = None

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the admin token must be at least {MIN_TOKEN_LENGTH} characters")
        return token
