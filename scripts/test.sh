#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs, builds, then:
#   1. every test (unit, Raft simulation, storage, multi-process fault tests)
#      on the release build, the multi-process ones in both Ready-loop
#      modes (log-writer thread, and --classic-ready-loop);
#   2. the chaos suite's short profile (e2e/chaos.sh: a sharded cluster
#      under seeded faults, three fixed seeds);
#   3. the unit tests again under AddressSanitizer + UBSan.
# The Kubernetes tests build kube-apiserver and helm once per machine
# (cached in ~/.cache/shardkv; see docs/operations.md).
# Usage: scripts/test.sh [--quick]   (--quick skips the sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
start=$(date +%s)

scripts/build.sh release
echo "== tests (release build)"
ctest --test-dir build --output-on-failure --timeout 900 \
  -j "${SHARDKV_TEST_JOBS:-2}"
echo "== multi-process tests again, nodes in the classic Ready loop"
SHARDKV_TEST_NODE_FLAGS=--classic-ready-loop \
  ctest --test-dir build --output-on-failure --timeout 900 -L integration \
    -j "${SHARDKV_TEST_JOBS:-2}"

echo "== chaos suite, short profile"
e2e/chaos.sh --profile short --seconds "${SHARDKV_CHAOS_SECONDS:-45}"

if [ "$quick" -eq 0 ]; then
  scripts/build.sh asan unit_tests
  echo "== unit tests under ASan/UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 900 -L unit \
      -j "${SHARDKV_TEST_JOBS:-2}"
fi
echo "test.sh: all tests passed in $(( $(date +%s) - start ))s"
