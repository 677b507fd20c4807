#!/usr/bin/env bash
# A tour of git apps on this machine: a server repository with the hook,
# an owner, a contributor who registers their own key, signed pushes that
# are accepted, and pushes that the policy rejects. Leaves nothing behind.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Building the binaries (cargo build --release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p gitapps-hooks
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

# Every person has their own gpg home and git identity; nothing global is touched.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$demo"
newuser() { # name -> prints fingerprint
  local home="$demo/gpg-$1"
  mkdir -m 700 "$home"
  GNUPGHOME="$home" gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "$1 <$1@example.org>" ed25519 sign never 2>/dev/null
  GNUPGHOME="$home" gpg --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'
}
as() { # as NAME cmd... : run a command as that user
  local who=$1; shift
  GNUPGHOME="$demo/gpg-$who" GIT_AUTHOR_NAME=$who GIT_AUTHOR_EMAIL=$who@example.org \
    GIT_COMMITTER_NAME=$who GIT_COMMITTER_EMAIL=$who@example.org "$@"
}

step "Two people, each with an OpenPGP key"
alice=$(newuser alice); echo "alice (owner):       $alice"
bob=$(newuser bob);     echo "bob (contributor):   $bob"

step "The server: a bare repository with the hook, owned by alice, open for registration"
as alice gpg --export --armor "$alice" > alice.asc
run gitapps-hook install server.git --owner alice.asc --open-registration

step "alice pushes main, signed"
as alice git init -q -b main alice && cd alice
git config user.signingkey "$alice"
echo "# demo project" > README.md && as alice git add README.md && as alice git commit -qm "Start"
run as alice git push --signed ../server.git main
cd ..

step "bob is not registered yet: his signed push is refused"
as bob git clone -q server.git bob && cd bob && git config user.signingkey "$bob"
echo "bob was here" > bob.txt && as bob git add bob.txt && as bob git commit -qm "bob's change"
run as bob git push --signed origin main || echo "(rejected, as it should be)"

step "bob registers his own key on apps/access-control (allowed by --open-registration)"
as bob git fetch -q origin apps/access-control
as bob git switch -q -c reg FETCH_HEAD
mkdir -p keys && as bob gpg --export --armor "$bob" > "keys/$bob.asc"
as bob git add keys && as bob git commit -qm "Register bob"
run as bob git push --signed origin reg:apps/access-control

step "bob is known now, but the policy does not let him push main"
as bob git switch -q main
run as bob git push --signed origin main || echo "(rejected: no rule allows bob to fast-forward main)"

step "alice asks the hook why, without pushing"
run gitapps-hook explain --repo ../server.git --user "$bob" refs/heads/main "$(git rev-parse main)" || true

step "alice gives everyone a namespace of their own: refs/heads/users/<fingerprint>/*"
cd ../alice
as alice git fetch -q ../server.git apps/access-control
as alice git switch -q -c ac FETCH_HEAD
printf 'anyone create-branch,fast-forward,force,delete ^heads/users/$user_id/.*$\n' > refs/users.conf
printf 'branch ^heads/users/.*$\nanyone create-directory,create-file,modify,delete ^.*$\n' > branches/users.conf
run gitapps-hook validate .
as alice git add refs branches && as alice git commit -qm "Personal branches"
run as alice git push --signed ../server.git ac:apps/access-control
cd ../bob

step "bob pushes to his own namespace: accepted"
run as bob git push --signed origin "main:refs/heads/users/$bob/feature"
step "bob tries alice's namespace: rejected"
run as bob git push --signed origin "main:refs/heads/users/$alice/feature" || echo "(rejected, as it should be)"

step "The audit log: one commit per accepted push, with its certificate"
cd ..
run git --git-dir=server.git log --format='%h %s' refs/apps/push-certs

step "Done. Everything was in $demo, which is removed now."
