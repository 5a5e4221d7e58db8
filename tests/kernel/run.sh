#!/usr/bin/env bash
# Kernel acceptance suite (CI entry point): setup, build ivol on the host, boot the test kernel once under qemu,
# run the scenarios (tests/kernel/scenarios/NN-*.sh) in it against the real dm-integrity target, and report
#   PASS <name> / FAIL <name>     per scenario
#   kernel: N passed, N failed    last line
# Exit status is non-zero when any scenario failed or did not run.
#
# Environment: IVOL_KERNEL_SCENARIOS="01-format-open-write-verify 03-corruption-verdict" runs a subset;
# IVOL_GUEST_TIMEOUT (default 3600 s) bounds the whole guest run; IVOL_SKIP_BUILD=1 reuses the last build.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
start=$(date +%s)

scenarios="${IVOL_KERNEL_SCENARIOS:-}"
if [ -z "$scenarios" ]; then
    scenarios="$(cd "$HERE/scenarios" && ls [0-9]*.sh | sed 's/\.sh$//')"
fi
count=$(echo $scenarios | wc -w)

fail_all() { # reason: every scenario failed (nothing could run)
    echo "kernel: setup failed: $1" >&2
    for s in $scenarios; do echo "FAIL $s"; done
    echo "kernel: 0 passed, $count failed"
    exit 1
}

echo "kernel: setup" >&2
bash "$HERE/setup.sh" || fail_all "tests/kernel/setup.sh"

if [ "${IVOL_SKIP_BUILD:-0}" != 1 ]; then
    echo "kernel: building ivol (Release)" >&2
    dotnet build "$REPO/src/IntegrityVolume.Cli/IntegrityVolume.Cli.csproj" -c Release -nologo -v q >&2 || fail_all "dotnet build"
fi
[ -f "$REPO/src/IntegrityVolume.Cli/bin/Release/net8.0/ivol.dll" ] || fail_all "ivol.dll not built"

# A results dir per run, so concurrent runs (several developers on one machine) never read each other's verdicts.
mkdir -p "$HERE/.work/results"
RES="$(mktemp -d "$HERE/.work/results/suite.XXXXXX")"
export IVOL_RESULTS_DIR="$RES"
export IVOL_GUEST_SCENARIOS="$scenarios"
export IVOL_GUEST_TIMEOUT="${IVOL_GUEST_TIMEOUT:-3600}"
echo "kernel: booting the guest ($count scenarios)" >&2
bash "$HERE/run-guest.sh" "$HERE/guest-suite.sh"
grc=$?

passed=0; failed=0
for s in $scenarios; do
    line="$(grep -E "^$s (PASS|FAIL) " "$RES/scenario-results" 2>/dev/null | tail -n1)"
    st="$(echo "$line" | awk '{print $2}')"
    if [ "$st" = PASS ]; then
        echo "PASS $s"; passed=$((passed + 1))
    else
        [ -z "$st" ] && echo "kernel: $s did not run (guest exit $grc)" >&2
        echo "FAIL $s"; failed=$((failed + 1))
    fi
done
echo "kernel: guest exit $grc, wall $(( $(date +%s) - start )) s (guest $(cat "$RES/wall-seconds" 2>/dev/null || echo ?) s)" >&2
echo "kernel: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$grc" = 0 ]
