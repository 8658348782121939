#!/usr/bin/env bash
# Builds (once per machine) the Kubernetes tools the API server fixture needs
# and prints the directory holding them:
#   kube-apiserver, kubectl  v1.30.14, from the k8s.io/kubernetes module through
#                            the wrapper module in e2e/kubetools/
#   helm                     v3.15.4, from helm.sh/helm/v3 (Debian ships none)
# Built with the Go toolchain Kubernetes 1.30 was released with (GOTOOLCHAIN,
# fetched through the Go module proxy), at low priority and one package at a
# time so a shared 2-core machine stays usable. The first build takes a long
# time (see docs/operations.md); later calls return at once.
#
# Usage: e2e/kubetools.sh            prints the tools directory
# Env:   SHARDKV_CACHE  cache root (default ~/.cache/shardkv)
#        SHARDKV_GO_JOBS  packages built at once (default: all cores; set 1
#                         on a machine shared with other work)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

kube_version=v1.30.14
helm_version=v3.15.4
go_toolchain=go1.22.12
cache="${SHARDKV_CACHE:-$HOME/.cache/shardkv}"
jobs="${SHARDKV_GO_JOBS:-$(nproc)}"
# Keyed by version and by the wrapper module's content, so editing go.mod
# rebuilds instead of reusing a binary built from other sources.
key="$(cat "$here/kubetools/go.mod" "$here/kubetools/go.sum" 2>/dev/null |
  sha256sum | cut -c1-12)"
dir="$cache/kube-$kube_version-$helm_version-$key"

log() { echo "kubetools: $*" >&2; }

have_all() {
  [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kubectl" ] && [ -x "$dir/helm" ]
}

build() {
  command -v go >/dev/null ||
    { log "no 'go' on PATH: install Go >= 1.21 (it fetches $go_toolchain)"; exit 1; }
  local tmp="$dir.partial"
  mkdir -p "$tmp"
  export GOTOOLCHAIN="$go_toolchain" GOFLAGS="-mod=mod -trimpath"
  local start=$SECONDS
  if [ ! -x "$tmp/kube-apiserver" ] || [ ! -x "$tmp/kubectl" ]; then
    log "building kube-apiserver and kubectl $kube_version with $go_toolchain" \
      "(first time only; ~40 min on a busy 2-core machine, helm ~15 more)"
    # The version a release build stamps in (kubectl and clients check it).
    local v=k8s.io/component-base/version c=k8s.io/client-go/pkg/version
    local minor="${kube_version#v1.}"
    minor="${minor%%.*}"
    local ldflags="-s -w"
    for pkg in $v $c; do
      ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1"
      ldflags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
      ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    (cd "$here/kubetools" &&
      nice -n 15 go build -p "$jobs" -ldflags "$ldflags" -o "$tmp/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
    log "kube-apiserver and kubectl built in $((SECONDS - start))s"
  fi
  if [ ! -x "$tmp/helm" ]; then
    log "building helm $helm_version"
    GOBIN="$tmp" GOFLAGS=-trimpath nice -n 15 \
      go install -p "$jobs" "helm.sh/helm/v3/cmd/helm@$helm_version"
  fi
  rm -rf "$dir" && mv "$tmp" "$dir"
  log "tools ready in $dir after $((SECONDS - start))s"
}

mkdir -p "$cache"
if ! have_all; then
  # One build at a time per machine: a second caller waits for the first.
  exec 9>"$cache/kubetools.lock"
  if ! flock -n 9; then
    log "another build is running; waiting for it"
    flock 9
  fi
  have_all || build
fi
echo "$dir"
