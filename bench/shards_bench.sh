#!/usr/bin/env bash
# Throughput with 1, 2 and 4 shards on this machine: for each shard count
# starts a playground (three replicas per shard, a controller) in a temp dir
# on free ports and runs one `shardkv bench` against it. The bench's
# shardkv target routes by the slot map (client/bench/shardkv_target.h):
# given the playground's endpoints it finds the controller, sends each key
# to its shard's leader, batched per leader (--batch), and retries
# WRONG_SHARD / NOT_LEADER after a map refresh, so every request counts.
#
# Usage: bench/shards_bench.sh [--seconds 10] [--clients 64] [--records 20000]
#                              [--read-ratio 0.5] [--shards "1 2 4"]
#                              [--value-size 1024] [--batch 4]
# Env: SHARDKV_BUILD_DIR (default build): where bin/shardkv{,-node} are
# (copied to the temp dir). Stops every process it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 clients=64 records=20000 read_ratio=0.5 shard_counts="1 2 4"
value_size=1024 batch=4
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --records) records="$2"; shift 2 ;;
    --read-ratio) read_ratio="$2"; shift 2 ;;
    --shards) shard_counts="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
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
echo "# per shard count: one routing bench, clients=$clients," \
  "read_ratio=$read_ratio, $value_size-byte values, $records records" \
  "(loaded first), --batch $batch, 2s warm-up, ${seconds}s measured"
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
  all=$(sed -n 's/^endpoints: //p' "$dir/playground-$n.log")
  "$bin/shardkv" --endpoints "$all" bench --clients "$clients" \
    --records "$records" --value-size "$value_size" --batch "$batch" \
    --read-ratio 0 --duration 1s --warmup 0s --load \
    >"$dir/load-$n.txt" 2>&1 || { cat "$dir/load-$n.txt" >&2; exit 1; }
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  "$bin/shardkv" --endpoints "$all" bench --clients "$clients" \
    --records "$records" --value-size "$value_size" --batch "$batch" \
    --read-ratio "$read_ratio" --duration "${seconds}s" --warmup 2s \
    --json "$dir/shards-$n.json" >"$dir/shards-$n.txt" 2>&1 ||
    { cat "$dir/shards-$n.txt" >&2; exit 1; }
  python3 - "$dir" "$n" "$load" <<'PY'
import json, sys
d, n, load = sys.argv[1], int(sys.argv[2]), sys.argv[3]
j = json.load(open(f"{d}/shards-{n}.json"))
t, r = j["total"], j["parameters"].get("routing", {})
l = t["latency_ms"]
print(f"{n} shard(s): {t['ops_per_s']:7.0f} ops/s, p50 {l['p50']:.1f} ms, "
      f"p99 {l['p99']:.1f} ms, errors {json.dumps(t['errors'])}; "
      f"{r.get('shards', 0)} shards in the map, "
      f"{r.get('replicas_used', 0)} replicas used, retries: wrong_shard "
      f"{r.get('wrong_shard_retries', 0)}, not_leader "
      f"{r.get('not_leader_retries', 0)}  [load before: {load}]")
PY
  kill "$pg"; wait "$pg" 2>/dev/null || true; pg=""
done
