#!/usr/bin/env bash
# Installs the Debian packages given as arguments, only those not already installed.
# Usage: deps/ensure-apt.sh PACKAGE...
# The Makefile's browser, shellcheck, haproxy and bench targets install their tools with it.
set -euo pipefail
# A package counts as installed when its tool is at the path the project runs it from, however
# it got there. Works as root (a fresh Debian container: no sudo, no package lists yet) and
# through sudo otherwise. Where apt or a package is not to be had, it says so in one line naming
# the package and the system, and what to do, instead of leaving an apt error to decode.
# --root DIR (first) looks for the tools and etc/os-release under DIR: the tests' fake system.

# Where each package puts the tool the project runs (tests/browser/conftest.py launches
# /usr/bin/chromium; make lint runs shellcheck; the fault harness and the benchmarks haproxy,
# wrk and nginx), or the library it needs: Playwright's bundled Node links libatomic, which
# Debian's gcc brings along and a system without gcc lacks. A glob matches any architecture.
tool_path() {
  case "$1" in
    chromium) echo /usr/bin/chromium ;;
    libatomic1) echo '/usr/lib/*-linux-gnu/libatomic.so.1' ;;
    shellcheck) echo /usr/bin/shellcheck ;;
    haproxy) echo /usr/sbin/haproxy ;;
    wrk) echo /usr/bin/wrk ;;
    nginx) echo /usr/sbin/nginx ;;
    *) return 1 ;;
  esac
}

fail() {
  echo "ensure-apt: $*" >&2
  exit 1
}

root=""
if [[ "${1:-}" == "--root" ]]; then
  root="${2:?--root needs a directory}"
  shift 2
fi
(($#)) || { echo "usage: $0 [--root DIR] PACKAGE..." >&2; exit 2; }

# Whether the path (or a file its glob matches) is there under --root.
present() {
  compgen -G "$root$1" >/dev/null
}

missing=()
for pkg in "$@"; do
  path="$(tool_path "$pkg")" ||
    { echo "ensure-apt: no tool path is known for package $pkg: add it to tool_path in $0" >&2; exit 2; }
  present "$path" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

# The system's name as os-release(5) gives it (PRETTY_NAME, else NAME), for the messages.
system_name() {
  local file
  for file in "$root/etc/os-release" "$root/usr/lib/os-release"; do
    # shellcheck source=/dev/null
    [[ -r "$file" ]] && { (. "$file" && echo "${PRETTY_NAME:-${NAME:-this system}}"); return; }
  done
  echo "this system"
}

# The one line for a package this system cannot install with apt, naming it and the system.
cannot_install() {
  echo "ensure-apt: $(system_name) $2 $1: install it with this system's package manager so that" \
    "$(tool_path "$1") exists, or run in Debian as CI does (docs/CI.md)" >&2
}

if ! command -v apt-get >/dev/null; then
  for pkg in "${missing[@]}"; do cannot_install "$pkg" "has no apt-get to install"; done
  exit 1
fi

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null ||
    fail "installing ${missing[*]} needs root, and there is no sudo: run this as root"
  sudo=(sudo)
fi

# Always refreshed first: a fresh container has no package lists, and a stale list names files
# the mirror no longer has.
"${sudo[@]}" apt-get update -qq

# apt-cache policy prints "Candidate: (none)", or nothing at all, for a package this
# distribution does not ship.
has_candidate() {
  local key value _
  while read -r key value _; do
    [[ "$key" == "Candidate:" && "$value" != "(none)" ]] && return 0
  done < <(LC_ALL=C apt-cache policy "$1")
  return 1
}
lacking=0
for pkg in "${missing[@]}"; do
  has_candidate "$pkg" || { cannot_install "$pkg" "has no package"; lacking=1; }
done
((!lacking)) || exit 1

echo "ensure-apt: installing Debian packages: ${missing[*]}" >&2
# env, not a VAR=value prefix: sudo resets the environment of the command it runs.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"

for pkg in "${missing[@]}"; do
  present "$(tool_path "$pkg")" ||
    fail "installed $pkg, but $(tool_path "$pkg") is still missing: see \`dpkg -L $pkg\`"
done
