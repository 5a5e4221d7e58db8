#!/usr/bin/env bash
# The whole test suite: xunit (engine, CLI, module logic, kernel fixtures), the real-kernel acceptance suite in a
# qemu guest with the Pester tests tagged Acceptance inside it (unless IVOL_SKIP_KERNEL is set), the Ansible example
# against localhost and the NativeAOT build of ivol (unless IVOL_SKIP_EXTRA is set), and the rest of the Pester suite
# on the host (pwsh from the repository's tool manifest, `dotnet pwsh`; Pester 5.9.1 from NuGet).
# Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
passed=0; failed=0; skipped=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }

echo "== xunit"
log=$(mktemp)
dotnet test tests/IntegrityVolume.Tests -c Release 2>&1 | tee "$log" | grep -vE "warning NU1603"
rc=${PIPESTATUS[0]}
line=$(grep -E "^(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" | tail -1)
if [[ -n "$line" ]]; then
  f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$line"); p=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$line"); s=$(sed -E 's/.*Skipped: +([0-9]+),.*/\1/' <<<"$line")
  add "$p" "$f" "$s"
elif [[ $rc -ne 0 ]]; then
  echo "xunit: the build or the test host failed (exit $rc)"; add 0 1
fi
rm -f "$log"

if [[ -n "${IVOL_SKIP_KERNEL:-}" ]]; then
  echo "== kernel acceptance suite: skipped (IVOL_SKIP_KERNEL is set)"
elif [[ -x tests/kernel/run.sh || -f tests/kernel/run.sh ]]; then
  echo "== kernel acceptance suite (qemu guest)"
  log=$(mktemp)
  bash tests/kernel/run.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E "^kernel: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [[ -n "$line" ]]; then
    add "$(sed -E 's/kernel: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  else
    echo "kernel suite: no result line (exit $rc)"; add 0 1
  fi
  # The Pester tests tagged Acceptance, run inside the same guest.
  line=$(grep -E "^kernel pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$log" | tail -1)
  if [[ -n "$line" ]]; then
    add "$(sed -E 's/kernel pester: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")"
  elif [[ -z "${IVOL_KERNEL_SCENARIOS:-}" && "${IVOL_KERNEL_PESTER:-1}" != 0 ]]; then
    echo "kernel suite: no Pester result line from the guest"; add 0 1
  fi
  rm -f "$log"
fi

for suite in ansible aot crash fuzz; do
  script=tests/$suite/run.sh; [[ $suite == aot ]] && script=tests/aot/build.sh
  [[ -f $script ]] || continue
  if [[ -n "${IVOL_SKIP_EXTRA:-}" ]]; then echo "== $suite: skipped (IVOL_SKIP_EXTRA is set)"; continue; fi
  echo "== $suite"
  log=$(mktemp)
  bash "$script" 2>&1 | tee "$log"
  line=$(grep -E "^$suite: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [[ -n "$line" ]]; then
    add "$(sed -E "s/$suite: ([0-9]+) passed.*/\1/" <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  else
    echo "$suite: no result line"; add 0 1
  fi
  rm -f "$log"
done

# Pester, the part that needs no root, on the host with the pinned pwsh (dotnet-tools.json) and Pester restored from
# NuGet by build.ps1; the Acceptance part ran inside the kernel guest above ("kernel pester:" line).
echo "== Pester (host, without the Acceptance tag)"
log=$(mktemp)
if dotnet tool restore >"$log" 2>&1; then
  dotnet pwsh -NoProfile -NonInteractive -Command './build.ps1 -Task Build, Package, Pester' 2>&1 | tee "$log"
else
  cat "$log"; echo "Pester: could not start: 'dotnet tool restore' (pwsh from dotnet-tools.json) failed"
fi
line=$(grep -E "^Pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$log" | tail -1)
if [[ -n "$line" ]]; then
  add "$(sed -E 's/^Pester: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")"
else
  echo "Pester: no result line (Pester did not run)"; add 0 1
fi
rm -f "$log"

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[[ $failed -eq 0 ]]
