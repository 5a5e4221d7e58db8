#!/usr/bin/env bash
# NativeAOT ivol: publish (dotnet publish -r linux-x64 -p:PublishAot=true, ILCompiler packages from NuGet, clang as
# the linker), then check the native binary against the framework-dependent ivol.dll: the same JSON for dump, verify,
# format --dry-run, errors and tab; every tag algorithm; the kernel's failed sectors on a corrupt fixture; exit codes.
# Prints the binary size and start-up times, and a last line "aot: N passed, N failed".
# Output: out/aot/ivol (out/ is git-ignored; intermediate files in out/aot-artifacts, apart from the normal obj/).
suite=aot
source "$(dirname "$0")/../lib/checks.sh"

# The ILCompiler links with clang (and needs zlib); Debian's packages.
if ! command -v clang >/dev/null 2>&1 || [[ ! -e /usr/include/zlib.h ]]; then
  apt_install clang zlib1g-dev
  command -v clang >/dev/null 2>&1 || { fail "clang could not be installed"; finish; }
fi

out=$repo/out/aot
aot=$out/ivol
echo "== dotnet publish -r linux-x64 -p:PublishAot=true"
log=$(mktemp)
start=$(date +%s)
dotnet publish src/IntegrityVolume.Cli -c Release -r linux-x64 -p:PublishAot=true \
  --artifacts-path "$repo/out/aot-artifacts" -o "$out" > "$log" 2>&1
rc=$?
echo "   published in $(( $(date +%s) - start )) s"
if [[ $rc -ne 0 || ! -x $aot ]]; then grep -E "error" "$log" | sort -u | head -20; rm -f "$log"; fail "NativeAOT publish"; finish; fi
ok "NativeAOT publish"
# Trim/AOT analysis warnings (ILxxxx), each once; known: BenchmarkReport's JSON (src/IntegrityVolume.Benchmark/).
warnings=$(grep -oE "[^ ]+\([0-9]+,[0-9]+\): warning IL[0-9]+: [^[]*" "$log" | sort -u)
[[ -n $warnings ]] && echo "$warnings" | sed 's/^/   /'
check "no trim or AOT warnings outside IntegrityVolume.Benchmark/" test -z "$(grep -v '/IntegrityVolume.Benchmark/' <<<"$warnings" | grep -v '^$')"
rm -f "$log"

echo "== framework-dependent build to compare with"
dotnet build src/IntegrityVolume.Cli -c Release -nologo -v q > /dev/null 2>&1
jit() { dotnet "$repo/src/IntegrityVolume.Cli/bin/Release/net8.0/ivol.dll" "$@"; }
# The same build with the runtime's SSE4.2 switched off: the portable CRC-32C loops instead of the crc32 instruction.
jit_without_sse42() { DOTNET_EnableSSE42=0 jit "$@"; }

work=$(mktemp -d /tmp/ivol-aot.XXXXXX)
trap 'rm -rf "$work"' EXIT
# same_json LABEL ARGS...: both builds print the same JSON (durations and speeds aside) and exit alike.
# The build compared with the native one is $compare (default: jit).
same_json() {
  local label=$1; shift
  local a j ra rj
  a=$("$aot" "$@" 2>&1); ra=$?
  j=$("${compare:-jit}" "$@" 2>&1); rj=$?
  local f=(-e '/"duration"|"throughputMiBps"/d' -e 's/"(speed|eta_ms|time_ms)":"[0-9]+"/"\1":"N"/g')
  # Intermediate progress lines come at time intervals (more of them on a slower or busier run): compare only the
  # final one of each activity (bytes = size).
  local p='{ if (match($0, /"bytes":"[0-9]+","size":"[0-9]+"/)) { split(substr($0, RSTART, RLENGTH), v, "\""); if (v[4] != v[8]) next } print }'
  if [[ $ra -eq $rj ]] && diff <(sed -E "${f[@]}" <<<"$a" | awk "$p") <(sed -E "${f[@]}" <<<"$j" | awk "$p") > "$work/diff" 2>&1; then ok "$label"
  else fail "$label (exit $ra vs $rj)"; head -20 "$work/diff"; fi
}

echo "== behaviour"
check "ivol --help" quiet "$aot" --help
salt=00112233445566778899aabbccddeeff
check "format a 32 MiB image" quiet "$aot" format "$work/a.img" --size 32M --batch-mode --salt $salt
same_json "dump --json" dump "$work/a.img" --json
same_json "verify --json" verify "$work/a.img" --json
same_json "format --dry-run --json" format "$work/b.img" --size 64M --dry-run --json --salt $salt --integrity sha256 --sector-size 4096
same_json "error JSON and exit code" dump "$work/missing.img" --json
same_json "usage error" verify "$work/a.img" --integrity nosuch --json
head -c 4M /dev/urandom > "$work/data.bin"
check "write --json" quiet "$aot" write "$work/a.img" --input "$work/data.bin" --offset 2048 --json
same_json "verify after write" verify "$work/a.img" --json
key=$work/key.bin; head -c 32 /dev/urandom > "$key"
for alg in crc32 crc32c xxhash64 sha1 sha256 sha512 blake2b-256 blake2s-256 hmac-sha1 hmac-sha256 hmac-sha512; do
  k=(); [[ $alg == hmac-* ]] && k=(--integrity-key-file "$key")
  rm -f "$work/alg.img"
  check "format + verify $alg" bash -c '"$1" format "$2" --size 8M --batch-mode --integrity "$3" "${@:4}" >/dev/null && "$1" verify "$2" --integrity "$3" "${@:4}" >/dev/null' _ "$aot" "$work/alg.img" "$alg" "${k[@]}"
done
fixture=$repo/../shared/fixtures/p01/corrupt.img.gz
if [[ -f $fixture ]]; then
  gunzip -c "$fixture" > "$work/corrupt.img"
  same_json "corrupt kernel fixture: same mismatched sectors, exit 1" verify "$work/corrupt.img" --integrity crc32c --json
  compare=jit_without_sse42 same_json "corrupt kernel fixture without SSE4.2: same mismatched sectors" \
    verify "$work/corrupt.img" --integrity crc32c --json
else
  echo "   (no ../shared/fixtures: corrupt-fixture check skipped)"
fi
tab=$work/integritytab
check "tab add" quiet "$aot" tab add vol "$work/a.img" --allow-discards --file "$tab" --json
check "tab add again is unchanged" bash -c '"$1" tab add vol "$2" --allow-discards --file "$3" --json | grep -q "\"changed\": false"' _ "$aot" "$work/a.img" "$tab"
same_json "tab list --json" tab list --file "$tab" --json
same_json "tab check --json" tab check --file "$tab" --json
same_json "progress JSON lines" verify "$work/a.img" --json --progress-json

echo "== size and start-up"
size=$(stat -c %s "$aot")
echo "   ivol (NativeAOT, stripped): $size bytes ($(( size / 1024 / 1024 )) MiB)"
check "binary under 20 MiB" test "$size" -lt $((20 * 1024 * 1024))
# avg_ms N CMD...: mean wall time of N runs, in ms.
avg_ms() {
  local n=$1; shift
  local t0 t1; t0=$(date +%s%N)
  for ((i = 0; i < n; i++)); do "$@" > /dev/null 2>&1; done
  t1=$(date +%s%N); echo $(( (t1 - t0) / n / 1000000 ))
}
"$aot" format "$work/small.img" --size 4M --batch-mode > /dev/null
aot_help=$(avg_ms 20 "$aot" --help); jit_help=$(avg_ms 10 jit --help)
aot_dump=$(avg_ms 20 "$aot" dump "$work/small.img"); jit_dump=$(avg_ms 10 jit dump "$work/small.img")
aot_verify=$(avg_ms 10 "$aot" verify "$work/small.img"); jit_verify=$(avg_ms 5 jit verify "$work/small.img")
echo "   ivol --help:           NativeAOT ${aot_help} ms, dotnet ivol.dll ${jit_help} ms"
echo "   ivol dump (4 MiB):     NativeAOT ${aot_dump} ms, dotnet ivol.dll ${jit_dump} ms"
echo "   ivol verify (4 MiB):   NativeAOT ${aot_verify} ms, dotnet ivol.dll ${jit_verify} ms"
# Start-up times are reported above, never asserted: timing belongs in the benchmark, not in pass/fail checks.
finish
