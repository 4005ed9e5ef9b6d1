# A kind cluster from platform/kind/cluster.yaml, created and deleted with the kind CLI.
#
# kind's own CLI reads the same file a person would pass to `kind create cluster --config`, so the
# cluster a developer makes by hand and the one Terraform makes are the same. Only Terraform's
# built-in terraform_data is used: no provider is needed to plan or validate this module.

locals {
  config       = yamldecode(file(var.config_path))
  cluster_name = local.config.name
  kubeconfig   = pathexpand(var.kubeconfig_path)
  context      = "kind-${local.cluster_name}"
}

resource "terraform_data" "cluster" {
  # A change of the configuration file or of the node image recreates the cluster.
  triggers_replace = {
    config_sha256 = filesha256(var.config_path)
    node_image    = var.node_image
  }

  # Destroy-time provisioners see only `self`: everything they need travels in `input`.
  input = {
    name       = local.cluster_name
    config     = abspath(var.config_path)
    image      = var.node_image
    kubeconfig = local.kubeconfig
    wait       = var.wait
    kind       = var.kind_version
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-euo", "pipefail", "-c"]
    command     = <<-EOT
      if ! kind version | grep -q "^kind $KIND_VERSION "; then
        echo "kind $KIND_VERSION is required (the node image is built for it); found: $(kind version)" >&2
        exit 1
      fi
      if kind get clusters | grep -qx "$NAME"; then
        echo "kind cluster $NAME exists; writing its kubeconfig"
        kind export kubeconfig --name "$NAME" --kubeconfig "$KUBECONFIG_PATH"
      else
        kind create cluster --name "$NAME" --config "$CONFIG" --image "$IMAGE" \
          --kubeconfig "$KUBECONFIG_PATH" --wait "$WAIT"
      fi
      chmod 600 "$KUBECONFIG_PATH"
    EOT
    environment = {
      NAME            = self.input.name
      CONFIG          = self.input.config
      IMAGE           = self.input.image
      KUBECONFIG_PATH = self.input.kubeconfig
      WAIT            = self.input.wait
      KIND_VERSION    = self.input.kind
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/bash", "-euo", "pipefail", "-c"]
    command     = "kind delete cluster --name \"$NAME\" --kubeconfig \"$KUBECONFIG_PATH\""
    environment = {
      NAME            = self.input.name
      KUBECONFIG_PATH = self.input.kubeconfig
    }
  }
}
