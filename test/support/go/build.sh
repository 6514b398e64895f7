#!/usr/bin/env bash
# Builds the Go test helpers the suites use to judge our output with the ecosystem's real code, and caches the
# binaries outside the clone, keyed by a hash of their sources (so an edited helper is rebuilt and fresh clones reuse
# a matching build). See docs/adr/0015-ecosystem-checkers-from-go-modules.md.
#   argocd-health  docs/argocd/health.lua in gopher-lua with Argo CD's sandbox (test/support/go/argocd-health)
#   kstatus        sigs.k8s.io/cli-utils kstatus status.Compute (test/support/go/kstatus)
#   kubeconform    github.com/yannh/kubeconform, installed from its module at a pinned version
#   actionlint     github.com/rhysd/actionlint, the same way (lints .github/workflows in test/checkers)
# Usage: test/support/go/build.sh [--help]   Progress goes to stderr; the cache directory is printed on the last line.
set -euo pipefail

KUBECONFORM_VERSION=${KUBECONFORM_VERSION:-v0.8.0}
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  cat <<USAGE
Usage: test/support/go/build.sh
Builds the Go test helpers argocd-health (gopher-lua), kstatus (sigs.k8s.io/cli-utils), kubeconform
$KUBECONFORM_VERSION and actionlint $ACTIONLINT_VERSION from Go modules. Binaries are cached in
\${IMAGESHARE_CACHE:-~/.cache/imageshare-operator}/tools/<source hash>/ and reused; a cold build takes about a
minute on 2 cores (mostly module downloads), a warm one is instant. Needs Go >= 1.25 and the Go module proxy.
Env: KUBECONFORM_VERSION, ACTIONLINT_VERSION, IMAGESHARE_CACHE.
USAGE
  exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${IMAGESHARE_CACHE:-$HOME/.cache/imageshare-operator}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

BUILD_LABEL=go-helpers TICK_SECONDS=20
# shellcheck source=../../harness/build-progress.sh
. "$here/../../harness/build-progress.sh"

if ! command -v go >/dev/null 2>&1; then
  say "go is not on PATH: the Go helpers (and the control plane) are built from Go modules and need Go >= 1.25"
  exit 1
fi

# The key covers every helper source, the kubeconform version and the Go version, so any change rebuilds.
key=$( (cd "$here" && cat build.sh argocd-health/go.mod argocd-health/go.sum argocd-health/*.go \
  kstatus/go.mod kstatus/go.sum kstatus/*.go; echo "$KUBECONFORM_VERSION $ACTIONLINT_VERSION"; go env GOVERSION) | sha256sum | cut -c1-16)
out="$cache_root/tools/$key"
mkdir -p "$out"

build_module() {
  local name=$1
  if [[ -x "$out/$name" ]]; then return 0; fi
  say "building $name (test/support/go/$name)"
  (cd "$here/$name" && with_ticker "$name" go build -trimpath -ldflags "-s -w" -o "$out/$name.tmp.$$" .)
  mv "$out/$name.tmp.$$" "$out/$name"
}

build_module argocd-health
build_module kstatus
# Tools used as they are, installed from their own module at a pinned version.
install_module() {
  local name=$1 version=$2 pkg=$3 ldflags=$4
  if [[ -x "$out/$name" ]]; then return 0; fi
  say "building $name $version"
  local tmpbin
  tmpbin=$(mktemp -d)
  with_ticker "$name" env GOBIN="$tmpbin" go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version"
  mv "$tmpbin/$name" "$out/$name"; rmdir "$tmpbin"
}

install_module kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform \
  "-X main.version=$KUBECONFORM_VERSION"
install_module actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint \
  "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
say "ready in $out: argocd-health, kstatus, kubeconform $("$out/kubeconform" -v), actionlint $("$out/actionlint" -version | head -1)"
echo "$out"
