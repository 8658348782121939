#!/usr/bin/env bash
# The packaging against a real kube-apiserver (e2e/apiserver.sh): the CRD,
# every manifest and the rendered Helm chart pass `kubectl apply
# --dry-run=server`; invalid ShardedKVs are rejected by the schema and CEL
# rules with clear messages; defaults, the scale subresource, printer columns
# and the operator's RBAC behave as documented. Registered with ctest (label
# integration). The first run on a machine builds kube-apiserver, kubectl and
# helm from source (slow, printed as it goes); later runs take seconds.
#
# Usage: e2e/k8s_test.sh
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*"; }
step() { echo "== $(date +%H:%M:%S) $*"; }

dir="$(mktemp -d /tmp/shardkv-k8s-test-XXXXXX)"
trap 'e2e/apiserver.sh down "$dir"' EXIT

step "starting kube-apiserver + etcd (builds them on the first run)"
if ! fixture="$(SHARDKV_FIXTURE_OWNER_PID=$$ e2e/apiserver.sh up "$dir")"; then
  echo "k8s_test: the API server fixture did not start"
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$fixture"
export KUBECONFIG
k() { "$KUBECTL" "$@"; }
echo "  $($KUBECTL version 2>/dev/null | tr '\n' ' ')"

# expect_ok NAME COMMAND...: the command must succeed.
expect_ok() {
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then ok "$name"; else bad "$name"; echo "$out" | sed 's/^/       /'; fi
}

# expect_rejected NAME MESSAGE YAML: applying YAML must fail, saying MESSAGE.
expect_rejected() {
  local name="$1" message="$2" yaml="$3" out
  if out="$(echo "$yaml" | k apply --dry-run=server -f - 2>&1)"; then
    bad "$name: accepted"
  elif echo "$out" | grep -qF -- "$message"; then
    ok "$name: $(echo "$out" | grep -oF -- "$message" | head -1)"
  else
    bad "$name: rejected without '$message':"
    echo "$out" | sed 's/^/       /'
  fi
}

shardedkv() { # shardedkv NAME SPEC-LINES...
  local name="$1"
  shift
  printf 'apiVersion: shardkv.io/v1alpha1\nkind: ShardedKV\nmetadata:\n  name: %s\n  namespace: default\nspec:\n' "$name"
  for line in "$@"; do printf '  %s\n' "$line"; done
}

step "CRD"
expect_ok "CRD passes --dry-run=server" \
  k apply --dry-run=server -f crds/shardkv.io_shardedkvs.yaml
expect_ok "CRD installs (server-side apply)" \
  k apply --server-side -f crds/shardkv.io_shardedkvs.yaml
# Polled rather than `kubectl wait`: right after the create the CRD may
# have no status.conditions yet, which kubectl wait reports as an error
# ("accessor error: <nil>") instead of waiting (seen once at load ~20).
crd_established() {
  local i
  for i in $(seq 1 120); do
    [ "$(k get crd shardedkvs.shardkv.io \
      -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' \
      2>/dev/null)" = True ] && return 0
    sleep 0.5
  done
  echo "not Established after 60 s"
  return 1
}
expect_ok "CRD becomes Established" crd_established
expect_ok "chart's CRD is the same file as crds/" \
  cmp crds/shardkv.io_shardedkvs.yaml \
  charts/shardkv-operator/crds/shardkv.io_shardedkvs.yaml

step "manifests/"
expect_ok "namespace applies" k apply -f manifests/namespace.yaml
for f in manifests/*.yaml manifests/samples/*.yaml; do
  expect_ok "$f passes --dry-run=server" k apply --dry-run=server -f "$f"
done

step "Helm chart"
expect_ok "helm lint" "$HELM" lint charts/shardkv-operator
if rendered="$("$HELM" template shardkv-operator charts/shardkv-operator \
  --namespace shardkv-system --include-crds --kube-version 1.30.14 2>&1)"; then
  ok "helm template renders"
  expect_ok "helm template output passes --dry-run=server" \
    k apply --dry-run=server -f - <<<"$rendered"
  for kind in CustomResourceDefinition ClusterRole ClusterRoleBinding Role \
    RoleBinding ServiceAccount Deployment Pod; do
    if grep -q "^kind: $kind\$" <<<"$rendered"; then ok "chart renders a $kind"
    else bad "chart renders no $kind"; fi
  done
else
  bad "helm template: $rendered"
fi

step "RBAC: the operator's service account may do what it needs, no more"
expect_ok "rbac.yaml applies" k apply -f manifests/rbac.yaml
chart_rules="$("$HELM" template shardkv-operator charts/shardkv-operator \
  --kube-version 1.30.14 --show-only templates/clusterrole.yaml |
  k create --dry-run=client -o jsonpath='{.rules}' -f - 2>&1)"
if [ "$chart_rules" = "$(k get clusterrole shardkv-operator -o jsonpath='{.rules}')" ]; then
  ok "chart ClusterRole rules equal manifests/rbac.yaml's"
else
  bad "chart ClusterRole rules differ from manifests/rbac.yaml's"
fi
sa=system:serviceaccount:shardkv-system:shardkv-operator
can() { # can yes|no VERB RESOURCE [NAMESPACE]
  local want="$1" got
  got="$(k auth can-i --as "$sa" "$2" "$3" ${4:+-n "$4"} 2>/dev/null)"
  if [ "$got" = "$want" ]; then ok "can-i $2 $3 ${4:-(all namespaces)}: $got"
  else bad "can-i $2 $3 ${4:-}: $got, want $want"; fi
}
can yes watch shardedkvs.shardkv.io
can yes update shardedkvs.shardkv.io/status
can yes create statefulsets.apps default
can yes delete persistentvolumeclaims default
can yes create poddisruptionbudgets.policy default
can yes update leases.coordination.k8s.io shardkv-system
can no update leases.coordination.k8s.io default
can no create pods default
can no get secrets default
can no delete shardedkvs.shardkv.io default
can no create customresourcedefinitions.apiextensions.k8s.io

step "ShardedKV validation"
expect_ok "the sample is accepted" \
  k apply --dry-run=server -f manifests/samples/shardedkv.yaml
expect_rejected "shards 0" "spec.shards in body should be greater than or equal to 1" \
  "$(shardedkv a 'shards: 0')"
expect_rejected "replicasPerShard 2" "spec.replicasPerShard must be odd" \
  "$(shardedkv a 'shards: 1' 'replicasPerShard: 2')"
expect_rejected "controllerReplicas 4" "spec.controllerReplicas must be odd" \
  "$(shardedkv a 'controllerReplicas: 4')"
expect_rejected "slotCount 1000" "spec.slotCount must be a power of two" \
  "$(shardedkv a 'slotCount: 1000')"
expect_rejected "slotCount 131072" "should be less than or equal to 65536" \
  "$(shardedkv a 'slotCount: 131072')"
expect_rejected "shards above slotCount" "must not exceed spec.slotCount" \
  "$(shardedkv a 'shards: 5' 'slotCount: 4')"
expect_rejected "storage size 0" "spec.storage.size must be greater than zero" \
  "$(shardedkv a 'storage: {size: "0"}')"
expect_rejected "storage size garbage" "spec.storage.size in body should match" \
  "$(shardedkv a 'storage: {size: lots}')"
expect_rejected "replaceAfter 10s" "spec.replaceAfter must be at least 30s" \
  "$(shardedkv a 'replaceAfter: 10s')"
expect_rejected "replaceAfter not a duration" "spec.replaceAfter in body should match" \
  "$(shardedkv a 'replaceAfter: soon')"
expect_rejected "requests above limits" "requests must be at most their limits" \
  "$(shardedkv a 'resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}')"
expect_rejected "unknown pull policy" "Unsupported value" \
  "$(shardedkv a 'imagePullPolicy: Sometimes')"

step "defaults, immutability, scale subresource, printer columns"
expect_ok "a minimal ShardedKV is created" \
  k apply -f - <<<"$(shardedkv live 'shards: 3')"
for field in "replicasPerShard=3" "slotCount=4096" "controllerReplicas=3" \
  "replaceAfter=5m" "storage.size=10Gi" "storage.retainOnScaleIn=true"; do
  got="$(k get shardedkv live -o jsonpath="{.spec.${field%%=*}}")"
  if [ "$got" = "${field#*=}" ]; then ok "default $field"
  else bad "default ${field%%=*} is '$got', want ${field#*=}"; fi
done
expect_rejected "changing slotCount" "spec.slotCount is immutable" \
  "$(shardedkv live 'shards: 3' 'slotCount: 1024')"
expect_rejected "changing controllerReplicas" \
  "spec.controllerReplicas is fixed at creation" \
  "$(shardedkv live 'shards: 3' 'controllerReplicas: 5')"
expect_ok "changing shards is allowed" \
  k apply --dry-run=server -f - <<<"$(shardedkv live 'shards: 4')"
expect_ok "kubectl scale works through the scale subresource" \
  k scale shardedkv/live --replicas=5
got="$(k get shardedkv live -o jsonpath='{.spec.shards}')"
[ "$got" = 5 ] && ok "scale set spec.shards to 5" || bad "spec.shards is '$got' after scale"
header="$(k get shardedkv live | head -1)"
if [ "$(echo $header)" = "NAME SHARDS READY EPOCH PHASE AGE" ]; then
  ok "printer columns: $(echo $header)"
else
  bad "printer columns: '$header'"
fi
expect_ok "short name skv" k get skv live

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
