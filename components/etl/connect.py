"""A warm Spark for many ETL runs: a local Spark Connect server in a child process.

A local session (:func:`components.etl.session.build_session` on ``local[*]``) starts a JVM
and pays its JIT warm-up on every run; the closed loop runs each night's ETL in a fresh
process, so it would pay them every night. :class:`ConnectServer` starts one Spark (the Spark
Connect server of the installed pyspark) for a whole run, with the tuning a local session
gets (:func:`components.etl.session.spark_conf`), bound to loopback; each run connects to
:attr:`ConnectServer.url` (``sc://127.0.0.1:<port>``) as its Spark master::

    with ConnectServer(log_path=run_dir / "spark-connect.log") as server:
        ...  # every ETL with spark_master=server.url

The server is the leader of its own process group (the JVM and the Python workers it forks),
and :meth:`ConnectServer.stop` ends the whole group.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from components.etl.session import DEFAULT_MASTER, spark_conf
from components.storage import StorageOptions

log = logging.getLogger(__name__)

DEFAULT_PORT = 15002
"""Spark Connect's usual port."""

HOST = "127.0.0.1"
"""The server listens on loopback only: its clients are this machine's processes."""

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
"""The Spark Connect server's main class (spark-submit knows it needs no application jar)."""

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The folder holding ``components`` and ``simnet``: the server's Python workers import from it."""

CLIENT_MODE_VARIABLES = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE", "SPARK_API_MODE")
"""pyspark's client-mode switches, kept out of the server's environment (its workers are classic)."""


def spark_home() -> Path:
    """The installed pyspark's Spark (its scripts and jars), so the server's version is the client's."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def port_open(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def group_alive(pgid: int) -> bool:
    """Whether any process of process group ``pgid`` is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def properties_text(settings: Mapping[str, str]) -> str:
    """``settings`` as a Java properties file (what spark-submit's ``--properties-file`` reads)."""

    def escape(text: str) -> str:
        text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return "\\" + text if text.startswith((" ", "\t")) else text

    def escape_key(key: str) -> str:
        return escape(key).replace("=", "\\=").replace(":", "\\:").replace(" ", "\\ ")

    return "".join(f"{escape_key(key)}={escape(value)}\n" for key, value in settings.items())


class ConnectServer:
    """A local Spark Connect server, started by :meth:`start` and ended by :meth:`stop`.

    ``master`` is the server's own master (``local[*]``: the JVM runs the tasks). The server
    starts with :func:`components.etl.session.spark_conf` (``driver_memory``, ``storage`` and
    ``conf`` as there) and writes its output to ``log_path`` (appended). Its Python workers run
    this interpreter. A client's ``stop()`` ends its session only; the server keeps its JVM warm
    until :meth:`stop`.
    """

    def __init__(
        self,
        log_path: str | os.PathLike[str],
        port: int = DEFAULT_PORT,
        *,
        master: str = DEFAULT_MASTER,
        driver_memory: str = "4g",
        storage: StorageOptions | None = None,
        conf: Mapping[str, str] | None = None,
        start_timeout: float = 180.0,
    ) -> None:
        self.log_path = Path(log_path)
        self.port = port
        self.master = master
        self.settings = spark_conf(master, driver_memory, storage, conf)
        self.settings["spark.connect.grpc.binding.address"] = HOST
        self.settings["spark.connect.grpc.binding.port"] = str(port)
        # the local session's setLogLevel("WARN"), which a Connect client cannot call
        self.settings.setdefault("spark.log.level", "WARN")
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        """The Spark master a client passes: ``sc://127.0.0.1:<port>``."""
        return f"sc://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id (also its process group's), None when not started."""
        return self._process.pid if self._process is not None else None

    def command(self, properties: Path) -> list[str]:
        """The spark-submit command line that runs the server in the foreground.

        The settings come from the ``properties`` file (:func:`properties_text`), not the
        command line, which any local user can read (s3a keys are among them).
        """
        args = [str(spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--master", self.master]
        return args + ["--name", "tinyworld-spark-connect", "--properties-file", str(properties)]

    def environment(self) -> dict[str, str]:
        """The server's environment: this one, loopback, this interpreter for workers, our code importable."""
        env = {k: v for k, v in os.environ.items() if k not in CLIENT_MODE_VARIABLES}
        env["SPARK_HOME"] = str(spark_home())
        env["SPARK_LOCAL_IP"] = HOST
        env["PYSPARK_PYTHON"] = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        return env

    def start(self) -> Self:
        """Start the server and wait until it accepts connections.

        RuntimeError when the port is taken, or when the server exits or does not listen
        within ``start_timeout`` seconds (the message names the log and quotes its end).
        """
        if self._process is not None:
            raise RuntimeError(f"the Spark Connect server on {self.url} is already running")
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use: cannot start a Spark Connect server there")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log_offset = self._log.tell()
        log.info("starting a Spark Connect server on %s (log %s)", self.url, self.log_path)
        descriptor, properties = tempfile.mkstemp(prefix="tinyworld-connect-", suffix=".conf")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(properties_text(self.settings))
            self._process = subprocess.Popen(
                self.command(Path(properties)),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=str(PROJECT_ROOT),
                start_new_session=True,  # its own process group: stop() ends the JVM and its workers
            )
            began = time.monotonic()
            while not port_open(self.port):
                code = self._process.poll()
                if code is not None:
                    self._fail(f"exited with code {code} before listening")
                if time.monotonic() - began > self.start_timeout:
                    self._fail(f"did not listen within {self.start_timeout:.0f} s")
                time.sleep(0.25)
        finally:
            os.unlink(properties)  # read by then: the server listens only once its session is up
        log.info("Spark Connect server up on %s in %.1f s", self.url, time.monotonic() - began)
        return self

    def _fail(self, what: str) -> None:
        tail = self._log_tail()
        self.stop()
        raise RuntimeError(f"the Spark Connect server on {self.url} {what}; see {self.log_path}:\n{tail}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            with self.log_path.open("rb") as file:
                file.seek(self._log_offset)
                text = file.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """End the server's process group: SIGTERM (Spark's shutdown hooks run), SIGKILL after ``timeout`` s."""
        process, self._process = self._process, None
        if process is not None:
            pgid = process.pid
            _signal(pgid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Spark Connect server %s ignored SIGTERM for %.0f s: killing it", pgid, timeout)
                _signal(pgid, signal.SIGKILL)
                process.wait()
            # workers the JVM forked may outlive it for a moment; none outlives the group's kill
            deadline = time.monotonic() + 5.0
            while group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if group_alive(pgid):
                _signal(pgid, signal.SIGKILL)
            log.info("Spark Connect server on %s stopped", self.url)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _signal(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
