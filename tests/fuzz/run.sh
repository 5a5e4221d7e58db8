#!/usr/bin/env bash
# Fuzz suite (tests/fuzz/README.md): (a) replays every file of tests/fuzz/corpus through the harness (no fuzzer; each
# file in its own process, so a watchdog abort names its input), then (b) a time-boxed AFL++ run over the
# SharpFuzz-instrumented engine, seeded from the same corpus. A crash or hang the fuzzer saves fails the suite only
# when the plain harness reproduces it. Ends with one line: "fuzz: N passed, N failed".
# Environment: IVOL_FUZZ_SECONDS (fuzzing time, default 120, at most 170), IVOL_FUZZ_WORK (scratch dir),
# IVOL_FUZZ_KEEP=1 keeps the scratch dir.
set -uo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
seconds=${IVOL_FUZZ_SECONDS:-120}; (( seconds > 170 )) && seconds=170
work=${IVOL_FUZZ_WORK:-$(mktemp -d /tmp/ivol-fuzz.XXXXXX)}
mkdir -p "$work"
[[ -n "${IVOL_FUZZ_KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT
passed=0; failed=0
corpus=tests/fuzz/corpus

# What the suite needs on a fresh Debian 12 with the .NET SDK: afl++ (Debian) and the SharpFuzz instrumenter (NuGet).
if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "== installing afl++"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++) >"$work/apt.log" 2>&1 || tail -5 "$work/apt.log"
fi
if [[ ! -x "$work/tools/sharpfuzz" ]]; then
  dotnet tool install --tool-path "$work/tools" SharpFuzz.CommandLine --version 2.3.0 >"$work/tool.log" 2>&1 || tail -5 "$work/tool.log"
fi

echo "== fuzz: build harness"
if ! dotnet build tests/IntegrityVolume.Fuzz -c Release -o "$work/plain" >"$work/build.log" 2>&1; then
  grep -E " error " "$work/build.log" | sort -u | head -20
  echo "fuzz: 0 passed, 1 failed"; exit 1
fi
replay() { IVOL_FUZZ_TIMEOUT=${IVOL_FUZZ_REPLAY_TIMEOUT:-120} dotnet "$work/plain/IntegrityVolume.Fuzz.dll" replay "$@"; }

echo "== fuzz: corpus replay ($(ls "$corpus" | wc -l) inputs)"
for f in "$corpus"/*; do
  if out=$(replay "$f" 2>&1); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL corpus input $(basename "$f"):"; grep -v "^replay:" <<<"$out" | head -20
  fi
done

echo "== fuzz: AFL++ for ${seconds}s"
if command -v afl-fuzz >/dev/null 2>&1 && [[ -x "$work/tools/sharpfuzz" ]]; then
  cp -r "$work/plain" "$work/afl"
  "$work/tools/sharpfuzz" "$work/afl/IntegrityVolume.Core.dll" >"$work/instrument.log" 2>&1
  AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  AFL_FORKSRV_INIT_TMOUT=60000 IVOL_FUZZ_TIMEOUT=10 \
    timeout $((seconds + 60)) afl-fuzz -V "$seconds" -i "$corpus" -o "$work/findings" -x tests/fuzz/dictionary \
      -t 20000 -m none -- dotnet "$work/afl/IntegrityVolume.Fuzz.dll" fuzz >"$work/afl.log" 2>&1
  stats=$work/findings/default/fuzzer_stats
  if grep -q "PROGRAM ABORT" "$work/afl.log"; then
    failed=$((failed + 1)); echo "afl-fuzz aborted:"; grep -A3 "PROGRAM ABORT" "$work/afl.log" | head -5
  elif [[ -f $stats ]]; then
    grep -E "^(execs_done|execs_per_sec|bitmap_cvg|corpus_count|saved_crashes|saved_hangs) " "$stats" | tr -s ' '
    passed=$((passed + 1))
    for f in "$work"/findings/default/crashes/id:* "$work"/findings/default/hangs/id:*; do
      [[ -f $f ]] || continue
      if out=$(replay "$f" 2>&1); then
        echo "not reproducible by the plain harness (ignored): $(basename "$f")"
      else
        failed=$((failed + 1)); mkdir -p tests/fuzz/found; cp "$f" "tests/fuzz/found/$(sha1sum "$f" | cut -c1-12)"
        echo "FAIL fuzzer input (copied to tests/fuzz/found/):"; grep -v "^replay:" <<<"$out" | head -20
      fi
    done
  else
    failed=$((failed + 1)); echo "afl-fuzz did not start:"; tail -20 "$work/afl.log"
  fi
else
  failed=$((failed + 1)); echo "afl-fuzz or the SharpFuzz instrumenter could not be installed"
fi

echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
