"""The feature store over the real ETL's output: SimNet lake -> Spark ETL -> apply, materialise, train, look up.

Slow (a Spark session and the whole ETL): deselect with ``-m 'not slow'``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from components.features.apply import apply
from components.features.materialize import materialize
from components.features.online import lookup
from components.features.training import training_set
from tests.integration.components.features.conftest import make_repo

pytestmark = pytest.mark.slow

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 2)


@pytest.fixture(scope="module")
def etl_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated days of 300 users through the ETL (feature and interaction tables only)."""
    pytest.importorskip("pyspark")
    from components.etl.job import EtlOptions, run_etl
    from components.etl.session import build_session
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    root = tmp_path_factory.mktemp("simnet")
    simulate(RunSpec(WorldConfig.load(None).with_users(300), "popularity", 2, 11), out=root, progress=False)
    spark = build_session("local[2]", app_name="tinyworld-features-tests", driver_memory="2g")
    tables = ("user_features", "item_features", "creator_features", "interactions")
    try:
        run_etl(spark, str(root / "events"), FIRST, LAST, str(root / "etl"), EtlOptions(tables=tables))
    finally:
        spark.stop()
    return root / "etl"


def test_the_etl_tables_apply_materialise_and_join_without_leaks(etl_out: Path, tmp_path: Path) -> None:
    """Real tables apply as they are; each training row gets the user row of the latest day at or before it."""
    repo = make_repo(tmp_path)
    applied = apply(repo, str(etl_out))
    assert all(view.rows > 0 for view in applied.views)
    done = materialize(repo)
    assert done.rows > 0

    users = pd.read_parquet(etl_out / "user_features")
    latest = users.sort_values("event_timestamp").groupby("user_id").tail(1).set_index("user_id")
    some = list(latest.index[:5])
    online = lookup(repo, "user", some).set_index("user_id")
    assert list(online["user_features__clicks_7d"]) == list(latest.loc[some, "clicks_7d"])

    labels = pd.read_parquet(etl_out / "interactions").rename(columns={"ts": "event_timestamp"})
    labels = labels.sample(n=min(len(labels), 2000), random_state=1)[["user_id", "item_id", "event_timestamp", "label"]]
    out = training_set(repo, labels)
    assert len(out) == len(labels) and list(out["label"]) == list(labels["label"])

    ttl = repo.definitions.view("user_features").ttl
    keyed = out.assign(row=range(len(out))).sort_values("event_timestamp")
    rows = users.rename(columns={"event_timestamp": "row_ts"}).sort_values("row_ts")
    rows["row_ts"] = rows["row_ts"].astype(keyed["event_timestamp"].dtype)
    expected = pd.merge_asof(
        keyed, rows[["user_id", "row_ts", "clicks_7d"]], left_on="event_timestamp", right_on="row_ts", by="user_id"
    )
    expected.loc[expected["event_timestamp"] - expected["row_ts"] > ttl, "clicks_7d"] = None
    expected = expected.sort_values("row")
    got, want = expected["user_features__clicks_7d"].to_numpy(), expected["clicks_7d"].to_numpy()
    assert pd.isna(got).tolist() == pd.isna(want).tolist()
    assert (got[~pd.isna(got)] == want[~pd.isna(want)]).all()
    assert (expected["row_ts"].dropna() <= expected.loc[expected["row_ts"].notna(), "event_timestamp"]).all()
