"""The ETL on the hand-built lake: every table against values computed by hand.

The fixture is described in :mod:`tests.integration.components.etl.handbuilt`; the expected
figures below are derived from that table of events in the comments beside them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from components.etl.content import image_stats, text_vector
from components.etl.tables import BY_NAME, TABLES, arrow_schema
from simnet.concentration import gini, top_share
from tests.integration.components.etl.conftest import Outputs
from tests.integration.components.etl.handbuilt import DAYS, TEXTS, image_of, row

D0, D1, D2, D7 = DAYS[0], DAYS[1], DAYS[2], DAYS[7]


def test_every_table_is_written_with_its_declared_schema(handbuilt_out: Outputs) -> None:
    """Each table of tables.py exists, with exactly the declared columns and Arrow types."""
    import pyarrow.parquet as pq

    for table in TABLES:
        schema = pq.read_schema(next((handbuilt_out.root / table.name).glob("*.parquet")))
        expected = arrow_schema(table)
        assert schema.names == expected.names, table.name
        for field in expected:
            got = schema.field(field.name).type
            assert got == field.type, f"{table.name}.{field.name}: {got} != {field.type}"
    assert set(handbuilt_out.result.rows) == set(BY_NAME)


def test_dau_and_wau(handbuilt_out: Outputs) -> None:
    """DAU counts users with an impression that day; WAU those over the 7 days ending then."""
    dau = handbuilt_out.table("dau").sort_values("date")
    assert len(dau) == 8
    assert [row(dau, date=d).dau for d in (D0, D1, D2, D7)] == [3, 2, 0, 1]
    assert list(dau["wau"]) == [3, 4, 4, 4, 4, 4, 4, 3]  # D7's week is D1..D7: users 1, 4, 2
    first = row(dau, date=D0)
    assert first.impressions == 5 and first.clicks == 2
    assert first.ctr == pytest.approx(2 / 5)
    assert first.engagement_per_active_user == pytest.approx((2 + 1 + 1) / 3)
    assert row(dau, date=D2).ctr == 0.0


def test_retention_cohorts(handbuilt_out: Outputs) -> None:
    """D0 cohort {1,2,3}: user 1 back on D1, user 2 on D7; D1 cohort {4} never back; d30 unobservable."""
    ret = handbuilt_out.table("retention")
    assert sorted(ret["cohort_date"]) == [D0, D1]
    first, second = row(ret, cohort_date=D0), row(ret, cohort_date=D1)
    assert first["size"] == 3 and second["size"] == 1
    assert first.d1 == pytest.approx(1 / 3)
    assert first.d7 == pytest.approx(1 / 3)
    assert second.d1 == 0.0
    assert math.isnan(second.d7)  # D1 + 7 is after the window
    assert ret["d30"].isna().all()


def test_item_popularity(handbuilt_out: Outputs) -> None:
    """Counts per item-day, and popularity = today's engagement + half of yesterday's popularity."""
    pop = handbuilt_out.table("item_popularity")
    assert len(pop) == 5  # 100 and 101 on D0, 100 and 102 on D1, 102 on D7
    a = row(pop, date=D0, item_id=100)
    assert (a.impressions, a.clicks, a.likes, a.shares) == (2, 1, 1, 0)
    assert a.ctr == pytest.approx(0.5) and a.popularity == pytest.approx(2.0)
    b = row(pop, date=D0, item_id=101)
    assert (b.impressions, b.clicks, b.shares) == (3, 1, 1) and b.popularity == pytest.approx(2.0)
    assert row(pop, date=D1, item_id=100).popularity == pytest.approx(1 + 2.0 * 0.5)
    assert row(pop, date=D1, item_id=102).popularity == 0.0
    assert row(pop, date=D7, item_id=102).popularity == pytest.approx(1.0)


def test_exposure_matches_simnet_definitions(handbuilt_out: Outputs) -> None:
    """Coverage and Gini over the catalogue including zeros, as simnet.metrics computes them."""
    exp = handbuilt_out.table("exposure")
    expected = {  # impressions per catalogue item, clicks per catalogue item
        D0: ([2, 3], [1, 1]),
        D1: ([1, 0, 1], [1, 0, 0]),
        D2: ([0, 0, 0], [0, 0, 0]),
        D7: ([0, 0, 1], [0, 0, 1]),
    }
    for day, (imps, clicks) in expected.items():
        got = row(exp, date=day)
        assert got.catalogue_size == len(imps)
        assert got.items_impressed == sum(1 for x in imps if x)
        assert got.coverage == pytest.approx(got.items_impressed / len(imps))
        assert got.exposure_gini == pytest.approx(gini(imps))
        assert got.top10_share == pytest.approx(top_share(imps, 0.1))
        assert got.click_gini == pytest.approx(gini(clicks))
    assert row(exp, date=D0).exposure_gini == pytest.approx(0.1)  # ((2-3)*2 + (4-3)*3) / (2*5)
    assert row(exp, date=D1).exposure_gini == pytest.approx(1 / 3)


def test_user_item_engagement(handbuilt_out: Outputs) -> None:
    """Per pair over the window: counts, total dwell, last event time; follows are not counted."""
    uie = handbuilt_out.table("user_item_engagement")
    assert len(uie) == 8
    a = row(uie, user_id=1, item_id=100)
    assert (a.impressions, a.clicks, a.likes, a.shares, a.dwell_ms) == (1, 1, 1, 0, 30_000)
    assert pd.Timestamp(a.last_ts) == pd.Timestamp(f"{D0}T09:00:40Z")
    b = row(uie, user_id=2, item_id=101)
    assert (b.clicks, b.shares, b.dwell_ms) == (1, 1, 120_000)
    assert row(uie, user_id=4, item_id=100).clicks == 1


def test_creator_metrics(handbuilt_out: Outputs) -> None:
    """Posts, impressions, clicks and follows received, per creator and day."""
    cm = handbuilt_out.table("creator_metrics")
    a = row(cm, date=D0, creator_id=10)
    assert (a.items_posted, a.impressions, a.clicks, a.followers_gained) == (2, 5, 2, 0)
    b = row(cm, date=D1, creator_id=10)
    assert (b.items_posted, b.impressions, b.clicks, b.followers_gained) == (0, 1, 1, 1)
    c = row(cm, date=D1, creator_id=11)
    assert (c.items_posted, c.impressions, c.clicks) == (1, 1, 0)
    assert len(cm) == 4


def test_interactions_labels_and_weights(handbuilt_out: Outputs) -> None:
    """One row per impression; clicked ones weigh 1 + liked + 2 shared + min(dwell / 60 s, 1)."""
    inter = handbuilt_out.table("interactions")
    assert len(inter) == 8
    assert row(inter, request_id="r1", item_id=100).weight == pytest.approx(1 + 1 + 0.5)
    assert row(inter, request_id="r1", item_id=100).label == 1
    assert row(inter, request_id="r2", item_id=101).weight == pytest.approx(1 + 2 + 1)
    assert row(inter, request_id="r5", item_id=100).weight == pytest.approx(1.0)
    negatives = inter[inter["label"] == 0]
    assert len(negatives) == 4 and (negatives["weight"] == 1.0).all()
    assert set(inter[inter["label"] == 1]["request_id"]) == {"r1", "r2", "r5", "r6"}
    assert row(inter, request_id="r1", item_id=101).position == 1


def test_experiments_per_day_and_arm(handbuilt_out: Outputs) -> None:
    """One row per (date, arm) of the default experiment: counts, per-user means, D1 of the day's cohort, SRM.

    Intervals need two users per arm, which the fixture has nowhere; their values are checked
    against scipy in test_etl_experiment_log.py.
    """
    from scipy import stats

    exp = handbuilt_out.table("experiments")
    keys = sorted((d, a) for d, a in zip(exp["date"], exp["arm"], strict=True))
    assert keys == [(D0, "control"), (D0, "treatment"), (D1, "control"), (D1, "treatment"), (D7, "treatment")]
    assert set(exp["experiment"]) == {"default"} and exp["model_version"].isna().all()
    assert (exp["model_versions"] == 0).all()
    ctrl, treat = row(exp, date=D0, arm="control"), row(exp, date=D0, arm="treatment")
    assert bool(ctrl.is_control) and not bool(treat.is_control)
    assert (ctrl.users, ctrl.impressions, ctrl.clicks) == (2, 3, 1)  # users 1 (r1) and 3 (r3)
    assert (treat.users, treat.impressions, treat.clicks) == (1, 2, 1)  # user 2 (r2)
    assert ctrl.ctr_per_user == pytest.approx(np.mean([0.5, 0.0]))
    assert treat.ctr_diff == pytest.approx(0.5 - 0.25)
    assert treat.engagement_diff == pytest.approx(2.0 - 1.0)  # user 2: click + share; users 1: click + like, 3: none
    assert treat.ctr_pooled_diff == pytest.approx(1 / 2 - 1 / 3)
    assert pd.isna(treat.ctr_diff_low) and pd.isna(treat.prob_beats_control)  # one treatment user
    ref = stats.chisquare([2, 1], [1.5, 1.5])
    assert treat.srm_p_value == pytest.approx(ref.pvalue) and ctrl.srm_chi2 == pytest.approx(ref.statistic)
    # D1 of D0's cohort: control users 1 (back on D1) and 3 (not), treatment user 2 (not)
    assert (ctrl.d1_cohort, ctrl.d1_retention) == (2, 0.5)
    assert (treat.d1_cohort, treat.d1_retention) == (1, 0.0) and treat.d1_diff == pytest.approx(-0.5)
    # D1: user 1 signed up on D0, so no cohort in control; user 4 (cohort D1) is not back on D2
    later = row(exp, date=D1, arm="control")
    assert later.d1_cohort == 0 and pd.isna(later.d1_retention)
    assert row(exp, date=D1, arm="treatment").d1_cohort == 1 and pd.isna(row(exp, date=D1, arm="treatment").d1_diff)
    alone = row(exp, date=D7, arm="treatment")  # only one arm served on D7: it is its own control
    assert alone.control_arm == "treatment" and bool(alone.is_control) and alone.srm_p_value == 1.0


def test_user_features(handbuilt_out: Outputs) -> None:
    """1/7-day activity, rates and the mean text vector of clicked items."""
    uf = handbuilt_out.table("user_features")
    a = row(uf, user_id=1, date=D0)
    assert (a.impressions_1d, a.clicks_1d, a.impressions_7d, a.likes_7d, a.active_days_7d) == (2, 1, 2, 1, 1)
    assert a.ctr_7d == pytest.approx(0.5) and a.like_rate_7d == pytest.approx(1.0)
    assert a.mean_dwell_ms_7d == pytest.approx(30_000)
    np.testing.assert_allclose(a.content_profile, text_vector(TEXTS[100]), atol=1e-6)
    assert pd.Timestamp(a.event_timestamp) == pd.Timestamp(f"{D1}T00:00:00Z")
    b = row(uf, user_id=1, date=D1)
    assert (b.impressions_1d, b.impressions_7d, b.clicks_7d, b.active_days_7d) == (1, 3, 1, 2)
    c = row(uf, user_id=2, date=D7)  # clicked 101 on D0 (out of the week) and 102 on D7
    np.testing.assert_allclose(c.content_profile, text_vector(TEXTS[102]), atol=1e-6)
    assert not np.any(row(uf, user_id=3, date=D0).content_profile)
    assert len(uf[uf["date"] == D7]) == 4  # users 1, 2, 4 and creator 11 have events in D1..D7


def test_item_features(handbuilt_out: Outputs) -> None:
    """Every catalogue item every day from its creation, with its content features."""
    itf = handbuilt_out.table("item_features")
    assert len(itf) == 2 * 8 + 7  # 100 and 101 from D0, 102 from D1
    a = row(itf, item_id=100, date=D1)
    assert a.age_days == pytest.approx(2.0)
    assert (a.impressions_1d, a.impressions_7d, a.clicks_7d) == (1, 3, 2)
    assert a.popularity == pytest.approx(2.0) and a.ctr_7d == pytest.approx(2 / 3)
    assert a.creator_id == 10 and a.text_len == 3
    np.testing.assert_allclose(a.text_vec, text_vector(TEXTS[100]), atol=1e-6)
    img = image_stats(image_of(100))[0]
    got = [a.img_mean_r, a.img_mean_g, a.img_mean_b, a.img_std_r, a.img_std_g, a.img_std_b, a.img_texture]
    np.testing.assert_allclose(got, img)
    assert row(itf, item_id=100, date=D2).popularity == pytest.approx(1.0)


def test_creator_features(handbuilt_out: Outputs) -> None:
    """Catalogue size and 7-day figures per creator."""
    cf = handbuilt_out.table("creator_features")
    a = row(cf, creator_id=10, date=D1)
    assert (a.catalogue_items, a.items_posted_7d, a.impressions_7d, a.clicks_7d) == (2, 2, 6, 3)
    assert a.followers_gained_7d == 1 and a.ctr_7d == pytest.approx(0.5)
    b = row(cf, creator_id=10, date=D7)  # D0 is out of D1..D7
    assert (b.items_posted_7d, b.impressions_7d, b.clicks_7d) == (0, 1, 1)
    assert len(cf[cf["creator_id"] == 11]) == 7
