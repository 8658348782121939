#!/usr/bin/env bash
# Side-by-side benchmark: shardkv vs etcd vs Redis on this machine, same load
# generator (`shardkv bench --target ...`), same keys, values and histogram.
#
# Starts, on loopback ports found free:
#   - etcd: a 3-member cluster (Debian's etcd-server, fsync on, default
#     quota), data under the same directory (same disk) as shardkv's;
#   - Redis: one redis-server, no replication, no persistence (the in-memory
#     ceiling, for reference);
#   - shardkv: one shard of 3 replicas (3 shardkv-node processes, fsync on),
#     what `shardkv playground --shards 1 --replicas 3` starts;
#   - shardkv 3x3: `shardkv playground --shards 3 --replicas 3` (a controller
#     and three shards of three replicas, 10 processes), driven through the
#     bench's routing target (keys routed by the slot map, batched per shard
#     leader). On a 2-core machine its 9 nodes share the same 2 cores as the
#     1x3 shard's 3, so it is not expected to beat 1x3 here.
# Loads RECORDS records into each, then runs every workload against every
# system and prints one line per workload, e.g.
#   workload=A clients=64 shardkv=... shardkv_3x3=... etcd=... redis=...
#     ratio_vs_etcd=... ratio_3x3_vs_etcd=... p99_ms ...
# and writes the table, the machine and a PNG plot into docs/benchmarks.md
# (between the compare markers, so a rerun replaces them).
# Every process started here is stopped on exit (trap), also on failure.
#
# Usage: bench/compare.sh [--seconds 20] [--quick] [--clients 64]
#          [--value-size 256] [--records 100000] [--no-docs]
#          [--shardkv-batch 4] [--unbatched-too] [--no-3x3]
#   --quick: 3 s per workload, 1 s warm-up, 10,000 records (a smoke run)
#   --shardkv-batch N: shardkv's load generator uses the client library's
#     request batching (`shardkv bench --batch N`: the closed-loop clients'
#     concurrent requests to a replica share KV.Batch calls, at most N in
#     flight per replica). Default 4. etcd's clientv3 has no such feature
#     (one RPC per request), so this is a client-library difference, not a
#     server one; 0 sends one call per request, like etcd.
#   --unbatched-too: also run shardkv with one call per request and add
#     that as its own column (the apples-to-apples line).
#   --no-3x3: skip the 3 shards x 3 replicas playground and its column.
# Env: SHARDKV_BUILD_DIR (default build; built with scripts/build.sh if the
#   binaries are missing), TMPDIR (where every system keeps its data).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20 warmup=3 clients=64 value_size=256 records=100000 docs=1 quick=0
shardkv_batch=4 unbatched_too=0 with_3x3=1
args_used="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --quick) quick=1 seconds=3 warmup=1 records=10000; shift ;;
    --clients) clients="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --records) records="$2"; shift 2 ;;
    --no-docs) docs=0; shift ;;
    --shardkv-batch) shardkv_batch="$2"; shift 2 ;;
    --unbatched-too) unbatched_too=1; shift ;;
    --no-3x3) with_3x3=0; shift ;;
    *) echo "compare: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

build="${SHARDKV_BUILD_DIR:-build}"
if [ ! -x "$build/bin/shardkv" ] || [ ! -x "$build/bin/shardkv-node" ]; then
  [ "$build" = build ] || { echo "compare: no binaries in $build/bin" >&2; exit 1; }
  scripts/build.sh release >/dev/null
fi
for tool in etcd etcdctl redis-server redis-cli gnuplot python3; do
  command -v "$tool" >/dev/null || {
    echo "compare: $tool not found; run scripts/install-deps.sh" >&2
    exit 1
  }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/shardkv-compare-XXXXXX")
pids=()
names=()
cleanup() {
  local i
  # The playground stops its nodes on SIGTERM before it exits.
  for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {  # message, log file
  echo "compare: $1" >&2
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 20 "$2" >&2
  exit 1
}

# N distinct free loopback ports, the last `consecutive` of them in a row.
free_ports() {
  python3 - "$1" "$2" <<'PY'
import random, socket, sys
n, consecutive = int(sys.argv[1]), int(sys.argv[2])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
out = []
while len(out) < n - consecutive:
    p = random.randint(20000, 60000)
    if p not in out and free(p): out.append(p)
while True:
    b = random.randint(20000, 60000)
    run = list(range(b, b + consecutive))
    if not set(run) & set(out) and all(free(p) for p in run):
        out += run; break
print(" ".join(map(str, out)))
PY
}
# 10 single ports (etcd, Redis, 1x3) + 10 in a row for the 3x3 playground
# (controller, then the shards' replicas).
read -r -a ports <<<"$(free_ports 20 10)"

# --- etcd: three members --------------------------------------------------
cluster="" etcd_endpoints=""
for m in 1 2 3; do
  peer=${ports[$((m * 2 - 1))]}
  cluster+="${cluster:+,}m$m=http://127.0.0.1:$peer"
  etcd_endpoints+="${etcd_endpoints:+,}127.0.0.1:${ports[$((m * 2 - 2))]}"
done
for m in 1 2 3; do
  client=${ports[$((m * 2 - 2))]} peer=${ports[$((m * 2 - 1))]}
  etcd --name "m$m" --data-dir "$dir/etcd-$m" \
    --listen-client-urls "http://127.0.0.1:$client" \
    --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$cluster" --initial-cluster-state new \
    --initial-cluster-token "compare-$$" >"$dir/etcd-$m.log" 2>&1 &
  pids+=($!) names+=("etcd-$m")
done

# --- Redis ----------------------------------------------------------------
redis_port=${ports[6]}
mkdir -p "$dir/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" \
  --save "" --appendonly no >"$dir/redis.log" 2>&1 &
pids+=($!) names+=(redis)

# --- shardkv: 1 shard x 3 replicas ----------------------------------------
# The nodes are started directly, as `shardkv playground --shards 1
# --replicas 3` does, so the comparison does not depend on the playground's
# orchestration (controller, slot map), which a single shard does not use.
shardkv_peers="" shardkv_endpoints=""
for id in 1 2 3; do
  port=${ports[$((6 + id))]}
  shardkv_peers+="${shardkv_peers:+,}$id=127.0.0.1:$port"
  shardkv_endpoints+="${shardkv_endpoints:+,}127.0.0.1:$port"
done
for id in 1 2 3; do
  "$build/bin/shardkv-node" --id "$id" --listen "127.0.0.1:${ports[$((6 + id))]}" \
    --peers "$shardkv_peers" --data-dir "$dir/shardkv-$id" \
    >"$dir/shardkv-$id.log" 2>&1 &
  pids+=($!) names+=("shardkv-$id")
done

# --- shardkv: 3 shards x 3 replicas (the playground) ----------------------
if [ "$with_3x3" = 1 ]; then
  "$build/bin/shardkv" playground --shards 3 --replicas 3 \
    --data-dir "$dir/shardkv-3x3" --port "${ports[10]}" \
    >"$dir/playground-3x3.log" 2>&1 &
  pids+=($!) names+=(playground-3x3)
fi

ready() {  # what, log, command...
  local what="$1" log="$2"; shift 2
  local tries="${ready_tries:-200}"  # of 0.1 s
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    for i in "${!pids[@]}"; do
      kill -0 "${pids[$i]}" 2>/dev/null ||
        fail "${names[$i]} exited while starting $what" "$dir/${names[$i]}.log"
    done
    sleep 0.1
  done
  fail "$what did not become ready in $((tries / 10)) s" "$log"
}
ready etcd "$dir/etcd-1.log" \
  etcdctl --endpoints "$etcd_endpoints" --command-timeout 1s endpoint health
ready redis "$dir/redis.log" redis-cli -p "$redis_port" ping
shardkv_has_leader() {
  "$build/bin/shardkv" --endpoints "$shardkv_endpoints" status 2>/dev/null |
    grep -q leader
}
ready shardkv "$dir/shardkv-1.log" shardkv_has_leader
shardkv_3x3_endpoints=""
if [ "$with_3x3" = 1 ]; then
  # The playground prints its endpoints (controller first) once every shard
  # has joined and the slots are assigned.
  playground_ready() { grep -q '^endpoints: ' "$dir/playground-3x3.log"; }
  ready_tries=900 ready "the 3x3 playground" "$dir/playground-3x3.log" playground_ready
  shardkv_3x3_endpoints=$(sed -n 's/^endpoints: //p' "$dir/playground-3x3.log")
fi
echo "# etcd $etcd_endpoints | redis 127.0.0.1:$redis_port | shardkv $shardkv_endpoints" \
  "${shardkv_3x3_endpoints:+| shardkv 3x3 $shardkv_3x3_endpoints}" >&2

endpoints_of() {
  case "$1" in
    shardkv | shardkv-unbatched) echo "$shardkv_endpoints" ;;
    shardkv-3x3) echo "$shardkv_3x3_endpoints" ;;
    etcd) echo "$etcd_endpoints" ;;
    redis) echo "127.0.0.1:$redis_port" ;;
  esac
}
# "shardkv-unbatched" is shardkv driven with one call per request;
# "shardkv-3x3" the 3x3 playground through the routing target.
bench() {  # system, json file, bench flags...
  local system="$1" json="$2" target="$1" extra=()
  shift 2
  case "$system" in
    shardkv | shardkv-3x3) target=shardkv extra=(--batch "$shardkv_batch") ;;
    shardkv-unbatched) target=shardkv extra=(--batch 0) ;;
  esac
  "$build/bin/shardkv" --endpoints "$(endpoints_of "$system")" bench \
    --target "$target" --clients "$clients" --value-size "$value_size" \
    --records "$records" --json "$json" "${extra[@]}" "$@" \
    >>"$dir/bench.log" 2>&1 ||
    fail "bench against $system failed: shardkv bench ${extra[*]} $*" \
      "$dir/bench.log"
}

mkdir -p "$dir/results"
systems=(shardkv etcd redis)
[ "$with_3x3" = 1 ] && systems=(shardkv shardkv-3x3 etcd redis)
echo "# shardkv: client-side batching --batch $shardkv_batch" \
  "(0 = one call per request; etcd and Redis: one call per request)" \
  "$([ "$unbatched_too" = 1 ] && echo "+ an unbatched shardkv column")" >&2
for s in "${systems[@]}"; do
  echo "# loading $records records into $s" >&2
  bench "$s" "$dir/results/load-$s.json" --load --read-ratio 1 \
    --duration 1s --warmup 0s
done
# name | bench flags (Redis has one consistency level: its "stale" run is
# its plain GET, listed under both read workloads).
workloads=(
  "write|--read-ratio 0"
  "read-linearizable|--read-ratio 1"
  "read-stale|--read-ratio 1 --consistency stale"
  "A|--workload A"
  "B|--workload B"
)
run_systems=("${systems[@]}")
[ "$unbatched_too" = 1 ] &&
  run_systems=(shardkv shardkv-unbatched "${systems[@]:1}")
for w in "${workloads[@]}"; do
  name=${w%%|*} flags=${w#*|}
  for s in "${run_systems[@]}"; do
    if [ "$s" = redis ] && [ "$name" = read-stale ]; then
      cp "$dir/results/read-linearizable-redis.json" "$dir/results/$name-$s.json"
      continue
    fi
    echo "# $name on $s" >&2
    # shellcheck disable=SC2086
    bench "$s" "$dir/results/$name-$s.json" $flags \
      --duration "${seconds}s" --warmup "${warmup}s"
  done
done

command_line="bench/compare.sh${args_used:+ $args_used}"
report_args=(--results "$dir/results" --clients "$clients"
  --command "$command_line" --quick "$quick" --shardkv-batch "$shardkv_batch"
  --unbatched-too "$unbatched_too" --with-3x3 "$with_3x3")
[ "$docs" = 1 ] && report_args+=(--docs docs/benchmarks.md
  --plot docs/benchmarks-compare.png)
python3 bench/compare_report.py "${report_args[@]}"
