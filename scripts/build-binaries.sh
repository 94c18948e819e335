#!/usr/bin/env bash
# Builds the local cluster's control-plane binaries from the Go modules pinned
# under go/, into a per-user cache keyed by component and version. Running it
# again does nothing when every binary is already there.
#   PGTLS_BIN_CACHE  overrides the cache dir (default ${XDG_CACHE_HOME:-~/.cache}/pgtls/bin)
#   --kubelet-runtime  also builds kubelet, kube-proxy, crictl and CoreDNS (`up --runtime kubelet`)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${PGTLS_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgtls/bin}
source "$here/go/versions.env"

command -v go >/dev/null || { echo "build-binaries: 'go' is not on PATH; install Go >= 1.24" >&2; exit 1; }
# One build at a time per cache: several checkouts (or test runs) may set up at once.
mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock 9
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=readonly"
export CGO_ENABLED=0

build() { # build <module dir> <version> <name> <package> [ldflags]
  local mod=$1 ver=$2 name=$3 pkg=$4 ld=${5:-}
  local out="$cache/$name-$ver/$name"
  # `node scripts/setup.mjs --only go:<name>` retries one build alone.
  if [ -n "${PGTLS_BUILD_ONLY:-}" ] && [ "$PGTLS_BUILD_ONLY" != "$name" ]; then return 0; fi
  if [ -x "$out" ]; then return 0; fi
  echo "build-binaries: building $name $ver (cached at $out)" >&2
  mkdir -p "$(dirname "$out")"
  local start=$SECONDS
  (cd "$here/go/$mod" && go build -trimpath -ldflags "-s -w $ld" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
  echo "build-binaries: $name took $((SECONDS - start))s" >&2
}

kv="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=${KUBERNETES_VERSION%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION"
build etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3
build kube "$KUBERNETES_VERSION" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kv"
build kube "$KUBERNETES_VERSION" kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kv"
build kube "$KUBERNETES_VERSION" kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$kv"
# kubectl of the same release, offered as `pgtls kubectl` (no version-skew warning against the server).
build kube "$KUBERNETES_VERSION" kubectl k8s.io/kubernetes/cmd/kubectl "$kv"
build certmanager "$CERT_MANAGER_VERSION" cert-manager-controller github.com/cert-manager/cert-manager/cmd/controller \
  "-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=v$CERT_MANAGER_VERSION"
# Helm installs pgtls's own chart (deploy/helm/pgtls) in tests and `pgtls up --operator=chart`.
# Its default Kubernetes version (helm template, helm lint) is the cluster's, not client-go's 1.20 fallback.
hk="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
for p in pkg/chartutil pkg/lint/rules; do
  hk="$hk -X helm.sh/helm/v3/$p.k8sVersionMajor=${KUBERNETES_VERSION%%.*} -X helm.sh/helm/v3/$p.k8sVersionMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
done
build helm "$HELM_VERSION" helm helm.sh/helm/v3/cmd/helm "$hk"
# cert-manager's CRDs ship in the same module; keep a copy beside the binary.
crds="$cache/cert-manager-controller-$CERT_MANAGER_VERSION/crds"
if [ ! -d "$crds" ]; then
  src=$(cd "$here/go/certmanager" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)
  mkdir -p "$crds.tmp" && cp "$src"/deploy/crds/*.yaml "$crds.tmp/" && chmod -R u+w "$crds.tmp" && mv "$crds.tmp" "$crds"
fi
if [ "${1:-}" = --kubelet-runtime ]; then
  build kube "$KUBERNETES_VERSION" kubelet k8s.io/kubernetes/cmd/kubelet "$kv"
  build kube "$KUBERNETES_VERSION" kube-proxy k8s.io/kubernetes/cmd/kube-proxy "$kv"
  build crictl "$CRICTL_VERSION" crictl sigs.k8s.io/cri-tools/cmd/crictl "-X sigs.k8s.io/cri-tools/pkg/version.Version=v$CRICTL_VERSION"
  build coredns "$COREDNS_VERSION" coredns github.com/coredns/coredns
  # The pod sandbox's pause binary: C, from the same k8s.io/kubernetes module (static, as upstream builds it).
  pause="$cache/pause-$PAUSE_VERSION/pause"
  if [ ! -x "$pause" ]; then
    command -v gcc >/dev/null || { echo "build-binaries: 'gcc' (and libc6-dev) are needed for the pause binary" >&2; exit 1; }
    src=$(cd "$here/go/kube" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
    mkdir -p "$(dirname "$pause")"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$pause.tmp" "$src"
    mv -f "$pause.tmp" "$pause"
  fi
fi
echo "$cache"
