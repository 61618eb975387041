#!/usr/bin/env python3
"""Keeps at most N inputs of a corpus: seeds and regressions, then, greedily, the inputs
that add the most edges not yet covered (from a libFuzzer -merge_control_file), smallest
first on ties. Usage: cap.py CONTROL_FILE CORPUS_DIR N"""
import os, sys

control, corpus, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(control).read().splitlines()
n = int(lines[0])
paths = lines[2:2 + n]
cov = {}
for line in lines[2 + n:]:
    if line.startswith("COV "):
        _, i, *edges = line.split()
        cov[int(i)] = set(edges)
keep, covered = set(), set()
for i, p in enumerate(paths):
    if os.path.basename(p).startswith(("seed-", "regression-")):
        keep.add(i)
        covered |= cov.get(i, set())
candidates = [i for i in range(n) if i not in keep and os.path.exists(paths[i])]
while len(keep) < limit and candidates:
    best = max(candidates, key=lambda i: (len(cov.get(i, set()) - covered), -os.path.getsize(paths[i])))
    gain = cov.get(best, set()) - covered
    if not gain:
        break
    keep.add(best)
    covered |= gain
    candidates.remove(best)
total = set().union(*cov.values()) if cov else set()
for i, p in enumerate(paths):
    if i not in keep and os.path.dirname(os.path.abspath(p)) == os.path.abspath(corpus):
        os.remove(p)
print(f"kept {len(keep)} inputs covering {len(covered)} of {len(total)} edges")
