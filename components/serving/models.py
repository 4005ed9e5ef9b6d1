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
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.registry.registry import Registry, RegistryError
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


class ModelSet:
    """The models behind a set of registry references, reloaded when a reference moves."""

    def __init__(self, registry: Registry | None, model_name: str, refs: Iterable[str]) -> None:
        self.registry = registry
        self.model_name = model_name
        self.refs = tuple(dict.fromkeys(refs))
        self._models: dict[str, LoadedModel] = {}
        self._refresh_lock = threading.Lock()
        self.swaps = 0

    def get(self, ref: str) -> LoadedModel | None:
        """The model ``ref`` designates now (None: nothing registered under it, serve the fallback)."""
        return self._models.get(ref)

    def refresh(self, catalogue: Callable[[], pd.DataFrame]) -> list[str]:
        """Load the versions the references designate now; returns the references that changed.

        ``catalogue`` gives the content of every item to rank; a new model embeds the items it
        does not know, and those created while it loaded once it is published. A reference that
        cannot be resolved or loaded keeps its current model (if any) and is retried at the next
        refresh; an error never removes a model that works.
        """
        if self.registry is None:
            return []
        with self._refresh_lock:
            current = dict(self._models)
            updated = dict(current)
            changed: list[str] = []
            loaded_now: dict[int, LoadedModel] = {}
            for ref in self.refs:
                try:
                    number = self.registry.resolve(self.model_name, ref)
                except RegistryError as error:
                    if ref in current:
                        log.warning("keeping %s for %r: %s", current[ref].label, ref, error)
                    else:
                        log.info("nothing to serve for %r yet: %s", ref, error)
                    continue
                if ref in current and current[ref].number == number:
                    continue
                try:
                    model = loaded_now.get(number) or self._load(ref, number, catalogue())
                except Exception:
                    log.exception("could not load %s v%s for %r; keeping what is served", self.model_name, number, ref)
                    continue
                loaded_now[number] = model
                updated[ref] = model
                changed.append(ref)
            if changed:
                self._models = updated
                self.swaps += 1
                latest = catalogue()
                for model in loaded_now.values():
                    model.embed_new(latest)
                log.info("now serving %s", {ref: m.label for ref, m in updated.items()})
            return changed

    def publish(self, ref: str, model: LoadedModel) -> None:
        """Serve ``model`` for ``ref`` now (a model built outside the registry, e.g. in a test or demo)."""
        with self._refresh_lock:
            self._models = {**self._models, ref: model}
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
