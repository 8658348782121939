#!/usr/bin/env bash
# Measures an online rebalance under load: starts a playground of one shard
# (three replicas, a controller) in a temp dir on free ports, loads RECORDS
# 1 KiB values, starts background clients, runs `shardkv playground scale
# --shards 2` and times it, then prints bytes moved, MB/s, and the clients'
# throughput, p99 and errors for every 5 s window that overlapped the move.
#
# Clients during the move:
#  * `shardkv bench` windows (5 s each) against the playground's endpoints.
#    The bench's shardkv target routes by the slot map
#    (client/bench/shardkv_target.h): it follows the map as slots move,
#    retries WRONG_SHARD / SLOT_MIGRATING within its deadline, and reports
#    only what failed after that, so every error it prints is
#    client-visible. Each window's JSON also counts the retries.
#  * optionally (--probes N, default 0) N loops of the routing CLI
#    (`shardkv set` then `shardkv get` of a fresh key, value checked), one
#    process per operation; their latency includes process start.
#
# Usage: bench/rebalance_bench.sh [--records 262144] [--clients 16]
#                                 [--read-ratio 0.5] [--probes 0]
#                                 [--slot-count 4096] [--value-size 1024]
# Env: SHARDKV_BUILD_DIR (default build): where bin/shardkv{,-node} are; the
# binaries are copied to the temp dir so a rebuild meanwhile cannot change
# them. Stops every process it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
records=262144 clients=16 read_ratio=0.5 probes=0 slot_count=4096
value_size=1024
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --read-ratio) read_ratio="$2"; shift 2 ;;
    --probes) probes="$2"; shift 2 ;;
    --slot-count) slot_count="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    *) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
src="${SHARDKV_BUILD_DIR:-build}/bin"
[ -x "$src/shardkv-node" ] && [ -x "$src/shardkv" ] ||
  { echo "no $src/shardkv{,-node}; build them first" >&2; exit 2; }

dir=$(mktemp -d /tmp/shardkv-rebalance-XXXXXX)
mkdir "$dir/bin" "$dir/windows"
cp "$src/shardkv" "$src/shardkv-node" "$dir/bin/"
bin="$dir/bin"
pids=()
cleanup() {
  touch "$dir/stop"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP_DIR:-}" ]; then echo "# kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# Seven consecutive free ports: controller, shard 1 x3, shard 2 x3.
base=0
for _ in $(seq 50); do
  b=$((20000 + RANDOM % 30000)) ok=1
  for p in $(seq "$b" $((b + 6))); do
    if ss -ltn "( sport = :$p )" | grep -q LISTEN; then ok=0; break; fi
  done
  [ "$ok" = 1 ] && { base=$b; break; }
done
[ "$base" != 0 ] || { echo "no free ports" >&2; exit 1; }
data="$dir/data"
: >"$dir/playground.log"
"$bin/shardkv" playground --shards 1 --replicas 3 --slot-count "$slot_count" \
  --data-dir "$data" --port "$base" >"$dir/playground.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
  grep -q '^endpoints:' "$dir/playground.log" && break
  kill -0 "${pids[0]}" 2>/dev/null ||
    { cat "$dir/playground.log" >&2; exit 1; }
  sleep 0.2
done
all=$(sed -n 's/^endpoints: //p' "$dir/playground.log")
cli=("$bin/shardkv" --endpoints "$all")
stamp() { echo "$(date -u +%H:%M:%S) [load $(cut -d' ' -f1-3 /proc/loadavg)]"; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r)," \
  "binaries from $src"
echo "# records=$records x $value_size B" \
  "($((records * value_size / 1048576)) MiB of values)," \
  "clients=$clients read_ratio=$read_ratio probes=$probes" \
  "slot_count=$slot_count"
echo "$(stamp) loading"
"$bin/shardkv" --endpoints "$all" bench --clients 32 --records "$records" \
  --value-size "$value_size" --read-ratio 0 --duration 1s --warmup 0s --load \
  2>&1 | grep '^load:'
echo "$(stamp) loaded; data dirs: $(du -sm "$data"/shard-1-node-1 | cut -f1) MB" \
  "(one replica)"

# Background bench windows, numbered, until told to stop.
(
  i=0
  while [ ! -e "$dir/stop" ]; do
    i=$((i + 1))
    s=$(date +%s.%N)
    "$bin/shardkv" --endpoints "$all" bench --clients "$clients" \
      --records "$records" --value-size "$value_size" \
      --read-ratio "$read_ratio" \
      --duration 5s --warmup 0s --json "$dir/windows/$i.json" \
      >"$dir/windows/$i.txt" 2>&1 || true
    echo "$i $s $(date +%s.%N)" >>"$dir/windows/index"
  done
) &
pids+=($!)
probe() {  # n: a loop of set + get of fresh keys through the routing CLI
  local n="$1" i=0
  while [ ! -e "$dir/stop" ]; do
    i=$((i + 1))
    local k="probe-$n-$i" t0 t1 rc=0 got
    t0=$(date +%s%N)
    "${cli[@]}" --timeout 10s set "$k" "v$i" >/dev/null 2>>"$dir/probe-$n.err" ||
      rc=1
    got=$("${cli[@]}" --timeout 10s get "$k" 2>>"$dir/probe-$n.err") || rc=1
    [ "$got" = "v$i" ] || rc=1
    t1=$(date +%s%N)
    echo "$t0 $(( (t1 - t0) / 1000000 )) $rc" >>"$dir/probe-$n.log"
  done
}
for n in $(seq "$probes"); do probe "$n" & pids+=($!); done

sleep 12  # two windows before the move
echo "$(stamp) scale --shards 2 starts"
t0=$(date +%s.%N)
"$bin/shardkv" playground scale --shards 2 --data-dir "$data" \
  >"$dir/scale.log" 2>&1 || { echo "scale failed:"; tail -5 "$dir/scale.log"; }
t1=$(date +%s.%N)
echo "$(stamp) scale done"
sleep 8
touch "$dir/stop"
wait "${pids[1]}" 2>/dev/null || true
for n in $(seq "$probes"); do wait "${pids[$((n + 1))]}" 2>/dev/null || true; done

"${cli[@]}" status | sed -n '/^shard\|^totals/p'
totals=$("${cli[@]}" status | sed -n 's/^totals: //p')
grep -h 'MIGRATION_SWITCHED -> done' "$data"/controller-*.log \
  >"$dir/migrations.log" || true
# The copy rounds and freezes the controller logged (migration_runner.cc).
grep -h ' round after \|freeze + final round' "$data"/controller-*.log \
  >"$dir/rounds.log" || true
grep -h ': MIGRATION_[A-Z]* -> ' "$data"/controller-*.log \
  >"$dir/phases.log" || true
# Elections in the shards (a starved Raft loop misses heartbeats; each
# one stalls the shard's clients and imports for an election timeout).
elections=$(cat "$data"/shard-*-node-*.log 2>/dev/null |
  grep -c ' role pre-candidate' || true)
echo "shard elections started (pre-candidate, all replicas): $elections"
python3 - "$dir" "$t0" "$t1" "$totals" <<'PY'
import glob, json, os, re, sys
d, t0, t1, totals = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
secs = t1 - t0
m = re.search(r"([\d.]+) ([KMG]?i?B)", totals)
unit = {"B": 1, "KB": 1e3, "KiB": 1024, "MB": 1e6, "MiB": 2**20, "GB": 1e9, "GiB": 2**30}
moved = float(m.group(1)) * unit.get(m.group(2), 1) if m else 0
print(f"rebalance: {secs:.1f} s, moved {totals}; {moved / 1e6:.1f} MB -> "
      f"{moved / 1e6 / secs:.1f} MB/s")
print("window  start-s  ops/s   p50    p99   p99.9    max  errors  retries  (ms, relative to scale start)")
for line in open(os.path.join(d, "windows/index")):
    i, s, e = line.split()
    s, e = float(s) - t0, float(e) - t0
    try:
        j = json.load(open(os.path.join(d, "windows", i + ".json")))
    except Exception:
        print(f"{i:>6} {s:8.1f}  (no result)"); continue
    tot = j["total"]; l = tot["latency_ms"]
    r = j["parameters"].get("routing", {})
    retries = (f"wrong_shard {r.get('wrong_shard_retries', 0)} "
               f"migrating {r.get('slot_migrating_retries', 0)} "
               f"epoch {r.get('map_epoch', 0)}")
    during = "  <- during the move" if s < secs and e > 0 else ""
    print(f"{i:>6} {s:8.1f} {tot['ops_per_s']:6.0f} {l['p50']:6.1f} {l['p99']:6.1f} "
          f"{l['p99_9']:6.1f} {l['max']:7.1f}  {json.dumps(tot['errors'])}  "
          f"{retries}{during}")
ok = bad = 0; lat = []
for f in glob.glob(os.path.join(d, "probe-*.log")):
    for line in open(f):
        t, ms, rc = line.split()
        if float(t) / 1e9 < t0 or float(t) / 1e9 > t1: continue
        lat.append(int(ms)); ok += rc == "0"; bad += rc != "0"
lat.sort()
if lat:
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"routing-CLI probes during the move: {ok + bad} set+get pairs, {bad} failed; "
          f"per pair (2 process starts) p50 {p(.5)} ms, p99 {p(.99)} ms, max {lat[-1]} ms")
done = [re.search(r"after (\d+) ms, (\d+) ms in all, (\d+) keys, (\d+) bytes", l)
        for l in open(os.path.join(d, "migrations.log"))]
done = sorted((int(m.group(2)), int(m.group(4))) for m in done if m)
if done:
    n = len(done)
    print(f"controller: {n} migrations done; per migration (PREPARING..done) "
          f"p50 {done[n // 2][0]} ms, max {done[-1][0]} ms; "
          f"{sum(b for _, b in done) / n / 1e3:.0f} KB per migration on average")
rounds = [re.search(r"(final round|round) after \d+: (\d+) keys, (\d+) bytes in "
                    r"(\d+) imports, (\d+) ms", l)
          for l in open(os.path.join(d, "rounds.log"))]
rounds = [m for m in rounds if m]
if rounds:
    bulk = [m for m in rounds if m.group(1) == "round"]
    b = sum(int(m.group(3)) for m in bulk); im = sum(int(m.group(4)) for m in bulk)
    ms = sorted(int(m.group(5)) for m in bulk) or [0]
    print(f"copy rounds: {len(bulk)} ({b / 1e6:.1f} MB in {im} imports, "
          f"{b / max(im, 1) / 1e6:.2f} MB per import = per Raft entry); round "
          f"p50 {ms[len(ms) // 2]} ms, max {ms[-1]} ms")
freezes = sorted(int(m.group(1)) for m in (re.search(r"freeze \+ final round (\d+) ms", l)
                 for l in open(os.path.join(d, "rounds.log"))) if m)
if freezes:
    print(f"freeze + final round per batch: p50 {freezes[len(freezes) // 2]} ms, "
          f"max {freezes[-1]} ms ({len(freezes)} batches)")
phases = {}
for l in open(os.path.join(d, "phases.log")):
    m = re.search(r": MIGRATION_([A-Z]+) -> \w+ after (\d+) ms", l)
    if m: phases.setdefault(m.group(1), []).append(int(m.group(2)))
if phases:
    print("per phase (ms, p50/max over migrations): " + ", ".join(
        f"{k} {sorted(v)[len(v) // 2]}/{max(v)}" for k, v in phases.items()))
for f in glob.glob(os.path.join(d, "probe-*.err")):
    for line in open(f).read().splitlines()[:5]:
        print("probe error:", line)
PY
echo "$(stamp) end"
