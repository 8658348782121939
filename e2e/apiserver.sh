#!/usr/bin/env bash
# A real Kubernetes API server for tests (envtest-style; these machines have no
# container engine, so no kind): kube-apiserver v1.30 on Debian's etcd-server,
# both on free loopback ports, with generated certificates.
#
#   e2e/apiserver.sh up DIR     start; prints KUBECONFIG=, KUBECTL=, HELM= lines
#                               (eval-able) once /readyz answers
#   e2e/apiserver.sh down DIR   stop both processes and remove their state
#
# For tests of 410 Gone: etcd is compacted every 5 s and PodTemplates bypass
# the watch cache, so a watch of podtemplates from an old resourceVersion is
# answered "too old" within ~10 s of start (the watch cache would
# replay every cached event instead).
#
# SHARDKV_FIXTURE_OWNER_PID=PID stops the fixture once process PID has ended
# (so a crashed test leaves nothing running).
# SHARDKV_APISERVER_FLAGS adds kube-apiserver flags.
# SHARDKV_KUBE_TOOLS=DIR uses kube-apiserver/kubectl/helm from DIR instead of
# building them (e2e/kubetools.sh).
#
# Authentication: client certificates. DIR/kubeconfig is the cluster admin
# (group system:masters); DIR/pki/ca.crt is the CA a client must trust.
# Authorization is RBAC, so the RBAC manifests mean what they say. Only the API
# server runs: no controller manager or scheduler, so Deployments create no pods
# and namespaces get no default service account (the ServiceAccount admission
# plugin is off so tests can create pods themselves).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

log() { echo "apiserver.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() { die "usage: $0 up DIR | down DIR"; }

# A loopback TCP port nobody listens on now. Ports are taken at random from a
# range away from the ephemeral one to make collisions between tests unlikely.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 12000)) # below Linux's ephemeral 32768+
    if ! ss -Htln "sport = :$port" | grep -q .; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

make_pki() {
  local pki="$1"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=shardkv-test-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat >server.ext <<EOF
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
extendedKeyUsage=serverAuth
EOF
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
      -keyout server.key -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -extfile server.ext -out server.crt 2>/dev/null
    echo "extendedKeyUsage=clientAuth" >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" \
      -keyout admin.key -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

write_kubeconfig() {
  local dir="$1" port="$2"
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: shardkv-test
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $dir/pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $dir/pki/admin.crt
    client-key: $dir/pki/admin.key
contexts:
- name: shardkv-test
  context:
    cluster: shardkv-test
    user: admin
    namespace: default
current-context: shardkv-test
EOF
  chmod 600 "$dir/kubeconfig"
}

# Starts a command detached in its own session, its pid in $1, output in $2.
start_daemon() {
  local pidfile="$1" logfile="$2"
  shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

wait_ready() {
  local dir="$1" port="$2" what="$3" url="$4"
  for _ in $(seq 1 240); do
    if curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" \
      --key "$dir/pki/admin.key" "$url" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  log "$what did not become ready; last lines of its log:"
  tail -20 "$dir/$what.log" >&2 || true
  down "$dir"
  exit 1
}

up() {
  local dir="$1"
  command -v etcd >/dev/null || die "no etcd: apt-get install etcd-server"
  command -v openssl >/dev/null || die "no openssl: apt-get install openssl"
  [ -e "$dir/apiserver.pid" ] && die "$dir already holds a running fixture"
  local tools="${SHARDKV_KUBE_TOOLS:-}"
  [ -n "$tools" ] || tools="$("$here/kubetools.sh")"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  make_pki "$dir/pki"

  local etcd_port etcd_peer_port api_port
  etcd_port="$(free_port)"
  etcd_peer_port="$(free_port)"
  api_port="$(free_port)"

  log "starting etcd on 127.0.0.1:$etcd_port"
  start_daemon "$dir/etcd.pid" "$dir/etcd.log" etcd --name fixture \
    --data-dir "$dir/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "fixture=http://127.0.0.1:$etcd_peer_port"
  wait_ready "$dir" "$etcd_port" etcd "http://127.0.0.1:$etcd_port/health"

  log "starting kube-apiserver on 127.0.0.1:$api_port"
  start_daemon "$dir/apiserver.pid" "$dir/apiserver.log" \
    "$tools/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --secure-port "$api_port" --cert-dir "$dir/pki" \
    --tls-cert-file "$dir/pki/server.crt" \
    --tls-private-key-file "$dir/pki/server.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --service-account-key-file "$dir/pki/sa.pub" \
    --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode RBAC --endpoint-reconciler-type none \
    --etcd-compaction-interval 5s --watch-cache-sizes podtemplates#0 \
    --disable-admission-plugins ServiceAccount \
    --allow-privileged=true \
    ${SHARDKV_APISERVER_FLAGS:-}
  wait_ready "$dir" "$api_port" apiserver "https://127.0.0.1:$api_port/readyz"
  write_kubeconfig "$dir" "$api_port"
  # A test that crashes never calls down: with an owner, a watchdog does.
  if [ -n "${SHARDKV_FIXTURE_OWNER_PID:-}" ]; then
    setsid bash -c "while kill -0 $SHARDKV_FIXTURE_OWNER_PID 2>/dev/null; do
        sleep 2; done; '$here/apiserver.sh' down '$dir'" \
      >/dev/null 2>&1 </dev/null &
  fi
  echo "KUBECONFIG=$dir/kubeconfig"
  echo "KUBECTL=$tools/kubectl"
  echo "HELM=$tools/helm"
}

stop_pid() {
  local pidfile="$1" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

down() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  stop_pid "$dir/apiserver.pid"
  stop_pid "$dir/etcd.pid"
  # Only what up created, so a DIR that holds other files keeps them.
  rm -rf "$dir/pki" "$dir/etcd-data" "$dir/etcd.log" "$dir/apiserver.log" \
    "$dir/kubeconfig"
  rmdir "$dir" 2>/dev/null || true
}

[ $# -eq 2 ] || usage
case "$1" in
  up) up "$2" ;;
  down) down "$2" ;;
  *) usage ;;
esac
