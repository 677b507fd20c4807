# shellcheck shell=bash
# Sourced by ./test and examples/demo.sh: `ensure_programs PROGRAM:PACKAGE...`
# installs the Debian package of every PROGRAM that is missing (apt-get, with sudo
# when not root), says what it installs, and does nothing at all, network included,
# when every program is there. It starts no system service: the tests start their
# own servers.

# Whether PROGRAM is on PATH or in an sbin directory (Debian puts nginx, fcgiwrap
# and sshd in /usr/sbin, which a non-root PATH often lacks).
have_program() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local dir
  for dir in /usr/local/sbin /usr/sbin /sbin; do
    [ -x "$dir/$1" ] && return 0
  done
  return 1
}

# Run a command as root: directly, or through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: installing needs root, and sudo is not installed: run as root: $*" >&2
    return 1
  fi
}

ensure_programs() {
  local pair program package missing=() packages=()
  for pair in "$@"; do
    program=${pair%%:*} package=${pair#*:}
    if ! have_program "$program"; then
      missing+=("$program")
      case " ${packages[*]} " in *" $package "*) ;; *) packages+=("$package") ;; esac
    fi
  done
  [ ${#packages[@]} -eq 0 ] && return 0
  echo "installing ${packages[*]} (missing: ${missing[*]})" >&2
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here: install ${missing[*]} with your package manager, then run this again" >&2
    return 1
  fi
  local policy=/usr/sbin/policy-rc.d made_policy=''
  if [ ! -e "$policy" ]; then
    # Exit 101 tells Debian's maintainer scripts not to start services (nginx, sshd).
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" || return 1
    made_policy=1
  fi
  local status=0
  # Offline, the update fails: the lists already there may still do.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
    echo "warning: apt-get update failed (offline?); trying the package lists already here" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${packages[@]}" >&2 || status=$?
  [ -n "$made_policy" ] && as_root rm -f "$policy"
  if [ "$status" != 0 ]; then
    echo "error: could not install ${packages[*]} (apt-get exit $status): install them, then run this again" >&2
    return 1
  fi
  for program in "${missing[@]}"; do
    if ! have_program "$program"; then
      echo "error: $program is still missing after installing ${packages[*]}" >&2
      return 1
    fi
  done
  echo "installed ${packages[*]}" >&2
}
