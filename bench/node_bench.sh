#!/usr/bin/env bash
# Benchmarks one shard of three replicas on this machine: starts three
# shardkv-node processes on loopback (fsync on, fresh data dirs), loads the
# keys, runs `shardkv bench` for each workload and prints one line each.
#
# Usage: bench/node_bench.sh [--seconds 10] [--clients 64] [--keys 100000]
#                            [--value-size 256] [--node-flags "..."]
#                            [--workloads write,read-linearizable,...]
#                            [--cpu] [--bench-flags "..."]
# Example: bench/node_bench.sh --node-flags --classic-ready-loop
#          bench/node_bench.sh --bench-flags "--batch 4"   # KV.Batch calls
# --cpu adds, per workload, load-robust costs measured with `perf stat` over
# the middle of the measured window: CPU microseconds per operation of the
# three nodes and of the load generator, context switches, syscalls and
# fsyncs (fsync + fdatasync) per operation of the nodes. Needs perf and
# kernel.perf_event_paranoid <= 1 (or root).
# Env: SHARDKV_BUILD_DIR (default build): where bin/shardkv{,-node} are.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 clients=64 keys=100000 value_size=256 node_flags=""
workloads="write,read-linearizable,read-stale,mixed-50/50" cpu=0
bench_flags=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --node-flags) node_flags="$2"; shift 2 ;;
    --workloads) workloads="$2"; shift 2 ;;
    --cpu) cpu=1; shift ;;
    --bench-flags) bench_flags="$2"; shift 2 ;;
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

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), node flags: ${node_flags:-none}, bench flags: ${bench_flags:-none}"
echo "# clients=$clients value_size=$value_size keys=$keys seconds=$seconds"
warmup=2
# perf stat over pids $1 (comma separated) for $2 seconds; prints
# "task_ms ctx syscalls fsyncs".
perf_window() {
  perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter \
    -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync \
    -p "$1" -- sleep "$2" 2>&1 >/dev/null | awk -F, '
      $3=="task-clock" {t=$1} $3=="context-switches" {c=$1}
      $3=="raw_syscalls:sys_enter" {s=$1} $3 ~ /sync/ {f+=$1}
      END {printf "%s %s %s %s\n", t, c, s, f}'
}
run() {  # name, extra bench flags...
  local name="$1"; shift
  [[ ",$workloads," == *",$name,"* ]] || return 0
  local out="$dir/bench.out" costs=""
  # shellcheck disable=SC2086
  "${cli[@]}" bench --clients "$clients" --duration "${seconds}s" \
    --warmup "${warmup}s" --value-size "$value_size" --keys "$keys" "$@" \
    $bench_flags >"$out" 2>&1 &
  local bench_pid=$!
  if [ "$cpu" = 1 ]; then
    # The middle of the measured window: from 0.5 s after the warm-up to
    # 0.5 s before the end.
    local window=$((seconds - 1))
    sleep $((warmup)).5
    local node_pids
    node_pids=$(IFS=,; echo "${pids[*]}")
    perf_window "$node_pids" "$window" >"$dir/perf.nodes" &
    local p1=$!
    perf_window "$bench_pid" "$window" >"$dir/perf.bench"
    wait "$p1"
  fi
  wait "$bench_pid" || true
  if [ "$cpu" = 1 ]; then
    local ops
    ops=$(awk '/^total/ {print $2}' "$out" | tr -d ,)
    costs=$(awk -v ops="$ops" -v w="$((seconds - 1))" '
      NR==FNR {nt=$1; nc=$2; ns=$3; nf=$4; next}
      {bt=$1}
      END {n=ops*w; if (n<=0) n=1;
        printf "cpu_us/op nodes=%.1f bench=%.1f ctxsw/op=%.2f " \
               "syscalls/op=%.2f fsyncs/op=%.4f", \
               nt*1000/n, bt*1000/n, nc/n, ns/n, nf/n}' \
      "$dir/perf.nodes" "$dir/perf.bench")
  fi
  printf '%-22s %s  | %s %s\n' "$name" \
    "$(grep '^total' "$out" | sed 's/^total *//')" \
    "$(grep '^errors' "$out")" "$costs"
}
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"${cli[@]}" bench --clients "$clients" --duration 1s --warmup 0s \
  --value-size "$value_size" --keys "$keys" --read-ratio 0 --load >/dev/null
run "write" --read-ratio 0
run "read-linearizable" --read-ratio 1
run "read-stale" --read-ratio 1 --consistency stale
run "mixed-50/50" --read-ratio 0.5
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
