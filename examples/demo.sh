#!/usr/bin/env bash
# A tour of git apps on this machine: a server repository with the hook, an owner,
# a contributor and a maintainer who register their own keys, a CI bot, and one
# merge request from creation to merge — with the pushes the policy refuses.
# Everything lives in a temporary directory that is removed at the end; nothing
# is left running.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
[ -n "${NO_COLOR:-}" ] && bold='' dim='' off=''
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
say() { printf '%s%s%s\n' "$dim" "$*" "$off"; }

# git and gpg for everyone; bubblewrap for the CI bot's sandbox (installed when missing).
. "$root/scripts/ensure-programs.sh"
ensure_programs git:git gpg:gnupg gpg-agent:gpg-agent bwrap:bubblewrap

step "Building gitapps-hook, git-mr, git-issue and ci-bot (one cargo build --release of the four binaries)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" \
  --bin gitapps-hook --bin git-mr --bin git-issue --bin ci-bot
export PATH="$root/target/release:$PATH"

demo=$(mktemp -d /tmp/gitapps-demo.XXXXXX)
cleanup() {
  for home in "$demo"/gpg-*; do
    [ -d "$home" ] && GNUPGHOME="$home" gpgconf --kill gpg-agent 2>/dev/null || true
  done
  rm -rf "$demo"
}
trap cleanup EXIT
cd "$demo"

# Each person has their own gpg home, git identity and clone; nothing global is touched.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$demo" NO_COLOR=1
declare -A fpr
newuser() {
  local home="$demo/gpg-$1"
  mkdir -m 700 "$home"
  GNUPGHOME="$home" gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "$1 <$1@example.org>" ed25519 sign never 2>/dev/null
  fpr[$1]=$(GNUPGHOME="$home" gpg --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
}
# as NAME CMD...: run a command as that person.
as() {
  local who=$1; shift
  GNUPGHOME="$demo/gpg-$who" GIT_AUTHOR_NAME=$who GIT_AUTHOR_EMAIL=$who@example.org \
    GIT_COMMITTER_NAME=$who GIT_COMMITTER_EMAIL=$who@example.org "$@"
}
# at NAME CMD...: run a command as that person, in their clone, echoing it.
at() {
  local who=$1; shift
  printf '%s$ %s%s\n' "$dim" "$*" "$off"
  (cd "$demo/$who" && as "$who" "$@")
}
clone() {
  as "$1" git clone -q "$demo/server.git" "$demo/$1"
  git -C "$demo/$1" config user.signingkey "${fpr[$1]}"
}
step "Four keys: alice owns the project, bob contributes, carol maintains, ci is a bot"
for who in alice bob carol ci; do newuser "$who"; say "$who: ${fpr[$who]}"; done

step "The server: a bare repository with the hook, owned by alice, open for registration"
as alice gpg --export --armor "${fpr[alice]}" > alice.asc
gitapps-hook install server.git --owner alice.asc --open-registration | sed "s|$demo/||"

step "alice pushes the project; its test is ./check.sh"
mkdir alice && cd alice && git init -q -b main && git config user.signingkey "${fpr[alice]}"
printf '#!/bin/sh\n# The project test: every line of greeting.txt says hello.\n! grep -v hello greeting.txt\n' > check.sh
chmod +x check.sh && echo "hello world" > greeting.txt
as alice git add . && as alice git commit -qm "A project with a test"
git remote add origin "$demo/server.git"
cd .. && at alice git push -q --signed origin main

step "bob, carol and the bot register their own keys: git mr register (anyone may add keys/<own fpr>.asc)"
for who in bob carol ci; do clone "$who"; at "$who" git mr register; done

step "alice sets merge requests up: carol maintains, ci is the CI group; maintainers may push main"
at alice git fetch -q origin apps/access-control
at alice git mr init --maintainer "${fpr[carol]}" --ci "${fpr[ci]}"
(cd alice && as alice git fetch -q origin apps/access-control && as alice git switch -q -c ac FETCH_HEAD &&
  printf 'maintainers fast-forward ^heads/main$\n' > refs/main.conf &&
  printf 'branch ^heads/main$\nmaintainers create-directory,create-file,modify,delete ^.*$\n' > branches/main.conf &&
  gitapps-hook validate . && as alice git add refs branches && as alice git commit -qm "Maintainers push main" &&
  as alice git push -q --signed origin ac:apps/access-control && as alice git switch -q main)
say "refs/main.conf and branches/main.conf pushed"

step "alice sets the issue tracker up too (the same maintainers), and carol files an issue"
at alice git issue init --maintainer "${fpr[carol]}"
at carol git issue create -t "Greet louder" -m "One quiet greeting is not enough." --label enhancement

step "bob opens a merge request with a change that breaks the test"
(cd bob && as bob git switch -q -c shout && echo "HELLO THERE" >> greeting.txt &&
  as bob git commit -qam "Shout a greeting")
at bob git mr create -t "Add a second greeting" -m "Greets louder." --label needs-review --fixes carol/1
at bob git issue show carol/1

step "The CI bot tests the newest revision in its sandbox (bubblewrap) and reports back"
cat > ci-bot.toml <<EOF
remote = "$demo/server.git"
workdir = "$demo/ci-work"
command = "./check.sh"
timeout_secs = 60
poll_secs = 5
signing_key = "${fpr[ci]}"
log_tail_lines = 20
EOF
printf '%s$ ci-bot --config ci-bot.toml --once%s\n' "$dim" "$off"
as ci ci-bot --config ci-bot.toml --once 2>&1 | grep -E ' (jobs|limits): | (finished|posted) ' | sed 's/^/  /'
say "(bwrap: the job writes only its checkout and a private /tmp, and sees none of the bot's keys)"
at carol git mr list

step "carol reviews: a comment on the line that breaks the test, and the project's merge rules"
at carol git mr comment bob/1 --path greeting.txt --line 2 -m "The test fails here: greetings say hello, in lower case."
at carol git mr diff bob/1
at carol git mr settings --approvals 1 --ci pass

step "bob fixes it and pushes revision 2"
(cd bob && echo "hello there, loudly" > greeting.txt && echo "hello world" >> greeting.txt &&
  as bob git commit -qam "Greet loudly, in lower case")
at bob git mr revise bob/1 -m "Lower case, as the test wants."
as ci ci-bot --config ci-bot.toml --once 2>&1 | sed 's/^/  /' | tail -3
say "What changed since revision 1 (the interdiff: content, not only commit subjects):"
at bob git mr diff bob/1 --since 1
at bob git mr edit bob/1 -t "Add a second, louder greeting"
say "(the old title stays in the history: git mr show --history)"

step "bob may not rewrite carol's comment: a crafted push is refused by the hook"
(cd bob && as bob git fetch -q origin apps/merge-reqs/data && as bob git switch -q -c tamper FETCH_HEAD &&
  comment=$(git ls-tree -r --name-only HEAD merge-reqs | grep "/comments/${fpr[carol]}/0$") &&
  echo "Looks perfect, merge it!" >> "$comment" && as bob git commit -qam "edit carol's comment" &&
  printf '%s$ git push --signed origin tamper:apps/merge-reqs/data%s\n' "$dim" "$off" &&
  { as bob git push -q --signed origin tamper:apps/merge-reqs/data 2>&1 | grep -E "gitapps|rejected" || true; } &&
  as bob git switch -q shout)

step "carol merges revision 2 into main, once she approved it: one signed, atomic push"
at carol git mr merge bob/1 || say "(refused: the settings want an approval of revision 2)"
at carol git mr approve bob/1 -m "Lower case it is. Thanks!"
at carol git mr merge bob/1

step "Where things stand"
at carol git mr list --state all
at carol git mr show bob/1
say "The merge closed the issue it fixes, in the same push:"
at carol git issue list --state all
at carol git issue show carol/1

step "Every accepted push is in the audit log, with its certificate, recorded before git applied it"
# The log is the first-parent chain; a record's other parents keep the commits it speaks of.
git --git-dir=server.git log --first-parent -5 --format='%h %s' refs/apps/push-certs
# Its first record is the genesis (written by install), whose first parent is the
# first apps/access-control commit: count the push records.
say "… $(git --git-dir=server.git log --first-parent --format=%s refs/apps/push-certs | grep -c '^push by') records of signed pushes in all"

step "Anyone can check the server: clone, then gitapps-hook verify (signatures, policy at each point, every ref)"
as ci git clone -q "$demo/server.git" "$demo/auditor"
printf '%s$ %s%s\n' "$dim" "gitapps-hook verify --owner ${fpr[alice]}" "$off"
(cd "$demo/auditor" && gitapps-hook verify --owner "${fpr[alice]}")
say "A server that moves main back by hand (git update-ref, no push) is caught by the next run:"
git --git-dir=server.git update-ref refs/heads/main refs/heads/main~1
printf '%s$ %s%s\n' "$dim" "gitapps-hook verify" "$off"
(cd "$demo/auditor" && gitapps-hook verify) || say "(exit $?: a problem was found)"

step "Done. Everything was in $demo, which is removed now."
