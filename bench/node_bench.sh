#!/usr/bin/env bash
# Benchmarks one shard of three replicas on this machine: starts three
# shardkv-node processes on loopback (fsync on, fresh data dirs), loads the
# keys, runs `shardkv bench` for each workload and prints one line each.
#
# Usage: bench/node_bench.sh [--seconds 10] [--clients 64] [--keys 100000]
#                            [--value-size 256] [--node-flags "..."]
# Example: bench/node_bench.sh --node-flags --classic-ready-loop
# Env: SHARDKV_BUILD_DIR (default build): where bin/shardkv{,-node} are.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 clients=64 keys=100000 value_size=256 node_flags=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --node-flags) node_flags="$2"; shift 2 ;;
    *) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
bin="${SHARDKV_BUILD_DIR:-build}/bin"
[ -x "$bin/shardkv-node" ] || scripts/build.sh release >/dev/null

dir=$(mktemp -d /tmp/shardkv-bench-XXXXXX)
base=$((20000 + RANDOM % 20000))
peers="1=127.0.0.1:$base,2=127.0.0.1:$((base + 1)),3=127.0.0.1:$((base + 2))"
endpoints="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
for id in 1 2 3; do
  # shellcheck disable=SC2086
  "$bin/shardkv-node" --id "$id" --listen "127.0.0.1:$((base + id - 1))" \
    --peers "$peers" --data-dir "$dir/node-$id" $node_flags \
    >"$dir/node-$id.log" 2>&1 &
  pids+=($!)
done
cli=("$bin/shardkv" --endpoints "$endpoints")
for _ in $(seq 100); do
  "${cli[@]}" status 2>/dev/null | grep -q leader && break
  sleep 0.1
done

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), node flags: ${node_flags:-none}"
echo "# clients=$clients value_size=$value_size keys=$keys seconds=$seconds"
run() {  # name, extra bench flags...
  local name="$1"; shift
  local out
  out=$("${cli[@]}" bench --clients "$clients" --duration "${seconds}s" \
    --warmup 2s --value-size "$value_size" --keys "$keys" "$@" 2>&1)
  printf '%-22s %s  | %s\n' "$name" \
    "$(grep '^total' <<<"$out" | sed 's/^total *//')" \
    "$(grep '^errors' <<<"$out")"
}
"${cli[@]}" bench --clients "$clients" --duration 1s --warmup 0s \
  --value-size "$value_size" --keys "$keys" --read-ratio 0 --load >/dev/null
run "write" --read-ratio 0
run "read-linearizable" --read-ratio 1
run "read-stale" --read-ratio 1 --consistency stale
run "mixed-50/50" --read-ratio 0.5
