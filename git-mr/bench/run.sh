#!/bin/sh
# Benchmark `git mr list --state all --json` and `git mr search` on a data branch
# with 5,000 merge requests against git's own plumbing doing the same reads,
# alternately, RUNS times each.
# usage: git-mr/bench/run.sh [GIT_MR_BINARY] [N] [RUNS]
set -eu
bin=$(realpath "${1:-target/release/git-mr}")
n=${2:-5000}
runs=${3:-10}
here=$(dirname "$(realpath "$0")")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$dir"
git init -q --bare "$dir/server.git"
python3 "$here/fixture.py" "$n" | git -C "$dir/server.git" fast-import --quiet
git clone -q "$dir/server.git" "$dir/clone" 2>/dev/null
cd "$dir/clone"
"$bin" fetch
branch=refs/remotes/origin/apps/merge-reqs/data
now() { date +%s%N; }
plumbing_list() {
  git ls-tree -r "$branch" | awk '$4 ~ /\/(title|target)$/ {print $3}' | git cat-file --batch >/dev/null
}
plumbing_search() { git grep -q -i frobnicator "$branch" -- merge-reqs >/dev/null; }
bench() { # name, ours, theirs
  ours_total=0; theirs_total=0
  for i in $(seq "$runs"); do
    t0=$(now); eval "$2" >/dev/null; t1=$(now); eval "$3" >/dev/null; t2=$(now)
    ours_total=$((ours_total + t1 - t0)); theirs_total=$((theirs_total + t2 - t1))
  done
  echo "$1: git-mr $((ours_total / runs / 1000000)) ms, plumbing $((theirs_total / runs / 1000000)) ms, ratio $(echo "scale=2; $ours_total / $theirs_total" | bc)"
}
GITAPPS_OFFLINE=1 "$bin" list --state all --json >/dev/null  # warm the cache
GITAPPS_OFFLINE=1 "$bin" search frobnicator --json >/dev/null  # warm the index
echo "$n merge requests, $runs alternate runs each"
bench "list (offline)" "GITAPPS_OFFLINE=1 '$bin' list --state all --json" plumbing_list
bench "list (with fetch)" "'$bin' list --state all --json" plumbing_list
bench "search (offline, warm index)" "GITAPPS_OFFLINE=1 '$bin' search frobnicator --json" plumbing_search
rm -rf .git/git-mr
bench "list (offline, cold cache)" "rm -rf .git/git-mr; GITAPPS_OFFLINE=1 '$bin' list --state all --json" plumbing_list
