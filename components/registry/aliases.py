"""A model's aliases and their history: what ``<name>/aliases.json`` holds.

``{"aliases": {"champion": 3, "challenger": 4}, "history": [...]}``: each alias points at one
version; every change is appended to the history as an :class:`AliasChange` (the last
:data:`HISTORY_LIMIT` are kept), so why the champion is what it is can always be read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

HISTORY_LIMIT = 100
"""Alias changes kept in ``aliases.json`` (newest last)."""

AliasAction = Literal["set", "promote", "retire", "remove"]
"""What an alias change did: point an alias, promote to champion, retire a candidate, delete an alias."""


def is_version_ref(text: str) -> bool:
    """Whether ``text`` names a version by number (``3``, ``v3``) rather than by alias."""
    return text.isdigit() or (text[:1] in "vV" and text[1:].isdigit())


class AliasChange(BaseModel):
    """One entry of an alias history: when, which alias, from which version to which, and why.

    Entries written before actions and reasons were recorded read back with the action
    inferred (``remove`` when ``version`` is None, else ``set``) and an empty reason.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    at: str  # ISO timestamp, UTC
    alias: str
    version: int | None  # the version the alias points at after the change; None once removed
    previous: int | None  # the version it pointed at before; None if it was unset
    action: AliasAction
    reason: str = ""  # why, in words and figures (the evaluation's verdict, the experiment's numbers)
    forced: bool = False  # promoted over an offline evaluation that said not to
    details: dict[str, Any] = {}  # the figures behind the reason, machine-readable

    @model_validator(mode="before")
    @classmethod
    def _infer_action(cls, data: Any) -> Any:
        if isinstance(data, dict) and "action" not in data:
            return {**data, "action": "remove" if data.get("version") is None else "set"}
        return data


@dataclass
class AliasState:
    """The contents of one model's ``aliases.json``, changed in memory and written back whole."""

    aliases: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AliasState:
        """The state as stored (older files may lack the history)."""
        aliases = {str(k): int(v) for k, v in dict(data.get("aliases", {})).items()}
        return cls(aliases, list(data.get("history", [])))

    def to_json(self) -> dict[str, Any]:
        return {"aliases": self.aliases, "history": self.history}

    def changes(self) -> list[AliasChange]:
        """Past changes, oldest first."""
        return [AliasChange.model_validate(entry) for entry in self.history]

    def move(
        self,
        alias: str,
        version: int | None,
        *,
        action: AliasAction,
        reason: str,
        forced: bool = False,
        details: dict[str, Any] | None = None,
    ) -> int | None:
        """Point ``alias`` at ``version`` (None removes it), record the change; return the previous version."""
        previous = self.aliases.pop(alias, None) if version is None else self.aliases.get(alias)
        if version is not None:
            self.aliases[alias] = version
        change = AliasChange(
            at=datetime.now(UTC).isoformat(),
            alias=alias,
            version=version,
            previous=previous,
            action=action,
            reason=reason,
            forced=forced,
            details=details or {},
        )
        self.history = [*self.history, change.model_dump(mode="json")][-HISTORY_LIMIT:]
        return previous
