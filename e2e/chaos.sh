#!/usr/bin/env bash
# The robustness suite: a sharded cluster of real processes under recorded
# traffic and seeded faults, checked for linearizability, lost writes,
# replica agreement, slot ownership and sanitizer reports.
#
#   e2e/chaos.sh [--seconds N] [--seed S] [--faults LIST] [--asan]
#                [--profile short|long] [other shardkv-chaos flags]
#
# --profile short  (CI) three fixed seeds, 60 s each
# --profile long   random seeds for 30 minutes or more (--seconds, default 1800)
# --asan           run the nodes built with AddressSanitizer/UBSan (build-asan)
#
# The last line is `ops=N faults=N violations=N lost=N`; the exit status is
# non-zero on any violation, and the run's history, logs and data dirs are
# kept (their paths are printed) for replay with the same --seed.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=""
build=release
args=()
seconds=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --asan) build=asan; shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done

scripts/install-deps.sh >/dev/null
scripts/build.sh "$build" >/dev/null
dir=build
[[ "$build" == asan ]] && dir=build-asan
cmake --build "$dir" --target shardkv-chaos -j2 >/dev/null
chaos="$dir/bin/shardkv-chaos"

case "$profile" in
  "")
    exec "$chaos" ${seconds:+--seconds "$seconds"} "${args[@]}" ;;
  short)
    status=0
    for seed in 11 22 33; do
      echo "== chaos short profile: seed $seed"
      "$chaos" --seed "$seed" --seconds "${seconds:-60}" "${args[@]}" || status=1
    done
    exit $status ;;
  long)
    total="${seconds:-1800}"
    end=$(( $(date +%s) + total ))
    status=0
    runs=0
    while [[ $(date +%s) -lt $end ]]; do
      seed=$(( (RANDOM << 15) | RANDOM ))
      runs=$((runs + 1))
      echo "== chaos long profile: run $runs, seed $seed"
      "$chaos" --seed "$seed" --seconds 300 "${args[@]}" || { status=1; break; }
    done
    echo "chaos long profile: $runs runs, status $status"
    exit $status ;;
  *)
    echo "e2e/chaos.sh: --profile must be short or long" >&2; exit 2 ;;
esac
