"""The model registry: numbered versions of each model, their facts, and aliases such as ``champion``.

Layout under the root (a local folder or an fsspec URL such as ``s3://bucket/registry``)::

    <name>/versions/<n>/       the model artifact's files, copied as they were
    <name>/versions/<n>/meta.json   metrics, evaluation, data window, features, code version
    <name>/aliases.json        {"aliases": {"champion": 3}, "history": [...]}

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

from components.registry.store import Store

log = logging.getLogger(__name__)

META_FILE = "meta.json"
ALIASES_FILE = "aliases.json"
VERSIONS_DIR = "versions"
ARTIFACT_METADATA = "metadata.json"
"""The model artifact's own metadata file (components.train.artifact), read for defaults."""
CHAMPION = "champion"
"""The alias serving and deploy read."""
HISTORY_LIMIT = 100
"""Alias changes kept in ``aliases.json`` (newest last)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class RegistryError(LookupError):
    """A registry request that cannot be served: unknown model, version or alias, bad name."""


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
    aliases: list[str] = []  # aliases pointing here (read from aliases.json, not stored in meta.json)


def _check_name(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise RegistryError(f"invalid {kind} {value!r}: use letters, digits, '.', '_' or '-' (max 128)")
    return value


class Registry:
    """A registry rooted at a local folder or fsspec URL (see the module doc for the layout)."""

    def __init__(self, root: str | Path, storage_options: dict[str, Any] | None = None) -> None:
        self.store = Store(str(root), storage_options)

    # --- reading ---------------------------------------------------------------------------

    def list_models(self) -> list[str]:
        """Names of the registered models."""
        return [n for n in self.store.listdir() if _NAME.match(n) and self.store.exists(n, VERSIONS_DIR)]

    def aliases(self, name: str) -> dict[str, int]:
        """``alias -> version`` for a model (empty if it has none)."""
        return {str(k): int(v) for k, v in self._alias_file(name)["aliases"].items()}

    def alias_history(self, name: str) -> list[dict[str, Any]]:
        """Past alias changes, oldest first: ``{alias, version, previous, at}``."""
        return list(self._alias_file(name)["history"])

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
        if text.isdigit() or (text[:1] in "vV" and text[1:].isdigit()):
            number = int(text.lstrip("vV"))
            if number not in self._versions(name):
                raise RegistryError(f"model {name!r} has no version {number} (has: {self._versions(name)})")
            return number
        aliases = self.aliases(name)
        if text not in aliases:
            known = ", ".join(f"{a} -> {v}" for a, v in aliases.items()) or "none"
            raise RegistryError(f"model {name!r} has no alias {text!r} (aliases: {known})")
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
    ) -> ModelVersion:
        """Copy the artifact at ``model_dir`` in as the next version of ``name`` and return it.

        ``data_window``, ``features`` and ``code_version`` default to the artifact's
        ``metadata.json`` (as training writes it); ``metrics`` defaults to the evaluation's
        ``model`` block. FileNotFoundError if ``model_dir`` holds no model.
        """
        import fsspec

        _check_name("model name", name)
        source = str(model_dir)
        fs, root = fsspec.core.url_to_fs(source)
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
        )
        self.store.write_json(
            record.model_dump(mode="json", exclude={"aliases"}), name, VERSIONS_DIR, str(number), META_FILE
        )
        log.info("registered %s version %d from %s", name, number, source)
        return record

    def set_alias(self, name: str, alias: str, version: int | str) -> ModelVersion:
        """Point ``alias`` (e.g. ``champion``) at ``version``, atomically; returns that version."""
        _check_name("alias", alias)
        number = self.resolve(name, version)
        if str(alias).isdigit() or (alias[:1] in "vV" and alias[1:].isdigit()):
            raise RegistryError(f"alias {alias!r} looks like a version number")
        state = self._alias_file(name)
        previous = state["aliases"].get(alias)
        state["aliases"][alias] = number
        state["history"] = [
            *state["history"],
            {"alias": alias, "version": number, "previous": previous, "at": datetime.now(UTC).isoformat()},
        ][-HISTORY_LIMIT:]
        self.store.write_json(state, name, ALIASES_FILE)
        log.info("%s: alias %s -> version %d (was %s)", name, alias, number, previous)
        return self.show(name, number)

    def remove_alias(self, name: str, alias: str) -> None:
        """Delete ``alias`` of ``name``; RegistryError if it does not exist."""
        state = self._alias_file(name)
        if alias not in state["aliases"]:
            raise RegistryError(f"model {name!r} has no alias {alias!r}")
        previous = state["aliases"].pop(alias)
        at = datetime.now(UTC).isoformat()
        state["history"] = [*state["history"], {"alias": alias, "version": None, "previous": previous, "at": at}]
        self.store.write_json(state, name, ALIASES_FILE)

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

    def _alias_file(self, name: str) -> dict[str, Any]:
        _check_name("model name", name)
        if not self.store.exists(name, ALIASES_FILE):
            return {"aliases": {}, "history": []}
        data = self.store.read_json(name, ALIASES_FILE)
        return {"aliases": dict(data.get("aliases", {})), "history": list(data.get("history", []))}
