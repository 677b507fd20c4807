#!/bin/sh
# git mr as the data branch grows (issue 15, "Scale"): for N merge requests
# (50 authors; the first merge request has 1,000 comments more), alternately,
# RUNS times each:
#
# - `git mr show` of that merge request against git's plumbing reading its files
#   (`git ls-tree -r <its directory> | git cat-file --batch`), warm, and cold:
#   right after a new data commit (a comment on another merge request);
# - `git mr list --state all --json` right after a new data commit (one comment;
#   the cache is of the commit before) against the same list again (warm).
#
# Goals at 50,000: show within 2x of the plumbing warm and 3x cold; list after
# one comment within 1.5x of warm. Every command runs offline (no fetch).
# usage: git-mr/bench/scale.sh [GIT_MR_BINARY] [N...]   (RUNS=10 by default)
set -eu
bin=$(realpath "${1:-target/release/git-mr}")
shift || true
points=${*:-50 5000 50000}
runs=${RUNS:-10}
big=${BIG:-1000}
here=$(dirname "$(realpath "$0")")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$dir" GITAPPS_OFFLINE=1
branch=refs/remotes/origin/apps/merge-reqs/data
author() { printf "%040X" $((4096 + $1 * 7919)); }
a0=$(author 0)
now() { date +%s%N; }
ms() { echo "scale=1; $1 / $runs / 1000000" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
round=0
# A new data commit: one comment on another merge request (author 1's first).
new_comment() {
  round=$((round + 1))
  tip=$(git rev-parse "$branch")
  printf 'commit %s\ncommitter B <b@x> 1700000000 +0000\ndata 2\nc\nfrom %s\nM 100644 inline merge-reqs/%s/1/comments/%s/%d\ndata <<EOT\nDate: 2026-11-30T10:00:00Z\nRevision: 1\n\nround %d\nEOT\n\n' \
    "$branch" "$tip" "$(author 1)" "$(author 3)" $((100 + round)) "$round" | git fast-import --quiet --force
}
plumbing_show() {
  git ls-tree -r "$branch:merge-reqs/$a0/1" | awk '{print $3}' | git cat-file --batch >/dev/null
}
show() { "$bin" show "$a0/1" >/dev/null; }
list() { "$bin" list --state all --json >/dev/null; }
echo "git mr show of one merge request with $big comments more, and git mr list, as N grows; $runs alternate runs each"
for n in $points; do
  rm -rf "$dir/server.git" "$dir/clone"
  git init -q --bare "$dir/server.git"
  python3 "$here/fixture.py" "$n" 50 merge-reqs "$big" | git -C "$dir/server.git" fast-import --quiet
  git clone -q "$dir/server.git" "$dir/clone" 2>/dev/null
  cd "$dir/clone"
  GITAPPS_OFFLINE= "$bin" fetch >/dev/null
  list; show; plumbing_show
  show_warm=0 plumb_warm=0 show_cold=0 plumb_cold=0 list_cold=0 list_warm=0
  for i in $(seq "$runs"); do
    t0=$(now); show; t1=$(now); plumbing_show; t2=$(now)
    show_warm=$((show_warm + t1 - t0)); plumb_warm=$((plumb_warm + t2 - t1))
    new_comment
    t0=$(now); show; t1=$(now); plumbing_show; t2=$(now)
    show_cold=$((show_cold + t1 - t0)); plumb_cold=$((plumb_cold + t2 - t1))
    new_comment
    t0=$(now); list; t1=$(now); list; t2=$(now)
    list_cold=$((list_cold + t1 - t0)); list_warm=$((list_warm + t2 - t1))
  done
  echo "$n merge requests:"
  echo "  show, warm: git-mr $(ms $show_warm) ms, plumbing $(ms $plumb_warm) ms, ratio $(ratio $show_warm $plumb_warm) (goal <= 2 at 50,000)"
  echo "  show, after a new data commit: git-mr $(ms $show_cold) ms, plumbing $(ms $plumb_cold) ms, ratio $(ratio $show_cold $plumb_cold) (goal <= 3)"
  echo "  list, after one new comment: $(ms $list_cold) ms, warm $(ms $list_warm) ms, ratio $(ratio $list_cold $list_warm) (goal <= 1.5)"
  cd "$dir"
done
