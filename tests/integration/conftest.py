"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.s3 import S3Bucket, moto_bucket


@pytest.fixture(scope="module")
def s3_bucket() -> Iterator[S3Bucket]:
    """A bucket on moto's S3 server (127.0.0.1), with the StorageOptions that reach it."""
    with moto_bucket() as bucket:
        yield bucket
