"""The model registry: numbered versions of each model, their facts, and aliases such as ``champion``.

Layout under the root (a local folder or an object-store URL such as ``s3://bucket/registry``,
resolved by :func:`components.storage.resolve`)::

    <name>/versions/<n>/       the model artifact's files, copied as they were
    <name>/versions/<n>/meta.json   metrics, evaluation, data window, features, code version
    <name>/aliases.json        {"aliases": {"champion": 3}, "history": [...]}

Aliases: ``champion`` is what serving and deploy read; ``challenger`` is the candidate the A/B
experiment serves beside it. The promotion rule lives here, in one place: the champion alias
never moves to a version whose recorded offline evaluation said ``promote: false``
(:class:`PromotionRefusedError`) unless the caller forces it, and every alias change is kept
in the history with its action (set, promote, retire, remove), its reason and, when forced,
the fact (:mod:`components.registry.aliases`).

A version exists once its ``meta.json`` is written, last, after every artifact file: a
reader never sees a half-copied version. ``aliases.json`` is replaced atomically
(:meth:`~components.registry.store.Store.write_json`), so serving reads the old champion or
the new one, never a broken file. Versions are numbered 1, 2, 3... per name; locally the
number is claimed with an atomic ``mkdir``, on object stores the registry assumes one writer
at a time (the daily pipeline). Alias updates are read-modify-write: also one writer at a time.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from components.registry.aliases import AliasAction, AliasChange, AliasState, is_version_ref
from components.registry.store import Store
from components.storage import Root, StorageOptions, resolve

log = logging.getLogger(__name__)

META_FILE = "meta.json"
ALIASES_FILE = "aliases.json"
VERSIONS_DIR = "versions"
ARTIFACT_METADATA = "metadata.json"
"""The model artifact's own metadata file (components.train.artifact), read for defaults."""
DEFAULT_MODEL_NAME = "recommender"
"""The registered model's default name: what training registers and serving reads."""
CHAMPION = "champion"
"""The alias serving and deploy read."""
CHALLENGER = "challenger"
"""The alias of the candidate the A/B experiment serves beside the champion."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class RegistryError(LookupError):
    """A registry request that cannot be served: unknown model, version or alias, bad name."""


class AliasNotSet(RegistryError):
    """The alias is not set (never set, retired or removed): nothing is registered under it now."""


class PromotionRefusedError(RegistryError):
    """The champion alias may not move to a version its offline evaluation rejected (without force)."""


class ModelVersion(BaseModel):
    """One registered version: where it lives and the facts recorded with it."""

    model_config = ConfigDict(extra="forbid")

    name: str  # the model's name in the registry
    version: int  # 1, 2, 3... per name
    path: str  # the version's folder: hand it to components.train.artifact.load_model
    registered_at: str  # ISO timestamp, UTC
    source: str  # where the artifact was copied from
    model_version: str | None = None  # the artifact's own version string (metadata.json)
    metrics: dict[str, Any] = {}  # headline metrics (the evaluation's model block)
    evaluation: dict[str, Any] | None = None  # the full evaluation report, when registered with one
    data_window: dict[str, Any] | None = None  # the training data's time window
    features: Any = None  # the feature list(s) the model reads
    code_version: str | None = None  # git commit of the code that trained it
    description: str = ""
    lineage: dict[str, Any] | None = None  # how the artifact was made (training's lineage), when it says
    aliases: list[str] = []  # aliases pointing here (read from aliases.json, not stored in meta.json)

    def offline_verdict(self) -> tuple[bool | None, str]:
        """The recorded evaluation's promotion verdict and reason; ``(None, ...)`` when there is none.

        A ``promotion`` block without ``promote: true`` counts as a refusal.
        """
        decision = (self.evaluation or {}).get("promotion")
        if not isinstance(decision, dict):
            return None, "no offline evaluation recorded"
        return decision.get("promote") is True, str(decision.get("reason") or "no reason recorded")


def _check_name(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise RegistryError(f"invalid {kind} {value!r}: use letters, digits, '.', '_' or '-' (max 128)")
    return value


class Registry:
    """A registry rooted at a local folder or object-store URL (see the module doc for the layout).

    ``storage`` says how to reach an object store (endpoint, region, credentials); a
    :class:`~components.storage.Root` brings its own.
    """

    def __init__(self, root: str | Path | Root, storage: StorageOptions | None = None) -> None:
        self.store = Store(root if isinstance(root, Root) else str(root), storage)

    @property
    def storage(self) -> StorageOptions:
        """How this registry reaches its store: what ``load_model`` needs with a version's path."""
        return self.store.location.options

    # --- reading ---------------------------------------------------------------------------

    def list_models(self) -> list[str]:
        """Names of the registered models."""
        return [n for n in self.store.listdir() if _NAME.match(n) and self.store.exists(n, VERSIONS_DIR)]

    def aliases(self, name: str) -> dict[str, int]:
        """``alias -> version`` for a model (empty if it has none)."""
        return self._alias_state(name).aliases

    def alias_history(self, name: str) -> list[AliasChange]:
        """Past alias changes, oldest first (the last :data:`~components.registry.aliases.HISTORY_LIMIT`)."""
        return self._alias_state(name).changes()

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every complete version of ``name``, oldest first; RegistryError for an unknown model."""
        numbers = self._versions(name)
        if not numbers and not self.store.exists(_check_name("model name", name)):
            raise RegistryError(f"no model named {name!r} in {self.store.url} (known: {', '.join(self.list_models())})")
        aliases = self.aliases(name)
        return [self._read(name, n, aliases) for n in numbers]

    def show(self, name: str, ref: str | int | None = None) -> ModelVersion:
        """The version ``ref``: a number, an alias, or ``None`` for the champion."""
        return self._read(name, self.resolve(name, ref), self.aliases(name))

    def get(self, name: str, ref: str | int | None = None) -> str:
        """The folder of version ``ref`` (number, alias, or ``None`` for the champion), for ``load_model``."""
        return self.show(name, ref).path

    def resolve(self, name: str, ref: str | int | None = None) -> int:
        """The version number ``ref`` designates (an int, a digit string, ``v3``, or an alias)."""
        _check_name("model name", name)
        ref = CHAMPION if ref is None else ref
        text = str(ref)
        if is_version_ref(text):
            number = int(text.lstrip("vV"))
            if number not in self._versions(name):
                raise RegistryError(f"model {name!r} has no version {number} (has: {self._versions(name)})")
            return number
        aliases = self.aliases(name)
        if text not in aliases:
            known = ", ".join(f"{a} -> {v}" for a, v in aliases.items()) or "none"
            raise AliasNotSet(f"model {name!r} has no alias {text!r} (aliases: {known})")
        return aliases[text]

    # --- writing ---------------------------------------------------------------------------

    def register(
        self,
        model_dir: str | Path,
        name: str,
        metrics: dict[str, Any] | None = None,
        *,
        evaluation: dict[str, Any] | None = None,
        data_window: dict[str, Any] | None = None,
        features: Any = None,
        code_version: str | None = None,
        description: str = "",
        lineage: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Copy the artifact at ``model_dir`` in as the next version of ``name`` and return it.

        ``data_window``, ``features``, ``code_version`` and ``lineage`` default to the
        artifact's ``metadata.json`` (as training writes it); ``metrics`` defaults to the
        evaluation's ``model`` block. FileNotFoundError if ``model_dir`` holds no model.
        """
        _check_name("model name", name)
        source = str(model_dir)
        fs, root = resolve(source, self.store.location.options).fsspec()
        meta_path = f"{root.rstrip('/')}/{ARTIFACT_METADATA}"
        if not fs.exists(meta_path):
            raise FileNotFoundError(f"no model at {source} (missing {ARTIFACT_METADATA})")
        with fs.open(meta_path, "r", encoding="utf-8") as f:
            artifact_meta: dict[str, Any] = json.load(f)
        number = self._claim_next(name)
        try:
            self.store.copy_tree(source, name, VERSIONS_DIR, str(number))
        except BaseException:
            log.error("copying %s into %s version %d failed; the version stays incomplete", source, name, number)
            raise
        record = ModelVersion(
            name=name,
            version=number,
            path=self.store.url_of(name, VERSIONS_DIR, str(number)),
            registered_at=datetime.now(UTC).isoformat(),
            source=source,
            model_version=artifact_meta.get("version"),
            metrics=dict(metrics if metrics is not None else (evaluation or {}).get("model", {})),
            evaluation=evaluation,
            data_window=data_window if data_window is not None else artifact_meta.get("data_window"),
            features=features if features is not None else artifact_meta.get("features"),
            code_version=code_version or artifact_meta.get("code_version"),
            description=description,
            lineage=lineage if lineage is not None else artifact_meta.get("lineage"),
        )
        self.store.write_json(
            record.model_dump(mode="json", exclude={"aliases"}), name, VERSIONS_DIR, str(number), META_FILE
        )
        log.info("registered %s version %d from %s", name, number, source)
        return record

    def set_alias(
        self, name: str, alias: str, version: int | str, *, reason: str = "", force: bool = False
    ) -> ModelVersion:
        """Point ``alias`` at ``version``, atomically; returns that version.

        Setting :data:`CHAMPION` this way is a promotion and obeys the same rule as
        :meth:`promote` (PromotionRefusedError for a version its evaluation rejected, unless
        ``force``).
        """
        action: AliasAction = "promote" if alias == CHAMPION else "set"
        return self._point(name, alias, version, action=action, reason=reason, force=force, details=None)

    def promote(
        self,
        name: str,
        version: int | str,
        *,
        reason: str,
        force: bool = False,
        details: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Make ``version`` the champion, recording ``reason`` (and ``details``, its figures).

        Raises :class:`PromotionRefusedError`, naming the version and the evaluation's reason,
        when the version's recorded offline evaluation said ``promote: false``; ``force``
        overrides that and the history records that it was forced. A version with no recorded
        evaluation may be promoted (with a warning). ValueError for an empty ``reason``.
        """
        reason = _required(reason)
        return self._point(name, CHAMPION, version, action="promote", reason=reason, force=force, details=details)

    def retire(self, name: str, alias: str, *, reason: str, details: dict[str, Any] | None = None) -> int:
        """Remove ``alias`` (e.g. a challenger that lost), recording ``reason``; returns the version it held.

        The champion cannot be retired (serving reads it): promote another version instead.
        RegistryError for an unknown alias, ValueError for an empty ``reason``.
        """
        if alias == CHAMPION:
            raise RegistryError(f"the {CHAMPION} alias of {name!r} cannot be retired: promote another version instead")
        return self._unset(name, alias, action="retire", reason=_required(reason), details=details)

    def remove_alias(self, name: str, alias: str, *, reason: str = "") -> int:
        """Delete ``alias`` of ``name`` and return the version it held; RegistryError if it does not exist."""
        return self._unset(name, alias, action="remove", reason=reason, details=None)

    # --- internals -------------------------------------------------------------------------

    def _versions(self, name: str) -> list[int]:
        """Complete versions (with meta.json), ascending."""
        numbers = sorted(int(n) for n in self.store.listdir(name, VERSIONS_DIR) if n.isdigit())
        return [n for n in numbers if self.store.exists(name, VERSIONS_DIR, str(n), META_FILE)]

    def _claim_next(self, name: str) -> int:
        taken = [int(n) for n in self.store.listdir(name, VERSIONS_DIR) if n.isdigit()]
        number = max(taken, default=0) + 1
        while not self.store.claim(name, VERSIONS_DIR, str(number)):
            number += 1
        return number

    def _read(self, name: str, number: int, aliases: dict[str, int]) -> ModelVersion:
        try:
            data = self.store.read_json(name, VERSIONS_DIR, str(number), META_FILE)
        except FileNotFoundError:
            raise RegistryError(f"model {name!r} has no version {number}") from None
        data["path"] = self.store.url_of(name, VERSIONS_DIR, str(number))
        return ModelVersion(**data, aliases=sorted(a for a, v in aliases.items() if v == number))

    def _point(
        self,
        name: str,
        alias: str,
        version: int | str,
        *,
        action: AliasAction,
        reason: str,
        force: bool,
        details: dict[str, Any] | None,
    ) -> ModelVersion:
        """Move ``alias`` to ``version`` (the promotion rule applies to the champion) and record it."""
        _check_name("alias", alias)
        if is_version_ref(alias):
            raise RegistryError(f"alias {alias!r} looks like a version number")
        number = self.resolve(name, version)
        forced = False
        if alias == CHAMPION:
            cleared, why = self._read(name, number, {}).offline_verdict()
            if cleared is False and not force:
                raise PromotionRefusedError(
                    f"{name} version {number} was not cleared for promotion by its offline evaluation ({why}); "
                    "force it to override"
                )
            if cleared is False:
                forced = True
                reason = f"{reason} (forced over the offline evaluation: {why})"
                log.warning("%s: promoting version %d over its offline evaluation (%s)", name, number, why)
            elif cleared is None:
                log.warning("%s: version %d has no recorded offline evaluation", name, number)
        state = self._alias_state(name)
        previous = state.move(alias, number, action=action, reason=reason, forced=forced, details=details)
        self.store.write_json(state.to_json(), name, ALIASES_FILE)
        log.info("%s: %s %s -> version %d (was %s): %s", name, action, alias, number, previous, reason or "-")
        return self.show(name, number)

    def _unset(self, name: str, alias: str, *, action: AliasAction, reason: str, details: dict[str, Any] | None) -> int:
        """Remove ``alias`` and record it; returns the version it held."""
        state = self._alias_state(name)
        if alias not in state.aliases:
            known = ", ".join(sorted(state.aliases)) or "none"
            raise RegistryError(f"model {name!r} has no alias {alias!r} (aliases: {known})")
        previous = int(state.aliases[alias])
        state.move(alias, None, action=action, reason=reason, details=details)
        self.store.write_json(state.to_json(), name, ALIASES_FILE)
        log.info("%s: %s %s (was version %d): %s", name, action, alias, previous, reason or "-")
        return previous

    def _alias_state(self, name: str) -> AliasState:
        _check_name("model name", name)
        if not self.store.exists(name, ALIASES_FILE):
            return AliasState()
        return AliasState.from_json(self.store.read_json(name, ALIASES_FILE))


def _required(reason: str) -> str:
    """``reason`` stripped; ValueError when it is empty (promotions and retirements say why)."""
    if not reason.strip():
        raise ValueError("a reason is required: say why (the evaluation's verdict, the experiment's figures)")
    return reason.strip()
