"""The models the arms serve, loaded from the registry and swapped without dropping a request.

A :class:`LoadedModel` is immutable once built: a model artifact plus the retrieval index over
its item embeddings and the fresh items it embedded from their content. :class:`ModelSet` maps
each registry reference (``champion``, ``challenger``, ``3``...) to the model it designates now.
:meth:`ModelSet.refresh` resolves the references again and, for any that moved, loads the new
version and its index *before* publishing the new mapping with one assignment, so a request
either runs on the old model or the new one from start to end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.registry.experiments import POPULARITY_MODEL
from components.registry.registry import AliasNotSet, Registry
from components.serving.index import ItemIndex
from components.train.artifact import ModelArtifact, load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """One servable model: its artifact, its index and how it is named in responses."""

    ref: str  # the registry reference it was loaded for (alias or number)
    number: int  # the registry's version number
    label: str  # the model_version echoed in responses, e.g. two-tower:v3
    artifact: ModelArtifact
    index: ItemIndex

    def embed_new(self, content: pd.DataFrame) -> int:
        """Embed the items of ``content`` this model has no vector for and add them; returns how many."""
        if self.artifact.item_encoder is None or content.empty:
            return 0
        new = content[~content["item_id"].isin(self.index.ids)]
        if new.empty:
            return 0
        return self.index.upsert(new["item_id"].to_numpy(np.int64), self.artifact.embed_items(new))


def build_model(ref: str, number: int, label: str, artifact: ModelArtifact, catalogue: pd.DataFrame) -> LoadedModel:
    """A servable model: the artifact's items plus the catalogue's items it can embed from content."""
    model = LoadedModel(ref, number, label, artifact, ItemIndex(artifact.item_ids, artifact.item_embeddings))
    added = model.embed_new(catalogue)
    log.info("model %s (%s): %s items, %s embedded from content", label, ref, len(model.index), added)
    return model


@dataclass(frozen=True)
class Problem:
    """Why a reference serves no model (an error) or not its newest one (a warning), as of the last refresh."""

    ref: str
    error: bool  # True: the reference serves nothing (its arms fall back to popularity)
    message: str


class ModelSet:
    """The models behind a set of registry references, reloaded when a reference moves.

    :data:`~components.registry.experiments.POPULARITY_MODEL` is not a reference: it is never
    resolved. The mapping is replaced whole (one assignment) when anything changes, so a reader
    holding :meth:`current` keeps a consistent set while the next one is built.
    """

    def __init__(self, registry: Registry | None, model_name: str, refs: Iterable[str] = ()) -> None:
        self.registry = registry
        self.model_name = model_name
        self.refs = _registry_refs(refs)
        self._models: dict[str, LoadedModel] = {}
        self._problems: dict[str, Problem] = {}
        self._refresh_lock = threading.Lock()
        self.swaps = 0

    def get(self, ref: str) -> LoadedModel | None:
        """The model ``ref`` designates now (None: nothing registered under it, serve the fallback)."""
        return self._models.get(ref)

    def current(self) -> Mapping[str, LoadedModel]:
        """ref -> model now: a snapshot that later refreshes do not change."""
        return self._models

    def problems(self) -> Mapping[str, Problem]:
        """ref -> what is wrong with it, as of the last refresh (absent: nothing)."""
        return self._problems

    def refresh(self, catalogue: Callable[[], pd.DataFrame], refs: Iterable[str] | None = None) -> list[str]:
        """Load the versions the references (``refs``, else the current ones) designate now.

        Returns the references whose model changed: loaded, replaced or dropped. ``catalogue``
        gives the content of every item to rank; a new model embeds the items it does not know,
        and those created while it loaded once it is published. A reference no longer in
        ``refs`` is dropped, and so is one whose alias is no longer set (retired or removed:
        :class:`~components.registry.registry.AliasNotSet`). Any other failure (the registry
        unreadable, a version that does not load) keeps the working model, if any, and is
        retried at the next refresh: an error never removes a model that works.
        """
        with self._refresh_lock:
            if refs is not None:
                self.refs = _registry_refs(refs)
            current = self._models
            updated: dict[str, LoadedModel] = {}
            problems: dict[str, Problem] = {}
            loaded_now: dict[int, LoadedModel] = {}
            for ref in self.refs:
                model, problem = self._designated(ref, current, loaded_now, catalogue)
                if model is not None:
                    updated[ref] = loaded_now.setdefault(model.number, model)
                if problem is not None:
                    problems[ref] = problem
            changed = [ref for ref in dict.fromkeys([*current, *updated]) if current.get(ref) is not updated.get(ref)]
            self._problems = problems
            if changed:
                self._models = updated
                self.swaps += 1
                latest = catalogue()
                for model in {id(m): m for m in updated.values()}.values():
                    model.embed_new(latest)
                log.info("now serving %s", {ref: m.label for ref, m in updated.items()})
            return changed

    def _designated(
        self,
        ref: str,
        current: Mapping[str, LoadedModel],
        loaded: Mapping[int, LoadedModel],
        catalogue: Callable[[], pd.DataFrame],
    ) -> tuple[LoadedModel | None, Problem | None]:
        """The model ``ref`` should serve now (None: none) and what is wrong, if anything."""
        kept = current.get(ref)
        if self.registry is None:
            return kept, _problem(ref, kept, "no registry to resolve it in (registry_root unset)")
        try:
            number = self.registry.resolve(self.model_name, ref)
        except AliasNotSet as error:  # retired or removed: what it served stops
            if kept is not None:
                log.warning("alias %r is no longer set: %s stops serving (%s)", ref, kept.label, error)
            return None, Problem(ref, True, str(error))
        except Exception as error:  # the registry unreadable, a version gone: keep what works
            return kept, _problem(ref, kept, f"cannot resolve {ref!r}: {error}")
        if kept is not None and kept.number == number:
            return kept, None
        try:
            model = loaded.get(number) or _with_number(current, number) or self._load(ref, number, catalogue())
        except Exception as error:
            log.exception("could not load %s v%s for %r", self.model_name, number, ref)
            return kept, _problem(ref, kept, f"{self.model_name} v{number} does not load: {error}")
        return model, None

    def publish(self, ref: str, model: LoadedModel) -> None:
        """Serve ``model`` for ``ref`` now (a model built outside the registry, e.g. in a test or demo).

        It is served until ``ref``'s next refresh (with no registry: until ``ref`` leaves the refs).
        """
        with self._refresh_lock:
            self._models = {**self._models, ref: model}
            self._problems = {r: p for r, p in self._problems.items() if r != ref}
            self.swaps += 1

    def embed_new(self, content: pd.DataFrame) -> None:
        """Give every loaded model the fresh items of ``content`` (each model embeds them itself)."""
        for model in {id(m): m for m in self._models.values()}.values():
            try:
                model.embed_new(content)
            except Exception:
                log.exception("model %s could not embed %s fresh items", model.label, len(content))

    def _load(self, ref: str, number: int, catalogue: pd.DataFrame) -> LoadedModel:
        assert self.registry is not None
        path = self.registry.get(self.model_name, number)
        artifact = load_model(path, storage=self.registry.storage)
        label = f"{self.model_name}:v{number}"
        return build_model(ref, number, label, artifact, catalogue)


def _registry_refs(refs: Iterable[str]) -> tuple[str, ...]:
    """The distinct registry references among arms' models (``popularity`` is not one)."""
    return tuple(ref for ref in dict.fromkeys(refs) if ref != POPULARITY_MODEL)


def _with_number(models: Mapping[str, LoadedModel], number: int) -> LoadedModel | None:
    """A model already loaded for that version (e.g. the challenger's, once it is promoted)."""
    return next((m for m in models.values() if m.number == number), None)


def _problem(ref: str, kept: LoadedModel | None, why: str) -> Problem:
    """What is wrong with ``ref``: an error when nothing serves it, a warning while ``kept`` still does."""
    if kept is None:
        log.warning("nothing to serve for %r: %s", ref, why)
        return Problem(ref, True, f"{why}; retried every reload")
    log.warning("keeping %s for %r: %s", kept.label, ref, why)
    return Problem(ref, False, f"{why}; still serving {kept.label}, retried every reload")
