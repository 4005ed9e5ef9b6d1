"""The servers the serving benchmark measures, each on 127.0.0.1: the recommender on Ray Serve,
a no-op Ray Serve app (the host's own cost), and the same app under bare uvicorn (the peer).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from components.serving.config import ServingConfig


def free_port() -> int:
    """A base port p with p .. p+100 free (direct-ingress range and Ray's moved proxy)."""
    for base in range(24000, 30000, 211):
        try:
            for port in (base, base + 100):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range between 24000 and 30000")


def wait_ready(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.post(f"{url}/recommendations", json={"user_id": 1, "k": 10}, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def start_tinyworld(config: ServingConfig, port: int) -> str:
    from components.serving.deployment import serve_ray

    return serve_ray(config, "127.0.0.1", port, blocking=False)


def start_noop(port: int) -> str:
    """A Ray Serve app answering every POST /recommendations with the same 10 items."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from ray import serve

    from components.serving.deployment import serve_ray_app

    noop = FastAPI()
    feed = {
        "request_id": "noop",
        "items": [{"item_id": i, "score": 0.0} for i in range(10)],
        "arm": "control",
        "model_version": "noop",
        "fallback": False,
    }

    @noop.post("/recommendations")
    async def recommendations() -> JSONResponse:
        return JSONResponse(feed)

    deployment: Any = serve.deployment(
        serve.ingress(noop)(),
        name="noop",
        num_replicas=1,
        ray_actor_options={"num_cpus": 0},
        max_ongoing_requests=256,
        logging_config={"enable_access_log": False, "log_level": "WARNING"},
    )
    return serve_ray_app(deployment.bind(), "127.0.0.1", port, name="noop")


def start_asgi(config: ServingConfig, port: int, workdir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """The same app under uvicorn alone, in a child process."""
    path = workdir / "serving.json"
    path.write_text(config.model_dump_json())
    code = (
        "import sys; from components.serving.config import ServingConfig; "
        "from components.serving.host import serve_uvicorn; "
        "serve_uvicorn(ServingConfig.model_validate_json(open(sys.argv[1]).read()), '127.0.0.1', int(sys.argv[2]))"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(path), str(port)])
    return f"http://127.0.0.1:{port}", child
