#!/usr/bin/env bash
# Builds shardkv (installing what it needs) and starts a local cluster: one
# shard of three replicas on 127.0.0.1:7001-7003, data in ./playground-data.
# Extra arguments go to `shardkv playground` (e.g. --data-dir, --port).
# Ctrl-C stops it; starting it again brings the same data back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release
exec build/bin/shardkv playground --shards 1 --replicas 3 "$@"
