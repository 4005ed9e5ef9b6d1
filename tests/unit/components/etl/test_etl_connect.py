"""build_session's Spark Connect branch and the ConnectServer's command, with no Spark started."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from components.etl.connect import HOST, SERVER_CLASS, ConnectServer, properties_text
from components.etl.session import DEFAULT_CONF, LOCAL_JAVA_OPTIONS, build_session
from components.storage import StorageOptions

pytest.importorskip("pyspark")

STORAGE = StorageOptions(
    s3_endpoint_url="http://127.0.0.1:9000", s3_access_key_id="key", s3_secret_access_key=SecretStr("secret")
)


class _FakeSession:
    version = "4.x"

    def __init__(self) -> None:
        self.log_level: str | None = None

    @property
    def sparkContext(self) -> Any:  # noqa: N802  (pyspark's name)
        session = self

        class _Context:
            def setLogLevel(self, level: str) -> None:  # noqa: N802
                session.log_level = level

        return _Context()


class _FakeBuilder:
    """Records what build_session asks of pyspark's SparkSession.builder."""

    def __init__(self) -> None:
        self.remote_url: str | None = None
        self.master_url: str | None = None
        self.conf: dict[str, str] = {}
        self.session = _FakeSession()

    def remote(self, url: str) -> _FakeBuilder:
        self.remote_url = url
        return self

    def master(self, url: str) -> _FakeBuilder:
        self.master_url = url
        return self

    def appName(self, name: str) -> _FakeBuilder:  # noqa: N802
        return self

    def config(self, key: str, value: str) -> _FakeBuilder:
        self.conf[key] = value
        return self

    def getOrCreate(self) -> _FakeSession:  # noqa: N802
        return self.session


@pytest.fixture()
def builder(monkeypatch: pytest.MonkeyPatch) -> _FakeBuilder:
    """pyspark's SparkSession.builder replaced by a recorder; no local SparkContext."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    fake = _FakeBuilder()
    monkeypatch.setattr(SparkSession, "builder", fake)
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    return fake


def test_remote_master_sets_only_session_confs(builder: _FakeBuilder) -> None:
    """An sc:// master connects with remote(); only SQL and (unprefixed) Hadoop settings are passed, no log level."""
    conf = {"spark.sql.shuffle.partitions": "2", "spark.executor.memory": "1g"}
    session: Any = build_session("sc://127.0.0.1:15002", storage=STORAGE, conf=conf)

    assert session is builder.session
    assert builder.remote_url == "sc://127.0.0.1:15002" and builder.master_url is None
    expected_sql = {k: v for k, v in DEFAULT_CONF.items() if k.startswith("spark.sql.")}
    passed_spark = {k: v for k, v in builder.conf.items() if k.startswith("spark.")}
    assert passed_spark == {**expected_sql, "spark.sql.shuffle.partitions": "2"}
    assert builder.conf["fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert builder.conf["fs.s3a.secret.key"] == "secret"
    assert builder.conf["mapreduce.fileoutputcommitter.algorithm.version"] == "2"
    assert session.log_level is None  # sparkContext is not there under Connect


def test_local_master_keeps_every_setting(builder: _FakeBuilder) -> None:
    """A local master still gets the driver, JVM, UI and s3a settings under their own names, and WARN logs."""
    session: Any = build_session("local[2]", driver_memory="2g", storage=STORAGE)

    assert builder.master_url == "local[2]" and builder.remote_url is None
    assert builder.conf["spark.driver.memory"] == "2g"
    assert builder.conf["spark.driver.extraJavaOptions"] == " ".join(LOCAL_JAVA_OPTIONS)
    assert builder.conf["spark.ui.enabled"] == "false"
    assert builder.conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert session.log_level == "WARN"


def test_remote_master_refused_beside_a_local_context(builder: _FakeBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a local SparkContext in the process, connecting raises instead of reusing the local session."""
    from pyspark import SparkContext

    monkeypatch.setattr(SparkContext, "_active_spark_context", object())
    with pytest.raises(RuntimeError, match="local Spark session"):
        build_session("sc://127.0.0.1:15002")
    assert builder.remote_url is None


def test_server_command_has_the_local_tuning(tmp_path: Path) -> None:
    """The server runs the Connect class on loopback and the port, with a local session's settings."""
    server = ConnectServer(
        tmp_path / "connect.log",
        port=15999,
        driver_memory="3g",
        storage=STORAGE,
        conf={"spark.sql.shuffle.partitions": "2"},
    )
    command = server.command(tmp_path / "server.conf")
    confs = server.settings

    assert command[0].endswith("bin/spark-submit") and command[command.index("--class") + 1] == SERVER_CLASS
    assert command[command.index("--master") + 1] == "local[*]"
    assert command[command.index("--properties-file") + 1] == str(tmp_path / "server.conf")
    assert confs["spark.connect.grpc.binding.address"] == HOST
    assert confs["spark.connect.grpc.binding.port"] == "15999"
    assert confs["spark.driver.memory"] == "3g"
    assert confs["spark.driver.extraJavaOptions"] == " ".join(LOCAL_JAVA_OPTIONS)
    assert confs["spark.sql.shuffle.partitions"] == "2"
    assert all(confs[k] == v for k, v in DEFAULT_CONF.items() if k != "spark.sql.shuffle.partitions")
    assert confs["spark.hadoop.fs.s3a.secret.key"] == "secret"
    assert not any("secret" in arg for arg in command)  # settings travel in the file, not in ps
    assert server.url == "sc://127.0.0.1:15999"


def test_properties_text_escapes() -> None:
    """One key=value line per setting; backslashes, line breaks and leading blanks are escaped as Java reads them."""
    text = properties_text({"a.b": "-Xa -Xb=1", "c": "x\\y\nz", "d": " lead", "k:e y": "v"})
    assert text.splitlines() == ["a.b=-Xa -Xb=1", "c=x\\\\y\\nz", "d=\\ lead", "k\\:e\\ y=v"]


def test_server_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers run this interpreter on loopback, and pyspark's client-mode switches stay out."""
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    monkeypatch.setenv("SPARK_LOCAL_IP", "0.0.0.0")
    env = ConnectServer(tmp_path / "connect.log").environment()

    assert env["PYSPARK_PYTHON"] == sys.executable
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert "SPARK_CONNECT_MODE_ENABLED" not in env
    assert str(Path(__file__).resolve().parents[4]) in env["PYTHONPATH"].split(os.pathsep)


def test_start_refuses_a_taken_port(tmp_path: Path) -> None:
    """A port something already listens on is an error before any JVM starts."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ConnectServer(tmp_path / "connect.log", port=port)
        with pytest.raises(RuntimeError, match=f"port {port} is already in use"):
            server.start()
    assert server.pid is None
