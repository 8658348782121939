#!/usr/bin/env bash
# Builds shardkv (installing what it needs) and starts a local cluster: a
# controller on 127.0.0.1:7001 and three shards of three replicas on the
# next ports, data in ./playground-data. Extra arguments go to `shardkv
# playground` (e.g. --shards, --data-dir, --port; --shards and --replicas
# replace the defaults). Ctrl-C stops it; starting it again brings the same
# cluster and data back; `build/bin/shardkv playground scale --shards N`
# grows or shrinks it while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release
defaults=()
[[ " $* " == *" --shards"* ]] || defaults+=(--shards 3)
[[ " $* " == *" --replicas"* ]] || defaults+=(--replicas 3)
exec build/bin/shardkv playground "${defaults[@]}" "$@"
