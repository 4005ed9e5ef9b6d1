"""What a run of the loop shows: ``result.json`` (what ``--json`` prints) and ``report.html``.

Headline figures are taken on the last day and measured the same way for every policy: the
score of the users each arm served (SimNet's per-arm figures), for the platform's arms and for
the reference runs' single arm. ``model_score`` is the best arm that served a learned model;
``gap_closed`` = (model - popularity) / (oracle - popularity), the share of the distance from
the usual baseline to the ceiling that the platform covered.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simnet import plots
from simnet.report import jsonable, render_page, table_section
from tinyworld.loop.peers import PEERS, Peer
from tinyworld.loop.slo import SloReport
from tinyworld.loop.state import RunFolder, RunState

log = logging.getLogger(__name__)

POPULARITY = "popularity"


def arm_frame(state: RunState) -> pd.DataFrame:
    """The platform's per-day, per-arm rows (day is 1-based), with the model each arm served."""
    rows = [
        {**row, "day": record.day, "served": record.arms.get(str(row["arm"]))}
        for record in state.days
        for row in record.by_arm
    ]
    return pd.DataFrame(rows)


def peer_frames(folder: RunFolder) -> dict[str, pd.DataFrame]:
    """Each finished reference run's per-day arm rows (day 1-based)."""
    frames = {}
    for policy in PEERS:
        peer = Peer(policy, folder.path("peers", policy))
        path = peer.out / "arms.csv"
        if peer.done and path.is_file():
            frame = pd.read_csv(path)
            frames[policy] = frame.assign(day=frame["day"] + 1)
    return frames


def summary(state: RunState, folder: RunFolder) -> dict[str, Any]:
    """The run's result: per day and arm, the nights, the decisions and the headline figures."""
    arms = arm_frame(state)
    peers = peer_frames(folder)
    last = state.days[-1].day if state.days else None

    def last_score(frame: pd.DataFrame) -> float | None:
        rows = frame[frame["day"] == last] if last is not None and not frame.empty else frame.iloc[0:0]
        return float(rows["score"].max()) if len(rows) else None

    models = arms[arms["served"] != POPULARITY] if not arms.empty else arms
    model_score = last_score(models)
    popularity = last_score(peers[POPULARITY]) if POPULARITY in peers else None
    oracle = last_score(peers["oracle"]) if "oracle" in peers else None
    gap = None
    if None not in (model_score, popularity, oracle) and oracle != popularity:
        gap = (model_score - popularity) / (oracle - popularity)  # type: ignore[operator]
    columns = ["arm", "served", "model_versions", "score", "ctr", "dau", "share", "reach", "return_rate"]
    return jsonable(
        {
            "run": state.run_id,
            "users": state.options.users,
            "days_lived": len(state.days),
            "seed": state.options.seed,
            "days": [
                {
                    "day": record.day,
                    "date": record.date,
                    "experiment": record.experiment,
                    "score": record.world.get("score"),
                    "arms": [{c: row.get(c) for c in columns} for row in record.by_arm]
                    if not record.by_arm
                    else arms[arms["day"] == record.day][columns].to_dict("records"),
                    "seconds": record.seconds,
                }
                for record in state.days
            ],
            "nights": [
                {
                    "date": night.day.isoformat(),
                    "seconds": night.seconds,
                    "pipeline_seconds": night.pipeline_seconds,
                    "decision": night.decision.decision if night.decision else None,
                    "decision_reason": night.decision.reason if night.decision else None,
                    "registered": night.registered.version if night.registered else None,
                    "registered_alias": night.registered.alias if night.registered else None,
                    "family": _family(night.evaluation),
                    "offline": _offline(night.evaluation),
                    "failure": night.failure,
                }
                for night in state.nights
            ],
            "decisions": [
                {"date": n.day.isoformat(), "decision": n.decision.decision, "reason": n.decision.reason}
                for n in state.nights
                if n.decision is not None
            ],
            "popularity_score": popularity,
            "oracle_score": oracle,
            "model_score": model_score,
            "gap_closed": gap,
            "minutes": round(state.seconds / 60.0, 2),
            "setup_seconds": state.setup_seconds,
            "slo": state.slo.model_dump(mode="json") if state.slo is not None else None,
        }
    )


def _family(evaluation: dict[str, Any] | None) -> str | None:
    """The family of the night's candidate (training picked it on its validation split)."""
    model = ((evaluation or {}).get("protocol") or {}).get("model") or {}
    return model.get("family")


def _offline(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    if not evaluation:
        return None
    blocks: dict[str, dict[str, Any]] = {
        name: evaluation[name] for name in ("model", "popularity", "champion") if evaluation.get(name)
    }
    verdict = evaluation.get("promotion") or {}
    return {"ndcg_at_k": {k: v.get("ndcg_at_k") for k, v in blocks.items()}, "passed": verdict.get("promote")}


def write_report(state: RunState, folder: RunFolder) -> dict[str, Any]:
    """Write result.json and report.html under the run's folder; returns the result."""
    result = summary(state, folder)
    (folder.root / "result.json").write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    arms, peers = arm_frame(state), peer_frames(folder)
    cards = [
        {"label": label, "key": key, "value": _fmt(result[key])}
        for label, key in (
            ("model score (last day)", "model_score"),
            ("popularity", "popularity_score"),
            ("oracle", "oracle_score"),
            ("gap closed", "gap_closed"),
            ("minutes", "minutes"),
        )
    ]
    cards += _slo_cards(state.slo)
    nights = pd.DataFrame(result["nights"]).drop(columns=["seconds", "pipeline_seconds", "offline"], errors="ignore")
    page = {
        "title": f"TinyWorld loop {state.run_id}",
        "subtitle": (
            f"{state.options.users:,} users, {len(state.days)} of {state.options.days} day(s), "
            f"seed {state.options.seed}"
        ),
        "cards": cards,
        "figures": [
            plots.figure(
                "Score by day and arm", "Each arm's users, beside SimNet's own policies", lambda: _score(arms, peers)
            ),
            plots.figure(
                "Return rate", "Share of an arm's users of the day before who came back", lambda: _returns(arms, peers)
            ),
            plots.figure(
                "Coverage", "Share of the catalogue shown in a day (whole world)", lambda: _coverage(state, folder)
            ),
            plots.figure(
                "Offline metrics per night",
                "NDCG@k of each night's candidate, popularity and the champion",
                lambda: _offline_plot(result),
            ),
            plots.figure(
                "A/B intervals",
                "95% interval of challenger - champion on the primary metric, per night",
                lambda: _intervals(state),
            ),
            plots.figure("Step timings", "Seconds per pipeline step and per part of each day", lambda: _timings(state)),
        ],
        "tables_bottom": [
            table_section("Per day and arm", arms, open_=True)
            if not arms.empty
            else table_section("Per day and arm", pd.DataFrame()),
            table_section("Nights", nights, open_=True),
            *_slo_tables(state.slo),
        ],
        "config_text": state.options.model_dump_json(indent=2),
    }
    (folder.root / "report.html").write_text(render_page(page), encoding="utf-8")
    return result


def _slo_cards(slo: SloReport | None) -> list[dict[str, str]]:
    """With --monitor: the headline SLO figures of the run, from its Prometheus."""
    if slo is None:
        return []
    fired = [a.name for a in slo.alerts if a.state == "firing"]
    return [
        {"label": "p99 latency", "key": "slo.p99_latency_s", "value": _ms(slo.p99_latency_s)},
        {"label": "error rate", "key": "slo.error_rate", "value": _fmt(slo.error_rate)},
        {"label": "ingest lag (max)", "key": "slo.ingest_lag_max_s", "value": _fmt(slo.ingest_lag_max_s)},
        {"label": "alerts fired", "key": "slo.alerts", "value": ", ".join(fired) or "none"},
    ]


def _slo_tables(slo: SloReport | None) -> list[dict[str, Any]]:
    """With --monitor: every SLO figure, and the alerts that were pending or firing (rules: docs/monitoring.md)."""
    if slo is None:
        return []
    figures = pd.DataFrame(
        [{"figure": k, "value": v} for k, v in slo.model_dump(exclude={"alerts"}).items()], columns=["figure", "value"]
    )
    alerts = pd.DataFrame(
        [{"alert": a.name, "state": a.state, "severity": a.severity, "labels": _labels(a.labels)} for a in slo.alerts],
        columns=["alert", "state", "severity", "labels"],
    )
    note = "from the run's Prometheus, over the whole run"
    return [
        table_section("SLOs (Prometheus)", figures, note=note, open_=True),
        table_section("Alerts pending or fired", alerts, open_=True),
    ]


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def _score(arms: pd.DataFrame, peers: dict[str, pd.DataFrame]) -> str:
    return _per_day(arms, peers, "score", "SimNet score")


def _returns(arms: pd.DataFrame, peers: dict[str, pd.DataFrame]) -> str:
    return _per_day(arms, peers, "return_rate", "return rate")


def _per_day(arms: pd.DataFrame, peers: dict[str, pd.DataFrame], column: str, label: str) -> str:
    """``column`` by day: one line per platform arm, a dashed one per reference policy."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for arm, rows in arms.groupby("arm") if not arms.empty else []:
            ax.plot(rows["day"], rows[column], marker="o", label=f"platform {arm}")
        for policy, frame in peers.items():
            ax.plot(frame["day"], frame[column], linestyle="--", label=policy)
        ax.set_xlabel("day")
        ax.set_ylabel(label)
        ax.legend()

    return plots.render(draw)


def _coverage(state: RunState, folder: RunFolder) -> str:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        days = [d.day for d in state.days]
        coverage = [float(d.world.get("coverage") or np.nan) for d in state.days]
        ax.plot(days, coverage, marker="o", label="platform")
        for policy in PEERS:
            peer = Peer(policy, folder.path("peers", policy))
            if peer.done:
                daily = peer.daily()
                ax.plot(daily["day"] + 1, daily["coverage"], linestyle="--", label=policy)
        ax.set_xlabel("day")
        ax.set_ylabel("coverage")
        ax.legend()

    return plots.render(draw)


def _offline_plot(result: dict[str, Any]) -> str:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        nights = [n for n in result["nights"] if n["offline"]]
        x = np.arange(len(nights))
        for i, name in enumerate(("model", "popularity", "champion")):
            values = [n["offline"]["ndcg_at_k"].get(name, np.nan) or np.nan for n in nights]
            ax.bar(x + (i - 1) * 0.27, values, width=0.27, label=name)
        ax.set_xticks(x, [n["date"] for n in nights])
        ax.set_ylabel("NDCG@k")
        ax.legend()

    return plots.render(draw)


def _intervals(state: RunState) -> str:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        decided = [n for n in state.nights if n.decision is not None and n.decision.figures is not None]
        for i, night in enumerate(decided):
            figures = night.decision.figures  # type: ignore[union-attr]
            if (
                figures is not None
                and figures.low is not None
                and figures.high is not None
                and figures.diff is not None
            ):
                ax.errorbar(
                    i,
                    figures.diff,
                    yerr=[[figures.diff - figures.low], [figures.high - figures.diff]],
                    fmt="o",
                    capsize=4,
                )
        ax.axhline(0.0, color="#777777", linewidth=1)
        ax.set_xticks(range(len(decided)), [n.day.isoformat() for n in decided])
        ax.set_ylabel("challenger - champion")

    return plots.render(draw)


def _timings(state: RunState) -> str:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        rows: dict[str, dict[str, float]] = {}
        for record in state.days:
            rows.setdefault(record.date, {}).update({f"day:{k}": v for k, v in record.seconds.items() if k != "day"})
        for night in state.nights:
            rows.setdefault(night.day.isoformat(), {}).update(night.seconds)
        frame = pd.DataFrame.from_dict(rows, orient="index").fillna(0.0).drop(columns=["day:delivery"], errors="ignore")
        bottom = np.zeros(len(frame))
        for column in frame.columns:
            ax.bar(frame.index, frame[column], bottom=bottom, label=column)
            bottom += frame[column].to_numpy()
        ax.set_ylabel("seconds")
        ax.legend(fontsize=7, ncol=2)

    return plots.render(draw)
