#!/usr/bin/env bash
# The whole test suite: xunit (engine, CLI, module logic, kernel fixtures), the real-kernel acceptance suite in a
# qemu guest (unless IVOL_SKIP_KERNEL is set), the Ansible example against localhost and the NativeAOT build of ivol
# (unless IVOL_SKIP_EXTRA is set), and Pester when pwsh is on PATH.
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
  rm -f "$log"
fi

for suite in ansible aot crash; do
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

if command -v pwsh >/dev/null 2>&1 && pwsh -NoProfile -Command 'if (Get-Module -ListAvailable Pester | Where-Object { $_.Version -ge [version]"5.0" }) { exit 0 } else { exit 1 }'; then
  echo "== Pester"
  log=$(mktemp)
  pwsh -NoProfile -File build.ps1 -Task Pester 2>&1 | tee "$log"
  line=$(grep -E "^Pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$log" | tail -1)
  if [[ -n "$line" ]]; then
    add "$(sed -E 's/^Pester: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")"
  else
    echo "Pester: no result line"; add 0 1
  fi
  rm -f "$log"
else
  echo "== Pester: skipped (no pwsh on PATH, or no Pester 5 module for it; the Pester suite in tests/*.Tests.ps1 did not run)"
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[[ $failed -eq 0 ]]
