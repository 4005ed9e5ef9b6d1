"""Where the event lake lives: a root that is a local path or an object-store URL.

Every component that reads or writes the lake (ingest, validation) resolves its root here, so
they agree on what a root means. The layout under it is ``dt=YYYY-MM-DD/hour=HH/*.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs


def resolve_root(root: str, s3_endpoint_url: str | None = None) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a lake root.

    A plain path is local (made absolute); ``s3://`` with an endpoint is an S3-compatible store
    such as MinIO; other URLs go to pyarrow, then to fsspec for schemes pyarrow lacks
    (``memory://`` in tests). Raises ValueError for a URL neither understands.
    """
    if "://" not in root:
        return pafs.LocalFileSystem(), str(Path(root).resolve())
    if root.startswith("s3://") and s3_endpoint_url:
        return pafs.S3FileSystem(endpoint_override=s3_endpoint_url), root.removeprefix("s3://").rstrip("/")
    try:
        fs, base = pafs.FileSystem.from_uri(root)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import fsspec.core

        fsspec_fs, base = fsspec.core.url_to_fs(root)
        fs = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_fs))
    return fs, base.rstrip("/")
