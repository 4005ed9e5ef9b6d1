"""The promotion rule and the alias history, in the library: refusals, force, retire, old files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from components.registry.aliases import AliasChange
from components.registry.registry import (
    CHALLENGER,
    CHAMPION,
    PromotionRefusedError,
    Registry,
    RegistryError,
)
from tests.unit.components.registry.conftest import MakeEvaluation, MakeModel


def _registry(tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation, *verdicts: bool) -> Registry:
    """A registry with one version of ``recsys`` per verdict (True: the evaluation cleared it)."""
    registry = Registry(tmp_path / "reg")
    source = make_model()
    for verdict in verdicts:
        report = json.loads(make_evaluation(verdict).read_text())
        registry.register(source, "recsys", evaluation=report)
    return registry


def test_promote_refused_when_the_evaluation_rejected(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """A version whose evaluation said promote: false is refused; the error names it and the reason."""
    registry = _registry(tmp_path, make_model, make_evaluation, True, False)
    registry.promote("recsys", 1, reason="first model")
    with pytest.raises(PromotionRefusedError, match=r"recsys version 2 .*ndcg_vs_champion: 0.3000 < 0.3060"):
        registry.promote("recsys", 2, reason="looks better to me")
    with pytest.raises(PromotionRefusedError, match="version 2"):
        registry.set_alias("recsys", CHAMPION, 2)  # no back door through set_alias
    assert registry.aliases("recsys") == {CHAMPION: 1}
    assert [c.version for c in registry.alias_history("recsys")] == [1]


def test_force_promotes_and_is_recorded(tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation) -> None:
    """force overrides the refusal; the history entry is marked forced and quotes the evaluation's reason."""
    registry = _registry(tmp_path, make_model, make_evaluation, False)
    record = registry.promote("recsys", 1, reason="hotfix", force=True)
    assert record.aliases == [CHAMPION]
    (change,) = registry.alias_history("recsys")
    assert change.forced and change.action == "promote"
    assert change.reason.startswith("hotfix (forced over the offline evaluation: not promoted: ndcg_vs_champion")


def test_versions_without_evaluation_may_be_promoted(tmp_path: Path, make_model: MakeModel) -> None:
    """No recorded evaluation is no refusal: the version is promoted and not marked forced."""
    registry = Registry(tmp_path / "reg")
    registry.register(make_model(), "recsys")
    registry.promote("recsys", "v1", reason="manual")
    assert registry.aliases("recsys") == {CHAMPION: 1}
    assert not registry.alias_history("recsys")[0].forced


def test_retire_removes_the_alias_and_records_why(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """retire deletes the alias, returns the version it held, and the history keeps the reason and figures."""
    registry = _registry(tmp_path, make_model, make_evaluation, True, True)
    registry.set_alias("recsys", CHALLENGER, 2, reason="registered")
    assert registry.retire("recsys", CHALLENGER, reason="lost: ctr -0.01", details={"diff": -0.01}) == 2
    assert CHALLENGER not in registry.aliases("recsys")
    last = registry.alias_history("recsys")[-1]
    assert (last.action, last.alias, last.version, last.previous) == ("retire", CHALLENGER, None, 2)
    assert last.reason == "lost: ctr -0.01" and last.details == {"diff": -0.01}
    with pytest.raises(RegistryError, match="no alias 'challenger'"):
        registry.retire("recsys", CHALLENGER, reason="again")


def test_bad_promotion_requests(tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation) -> None:
    """An empty reason, retiring the champion and unknown versions are clear errors that change nothing."""
    registry = _registry(tmp_path, make_model, make_evaluation, True)
    with pytest.raises(ValueError, match="a reason is required"):
        registry.promote("recsys", 1, reason="  ")
    registry.promote("recsys", 1, reason="first")
    with pytest.raises(RegistryError, match="cannot be retired"):
        registry.retire("recsys", CHAMPION, reason="no")
    with pytest.raises(ValueError, match="a reason is required"):
        registry.retire("recsys", CHALLENGER, reason="")
    with pytest.raises(RegistryError, match="no version 5"):
        registry.promote("recsys", 5, reason="nope")
    assert registry.aliases("recsys") == {CHAMPION: 1} and len(registry.alias_history("recsys")) == 1


def test_history_entries_have_every_field(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """Each change records time, alias, old and new version, action and reason, in order."""
    registry = _registry(tmp_path, make_model, make_evaluation, True, True)
    registry.set_alias("recsys", CHALLENGER, 1, reason="registered")
    registry.promote("recsys", 1, reason="first model")
    registry.set_alias("recsys", CHALLENGER, 2, reason="registered")
    registry.promote("recsys", 2, reason="won: ctr +0.02", details={"diff": 0.02})
    registry.remove_alias("recsys", CHALLENGER, reason="cleanup")
    history = registry.alias_history("recsys")
    assert [(c.action, c.alias, c.previous, c.version) for c in history] == [
        ("set", CHALLENGER, None, 1),
        ("promote", CHAMPION, None, 1),
        ("set", CHALLENGER, 1, 2),
        ("promote", CHAMPION, 1, 2),
        ("remove", CHALLENGER, 2, None),
    ]
    assert [c.reason for c in history] == ["registered", "first model", "registered", "won: ctr +0.02", "cleanup"]
    assert all(datetime.fromisoformat(c.at).tzinfo is not None for c in history)
    raw = json.loads((tmp_path / "reg" / "recsys" / "aliases.json").read_text())["history"][3]
    assert set(raw) == {"at", "alias", "version", "previous", "action", "reason", "forced", "details"}


def test_old_alias_files_still_read(tmp_path: Path, make_model: MakeModel) -> None:
    """An aliases.json written before actions and reasons existed reads back, actions inferred, and grows."""
    registry = Registry(tmp_path / "reg")
    registry.register(make_model(), "recsys")
    registry.register(make_model(), "recsys")
    old = {
        "aliases": {"champion": 1},
        "history": [
            {"alias": "champion", "version": 2, "previous": None, "at": "2026-01-01T00:00:00+00:00"},
            {"alias": "champion", "version": None, "previous": 2, "at": "2026-01-02T00:00:00+00:00"},
            {"alias": "champion", "version": 1, "previous": None, "at": "2026-01-03T00:00:00+00:00"},
        ],
    }
    (tmp_path / "reg" / "recsys" / "aliases.json").write_text(json.dumps(old))
    assert registry.aliases("recsys") == {CHAMPION: 1}
    assert [(c.action, c.reason) for c in registry.alias_history("recsys")] == [
        ("set", ""),
        ("remove", ""),
        ("set", ""),
    ]
    registry.promote("recsys", 2, reason="newer")
    history = registry.alias_history("recsys")
    assert len(history) == 4 and (history[-1].action, history[-1].previous, history[-1].version) == ("promote", 1, 2)
    assert history[0] == AliasChange(
        at="2026-01-01T00:00:00+00:00", alias=CHAMPION, version=2, previous=None, action="set"
    )
