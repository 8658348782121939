#!/usr/bin/env bash
# Throughput as the data grows: shardkv (1 shard x 3 replicas, fsync on) and
# etcd (3 members, fsync on, default 2 GB quota), loaded step by step with
# RECORDS keys of VALUE_SIZE bytes, measured after each step with the same
# load generator (`shardkv bench`): 100 % updates and linearizable reads,
# uniform over every loaded key.
#
# Issue 5 asks for 100k and 10M keys of 1 KB (10 GB of values; x3 replicas
# on disk). etcd's default quota (2 GB per member) stops it on the way: when
# etcd raises its NOSPACE alarm the script stops loading it, says at how many
# keys, and leaves it out of the later steps instead of hiding it.
#
# Usage: bench/scale_bench.sh [--steps 100000,1000000,10000000]
#          [--value-size 1024] [--seconds 20] [--clients 64]
#          [--systems shardkv,etcd] [--shardkv-batch 4]
# Each step loads keys 0..N-1 (rewriting the smaller step's keys, so a step
# costs N writes). Disk needed: about 3 x N x VALUE_SIZE x 2 for shardkv
# (three replicas; RocksDB space amplification) plus etcd's 3 x 2 GB.
# Prints one line per step, system and workload, e.g.
#   records=10000000 system=shardkv workload=write ops=... p99_ms=...
# and the data size on disk after each load. Env: SHARDKV_BUILD_DIR
# (default build), TMPDIR (where the data goes). Every process it starts is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=100000,1000000,10000000 value_size=1024 seconds=20 warmup=3
clients=64 systems=shardkv,etcd shardkv_batch=4
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    --shardkv-batch) shardkv_batch="$2"; shift 2 ;;
    *) echo "scale_bench: unknown argument $1 (see the top of $0)" >&2
       exit 2 ;;
  esac
done
build="${SHARDKV_BUILD_DIR:-build}"
[ -x "$build/bin/shardkv-node" ] || scripts/build.sh release >/dev/null
if [[ ",$systems," == *",etcd,"* ]]; then
  command -v etcd >/dev/null && command -v etcdctl >/dev/null || {
    echo "scale_bench: etcd not found; run scripts/install-deps.sh" >&2
    exit 1
  }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/shardkv-scale-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "# $(date -u +%H:%M:%S) $*" >&2; }

base=$((20000 + RANDOM % 20000))
shardkv_peers="" shardkv_endpoints="" cluster="" etcd_endpoints=""
for i in 1 2 3; do
  shardkv_peers+="${shardkv_peers:+,}$i=127.0.0.1:$((base + i))"
  shardkv_endpoints+="${shardkv_endpoints:+,}127.0.0.1:$((base + i))"
  cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 20 + i))"
  etcd_endpoints+="${etcd_endpoints:+,}127.0.0.1:$((base + 10 + i))"
done
if [[ ",$systems," == *",shardkv,"* ]]; then
  for i in 1 2 3; do
    "$build/bin/shardkv-node" --id "$i" --listen "127.0.0.1:$((base + i))" \
      --peers "$shardkv_peers" --data-dir "$dir/shardkv-$i" \
      >"$dir/shardkv-$i.log" 2>&1 &
    pids+=($!)
  done
fi
if [[ ",$systems," == *",etcd,"* ]]; then
  for i in 1 2 3; do
    etcd --name "m$i" --data-dir "$dir/etcd-$i" \
      --listen-client-urls "http://127.0.0.1:$((base + 10 + i))" \
      --advertise-client-urls "http://127.0.0.1:$((base + 10 + i))" \
      --listen-peer-urls "http://127.0.0.1:$((base + 20 + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((base + 20 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "scale-$$" >"$dir/etcd-$i.log" 2>&1 &
    pids+=($!)
  done
fi
wait_for() {  # what, command...
  local what="$1"; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "scale_bench: $what did not become ready in 30 s (logs in $dir)" >&2
  exit 1
}
shardkv_ready() {
  "$build/bin/shardkv" --endpoints "$shardkv_endpoints" status | grep -q leader
}
etcd_ready() {
  etcdctl --endpoints "$etcd_endpoints" --command-timeout 1s endpoint health
}
[[ ",$systems," == *",shardkv,"* ]] && wait_for shardkv shardkv_ready
[[ ",$systems," == *",etcd,"* ]] && wait_for etcd etcd_ready

endpoints_of() { [ "$1" = etcd ] && echo "$etcd_endpoints" || echo "$shardkv_endpoints"; }
bench() {  # system, records, output, bench flags...
  local system="$1" records="$2" out="$3" extra=()
  shift 3
  [ "$system" = shardkv ] && extra=(--batch "$shardkv_batch")
  "$build/bin/shardkv" --endpoints "$(endpoints_of "$system")" --timeout 10s \
    bench --target "$system" --clients "$clients" --value-size "$value_size" \
    --records "$records" "${extra[@]}" "$@" >"$out" 2>&1
}
etcd_nospace() {
  etcdctl --endpoints "$etcd_endpoints" --command-timeout 2s alarm list \
    2>/dev/null | grep -q NOSPACE
}
etcd_keys() {
  etcdctl --endpoints "$etcd_endpoints" --command-timeout 120s get "" \
    --prefix --limit 1 -w json 2>/dev/null |
    grep -o '"count":[0-9]*' | cut -d: -f2
}
# Loads `records` keys; for etcd, stops at its NOSPACE alarm. Returns 1
# when the system cannot take the step.
load() {  # system, records
  local system="$1" records="$2" out="$dir/load-$1-$2.out"
  local started=$SECONDS
  bench "$system" "$records" "$out" --load --read-ratio 1 --duration 1s \
    --warmup 0s &
  local bench_pid=$!
  while kill -0 "$bench_pid" 2>/dev/null; do
    sleep 5
    if [ "$system" = etcd ] && etcd_nospace; then
      kill "$bench_pid" 2>/dev/null || true
      wait "$bench_pid" 2>/dev/null || true
      say "etcd: NOSPACE alarm (quota exceeded) while loading $records" \
        "keys: it holds $(etcd_keys) keys, $(du -sh "$dir/etcd-1" | cut -f1)" \
        "on disk per member; left out of this and later steps"
      return 1
    fi
  done
  wait "$bench_pid" || { tail -5 "$out" >&2; return 1; }
  local disk
  disk=$(du -sch "$dir/$system"-[123] | awk '/total/ {print $1}')
  say "$system: loaded $records keys in $((SECONDS - started)) s;" \
    "$disk on disk over 3 replicas; $(grep '^load' "$out" | head -1)"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# value_size=$value_size clients=$clients seconds=$seconds" \
  "shardkv: 1 shard x 3, --batch $shardkv_batch; etcd: 3 members, one call per request"
active=",$systems,"
IFS=, read -r -a step_list <<<"$steps"
for records in "${step_list[@]}"; do
  for system in shardkv etcd; do
    [[ "$active" == *",$system,"* ]] || continue
    say "$system: loading $records keys of $value_size bytes"
    if ! load "$system" "$records"; then
      active=${active/,$system,/,}
      continue
    fi
    for w in "write|--read-ratio 0" "read-linearizable|--read-ratio 1"; do
      name=${w%%|*}
      out="$dir/$name-$system-$records.out"
      # shellcheck disable=SC2086
      bench "$system" "$records" "$out" ${w#*|} --duration "${seconds}s" \
        --warmup "${warmup}s" || { tail -5 "$out" >&2; continue; }
      awk -v r="$records" -v s="$system" -v w="$name" '
        /^total/ {gsub(",", "", $2); ops=$2;
                  for (i = 1; i <= NF; i++) if ($i == "p99") p99 = $(i + 1)}
        /^errors/ {sub(/^errors */, ""); err=$0}
        END {printf "records=%s system=%s workload=%s ops=%s p99_ms=%s errors=%s\n",
             r, s, w, ops, p99, err}' "$out"
    done
  done
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
