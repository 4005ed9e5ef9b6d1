"""An S3-compatible object store for tests: moto's server mode on 127.0.0.1, one bucket.

:func:`moto_bucket` starts the server on a free port, creates the bucket through the storage
resolver and hands back the :class:`~components.storage.StorageOptions` that reach it, fake
credentials included, so no test touches the process environment or a real AWS account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from components.storage import StorageOptions, resolve

REGION = "eu-west-1"
"""moto accepts any region; s3fs creates the bucket with it as the location constraint (which
S3 refuses for us-east-1, its default)."""


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on a local S3-compatible server and the options that reach it."""

    name: str
    storage: StorageOptions

    def url(self, *parts: str) -> str:
        """``s3://<bucket>/<parts>``."""
        return "/".join([f"s3://{self.name}", *(p.strip("/") for p in parts)])


@contextmanager
def moto_bucket(name: str = "tinyworld-test") -> Iterator[S3Bucket]:
    """Run moto's S3 server on 127.0.0.1 (a free port) with bucket ``name``; stopped on exit."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is a dev dependency")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        storage = StorageOptions(
            s3_endpoint_url=f"http://{host}:{port}",
            s3_region=REGION,
            s3_access_key_id="testing",
            s3_secret_access_key=SecretStr("testing"),
        )
        filesystem, bucket = resolve(f"s3://{name}", storage).fsspec()
        filesystem.mkdir(bucket)
        yield S3Bucket(name, storage)
    finally:
        server.stop()
