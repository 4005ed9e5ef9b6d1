"""``tinyworld ingest``: the event ingestion service (``POST /events`` into the lake).

``tinyworld ingest serve`` runs the API under uvicorn in one process (the state file admits one
writer). Paths and the port default to the environment's settings; the flags override them.
``python -m tinyworld.commands.ingest serve ...`` runs the same command without the main CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from tinyworld.commands.common import Env, configure_logging, fail

app = typer.Typer(
    name="ingest",
    help="The event ingestion service: SimNet's events in, Parquet in the lake out.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """The event ingestion service: SimNet's events in, Parquet in the lake out."""


@app.command("serve")
def serve(
    state: Annotated[
        Path,
        typer.Option(help="The SQLite state file (durable inbox and seen event ids); one server per file."),
    ],
    lake: Annotated[
        str | None,
        typer.Option(help="Lake root: a local path or an object-store URL. Default: the environment's lake_root."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind. Default: the environment's serve_host.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on. Default: the environment's ingest_port.")] = None,
    env: Env = "local",
    flush_interval: Annotated[
        float | None, typer.Option(help="Seconds between flushes to the lake. Default: IngestConfig's.")
    ] = None,
    flush_rows: Annotated[
        int | None,
        typer.Option(help="Flush early once this many events wait; the most per micro-batch. Default: IngestConfig's."),
    ] = None,
    max_batch: Annotated[
        int | None, typer.Option(help="The most events one POST may carry (413 beyond). Default: IngestConfig's.")
    ] = None,
    writer_id: Annotated[
        str | None, typer.Option(help="Prefix of the lake's file names, unique per server sharing a lake.")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve POST /events, GET /healthz and GET /metrics until interrupted (then flush and stop)."""
    import uvicorn

    from components.ingest import IngestConfig, create_app

    settings = configure_logging(env)
    try:
        overrides = {
            "flush_interval_s": flush_interval,
            "flush_rows": flush_rows,
            "max_batch_events": max_batch,
            "writer_id": writer_id,
        }
        config = IngestConfig(
            lake_root=lake or settings.lake_root,
            state_path=state,
            storage=settings.storage(),
            **{name: value for name, value in overrides.items() if value is not None},
        )
    except ValidationError as error:
        raise fail(f"invalid ingest options:\n{error}") from None
    uvicorn.run(
        create_app(config),
        host=host or settings.serve_host,
        port=port or settings.ingest_port,
        access_log=access_log,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    app()
