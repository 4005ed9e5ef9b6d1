"""The storage resolver: how a root (path or URL) is normalised, joined, opened and configured."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fsspec
import pyarrow.fs as pafs
import pytest
from pydantic import SecretStr, ValidationError

from components.storage import Root, StorageOptions, resolve

SECRET = "do-not-print-me"

ENDPOINT = StorageOptions(
    s3_endpoint_url="http://127.0.0.1:9000",
    s3_region="eu-central-1",
    s3_access_key_id="minio",
    s3_secret_access_key=SecretStr(SECRET),
)


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("data/lake", os.path.abspath("data/lake")),
        ("/abs/lake/", "/abs/lake"),
        ("  /abs/lake  ", "/abs/lake"),
        ("file:///abs/lake", "/abs/lake"),
        ("FILE:///abs/lake", "/abs/lake"),
        ("~/lake", os.path.join(os.path.expanduser("~"), "lake")),
    ],
)
def test_local_roots_are_absolute_paths(root: str, expected: str) -> None:
    """A plain path, a file:// URL or a ~ path resolves to an absolute local path, not a URL."""
    resolved = resolve(root)
    assert resolved.url == expected
    assert resolved.is_local and resolved.scheme == "file" and resolved.path == expected


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("s3://bucket/lake", "s3://bucket/lake"),
        ("s3://bucket/lake/", "s3://bucket/lake"),
        ("s3a://bucket/lake", "s3://bucket/lake"),
        ("S3A://bucket/lake", "s3://bucket/lake"),
        ("s3://bucket", "s3://bucket"),
        ("memory://scratch/x", "memory://scratch/x"),
    ],
)
def test_urls_are_normalised(root: str, expected: str) -> None:
    """s3a:// is s3://, schemes are lower-cased and a trailing slash is dropped; the path loses its scheme."""
    resolved = resolve(root)
    assert resolved.url == expected
    assert not resolved.is_local
    assert resolved.path == expected.split("://", 1)[1]
    assert str(resolved) == expected


@pytest.mark.parametrize("root", ["", "   ", "s3://", "s3a:///"])
def test_empty_roots_are_refused_with_a_reason(root: str) -> None:
    """An empty root, or a URL with no bucket, is a ValueError that says what is missing."""
    with pytest.raises(ValueError, match="must not be empty|names no bucket"):
        resolve(root)


def test_a_root_passes_through_with_its_own_options() -> None:
    """resolve(Root) returns the very Root: its options are not replaced by the caller's."""
    root = resolve("s3://bucket/x", ENDPOINT)
    assert resolve(root, StorageOptions()) is root
    assert resolve("s3://bucket/x").options == StorageOptions()


def test_join_adds_parts_with_single_slashes() -> None:
    """join strips stray slashes, skips empty parts, and keeps the options."""
    root = resolve("s3://bucket/base/", ENDPOINT)
    joined = root.join("/etl/", "", "dau/")
    assert joined.url == "s3://bucket/base/etl/dau"
    assert joined.options is ENDPOINT
    assert root.join().url == "s3://bucket/base"
    assert resolve("/tmp/a").join("b", "c.json").url == "/tmp/a/b/c.json"


def test_fsspec_options_map_every_field() -> None:
    """Endpoint, region, key and secret become s3fs's endpoint_url, client_kwargs.region_name, key, secret."""
    assert ENDPOINT.fsspec_options() == {
        "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "eu-central-1"},
        "key": "minio",
        "secret": SECRET,
    }
    assert StorageOptions().fsspec_options() == {}


def test_arrow_options_map_every_field() -> None:
    """pyarrow gets endpoint_override (and scheme http for an http:// endpoint), region and keys."""
    assert ENDPOINT.arrow_options() == {
        "endpoint_override": "http://127.0.0.1:9000",
        "scheme": "http",
        "region": "eu-central-1",
        "access_key": "minio",
        "secret_key": SECRET,
    }
    assert "scheme" not in StorageOptions(s3_endpoint_url="https://s3.example").arrow_options()
    assert StorageOptions().arrow_options() == {}


def test_secrets_never_appear_in_dumps_or_reprs() -> None:
    """The secret key is absent from model_dump_json, repr and str of the options and of a Root."""
    root = resolve("s3://bucket/x", ENDPOINT)
    for text in (ENDPOINT.model_dump_json(), repr(ENDPOINT), str(ENDPOINT), repr(root), str(root)):
        assert SECRET not in text
    assert ENDPOINT.s3_secret_access_key is not None
    assert ENDPOINT.s3_secret_access_key.get_secret_value() == SECRET


def test_options_are_strict() -> None:
    """An unknown option is refused (a typo never silently means the AWS default)."""
    with pytest.raises(ValidationError):
        StorageOptions.model_validate({"s3_endpoint": "http://x"})


def test_filesystems_match_the_scheme() -> None:
    """Local roots open as local filesystems, s3:// as S3, other schemes through fsspec."""
    local_arrow, path = resolve("/tmp/x").arrow()
    assert isinstance(local_arrow, pafs.LocalFileSystem) and path == "/tmp/x"
    s3_arrow, path = resolve("s3a://bucket/x", ENDPOINT).arrow()
    assert isinstance(s3_arrow, pafs.S3FileSystem) and path == "bucket/x"
    memory_arrow, _ = resolve("memory://x").arrow()
    assert isinstance(memory_arrow, pafs.PyFileSystem)
    s3_fsspec, path = resolve("s3://bucket/x", ENDPOINT).fsspec()
    assert "s3" in s3_fsspec.protocol and path == "bucket/x"


def test_text_round_trip_on_a_local_folder(tmp_path: Path) -> None:
    """write_text creates the file's folders; read_text, exists and makedirs see the same file."""
    root = resolve(str(tmp_path / "a"))
    target = root.join("b", "c.txt")
    assert not target.exists()
    target.write_text("héllo")
    assert target.exists() and target.read_text() == "héllo"
    root.join("d").makedirs()
    assert (tmp_path / "a" / "d").is_dir()


def test_text_round_trip_on_a_url() -> None:
    """The same operations work on an fsspec URL (memory://); a missing file is FileNotFoundError."""
    root = resolve(f"memory://storage-test-{uuid.uuid4().hex}")
    try:
        root.join("x.json").write_text("{}")
        assert root.join("x.json").read_text() == "{}"
        assert root.exists()
        with pytest.raises(FileNotFoundError):
            root.join("absent.json").read_text()
    finally:
        fsspec.filesystem("memory").rm(root.path, recursive=True)


def test_root_is_a_value() -> None:
    """Roots with the same URL and options are equal and hashable (usable as keys)."""
    assert resolve("s3://b/x", ENDPOINT) == Root("s3://b/x", ENDPOINT)
    assert len({resolve("s3://b/x"), resolve("s3a://b/x/")}) == 1
