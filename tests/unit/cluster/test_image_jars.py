"""The image's s3a jars: hadoop-aws of pyspark's Hadoop and the SDK bundle that release names, checksummed."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest

from tinyworld.settings import SOURCE_ROOT

SCRIPT = SOURCE_ROOT / "platform" / "image" / "spark_s3_jars.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spark_s3_jars", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _publish(root: Path, path: str, data: bytes, sha1: str | None = None) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    (root / (path + ".sha1")).write_text(sha1 or hashlib.sha1(data).hexdigest())


@pytest.fixture
def maven(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Maven repository on 127.0.0.1 holding Hadoop 3.9.1's project POM (SDK 2.77.7) and both jars."""
    root = tmp_path / "maven"
    pom = b"<project><properties>\n  <aws-java-sdk-v2.version>2.77.7</aws-java-sdk-v2.version>\n</properties></project>"
    _publish(root, "org/apache/hadoop/hadoop-project/3.9.1/hadoop-project-3.9.1.pom", pom)
    _publish(root, "org/apache/hadoop/hadoop-aws/3.9.1/hadoop-aws-3.9.1.jar", b"aws jar")
    _publish(root, "software/amazon/awssdk/bundle/2.77.7/bundle-2.77.7.jar", b"sdk jar")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    thread.join()


def _jars(tmp_path: Path) -> Path:
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "hadoop-client-api-3.9.1.jar").write_bytes(b"")
    return jars


def test_the_jars_match_pysparks_hadoop_and_that_releases_sdk(maven: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = maven
    jars = _jars(tmp_path)
    assert _script().main(["--maven", url, "--jars", str(jars)]) == 0
    assert (jars / "hadoop-aws-3.9.1.jar").read_bytes() == b"aws jar"
    assert (jars / "bundle-2.77.7.jar").read_bytes() == b"sdk jar"


def test_a_jar_whose_checksum_differs_is_refused(maven: tuple[str, Path], tmp_path: Path) -> None:
    url, root = maven
    _publish(root, "software/amazon/awssdk/bundle/2.77.7/bundle-2.77.7.jar", b"tampered", sha1="0" * 40)
    jars = _jars(tmp_path)
    with pytest.raises(SystemExit, match="is not the published"):
        _script().main(["--maven", url, "--jars", str(jars)])
    assert not (jars / "bundle-2.77.7.jar").exists()


def test_the_installed_pyspark_names_one_hadoop_release() -> None:
    """The image build reads the version from the installed pyspark: exactly one client jar, a version."""
    script = _script()
    version = script.hadoop_version(script.pyspark_jars())
    assert version[0].isdigit() and version.count(".") == 2
