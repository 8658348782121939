#!/usr/bin/env bash
# The end-to-end suite users run on their own machine: a real kind cluster,
# the real image, the Helm chart, and a ShardedKV taken through scaling,
# failures and an upgrade while every key written is checked after each step.
#
# Needs: docker (or another engine kind supports), kind, kubectl, helm.
# CI here cannot run it (no container engine on these machines); the API-level
# tests in e2e/k8s_test.sh run there instead. See docs/operations.md.
#
# Usage: e2e/kind.sh [--keep]      --keep leaves the kind cluster up at the end
# Env:   KIND_CLUSTER (shardkv-e2e), E2E_KEYS (1000 keys), E2E_TIMEOUT (15m)
set -euo pipefail
cd "$(dirname "$0")/.."

cluster="${KIND_CLUSTER:-shardkv-e2e}"
keys="${E2E_KEYS:-1000}"
timeout="${E2E_TIMEOUT:-15m}"
ns=shardkv-e2e
name=demo
image=shardkv:e2e
image2=shardkv:e2e-upgrade
keep=0
[ "${1:-}" = "--keep" ] && keep=1

step() { echo; echo "== $(date +%H:%M:%S) $*"; }
die() { echo "kind.sh: FAILED: $*" >&2; exit 1; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || die "'$tool' is not on PATH"
done

cleanup() {
  if [ "$keep" -eq 1 ]; then
    echo "kind.sh: cluster '$cluster' kept (kind delete cluster --name $cluster)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

kc() { kubectl --context "kind-$cluster" -n "$ns" "$@"; }

# Waits until the ShardedKV reports SHARDS ready shards, Available=True and
# observedGeneration == generation (the operator has seen the latest spec).
wait_cluster() {
  local shards="$1" deadline=$((SECONDS + ${timeout%m} * 60))
  while [ $SECONDS -lt $deadline ]; do
    local gen obs ready avail
    gen="$(kc get shardedkv "$name" -o jsonpath='{.metadata.generation}')"
    obs="$(kc get shardedkv "$name" -o jsonpath='{.status.observedGeneration}')"
    ready="$(kc get shardedkv "$name" -o jsonpath='{.status.readyShards}')"
    avail="$(kc get shardedkv "$name" \
      -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')"
    if [ "$gen" = "$obs" ] && [ "$ready" = "$shards" ] && [ "$avail" = True ] &&
      [ "$(kc get sts -l "shardkv.io/cluster=$name,shardkv.io/role=shard" \
        -o name | wc -l)" -eq "$shards" ]; then
      kc get shardedkv "$name"
      return 0
    fi
    sleep 5
  done
  kc get shardedkv "$name" -o yaml || true
  kc get pods -o wide || true
  die "cluster did not reach $shards ready shards within $timeout"
}

# The client follows the slot map to each shard leader's pod address, which
# only resolves inside the cluster, so data is written and read by a client
# pod (the same image) rather than through a port-forward to one Service.
client() { kc exec e2e-client -- "$@"; }

load_keys() {
  client sh -c "for i in \$(seq 1 $keys); do
      shardkv --endpoints $name-client:7001 set key-\$i value-\$i >/dev/null ||
        { echo \"set key-\$i failed\" >&2; exit 1; }
    done"
}

verify_keys() {
  local what="$1" bad
  bad="$(client sh -c "n=0; for i in \$(seq 1 $keys); do
      v=\$(shardkv --endpoints $name-client:7001 --timeout 30s get key-\$i) ||
        { echo \"key-\$i: get failed\"; n=\$((n+1)); continue; }
      [ \"\$v\" = value-\$i ] || { echo \"key-\$i: got '\$v'\"; n=\$((n+1)); }
    done; echo missing=\$n")"
  echo "$bad" | tail -n 5
  echo "$bad" | grep -q '^missing=0$' || die "keys wrong after $what"
  echo "all $keys keys intact after $what"
}

step "create kind cluster $cluster"
kind create cluster --name "$cluster" --wait 120s

step "build and load the image ($image, and $image2 for the upgrade)"
docker build -t "$image" .
docker tag "$image" "$image2"
kind load docker-image --name "$cluster" "$image" "$image2"

step "helm install the operator"
helm --kube-context "kind-$cluster" install shardkv-operator \
  charts/shardkv-operator --namespace shardkv-system --create-namespace \
  --set image.repository=shardkv --set image.tag=e2e --wait --timeout 5m
helm --kube-context "kind-$cluster" test shardkv-operator \
  --namespace shardkv-system --timeout 5m

step "create a 3-shard ShardedKV"
kubectl --context "kind-$cluster" create namespace "$ns"
kc apply -f - <<EOF
apiVersion: shardkv.io/v1alpha1
kind: ShardedKV
metadata:
  name: $name
spec:
  shards: 3
  replicasPerShard: 3
  image: $image
  storage:
    size: 256Mi
    retainOnScaleIn: false
  replaceAfter: 1m
EOF
wait_cluster 3
kc run e2e-client --image="$image" --image-pull-policy=Never \
  --command -- sleep infinity
kc wait --for=condition=Ready pod/e2e-client --timeout=2m

step "load $keys keys"
load_keys
verify_keys "load"

step "scale out to 5 shards"
kc scale shardedkv "$name" --replicas=5
wait_cluster 5
verify_keys "scale-out to 5"

step "scale in to 2 shards"
kc patch shardedkv "$name" --type=merge -p '{"spec":{"shards":2}}'
wait_cluster 2
verify_keys "scale-in to 2"
[ "$(kc get pvc -l "shardkv.io/cluster=$name,shardkv.io/role=shard" \
  -o name | grep -c -- '-shard-[2-4]-')" -eq 0 ] ||
  die "PVCs of removed shards remain although retainOnScaleIn is false"

step "delete one pod of shard 0"
kc delete pod "$name-shard-0-1" --wait=false
sleep 5
wait_cluster 2
verify_keys "pod deletion"

step "delete a pod of shard 1 together with its PVC (replica replacement)"
kc delete pvc "data-$name-shard-1-2" --wait=false
kc delete pod "$name-shard-1-2" --wait=false
sleep 70 # past replaceAfter, so the operator replaces the replica
wait_cluster 2
verify_keys "pod+PVC loss"

step "change the image (rolling upgrade)"
kc patch shardedkv "$name" --type=merge -p "{\"spec\":{\"image\":\"$image2\"}}"
wait_cluster 2
for sts in $(kc get sts -l "shardkv.io/cluster=$name" -o name); do
  kc rollout status "$sts" --timeout=10m
  [ "$(kc get "$sts" -o jsonpath='{.spec.template.spec.containers[0].image}')" \
    = "$image2" ] || die "$sts still runs the old image"
done
verify_keys "rolling upgrade"

step "tear down"
kc delete shardedkv "$name" --wait=true --timeout=5m
helm --kube-context "kind-$cluster" uninstall shardkv-operator \
  --namespace shardkv-system
echo
echo "kind.sh: all steps passed"
