#!/usr/bin/env bash
# All the benchmarks, in one command: builds release binaries, then prints each
# figure as a ratio against its baseline, measured alternately in one run.
#
#   bash bench/run.sh            # full sizes (50,000 files; 5,000 merge requests)
#   QUICK=1 bash bench/run.sh    # small sizes, for a smoke test
#
# 1. The hook (cargo bench -p gitapps-tests --bench hook): a signed one-file push
#    to a 50,000-file repository with the hook, against the same push without it
#    (goal <= 1.1) and against an unsigned push to a plain server (goal <= 1.5);
#    `gitapps-hook explain` of a new branch of every file against `git ls-tree -r`
#    (goal <= 1.5).
# 2. git mr (git-mr/bench/run.sh): `git mr list --state all --json` on 5,000 merge
#    requests against `git ls-tree -r | git cat-file --batch` (goal <= 1.0), and
#    `git mr search` against `git grep` (goal <= 0.2).
# 3. git issue (git-issue/bench/run.sh): `git issue list --state all --json` on
#    5,000 issues against `git mr list` on 5,000 merge requests of the same shape
#    (goal <= 1.0).
# 4. Many writers (cargo bench -p gitapps-tests --bench writers): 100 users running
#    `git mr comment` at once against one after another, over the local path and
#    HTTP (goal: 0 failures, wall time <= 3x the sequential time).
# 4. verify (cargo bench -p gitapps-tests --bench verify): gitapps-hook verify of an
#    audit log of 10,000 records, from a fresh clone (goal: < 10 s).
# 5. The hook's growth curves (cargo bench -p gitapps-tests --bench scale): small,
#    medium and large points of keys (1 -> 10,000, signed by a subkey or a primary
#    key; goal: 10,000 within 1.1x of 1), rules (10 -> 10,000; goal 1.2x after the
#    first push), new branches in one push (1 -> 10,000), a force push over a
#    history of 1,000 -> 100,000 commits with a commit-graph (goal: within 1.5x of
#    no hook), and the hook against two no-op hooks (goal <= 1.05).
#    GITAPPS_BENCH_ONLY=keys,rules,branches,ancestry,floor runs some of them.
# 6. git mr as the data branch grows (git-mr/bench/scale.sh): 50 -> 50,000 merge
#    requests; `git mr show` of one with 1,000 comments against
#    `git ls-tree -r | git cat-file --batch` of its files (goal <= 2 warm, <= 3
#    right after a new data commit), `git mr list` right after one new comment
#    against warm (goal <= 1.5).
# 7. `git mr comment` as the data branch grows (cargo bench -p gitapps-tests
#    --bench mr_scale): 50 -> 50,000 merge requests, with the floor of a signed
#    push of one commit to the same server (goal: 50,000 within 1.5x of 50).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -n "${QUICK:-}" ]; then
  export GITAPPS_BENCH_FILES=2000 GITAPPS_BENCH_DIRS=20 GITAPPS_BENCH_ROUNDS=5
  export GITAPPS_BENCH_QUICK=1
  mrs=300 runs=3 writers=10
  export GITAPPS_BENCH_RECORDS=1000
  scale_points="50 500"
else
  mrs=5000 runs=10 writers=100
  scale_points="50 5000 50000"
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "git $(git --version | awk '{print $3}'), gpg $(gpg --version | awk 'NR==1 {print $3}'), $(rustc --version)"
cargo build --release --quiet -p gitapps-hooks -p git-mr-cli -p git-issue-cli

echo
echo "== the hook"
cargo bench --quiet -p gitapps-tests --bench hook 2>/dev/null

echo
echo "== git mr"
sh git-mr/bench/run.sh target/release/git-mr "$mrs" "$runs"

echo
echo "== git issue"
sh git-issue/bench/run.sh target/release/git-issue target/release/git-mr "$mrs" "$runs"

echo
echo "== many writers (git mr comment, all at once against one after another)"
GITAPPS_BENCH_WRITERS="$writers" cargo bench --quiet -p gitapps-tests --bench writers 2>/dev/null

echo
echo "== verify (gitapps-hook verify of a long audit log)"
cargo bench --quiet -p gitapps-tests --bench verify 2>/dev/null

echo
echo "== the hook's growth curves (each point against the same push without the hook)"
cargo bench --quiet -p gitapps-tests --bench scale 2>/dev/null

echo
echo "== git mr as the data branch grows (show, list)"
RUNS="$runs" sh git-mr/bench/scale.sh target/release/git-mr $scale_points

echo
echo "== git mr comment as the data branch grows"
cargo bench --quiet -p gitapps-tests --bench mr_scale 2>/dev/null
