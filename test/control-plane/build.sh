#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kubectl, helm) from Go modules and caches the binaries
# outside the clone, keyed by version, so fresh clones (CI) reuse them. See docs/adr/0003-control-plane-from-go-modules.md.
# Usage: test/control-plane/build.sh [--help]   Prints the cache directory on its last line.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.35.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.6}
HELM_VERSION=${HELM_VERSION:-v3.19.0}

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  cat <<USAGE
Usage: test/control-plane/build.sh
Builds etcd $ETCD_VERSION, kube-apiserver + kubectl $K8S_VERSION and helm $HELM_VERSION from Go modules.
Binaries are cached in \${IMAGESHARE_CACHE:-~/.cache/imageshare-operator}/control-plane/<versions>/ and reused.
A cold build takes 10-20 minutes on 2 cores; a warm one is instant. Needs Go >= 1.24 and the Go module proxy.
Env: K8S_VERSION, ETCD_VERSION, HELM_VERSION, IMAGESHARE_CACHE.
USAGE
  exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
BUILD_LABEL=control-plane
# shellcheck source=../harness/build-progress.sh
. "$here/../harness/build-progress.sh"
cache_root=${IMAGESHARE_CACHE:-$HOME/.cache/imageshare-operator}
out="$cache_root/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
mkdir -p "$out"
# One build at a time per cache: a second run (another test process, another clone) waits here and then finds
# the binaries built instead of compiling them again beside the first.
exec 9>"$out/.build.lock"
if ! flock -n 9; then
  say "another build is running; waiting for it"
  flock 9
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  ld="$ld -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=1970-01-01T00:00:00Z"
done

if [[ ! -x "$out/kube-apiserver" ]]; then
  say "building kube-apiserver $K8S_VERSION (cold: ~10 min on 2 cores; module download first)"
  (cd "$here/kube" && with_ticker kube-apiserver go build -trimpath -pgo=off -ldflags "$ld" -o "$out/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out/kube-apiserver.tmp.$$" "$out/kube-apiserver"
fi
if [[ ! -x "$out/kubectl" ]]; then
  say "building kubectl $K8S_VERSION"
  (cd "$here/kube" && with_ticker kubectl go build -trimpath -pgo=off -ldflags "$ld" -o "$out/kubectl.tmp.$$" k8s.io/kubernetes/cmd/kubectl)
  mv "$out/kubectl.tmp.$$" "$out/kubectl"
fi
if [[ ! -x "$out/etcd" ]]; then
  say "building etcd $ETCD_VERSION"
  (cd "$here/etcd" && with_ticker etcd go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$out/etcd.tmp.$$" go.etcd.io/etcd/server/v3)
  mv "$out/etcd.tmp.$$" "$out/etcd"
fi
if [[ ! -x "$out/helm" ]]; then
  say "building helm $HELM_VERSION"
  tmpbin=$(mktemp -d)
  with_ticker helm env GOBIN="$tmpbin" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$tmpbin/helm" "$out/helm"; rmdir "$tmpbin"
fi
say "ready: $("$out/kube-apiserver" --version) / etcd $("$out/etcd" --version | head -1 | awk '{print $3}') / kubectl $("$out/kubectl" version --client -o json | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2) / helm $("$out/helm" version --short)"
echo "$out"
