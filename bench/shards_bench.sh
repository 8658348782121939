#!/usr/bin/env bash
# Throughput with 1, 2 and 4 shards on this machine: for each shard count
# starts a playground (three replicas per shard, a controller) in a temp dir
# on free ports and runs one `shardkv bench` per shard at the same time,
# each against that shard's replicas, and sums their successful ops/s.
#
# Why one bench per shard: `shardkv bench` (client/bench/shardkv_target.h)
# is not routing-aware; it sends every key to the one shard it was given.
# A key of another shard's slot answers WRONG_SHARD (FAILED_PRECONDITION),
# so each process also spends (N-1)/N of its requests on cheap rejections:
# the sum of ok ops/s is a lower bound of what a routing client would get.
#
# Usage: bench/shards_bench.sh [--seconds 10] [--clients 16] [--records 20000]
#                              [--read-ratio 0.5] [--shards "1 2 4"]
# Env: SHARDKV_BUILD_DIR (default build): where bin/shardkv{,-node} are
# (copied to the temp dir). Stops every process it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 clients=16 records=20000 read_ratio=0.5 shard_counts="1 2 4"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --records) records="$2"; shift 2 ;;
    --read-ratio) read_ratio="$2"; shift 2 ;;
    --shards) shard_counts="$2"; shift 2 ;;
    *) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
src="${SHARDKV_BUILD_DIR:-build}/bin"
[ -x "$src/shardkv-node" ] && [ -x "$src/shardkv" ] ||
  { echo "no $src/shardkv{,-node}; build them first" >&2; exit 2; }
dir=$(mktemp -d /tmp/shardkv-shards-XXXXXX)
mkdir "$dir/bin"
cp "$src/shardkv" "$src/shardkv-node" "$dir/bin/"
bin="$dir/bin"
pg=""
cleanup() {
  [ -n "$pg" ] && kill "$pg" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r)," \
  "binaries from $src"
echo "# per shard count: one bench per shard, clients=$clients each," \
  "read_ratio=$read_ratio, 1024-byte values, $records records, ${seconds}s"
for n in $shard_counts; do
  ports=$((1 + 3 * n)) base=0
  for _ in $(seq 50); do
    b=$((20000 + RANDOM % 30000)) ok=1
    for p in $(seq "$b" $((b + ports - 1))); do
      if ss -ltn "( sport = :$p )" | grep -q LISTEN; then ok=0; break; fi
    done
    [ "$ok" = 1 ] && { base=$b; break; }
  done
  [ "$base" != 0 ] || { echo "no free ports" >&2; exit 1; }
  data="$dir/data-$n"
  : >"$dir/playground-$n.log"
  "$bin/shardkv" playground --shards "$n" --replicas 3 --data-dir "$data" \
    --port "$base" >"$dir/playground-$n.log" 2>&1 &
  pg=$!
  for _ in $(seq 600); do
    grep -q '^endpoints:' "$dir/playground-$n.log" && break
    kill -0 "$pg" 2>/dev/null || { cat "$dir/playground-$n.log" >&2; exit 1; }
    sleep 0.2
  done
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  benches=()
  for s in $(seq "$n"); do
    r=$((base + 1 + 3 * (s - 1)))
    "$bin/shardkv" --endpoints "127.0.0.1:$r,127.0.0.1:$((r + 1)),127.0.0.1:$((r + 2))" \
      bench --clients "$clients" --records "$records" --value-size 1024 \
      --read-ratio "$read_ratio" --duration "${seconds}s" --warmup 2s \
      --json "$dir/shards-$n-$s.json" >"$dir/shards-$n-$s.txt" 2>&1 &
    benches+=($!)
  done
  for b in "${benches[@]}"; do wait "$b" || true; done
  python3 - "$dir" "$n" "$load" <<'PY'
import json, sys
d, n, load = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ops = 0; p99 = 0; errs = {}
for s in range(1, n + 1):
    j = json.load(open(f"{d}/shards-{n}-{s}.json"))["total"]
    ops += j["ops_per_s"]; p99 = max(p99, j["latency_ms"]["p99"])
    for k, v in j["errors"].items(): errs[k] = errs.get(k, 0) + v
print(f"{n} shard(s): {ops:7.0f} ok ops/s in all, worst per-process p99 "
      f"{p99:.1f} ms, errors {json.dumps(errs)}  [load before: {load}]")
PY
  kill "$pg"; wait "$pg" 2>/dev/null || true; pg=""
done
