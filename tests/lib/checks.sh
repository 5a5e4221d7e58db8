# Sourced by the shell suites (tests/ansible/run.sh, tests/aot/build.sh): repository root, check counters and the
# last line "<suite>: N passed, N failed". Set suite=<name> before sourcing.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "  ok   $1"; }
fail() { failed=$((failed + 1)); echo "  FAIL $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
quiet() { "$@" >/dev/null 2>&1; }
finish() { echo "${suite}: ${passed} passed, ${failed} failed"; [[ $failed -eq 0 ]]; exit $?; }

# apt_install PACKAGE...: Debian packages, as root only; callers check afterwards that what they need is there.
apt_install() {
  echo "== installing $* (Debian packages)"
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "$@" >/dev/null 2>&1 || true
  fi
}
