#!/usr/bin/env bash
# The tools deploy/ is validated with, at pinned versions, into .local/tools (git-ignored):
#
#   bin/helm               helm.sh/helm/v3, built with `go install` from the Go module proxy
#   bin/kubeconform        github.com/yannh/kubeconform, the same way
#   bin/dockerfile-check   deploy/tools/checks: BuildKit's own Dockerfile rules (what
#                          `docker build --check` runs), without a Docker engine or registry
#   bin/compose-config     deploy/tools/checks: loads a Compose file with compose-go, the
#                          library Docker Compose itself uses (`docker compose config`)
#   k8s-schemas/vX.Y.Z/    kubeconform's JSON Schemas, made from the OpenAPI document in the
#                          k8s.io/kubernetes Go module (deploy/tools/k8s_json_schemas.py)
#
# Idempotent: a tool already at its pinned version is left alone, so a second run takes well
# under a second. Go's own module and build caches (`go env GOMODCACHE GOCACHE`) are shared by
# every checkout on the machine, so a fresh clone links rather than compiles. A first build
# on an empty machine takes about three minutes on two cores, mostly Helm.
#
# Needs Go 1.26.8 or newer on PATH (or in /usr/local/go/bin) and the Go module proxy; no other
# network. Usage: deploy/tools/install.sh [--print-env]
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
# The Kubernetes API the manifests are validated against (and helm renders for).
KUBERNETES_VERSION=v1.34.4
# Helm's default capabilities, as its own release build sets them (k8s.io/client-go v0.37).
HELM_K8S_MAJOR=1
HELM_K8S_MINOR=37

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${CLUB_TOOLS_DIR:-$ROOT/.local/tools}"
BIN="$TOOLS/bin"
SCHEMAS="$TOOLS/k8s-schemas/$KUBERNETES_VERSION"

if [[ "${1:-}" == "--print-env" ]]; then
    # For the tests: where the tools are and which versions they must be.
    echo "CLUB_TOOLS_BIN=$BIN"
    echo "CLUB_K8S_SCHEMAS=$TOOLS/k8s-schemas"
    echo "CLUB_KUBERNETES_VERSION=${KUBERNETES_VERSION#v}"
    echo "CLUB_HELM_VERSION=$HELM_VERSION"
    echo "CLUB_KUBECONFORM_VERSION=$KUBECONFORM_VERSION"
    exit 0
fi

say() { echo "[deploy-tools] $*"; }
fail() { echo "[deploy-tools] error: $*" >&2; exit 1; }

GO="$(command -v go || true)"
if [[ -z "$GO" && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
[[ -n "$GO" ]] || fail "Go 1.26.8 or newer is needed to build the deploy tools (helm, kubeconform, our checks)"

mkdir -p "$BIN"
# Go keeps its caches under $HOME; a bare CI environment may have none.
if [[ -z "${HOME:-}" && -z "${GOCACHE:-}" ]]; then
    export GOCACHE="$TOOLS/go/build" GOMODCACHE="$TOOLS/go/mod" GOPATH="$TOOLS/go"
fi
export GOBIN="$BIN"
export GOFLAGS="-modcacherw -buildvcs=false"
export CGO_ENABLED=0
started=$SECONDS

# The module version a Go binary was built from, or nothing.
built_version() {
    [[ -x "$1" ]] || return 0
    "$GO" version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

if [[ "$(built_version "$BIN/helm")" != "$HELM_VERSION" ]]; then
    say "building helm $HELM_VERSION (minutes when Go's build cache is cold)"
    "$GO" install -trimpath -ldflags "-s -w \
        -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
        -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR \
        -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR \
        -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR \
        -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR" \
        "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" || fail "helm $HELM_VERSION did not build"
fi

if [[ "$(built_version "$BIN/kubeconform")" != "$KUBECONFORM_VERSION" ]]; then
    say "building kubeconform $KUBECONFORM_VERSION"
    "$GO" install -trimpath -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION" \
        "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" \
        || fail "kubeconform $KUBECONFORM_VERSION did not build"
fi

# Our two small checkers (deploy/tools/checks), rebuilt when their source or pinned
# dependencies change.
CHECKS_SRC="$ROOT/deploy/tools/checks"
checks_digest="$(cd "$CHECKS_SRC" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) \
    | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$BIN/dockerfile-check" || ! -x "$BIN/compose-config" \
      || "$(cat "$TOOLS/checks.sha256" 2>/dev/null)" != "$checks_digest" ]]; then
    say "building dockerfile-check (BuildKit's Dockerfile rules) and compose-config (compose-go)"
    (cd "$CHECKS_SRC" && "$GO" build -mod=readonly -trimpath -ldflags "-s -w" -o "$BIN/" ./cmd/...) \
        || fail "deploy/tools/checks did not build"
    echo "$checks_digest" > "$TOOLS/checks.sha256"
fi

converter="$ROOT/deploy/tools/k8s_json_schemas.py"
schema_digest="$KUBERNETES_VERSION $(sha256sum "$converter" | cut -d' ' -f1)"
if [[ ! -f "$SCHEMAS/_definitions.json" || "$(cat "$SCHEMAS/.stamp" 2>/dev/null)" != "$schema_digest" ]]; then
    say "Kubernetes $KUBERNETES_VERSION JSON Schemas from the k8s.io/kubernetes module"
    # Downloading a module needs no go.mod: run it from a scratch directory.
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    module_dir="$(cd "$scratch" && GOFLAGS=-modcacherw "$GO" mod download -json \
        "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
        || fail "k8s.io/kubernetes@$KUBERNETES_VERSION did not download"
    rm -rf "$SCHEMAS"
    python3 "$converter" "$module_dir/api/openapi-spec/swagger.json" "$SCHEMAS" >/dev/null \
        || fail "the Kubernetes JSON Schemas could not be made"
    echo "$schema_digest" > "$SCHEMAS/.stamp"
fi

say "helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION, dockerfile-check, compose-config, Kubernetes $KUBERNETES_VERSION schemas in ${TOOLS#"$ROOT"/} ($((SECONDS - started))s)"
