"""``tinyworld registry``: list, show, register and promote model versions.

Thin wrappers over :class:`components.registry.registry.Registry`. The root defaults to the
environment's ``registry_root`` (``--root`` overrides it); ``s3://`` roots use the
environment's ``s3_endpoint_url``. The lead mounts ``app`` with ``add_typer(registry.app, name="registry")``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tinyworld.commands.common import fail
from tinyworld.settings import Settings, UnknownEnvironmentError

if TYPE_CHECKING:
    from components.registry.registry import ModelVersion, Registry

app = typer.Typer(
    name="registry",
    help="The model registry: versioned models, their metrics, and the champion alias serving reads.",
    no_args_is_help=True,
    add_completion=False,
)

Env = Annotated[str, typer.Option("--env", "-e", help="Environment: a file in platform/environments/ (without .yaml).")]
Root = Annotated[
    str | None, typer.Option(help="Registry root (path or URL). Default: the environment's registry_root.")
]
Name = Annotated[str, typer.Argument(help="The model's name in the registry.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.callback()
def main() -> None:
    """The model registry: versioned models, their metrics, and the champion alias serving reads."""


def _open(root: str | None, env: str) -> Registry:
    from components.registry.registry import Registry

    try:
        settings = Settings.from_environment(env)
    except (UnknownEnvironmentError, ValidationError, ValueError) as error:
        raise fail(str(error)) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    where = root or settings.registry_root
    options: dict[str, Any] = {}
    if where.startswith("s3://") and settings.s3_endpoint_url:
        options = {"client_kwargs": {"endpoint_url": settings.s3_endpoint_url}}
    try:
        return Registry(where, options)
    except (ImportError, ValueError, OSError) as error:
        raise fail(f"cannot open the registry at {where}: {error}") from None


def _ref(version: int | None, alias: str | None) -> int | str | None:
    if version is not None and alias is not None:
        raise fail("give --version or --alias, not both")
    return version if version is not None else alias


def _headline(v: ModelVersion) -> str:
    m = v.metrics
    if not m:
        return "-"
    return ", ".join(f"{key} {m[key]:.4f}" for key in ("ndcg_at_k", "recall_at_k") if isinstance(m.get(key), float))


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Argument(help="A model: list its versions. Default: list models.")] = None,
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """List the registered models, or the versions of NAME with their aliases and headline metrics."""
    from components.registry.registry import RegistryError

    registry = _open(root, env)
    try:
        if name is None:
            models = [(n, len(registry.list_versions(n)), registry.aliases(n)) for n in registry.list_models()]
        else:
            versions = registry.list_versions(name)
    except (RegistryError, OSError) as error:
        raise fail(str(error)) from None
    if name is None:
        if as_json:
            rows = [{"name": n, "versions": count, "aliases": aliases} for n, count, aliases in models]
            typer.echo(json.dumps(rows, indent=2))
            return
        table = Table(title=f"Models in {registry.store.url}")
        for column in ("name", "versions", "aliases"):
            table.add_column(column)
        for n, count, aliases in models:
            table.add_row(n, str(count), ", ".join(f"{a} -> {v}" for a, v in aliases.items()) or "-")
        Console().print(table)
        return
    if as_json:
        typer.echo(json.dumps([v.model_dump(mode="json", exclude={"evaluation"}) for v in versions], indent=2))
        return
    table = Table(title=f"{name} in {registry.store.url}")
    for column in ("version", "aliases", "registered", "model version", "metrics"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version), ", ".join(v.aliases) or "-", v.registered_at[:19], v.model_version or "-", _headline(v)
        )
    Console().print(table)


@app.command("show")
def show(
    name: Name,
    version: Annotated[int | None, typer.Option(help="The version number.")] = None,
    alias: Annotated[str | None, typer.Option(help="An alias. Default (no --version): champion.")] = None,
    path_only: Annotated[bool, typer.Option("--path", help="Print only the version's folder (for scripts).")] = False,
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Show one version of NAME: path, aliases, metrics, data window, features and code version."""
    from components.registry.registry import RegistryError

    registry = _open(root, env)
    try:
        record = registry.show(name, _ref(version, alias))
    except (RegistryError, OSError) as error:
        raise fail(str(error)) from None
    if path_only:
        typer.echo(record.path)
    elif as_json:
        typer.echo(record.model_dump_json(indent=2))
    else:
        table = Table(title=f"{name} version {record.version}", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for field, value in record.model_dump(mode="json", exclude={"evaluation"}).items():
            table.add_row(field, value if isinstance(value, str) else json.dumps(value))
        Console().print(table)


@app.command("register")
def register(
    model_dir: Annotated[str, typer.Argument(help="The model's folder (or URL), as training saves it.")],
    name: Annotated[str, typer.Option(help="The model's name in the registry.")],
    evaluation: Annotated[
        Path | None, typer.Option(help="The JSON report of `tinyworld evaluate` (metrics and promotion decision).")
    ] = None,
    description: Annotated[str, typer.Option(help="A note kept with the version.")] = "",
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Copy MODEL_DIR into the registry as the next version of --name, with its evaluation."""
    from components.registry.registry import RegistryError

    registry = _open(root, env)
    report: dict[str, Any] | None = None
    if evaluation is not None:
        try:
            report = json.loads(evaluation.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise fail(f"cannot read the evaluation {evaluation}: {error}") from None
    try:
        record = registry.register(model_dir, name, evaluation=report, description=description)
    except (RegistryError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot copy {model_dir} into the registry: {error}") from None
    typer.echo(
        record.model_dump_json(indent=2, exclude={"evaluation"})
        if as_json
        else f"registered {name} version {record.version} at {record.path}"
    )


@app.command("promote")
def promote(
    name: Name,
    version: Annotated[int, typer.Option(help="The version to promote.")],
    alias: Annotated[str, typer.Option(help="The alias to move.")] = "champion",
    force: Annotated[bool, typer.Option(help="Promote even if the recorded evaluation said not to.")] = False,
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Point ALIAS (champion) of NAME at --version; refused (exit 1) if its recorded decision was 'do not promote'."""
    from components.registry.registry import RegistryError

    registry = _open(root, env)
    try:
        target = registry.show(name, version)
        decision = (target.evaluation or {}).get("promotion")
        if decision is not None and not decision.get("promote", False) and not force:
            raise fail(
                f"version {version} was not cleared for promotion ({decision.get('reason')}); use --force", code=1
            )
        if decision is None:
            logging.getLogger(__name__).warning("version %d has no recorded promotion decision", version)
        previous = registry.aliases(name).get(alias)
        record = registry.set_alias(name, alias, version)
    except (RegistryError, OSError) as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(
            json.dumps(
                {"name": name, "alias": alias, "version": record.version, "previous": previous, "path": record.path},
                indent=2,
            )
        )
    else:
        typer.echo(f"{name}: {alias} -> version {record.version} (was {previous if previous is not None else 'unset'})")


if __name__ == "__main__":
    app()
