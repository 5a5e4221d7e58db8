#!/usr/bin/env bash
# Kernel acceptance suite (CI entry point): setup, build ivol on the host, boot the test kernel once under qemu,
# run the scenarios (tests/kernel/scenarios/NN-*.sh) in it against the real dm-integrity target, and report
#   PASS <name> / FAIL <name>     per scenario
#   kernel: N passed, N failed    last line
# Exit status is non-zero when any scenario failed or did not run.
#
# Environment: IVOL_KERNEL_SCENARIOS="01-format-open-write-verify 03-corruption-verdict" runs a subset;
# IVOL_GUEST_TIMEOUT (default 3600 s) bounds the whole guest run; IVOL_SKIP_BUILD=1 reuses the last build.
# After the scenarios the guest runs the Pester tests tagged Acceptance (the module against this kernel's
# device-mapper, pwsh from the repository's tool manifest) and this prints
#   kernel pester: N passed, N failed, N skipped
# before the last line. IVOL_KERNEL_PESTER=0 leaves it out (default: 1 for the whole suite, 0 for a subset).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
start=$(date +%s)

scenarios="${IVOL_KERNEL_SCENARIOS:-}"
pester="${IVOL_KERNEL_PESTER:-$([ -z "$scenarios" ] && echo 1 || echo 0)}"
if [ -z "$scenarios" ]; then
    scenarios="$(cd "$HERE/scenarios" && ls [0-9]*.sh | sed 's/\.sh$//')"
fi
count=$(echo $scenarios | wc -w)

fail_all() { # reason: every scenario failed (nothing could run)
    echo "kernel: setup failed: $1" >&2
    for s in $scenarios; do echo "FAIL $s"; done
    [ "$pester" = 1 ] && echo "kernel pester: 0 passed, 1 failed, 0 skipped"
    echo "kernel: 0 passed, $count failed"
    exit 1
}

echo "kernel: setup" >&2
bash "$HERE/setup.sh" || fail_all "tests/kernel/setup.sh"

if [ "${IVOL_SKIP_BUILD:-0}" != 1 ]; then
    echo "kernel: building ivol (Release)" >&2
    dotnet build "$REPO/src/IntegrityVolume.Cli/IntegrityVolume.Cli.csproj" -c Release -nologo -v q >&2 || fail_all "dotnet build"
fi
dll="$REPO/src/IntegrityVolume.Cli/bin/Release/net8.0/ivol.dll"
[ -f "$dll" ] || fail_all "ivol.dll not built"

# The scenarios run the NativeAOT ivol (the binary tests/aot/build.sh compares with ivol.dll): under TCG it starts in
# about 0.5 s where `dotnet ivol.dll` takes about 5 s, and the scenarios start ivol many hundred times.
# IVOL_GUEST_JIT=1 runs ivol.dll instead; so does a failed publish (said here), and a reused AOT binary older than
# ivol.dll (IVOL_SKIP_BUILD=1): the guest never runs a stale ivol.
aot="$REPO/out/aot/ivol"
if [ "${IVOL_GUEST_JIT:-0}" != 1 ]; then
    if [ "${IVOL_SKIP_BUILD:-0}" != 1 ]; then
        echo "kernel: publishing the NativeAOT ivol (out/aot)" >&2
        alog="$(mktemp)"
        if ! dotnet publish "$REPO/src/IntegrityVolume.Cli" -c Release -r linux-x64 -p:PublishAot=true \
                --artifacts-path "$REPO/out/aot-artifacts" -o "$REPO/out/aot" > "$alog" 2>&1; then
            grep -E "error" "$alog" | sort -u | head -5 >&2
            echo "kernel: the NativeAOT publish failed; the guest runs ivol.dll (slower)" >&2
            rm -f "$aot"
        fi
        rm -f "$alog"
    fi
    if [ -x "$aot" ] && [ "$aot" -nt "$dll" ]; then
        export IVOL_GUEST_AOT="$aot"
        echo "kernel: the guest runs $aot" >&2
    else
        echo "kernel: no NativeAOT ivol newer than ivol.dll; the guest runs ivol.dll" >&2
    fi
fi

if [ "$pester" = 1 ]; then
    # The guest sees the host's /usr (dotnet) and the repository, not ~/.nuget: the tool's pwsh ($PSHOME) is
    # copied (hard links when possible) under .work, the packaged module and Pester (out/) are in the repository.
    echo "kernel: pwsh (dotnet-tools.json), module package and Pester for the guest" >&2
    (cd "$REPO" && dotnet tool restore >&2) || fail_all "dotnet tool restore"
    pshome="$(cd "$REPO" && dotnet pwsh -NoProfile -NonInteractive -Command '$PSHOME')" || fail_all "dotnet pwsh"
    ver="$(basename "$(dirname "$(dirname "$(dirname "$(dirname "$pshome")")")")")"   # .../powershell/<ver>/tools/<tfm>/any/unix
    guest_pwsh="$HERE/.work/pwsh-$ver"
    if [ ! -x "$guest_pwsh/pwsh" ]; then
        rm -rf "$guest_pwsh.tmp"
        cp -al "$pshome" "$guest_pwsh.tmp" 2>/dev/null || cp -a "$pshome" "$guest_pwsh.tmp" || fail_all "copy of $pshome"
        mv "$guest_pwsh.tmp" "$guest_pwsh"
    fi
    (cd "$REPO" && dotnet pwsh -NoProfile -NonInteractive -Command './build.ps1 -Task Build, Package, Modules' >&2) \
        || fail_all "build.ps1 -Task Build, Package, Modules"
    export IVOL_GUEST_PWSH="$guest_pwsh/pwsh"
fi

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
if [ "$pester" = 1 ]; then
    pline="$(grep -E "^Pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$RES/pester-output.log" 2>/dev/null | tail -n1)"
    if [ -n "$pline" ]; then
        echo "kernel pester: ${pline#Pester: }"
        echo "$pline" | grep -qE " 0 failed" || { [ "$grc" = 0 ] && grc=1; }
    else
        echo "kernel: the Pester Acceptance run gave no result line (see $RES/pester-output.log)" >&2
        echo "kernel pester: 0 passed, 1 failed, 0 skipped"; [ "$grc" = 0 ] && grc=1
    fi
fi
echo "kernel: guest exit $grc, wall $(( $(date +%s) - start )) s (guest $(cat "$RES/wall-seconds" 2>/dev/null || echo ?) s)" >&2
echo "kernel: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$grc" = 0 ]
