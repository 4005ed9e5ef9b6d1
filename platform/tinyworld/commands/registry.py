"""``tinyworld registry``: list, show, register, promote, retire and judge model versions.

Thin wrappers over :class:`components.registry.registry.Registry` (the promotion rule lives
there) and the register and promote steps (:mod:`components.registry.step`). The root
defaults to the environment's ``registry_root`` (``--root`` overrides it); object-store roots
use the environment's storage settings. Bad input exits 2 with one line; a refused promotion
exits 1.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from components.registry.decision import CHALLENGER_ARM, CHAMPION_ARM, PRIMARY_METRIC
from components.registry.registry import CHALLENGER, DEFAULT_MODEL_NAME
from tinyworld.commands.common import AsJson, Env, configure_logging, fail

if TYPE_CHECKING:
    from components.registry.registry import ModelVersion, Registry
    from components.step import StepIO

app = typer.Typer(
    name="registry",
    help="The model registry: versioned models, their metrics, and the champion alias serving reads.",
    no_args_is_help=True,
    add_completion=False,
)

Root = Annotated[
    str | None, typer.Option(help="Registry root (path or URL). Default: the environment's registry_root.")
]
Name = Annotated[str, typer.Argument(help="The model's name in the registry.")]
NameOption = Annotated[str, typer.Option("--name", help="The model's name in the registry.")]
Reason = Annotated[str, typer.Option(help="Why, in words and figures: kept in the alias history.")]


@app.callback()
def main() -> None:
    """The model registry: versioned models, their metrics, and the champion alias serving reads."""


def _context(root: str | None, env: str) -> tuple[str, StepIO]:
    """The registry root and the step I/O of environment ``env`` (logging set up)."""
    from components.step import StepIO

    settings = configure_logging(env)
    return root or settings.registry_root, StepIO(storage=settings.storage())


def _open(root: str | None, env: str) -> Registry:
    from components.registry.step import open_registry

    where, io = _context(root, env)
    try:
        return open_registry(where, io)
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
        for field, value in record.model_dump(mode="json", exclude={"evaluation", "lineage"}).items():
            table.add_row(field, value if isinstance(value, str) else json.dumps(value))
        Console().print(table)


@app.command("history")
def history(name: Name, root: Root = None, as_json: AsJson = False, env: Env = "local") -> None:
    """The alias changes of NAME, oldest first: action, versions and the reason recorded."""
    from components.registry.registry import RegistryError

    registry = _open(root, env)
    try:
        changes = registry.alias_history(name)
    except (RegistryError, OSError) as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in changes], indent=2))
        return
    table = Table(title=f"Alias history of {name}")
    for column in ("at", "action", "alias", "version", "was", "reason"):
        table.add_column(column)
    for c in changes:
        forced = " (forced)" if c.forced else ""
        table.add_row(
            c.at[:19], c.action + forced, c.alias, str(c.version or "-"), str(c.previous or "-"), c.reason or "-"
        )
    Console().print(table)


@app.command("register")
def register(
    model_dir: Annotated[str, typer.Argument(help="The model's folder (or URL), as training saves it.")],
    name: NameOption = DEFAULT_MODEL_NAME,
    evaluation: Annotated[
        str | None, typer.Option(help="The JSON report of `tinyworld evaluate` (path or URL), with its decision.")
    ] = None,
    alias: Annotated[
        str, typer.Option(help="The alias pointed at the new version (not set if the evaluation rejected it).")
    ] = CHALLENGER,
    no_alias: Annotated[bool, typer.Option("--no-alias", help="Register without pointing any alias.")] = False,
    description: Annotated[str, typer.Option(help="A note kept with the version.")] = "",
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Copy MODEL_DIR into the registry as the next version of --name, with its evaluation and lineage."""
    from pydantic import ValidationError

    from components.registry.registry import RegistryError
    from components.registry.step import RegisterParams, run_register

    where, io = _context(root, env)
    try:
        params = RegisterParams(
            registry_root=where,
            model=model_dir,
            evaluation=evaluation,
            model_name=name,
            alias=None if no_alias else alias,
            description=description,
        )
        result = run_register(params, io)
    except (RegistryError, FileNotFoundError, ValueError, ValidationError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot copy {model_dir} into the registry: {error}") from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"registered {name} version {result.version} at {result.path}")
    typer.echo(f"{result.alias} -> version {result.version}" if result.alias else result.reason)


@app.command("promote")
def promote(
    name: Name,
    version: Annotated[int, typer.Option(help="The version to make the champion.")],
    reason: Reason,
    force: Annotated[bool, typer.Option(help="Promote even if the recorded evaluation said not to.")] = False,
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Make --version the champion of NAME; refused (exit 1) if its offline evaluation rejected it."""
    from components.registry.registry import CHAMPION, PromotionRefusedError, RegistryError

    registry = _open(root, env)
    try:
        previous = registry.aliases(name).get(CHAMPION)
        record = registry.promote(name, version, reason=reason, force=force)
    except PromotionRefusedError as error:
        raise fail(f"{error} (--force)", code=1) from None
    except (RegistryError, ValueError, OSError) as error:
        raise fail(str(error)) from None
    if as_json:
        data = {"name": name, "alias": CHAMPION, "version": record.version, "previous": previous, "path": record.path}
        typer.echo(json.dumps(data, indent=2))
    else:
        was = previous if previous is not None else "unset"
        typer.echo(f"{name}: {CHAMPION} -> version {record.version} (was {was})")


@app.command("retire")
def retire(
    name: Name,
    reason: Reason,
    alias: Annotated[str, typer.Option(help="The alias to remove (not the champion).")] = CHALLENGER,
    root: Root = None,
    env: Env = "local",
) -> None:
    """Remove ALIAS (the challenger) of NAME, recording why."""
    from components.registry.registry import RegistryError

    registry = _open(root, env)
    try:
        retired = registry.retire(name, alias, reason=reason)
    except (RegistryError, ValueError, OSError) as error:
        raise fail(str(error)) from None
    typer.echo(f"{name}: {alias} retired (was version {retired})")


@app.command("decide")
def decide(
    experiments: Annotated[str, typer.Option(help="The ETL's experiments table folder (or URL) for the window.")],
    name: NameOption = DEFAULT_MODEL_NAME,
    champion_arm: Annotated[str, typer.Option(help="The arm that served the champion.")] = CHAMPION_ARM,
    challenger_arm: Annotated[str, typer.Option(help="The arm that served the challenger.")] = CHALLENGER_ARM,
    metric: Annotated[str, typer.Option(help="The primary metric: ctr or engagement (per user).")] = PRIMARY_METRIC,
    incomplete: Annotated[
        bool, typer.Option("--incomplete", help="The window is not the whole experiment: keep an undecided challenger.")
    ] = False,
    date: Annotated[
        str | None, typer.Option(help="The day judged, YYYY-MM-DD. Default: the latest day in the table.")
    ] = None,
    experiment: Annotated[
        str | None, typer.Option(help="The experiment judged. Default: the one live that day with both arms.")
    ] = None,
    root: Root = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Judge the challenger of --name on the experiment: promote it, retire it, or keep it."""
    from pydantic import ValidationError

    from components.registry.registry import RegistryError
    from components.registry.step import PromoteParams, run_promote

    where, io = _context(root, env)
    try:
        params = PromoteParams.model_validate(
            {
                "registry_root": where,
                "experiments": experiments,
                "model_name": name,
                "champion_arm": champion_arm,
                "challenger_arm": challenger_arm,
                "metric": metric,
                "window_complete": not incomplete,
                "date": date,
                "experiment": experiment,
            }
        )
        result = run_promote(params, io)
    except (RegistryError, FileNotFoundError, ValueError, ValidationError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot read {experiments}: {error}") from None
    typer.echo(result.model_dump_json(indent=2) if as_json else result.reason)


if __name__ == "__main__":
    app()
