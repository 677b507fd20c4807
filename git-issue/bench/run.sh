#!/bin/sh
# Benchmark `git issue list --state all --json` on N issues against
# `git mr list --state all --json` on N merge requests of the same shape (the
# same fixture generator), alternately, RUNS times each: warm, then cold.
# usage: git-issue/bench/run.sh [GIT_ISSUE] [GIT_MR] [N] [RUNS]
set -eu
issue=$(realpath "${1:-target/release/git-issue}")
mr=$(realpath "${2:-target/release/git-mr}")
n=${3:-5000}
runs=${4:-10}
fixture=$(dirname "$(realpath "$0")")/../../git-mr/bench/fixture.py
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$dir"
git init -q --bare "$dir/server.git"
python3 "$fixture" "$n" 50 merge-reqs | git -C "$dir/server.git" fast-import --quiet
python3 "$fixture" "$n" 50 issues | git -C "$dir/server.git" fast-import --quiet --force
git clone -q "$dir/server.git" "$dir/clone" 2>/dev/null
cd "$dir/clone"
"$mr" fetch
"$issue" fetch
now() { date +%s%N; }
bench() { # name, issues, merge requests
  a_total=0; b_total=0
  for i in $(seq "$runs"); do
    t0=$(now); eval "$2" >/dev/null; t1=$(now); eval "$3" >/dev/null; t2=$(now)
    a_total=$((a_total + t1 - t0)); b_total=$((b_total + t2 - t1))
  done
  echo "$1: git issue $((a_total / runs / 1000000)) ms, git mr $((b_total / runs / 1000000)) ms, ratio $(echo "scale=2; $a_total / $b_total" | bc)"
}
export GITAPPS_OFFLINE=1
"$issue" list --state all --json >/dev/null
"$mr" list --state all --json >/dev/null
echo "$n issues and $n merge requests, $runs alternate runs each (goal: ratio <= 1.0)"
bench "list (warm)" "'$issue' list --state all --json" "'$mr' list --state all --json"
bench "list (cold cache)" "rm -rf .git/git-issue; '$issue' list --state all --json" "rm -rf .git/git-mr; '$mr' list --state all --json"
