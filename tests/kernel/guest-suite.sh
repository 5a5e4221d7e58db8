# Runs inside the guest (via run-guest.sh): every scenario in tests/kernel/scenarios/NN-*.sh, or those named in
# $IVOL_GUEST_SCENARIOS (space-separated names without .sh), each in a fresh scratch dir on tmpfs, each with a
# time limit. Writes "<name> PASS|FAIL <seconds>" lines to /results/scenario-results for run.sh.
SC="$IVOL_REPO/tests/kernel/scenarios"
: > /results/scenario-results
names="${IVOL_GUEST_SCENARIOS:-}"
if [ -z "$names" ]; then
    names="$(cd "$SC" && ls [0-9]*.sh | sed 's/\.sh$//')"
fi
echo "guest: kernel $(uname -r), dm $(dmsetup version 2>/dev/null | sed -n 's/Driver version: *//p'), $(nproc) cpus"
for name in $names; do
    S="/tmp/scenario-$name"; rm -rf "$S"; mkdir -p "$S"
    echo "=== $name"
    dmesg -C 2>/dev/null || true
    t0=$(date +%s)
    ( cd "$S" && export S && timeout -k 5 "${IVOL_GUEST_SCENARIO_TIMEOUT:-1800}" \
        bash -c 'set -euo pipefail; . "$1"; . "$2"' _ "$SC/lib.sh" "$SC/$name.sh" ) 2>&1
    rc=$?
    t1=$(date +%s)
    if [ "$rc" = 0 ]; then st=PASS; else st=FAIL; echo "  ! exit code $rc"; dmesg | tail -n 15 | sed 's/^/  dmesg: /'; fi
    echo "$name $st $((t1 - t0))" >> /results/scenario-results
    echo "=== $st $name ($((t1 - t0)) s)"
    ( . "$SC/lib.sh"; cleanup_kernel_state )
    rm -rf "$S"
done

if [ -n "${IVOL_GUEST_PWSH:-}" ]; then
    # The Pester tests tagged Acceptance: the packaged module against this kernel's device-mapper; TestDrive (and so
    # every image) on the guest's tmpfs /tmp; the repository is read-only, results go to /results.
    echo "=== pester (Acceptance)"
    t0=$(date +%s)
    mkdir -p /tmp/pwsh-home
    HOME=/tmp/pwsh-home XDG_CACHE_HOME=/tmp/pwsh-home/.cache DOTNET_ROOT=/usr/share/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off DOTNET_TieredPGO=0 TMPDIR=/tmp IVOL_PESTER_FILES="${IVOL_GUEST_PESTER_FILES:-}" \
        timeout -k 5 "${IVOL_GUEST_SCENARIO_TIMEOUT:-1800}" "$IVOL_GUEST_PWSH" -NoProfile -NonInteractive \
        -File "$IVOL_REPO/build.ps1" -Task Pester -Tag Acceptance -ResultPath /results/pester-results.xml \
        2>&1 | tee /results/pester-output.log
    echo "=== pester done ($(( $(date +%s) - t0 )) s)"
    ( . "$SC/lib.sh"; cleanup_kernel_state )
fi
