#!/usr/bin/env bash
# Configures and builds shardkv.
# Usage: scripts/build.sh [release|asan] [TARGET...]   (default: every target)
#   release (default): build/        RelWithDebInfo, the binaries users run
#   asan:              build-asan/   Debug + AddressSanitizer + UBSan, with
#                                    failpoints compiled in (a test build)
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/scripts/install-deps.sh"

profile="${1:-release}"
[ $# -gt 0 ] && shift
targets=()
for t in "$@"; do targets+=(--target "$t"); done
case "$profile" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan
        flags=(-DCMAKE_BUILD_TYPE=Debug -DSHARDKV_SANITIZE=ON -DSHARDKV_FAILPOINTS=ON) ;;
  *) echo "usage: scripts/build.sh [release|asan]" >&2; exit 2 ;;
esac
jobs="${SHARDKV_JOBS:-$(nproc)}"
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" "${targets[@]}"
echo "build: $dir ready"
