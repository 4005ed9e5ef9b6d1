"""Storage under the registry: a local folder or an object-store URL (s3://, memory://), resolved
by :func:`components.storage.resolve`.

Three operations are all the registry needs, each safe for a reader running at the same time:

- :meth:`Store.write_json` replaces a small JSON file atomically. Locally it writes a temporary
  file beside the target and renames it over the target (``os.replace``: readers see the old
  or the new file, never half of one). On object stores it is one PUT of the whole object,
  which the store makes visible at once.
- :meth:`Store.claim` creates a version folder only if it does not exist. Locally this is
  ``os.mkdir``, atomic, so two concurrent ``register`` calls never get the same number. Object
  stores have no such primitive: there the registry assumes one writer at a time (the pipeline).
- :meth:`Store.copy_tree` copies a model folder in, from a local path or another URL.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

from components.storage import Root, StorageOptions, resolve

log = logging.getLogger(__name__)


class Store:
    """A registry root opened with fsspec; paths given to methods are relative to it."""

    def __init__(self, root: str | Root, storage: StorageOptions | None = None) -> None:
        self.location = resolve(root, storage)
        self.url = self.location.url
        self.fs, self.root = self.location.fsspec()
        self.local = self.location.is_local

    def path(self, *parts: str) -> str:
        """The filesystem path of ``parts`` under the root."""
        return "/".join([self.root.rstrip("/"), *parts])

    def url_of(self, *parts: str) -> str:
        """What to hand a reader (``load_model``): a local path, or the URL under an object-store root."""
        return "/".join([self.url.rstrip("/"), *parts]) if not self.local else self.path(*parts)

    def exists(self, *parts: str) -> bool:
        """Whether a file or folder exists."""
        return bool(self.fs.exists(self.path(*parts)))

    def listdir(self, *parts: str) -> list[str]:
        """Names (not paths) of the entries directly under ``parts``; empty if it does not exist."""
        where = self.path(*parts)
        if not self.fs.exists(where):
            return []
        return sorted(str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in self.fs.ls(where, detail=False))

    def read_json(self, *parts: str) -> Any:
        """The parsed JSON at ``parts``; FileNotFoundError if absent."""
        with self.fs.open(self.path(*parts), "r", encoding="utf-8") as f:
            return json.load(f)

    def write_json(self, data: Any, *parts: str) -> None:
        """Write ``data`` as JSON at ``parts``, replacing any previous file atomically (module doc)."""
        text = json.dumps(data, indent=2, sort_keys=True, default=str)
        target = self.path(*parts)
        if self.local:
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            temporary = os.path.join(folder, f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
            try:
                with open(temporary, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temporary, target)
            finally:
                if os.path.exists(temporary):
                    os.remove(temporary)
        else:
            self.fs.pipe_file(target, text.encode("utf-8"))

    def claim(self, *parts: str) -> bool:
        """Create the folder ``parts`` if it does not exist; False if it already did (module doc)."""
        target = self.path(*parts)
        if self.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.mkdir(target)
            except FileExistsError:
                return False
            return True
        if self.fs.exists(target):
            return False
        self.fs.makedirs(target, exist_ok=True)
        return True

    def copy_tree(self, source: str | Root, *parts: str) -> list[str]:
        """Copy every file under ``source`` (a folder path or URL, reached with this store's options) to ``parts``.

        Returns the copied files' names relative to ``source``.
        """
        src_fs, src_root = resolve(source, self.location.options).fsspec()
        if not src_fs.isdir(src_root):
            raise FileNotFoundError(f"{source} is not a folder")
        src_root = src_root.rstrip("/")
        copied = []
        for file in sorted(src_fs.find(src_root)):
            relative = str(file)[len(src_root) :].lstrip("/")
            target = self.path(*parts, relative)
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            with src_fs.open(file, "rb") as reader, self.fs.open(target, "wb") as writer:
                while chunk := reader.read(1 << 22):
                    writer.write(chunk)
            copied.append(relative)
        return copied
