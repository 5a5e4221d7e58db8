#!/usr/bin/env bash
# Crash suite (issue 12): kill -9 at reproducible points of `ivol format` and `ivol write`, each followed by dump and
# verify, every outcome classified:
#   old                  the image is byte-identical to before the operation, dump/verify as before
#   new                  the image is byte-identical to an uninterrupted run of the same operation, verify healthy
#   replayed             write (through the kernel's journal): every block old or new with a valid tag once the journal
#                        is replayed: verify healthy (exit 0, its replay emulation checks every tag) while dump and
#                        verify still name the unfinished range (journaled), and re-running the write yields the
#                        uninterrupted image (byte for byte outside the journal area, whose ring position differs)
#   reported-incomplete  format: no valid-looking volume (dump refuses with an id); write in place (no journal, not a
#                        scenario here): torn blocks, dump and verify (exit 1) name the range
#   SILENT               anything else (a torn or partial result, or a torn block of a journaled write): a failure
# Kill points come from IVOL_TEST_KILL_AT_WRITE (Core/Devices/FaultInjection.cs): the N-th device write, before it or
# torn after half of it; N and the torn flag are drawn from a seeded RNG (IVOL_CRASH_SEED), so a run is reproducible.
# Also: kills during `ivol repair` and `ivol resize` (grow), the flock rules from a separate process (flock(1)) and
# SIGTERM clean-up. Last line: "crash: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_ROLL_FORWARD=Major
DLL=${IVOL_DLL:-src/IntegrityVolume.Cli/bin/Release/net8.0/ivol.dll}
SEED=${IVOL_CRASH_SEED:-20261202}
RUNS=${IVOL_CRASH_RUNS:-100}
FINISH_EVERY=${IVOL_CRASH_FINISH_EVERY:-3}   # re-run every Nth reported-incomplete write to prove it finishes (1 = all)
if [[ ! -f $DLL ]]; then dotnet build src/IntegrityVolume.Cli -c Release >/dev/null 2>&1 || { echo "crash: build failed"; echo "crash: 0 passed, 1 failed"; exit 1; }; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/ivol-crash.XXXXXX")
trap 'rm -rf "$T"' EXIT
start=$SECONDS
passed=0; failed=0
declare -A outcome=([old]=0 [new]=0 [replayed]=0 [reported-incomplete]=0 [finished]=0 [SILENT]=0)
ivol() { dotnet "$DLL" "$@"; }
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
SALT=000102030405060708090a0b0c0d0e0f
# Same image outside the journal area (sectors 8 .. 8 + journalSectors): a finished re-run leaves the ring elsewhere.
same_but_journal() {
  local js; js=$(ivol dump "$1" --json | sed -n 's/^ *"journalSectors": \([0-9]*\),$/\1/p')
  python3 - "$1" "$2" "${js:-0}" <<'PY'
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
lo, hi = 8 * 512, (8 + int(sys.argv[3])) * 512
sys.exit(0 if len(a) == len(b) and a[:lo] == b[:lo] and a[hi:] == b[hi:] else 1)
PY
}
seeded() { python3 -c "import random,sys; r=random.Random($2); sys.stdout.buffer.write(r.randbytes($1))"; }
printf '\x5a%.0s' {1..32} > "$T/key.bin"

# ---- scenarios: base image ("old"), the operation, verify options; the reference "new" image is an uninterrupted run.
# Bases carry data where the writes go, so old and new differ block by block.
ivol format "$T/b-crc.img" --size 16M --interleave-sectors 8192 --salt $SALT --batch-mode >/dev/null
seeded 7340032 1 > "$T/old-crc.bin"; ivol write "$T/b-crc.img" --input "$T/old-crc.bin" >/dev/null
ivol format "$T/b-sha.img" --size 16M -s 4096 -I sha256 --salt $SALT --batch-mode >/dev/null
seeded 3145728 2 > "$T/old-sha.bin"; ivol write "$T/b-sha.img" -I sha256 --input "$T/old-sha.bin" >/dev/null
ivol format "$T/b-hmac.img" --size 16M -s 4096 -I hmac-sha256 --integrity-key-file "$T/key.bin" --salt $SALT --batch-mode >/dev/null
seeded 2097152 3 > "$T/old-hmac.bin"; ivol write "$T/b-hmac.img" -I hmac-sha256 --integrity-key-file "$T/key.bin" --input "$T/old-hmac.bin" >/dev/null
seeded 5243880 11 > "$T/in-crc.bin"    # 5 MiB + 1000: crosses two interleave areas (8192 sectors), partial last block
seeded 2097252 12 > "$T/in-sha.bin"    # 2 MiB + 100 on 4 KiB blocks: partial last block keeps its old tail
seeded 1572864 13 > "$T/in-hmac.bin"
names=(format-create format-force write-crc32c write-sha256 write-hmac)
kinds=(format format write write write)
bases=("" "$T/b-crc.img" "$T/b-crc.img" "$T/b-sha.img" "$T/b-hmac.img")
ops=("format @ --size 16M -I sha256 -s 4096 --salt $SALT --batch-mode"
     "format @ --force -I crc32c --salt $SALT --batch-mode"
     "write @ --input $T/in-crc.bin --offset 6144"
     "write @ -I sha256 --input $T/in-sha.bin --offset 8"
     "write @ -I hmac-sha256 --integrity-key-file $T/key.bin --input $T/in-hmac.bin --offset 0")
vopts=("-I sha256" "-I crc32c" "" "-I sha256" "-I hmac-sha256 --integrity-key-file $T/key.bin")
run_op() { local s=$1 img=$2; local -a a; read -r -a a <<<"${ops[$s]//@/$img}"; ivol "${a[@]}"; }
prepare() { if [[ -n ${bases[$1]} ]]; then cp --sparse=always "${bases[$1]}" "$2"; else rm -f "$2"; fi; }
declare -a writes
for s in "${!names[@]}"; do
  prepare "$s" "$T/ref$s.img"
  n=$(IVOL_TEST_COUNT_WRITES=1 run_op "$s" "$T/ref$s.img" 2>&1 >/dev/null | sed -n 's/^ivol-test: \([0-9]*\) writes$/\1/p')
  writes[$s]=${n:-0}
  if [[ ${writes[$s]} -lt 2 ]]; then bad "scenario ${names[$s]}: reference run failed"; writes[$s]=0; fi
  echo "scenario ${names[$s]}: ${writes[$s]} device writes"
done

# ---- kill -9 runs
RANDOM=$SEED
for ((i = 0; i < RUNS; i++)); do
  s=$((i % ${#names[@]}))
  [[ ${writes[$s]} -gt 0 ]] || continue
  # k = writes + 1 is past the last write: the operation completes (the "new" outcome must then hold too).
  k=$((1 + RANDOM % (writes[$s] + 1))); torn=$((RANDOM % 2))
  point=$k; [[ $torn -eq 1 ]] && point="$k:torn"
  expect=137; [[ $k -gt ${writes[$s]} ]] && expect=0
  img="$T/work.img"; prepare "$s" "$img"
  IVOL_TEST_KILL_AT_WRITE=$point run_op "$s" "$img" >/dev/null 2>&1; rc=$?
  read -r -a vo <<<"${vopts[$s]}"
  dump=$(ivol dump "$img" --json 2>"$T/dump.err"); drc=$?
  ver=$(ivol verify "$img" "${vo[@]}" --json 2>/dev/null); vrc=$?
  what=SILENT
  if [[ $rc -ne $expect ]]; then
    what="unexpected-exit(rc=$rc)"
  elif [[ -e $img ]] && cmp -s "$img" "$T/ref$s.img"; then
    [[ $drc -eq 0 && $vrc -eq 0 ]] && what=new
  elif [[ -n ${bases[$s]} ]] && cmp -s "$img" "${bases[$s]}"; then
    [[ $drc -eq 0 && $vrc -eq 0 ]] && what=old
  elif [[ ${kinds[$s]} == format ]]; then
    # No valid-looking volume: dump and verify refuse the superblock with a stable id.
    [[ $drc -ne 0 && $vrc -ne 0 ]] && grep -Eq 'Superblock[A-Za-z]+' "$T/dump.err" && what=reported-incomplete
  elif [[ $drc -eq 0 && $vrc -eq 0 ]] && grep -q '"journaled": true' <<<"$dump" && grep -q '"journaled": true' <<<"$ver"; then
    what=replayed
    # The advice holds: the same write again applies the journal and finishes it (sampled: each costs a process start).
    if (( outcome[replayed] % FINISH_EVERY == 0 )); then
      if run_op "$s" "$img" >/dev/null 2>&1 && same_but_journal "$img" "$T/ref$s.img" \
         && ivol verify "$img" "${vo[@]}" >/dev/null && ivol dump "$img" --json | grep -q '"interruptedWrite": null'; then
        outcome[finished]=$((outcome[finished] + 1))
      else
        what="replayed-but-not-finishable"
      fi
    fi
  elif [[ $drc -eq 0 && $vrc -eq 1 ]] && grep -q '"interruptedWrite": {' <<<"$dump"; then
    what="TORN(verify exit 1: a journaled write must never leave a torn block)"
  fi
  echo "run $i: ${names[$s]} kill at write $point -> $what"
  case $what in
    old|new|replayed|reported-incomplete) outcome[$what]=$((outcome[$what] + 1)); ok ;;
    *) outcome[SILENT]=$((outcome[SILENT] + 1)); bad "run $i (${names[$s]}, seed $SEED, kill at $point): $what (dump rc $drc, verify rc $vrc)" ;;
  esac
done

# ---- repair (issue 15): kill -9 at seeded writes of `ivol repair --from`; every block must be old or repaired with a
# valid tag (verify's mismatches a subset of the corrupted blocks, no failed journal entry), and a re-run finishes
# (verify healthy, the image equal to an uninterrupted repair outside the journal area).
REPAIR_RUNS=${IVOL_CRASH_REPAIR_RUNS:-12}
cp --sparse=always "$T/b-crc.img" "$T/r-bad.img"
read -r rinit rrun < <(ivol dump "$T/r-bad.img" --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['initialSectors'], j['metadataRunSectors'])")
for s in 3 700 701 4000 9000 12000; do   # a data byte of these logical sectors (interleave areas of 8192 sectors)
  a=$(( s / 8192 )); r=$(( s % 8192 ))
  printf 'QQ' | dd of="$T/r-bad.img" bs=1 seek=$(( (rinit + a * (rrun + 8192) + rrun + r) * 512 + 9 )) conv=notrunc status=none
done
bad_blocks=$(ivol verify "$T/r-bad.img" --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(' '.join(str(x['start'] + k) for x in j['mismatchedSectors'] for k in range(x['sectors'])))")
cp --sparse=always "$T/r-bad.img" "$T/r-ref.img"
rn=$(IVOL_TEST_COUNT_WRITES=1 ivol repair "$T/r-ref.img" --from "$T/b-crc.img" 2>&1 >/dev/null | sed -n 's/^ivol-test: \([0-9]*\) writes$/\1/p')
if [[ ${rn:-0} -lt 2 ]] || ! ivol verify "$T/r-ref.img" >/dev/null; then bad "repair: reference run failed"; rn=0; fi
echo "scenario repair: ${rn:-0} device writes, corrupted blocks: $bad_blocks"
for ((i = 0; i < REPAIR_RUNS && rn > 0; i++)); do
  k=$((1 + RANDOM % rn)); point=$k; [[ $((RANDOM % 2)) -eq 1 ]] && point="$k:torn"
  cp --sparse=always "$T/r-bad.img" "$T/r-work.img"
  IVOL_TEST_KILL_AT_WRITE=$point ivol repair "$T/r-work.img" --from "$T/b-crc.img" >/dev/null 2>&1; rc=$?
  left=$(ivol verify "$T/r-work.img" --json 2>/dev/null | python3 -c "
import json,sys; j=json.load(sys.stdin); bad=set('$bad_blocks'.split())
ok = all(str(x['start'] + k) in bad for x in j['mismatchedSectors'] for k in range(x['sectors'])) and not j['failedJournalEntries']
print('ok' if ok else 'BROKEN')")
  if [[ $rc -eq 137 && $left == ok ]] && ivol repair "$T/r-work.img" --from "$T/b-crc.img" >/dev/null 2>&1 \
     && ivol verify "$T/r-work.img" >/dev/null && same_but_journal "$T/r-work.img" "$T/r-ref.img"; then
    echo "repair run $i: kill at write $point -> old-or-repaired, re-run finished"; ok
  else
    bad "repair run $i (kill at $point): exit $rc, blocks $left"
  fi
done

# ---- resize grow (issue 15): kill -9 before each of its device writes (torn and whole). The old geometry must verify
# healthy with its data; once the file is grown, the superblock must carry the grow marker (RECALCULATING at the old
# end, so a kernel that sizes the volume from the file recalculates the tail: tests/kernel scenario 14 (e)); a re-run
# finishes it: the same geometry, data and tags as an uninterrupted grow (the superblock may keep the marker's flag).
cp --sparse=always "$T/b-crc.img" "$T/g-ref.img"
gn=$(IVOL_TEST_COUNT_WRITES=1 ivol resize "$T/g-ref.img" --device-size 24M 2>&1 >/dev/null | sed -n 's/^ivol-test: \([0-9]*\) writes$/\1/p')
old_provided=$(ivol dump "$T/b-crc.img" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['providedDataSectors'])")
new_provided=$(ivol dump "$T/g-ref.img" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['providedDataSectors'])")
echo "scenario resize-grow: ${gn:-0} device writes"
[[ ${gn:-0} -ge 3 ]] || bad "resize-grow: reference run failed"
for ((k = 1; k <= ${gn:-0}; k++)); do
  for point in "$k" "$k:torn"; do
    cp --sparse=always "$T/b-crc.img" "$T/g-work.img"
    IVOL_TEST_KILL_AT_WRITE=$point ivol resize "$T/g-work.img" --device-size 24M >/dev/null 2>&1; rc=$?
    state=$(ivol dump "$T/g-work.img" --json | python3 -c "
import json,sys,os; j=json.load(sys.stdin); old=$old_provided
grown = os.path.getsize('$T/g-work.img') > os.path.getsize('$T/b-crc.img')
marked = 'recalculating' in j['flags'] and j['recalcSector'] == old
# A torn last write (the superblock's first half) is the finished grow.
print('ok' if (j['providedDataSectors'] == old and (marked or not grown)) or j['providedDataSectors'] == $new_provided else 'BROKEN(provided %s, flags %s, recalc %s, grown %s)' % (j['providedDataSectors'], j['flags'], j['recalcSector'], grown))")
    if [[ $rc -eq 137 && $state == ok ]] && ivol verify "$T/g-work.img" >/dev/null 2>&1 \
       && ivol resize "$T/g-work.img" --device-size 24M >/dev/null 2>&1 && ivol verify "$T/g-work.img" >/dev/null 2>&1 \
       && cmp -s <(tail -c +513 "$T/g-work.img") <(tail -c +513 "$T/g-ref.img"); then
      echo "resize-grow: kill at write $point -> old geometry (marked once grown) or the grown one, re-run finished"; ok
    else
      bad "resize-grow (kill at $point): exit $rc, superblock $state"
    fi
  done
done

# ---- locks between processes (flock(1) takes the same flock(2) lock ivol takes) and SIGTERM clean-up
if command -v flock >/dev/null; then
  cp --sparse=always "$T/b-crc.img" "$T/lock.img"
  flock -x "$T/lock.img" sh -c "touch $T/locked; while [ ! -e $T/release ]; do sleep 0.05; done" &
  holder=$!
  while [[ ! -e $T/locked ]]; do sleep 0.05; done
  ivol write "$T/lock.img" --input "$T/in-sha.bin" 2>"$T/lock.err"; rc=$?
  if [[ $rc -eq 5 ]] && grep -q '\[DeviceInUse\]' "$T/lock.err"; then ok; else bad "second writer: exit $rc, $(cat "$T/lock.err")"; fi
  ivol verify "$T/lock.img" 2>"$T/lock.err" >/dev/null; rc=$?
  if [[ $rc -eq 5 ]]; then ok; else bad "reader during a write: exit $rc"; fi
  ivol write "$T/lock.img" --input "$T/in-sha.bin" --wait >/dev/null 2>&1 &
  waiter=$!
  sleep 1
  if kill -0 $waiter 2>/dev/null; then ok; else bad "write --wait did not wait"; fi
  touch "$T/release"; wait $holder
  if wait $waiter && ivol verify "$T/lock.img" >/dev/null; then ok; else bad "write --wait did not proceed after the lock was released"; fi
fi
for sig in term hup; do
  rm -f "$T/sig.img"
  IVOL_TEST_KILL_AT_WRITE="2:$sig" ivol format "$T/sig.img" --size 16M --batch-mode >/dev/null 2>&1; rc=$?
  # Under nohup SIGHUP is ignored (and inherited): the format then completes, as it should.
  ign=$(( 16#$(sed -n 's/^SigIgn:\s*//p' /proc/$BASHPID/status) & 1 ))
  if [[ $sig == hup && $ign -eq 1 ]]; then
    if [[ $rc -eq 0 && -e $T/sig.img ]]; then ok; else bad "ignored SIGHUP during format: exit $rc"; fi
  elif [[ $rc -eq 130 && ! -e $T/sig.img ]]; then ok; else bad "SIG${sig^^} during format: exit $rc, image left: $([[ -e $T/sig.img ]] && echo yes || echo no)"; fi
done

echo "outcomes: old ${outcome[old]}, new ${outcome[new]}, replayed (old-or-new blocks, all tags valid) ${outcome[replayed]} (re-run and finished: ${outcome[finished]}), reported-incomplete ${outcome[reported-incomplete]}, torn/silent ${outcome[SILENT]}; seed $SEED; $((SECONDS - start)) s"
echo "crash: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
