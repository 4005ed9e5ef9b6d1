"""The one storage resolver: every root (lake, artifacts, registry, state) is a path or a URL.

A root given anywhere in the platform (``data/lake``, ``/abs/path``, ``s3://tinyworld/lake``,
``memory://x`` in tests) is turned into a :class:`Root` here and nowhere else. A root knows how
to open itself as an fsspec filesystem (files, JSON, copies) and as a pyarrow filesystem
(Parquet datasets), with the object store's endpoint and credentials from
:class:`StorageOptions`, which the control plane fills from the environment's settings.

- A plain path is local and made absolute (``file://`` URLs too).
- ``s3a://`` (Spark's spelling) is the same object as ``s3://``.
- ``s3://`` goes to the endpoint in the options (MinIO, SeaweedFS, moto), or to AWS when it is
  None. Credentials left None come from the standard AWS chain (``AWS_ACCESS_KEY_ID`` in a
  pod, from a Secret), so secrets never need to travel in parameters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, SecretStr

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    from fsspec import AbstractFileSystem


class StorageOptions(BaseModel):
    """How to reach the object store that ``s3://`` roots live in; empty for local folders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the S3-compatible endpoint (MinIO, SeaweedFS, moto on 127.0.0.1); None: AWS itself
    s3_endpoint_url: str | None = None
    # the store's region; MinIO and moto accept any, AWS needs the bucket's
    s3_region: str | None = None
    # access key id; None: the standard AWS chain (AWS_ACCESS_KEY_ID, a profile, an instance role)
    s3_access_key_id: str | None = None
    # secret key, never printed or serialised in clear; None: the standard AWS chain
    s3_secret_access_key: SecretStr | None = None

    def fsspec_options(self) -> dict[str, Any]:
        """Keyword arguments for ``s3fs.S3FileSystem``."""
        options: dict[str, Any] = {}
        client: dict[str, Any] = {}
        if self.s3_endpoint_url:
            options["endpoint_url"] = self.s3_endpoint_url
        if self.s3_region:
            client["region_name"] = self.s3_region
        if self.s3_access_key_id:
            options["key"] = self.s3_access_key_id
        if self.s3_secret_access_key is not None:
            options["secret"] = self.s3_secret_access_key.get_secret_value()
        if client:
            options["client_kwargs"] = client
        return options

    def arrow_options(self) -> dict[str, Any]:
        """Keyword arguments for ``pyarrow.fs.S3FileSystem``."""
        options: dict[str, Any] = {}
        if self.s3_endpoint_url:
            options["endpoint_override"] = self.s3_endpoint_url
            if self.s3_endpoint_url.startswith("http://"):
                options["scheme"] = "http"
        if self.s3_region:
            options["region"] = self.s3_region
        if self.s3_access_key_id:
            options["access_key"] = self.s3_access_key_id
        if self.s3_secret_access_key is not None:
            options["secret_key"] = self.s3_secret_access_key.get_secret_value()
        return options


_ALIASES = {"s3a": "s3", "file": ""}
"""URL schemes that name the same storage as another (``s3a`` is Spark's ``s3``)."""


def _normalise(root: str) -> str:
    root = root.strip()
    if not root:
        raise ValueError("a storage root must not be empty: give a folder path or a URL such as s3://bucket/prefix")
    if "://" not in root:
        return os.path.abspath(os.path.expanduser(root))
    scheme, rest = root.split("://", 1)
    scheme = _ALIASES.get(scheme.lower(), scheme.lower())
    if not scheme:
        return os.path.abspath(rest)
    rest = rest.rstrip("/")
    if not rest:
        raise ValueError(f"{root!r} names no bucket or folder")
    return f"{scheme}://{rest}"


@dataclass(frozen=True)
class Root:
    """A resolved storage root: its URL (or absolute path) and how to reach it."""

    url: str  # an absolute local path, or scheme://bucket/prefix with no trailing slash
    options: StorageOptions

    def __str__(self) -> str:
        return self.url

    @property
    def scheme(self) -> str:
        """``s3``, ``memory``, ...; ``file`` for a local path."""
        return self.url.split("://", 1)[0] if "://" in self.url else "file"

    @property
    def is_local(self) -> bool:
        """Whether the root is a folder on this machine."""
        return self.scheme == "file"

    @property
    def path(self) -> str:
        """The root without its scheme: what fsspec and pyarrow filesystems take as a path."""
        return self.url.split("://", 1)[1] if "://" in self.url else self.url

    def join(self, *parts: str) -> Root:
        """The root of ``parts`` under this one (``/``-separated, whatever the platform)."""
        cleaned = [str(p).strip("/") for p in parts if str(p).strip("/")]
        return Root("/".join([self.url, *cleaned]) if cleaned else self.url, self.options)

    def fsspec(self) -> tuple[AbstractFileSystem, str]:
        """An fsspec filesystem and this root's path on it."""
        import fsspec

        if self.is_local:
            return fsspec.filesystem("file"), self.path
        if self.scheme == "s3":
            # no cached listings: long-lived readers (serving polls the registry) must see new objects
            return fsspec.filesystem("s3", use_listings_cache=False, **self.options.fsspec_options()), self.path
        # the path as the filesystem spells it in listings (memory:// paths start with "/")
        return fsspec.filesystem(self.scheme), fsspec.core.strip_protocol(self.url)

    def arrow(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and this root's path on it (fsspec-backed for schemes pyarrow lacks)."""
        import pyarrow.fs as pafs

        if self.is_local:
            return pafs.LocalFileSystem(), self.path
        if self.scheme == "s3":
            return pafs.S3FileSystem(**self.options.arrow_options()), self.path
        fs, path = self.fsspec()
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path

    def exists(self) -> bool:
        """Whether a file or folder (or, on an object store, any object under the prefix) is there."""
        fs, path = self.fsspec()
        return bool(fs.exists(path))

    def makedirs(self) -> None:
        """Create the folder (a no-op on object stores, which have no folders)."""
        fs, path = self.fsspec()
        fs.makedirs(path, exist_ok=True)

    def read_text(self) -> str:
        """The file's text (UTF-8); FileNotFoundError if absent."""
        fs, path = self.fsspec()
        with fs.open(path, "r", encoding="utf-8") as f:
            return str(f.read())

    def write_text(self, text: str) -> None:
        """Write ``text`` (UTF-8) to the file, creating its folder."""
        fs, path = self.fsspec()
        if self.is_local:
            fs.makedirs(os.path.dirname(path), exist_ok=True)
        with fs.open(path, "w", encoding="utf-8") as f:
            f.write(text)


def resolve(root: str | Root, options: StorageOptions | None = None) -> Root:
    """The :class:`Root` of a path or URL; a Root passes through (its own options kept).

    Raises ValueError for an empty root or a URL with no bucket.
    """
    if isinstance(root, Root):
        return root
    return Root(_normalise(str(root)), options or StorageOptions())
