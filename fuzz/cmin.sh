#!/usr/bin/env bash
# Minimize a target's corpus: the committed corpus plus what run.sh found, merged into a
# fresh corpus/<target>/ with a small set of inputs that covers every edge either covers
# (libFuzzer -set_cover_merge=1; hit counts and comparison operands are not kept as
# features, which keeps a few hundred files per target instead of thousands).
#   fuzz/cmin.sh <target>
set -euo pipefail
cd "$(dirname "$0")"
target=$1
bin=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/$target
scratch=${FUZZ_SCRATCH:-/tmp/kubecto-fuzz}/$target
case $target in
  list_body | watch | protobuf_stream) max_len=8192 ;;
  kubeconfig | patches | protobuf) max_len=4096 ;;
  *) max_len=1024 ;;
esac
fresh=$(mktemp -d)
# Hand-written seeds and regressions stay whatever the merge thinks of them.
cp corpus/"$target"/seed-* corpus/"$target"/regression-* "$fresh"/ 2>/dev/null || true
nice -n 19 "$bin" -set_cover_merge=1 -use_counters=0 -use_cmp=0 -rss_limit_mb=2048 -timeout=10 -max_len=$max_len \
  "$fresh" "corpus/$target" "$scratch" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files'
rm -rf "corpus/$target"
mv "$fresh" "corpus/$target"
# At most $CAP inputs (400): the seeds and regressions, then those adding the most edges.
nice -n 19 "$bin" -merge=1 -merge_control_file="$fresh.mcf" -use_counters=0 -use_cmp=0 \
  -rss_limit_mb=2048 -timeout=10 -max_len=$max_len "$(mktemp -d)" "corpus/$target" >/dev/null 2>&1
python3 cap.py "$fresh.mcf" "corpus/$target" "${CAP:-400}"
rm -f "$fresh.mcf"
chmod 755 "corpus/$target"
echo "$target: $(ls "corpus/$target" | wc -l) files, $(du -sh "corpus/$target" | cut -f1)"
