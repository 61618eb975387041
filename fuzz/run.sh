#!/usr/bin/env bash
# Fuzz one target for a while, niced, on a scratch corpus seeded from the committed one.
#   fuzz/run.sh <target> <seconds> [extra libFuzzer flags...]
# Findings go to fuzz/artifacts/<target>/; the log (executions, cov, ft) to
# fuzz/artifacts/<target>.log. Minimize back into corpus/ with cmin.sh.
set -euo pipefail
cd "$(dirname "$0")"
target=$1 seconds=$2
shift 2
features=()
case $target in
  selectors | patches) features=(--features testserver) ;;
  protobuf) features=(--features protobuf) ;;
esac
cargo fuzz build --sanitizer none -O "${features[@]}" "$target"
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/$target
scratch=${FUZZ_SCRATCH:-/tmp/kubecto-fuzz}/$target
mkdir -p "$scratch" "artifacts/$target"
case $target in
  list_body | watch | protobuf_stream) max_len=8192 ;;
  kubeconfig | patches | protobuf) max_len=4096 ;;
  *) max_len=1024 ;;
esac
/usr/bin/time -f "cpu_seconds %U user %S sys" nice -n 19 "$bin" -max_total_time="$seconds" \
  -rss_limit_mb=2048 -timeout=10 -max_len=$max_len -print_final_stats=1 \
  -artifact_prefix="artifacts/$target/" "$@" "$scratch" "corpus/$target" \
  2>&1 | grep -v -E '^(#[0-9]+\s+(NEW|REDUCE|pulse)|\s+NEW_FUNC|")' | tee -a "artifacts/$target.log"
