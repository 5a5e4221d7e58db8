# Issue 12 defect 7: `ivol write` goes through the kernel's own journal, so a write killed (SIGKILL) at any device
# write leaves a volume the real kernel opens without failing it (no "journal commit id", no "tag mismatch when
# replaying journal"): its replay turns every block of the range into the old or the new one, each reading without an
# I/O error; after the kernel closes it, our offline verify is healthy (and still names the unfinished write).
# Kill points: write 3 (the first batch committed to the journal, nothing in place: the kernel must replay it) and
# three drawn from a seeded RNG over the whole write (IVOL_TEST_KILL_AT_WRITE, before a write or torn inside it).
# Also: an uninterrupted journaled write opens in the kernel and reads back the new data; and with a journal_mac
# (hmac-sha256, given to write with --journal-integrity) a write killed at 3 replays in the kernel, MACs checked.
# Images live on the guest's tmpfs scratch dir; every wait is on a state (the mapping, the loop device), never a time.
first=1000; sectors=4096                 # 2 MiB at sector 1000: about 25 journal batches on a 16 MiB volume
ivol format base.img --size 16M --integrity crc32c --batch-mode >/dev/null
pattern old.bin $sectors 21
pattern new.bin $sectors 22
ivol write base.img --input old.bin --offset $first >/dev/null
cp base.img ref.img
writes=$(IVOL_TEST_COUNT_WRITES=1 ivol write ref.img --input new.bin --offset $first 2>&1 >/dev/null | sed -n 's/^ivol-test: \([0-9]*\) writes$/\1/p')
[ -n "$writes" ] && [ "$writes" -gt 10 ] || die "reference write: no write count ($writes)"
log "uninterrupted write: $writes device writes"
points="3 $(python3 -c "
import random; r = random.Random(1212)
print(' '.join(str(k) + (':torn' if r.random() < 0.5 else '') for k in sorted(r.sample(range(4, $writes + 1), 3))))")"
log "kill points: $points"

# open_read IMG NAME OUT [integritysetup options]: open IMG with integritysetup (the kernel replays its journal), require no device failure,
# read the written range with O_DIRECT into OUT (an I/O error fails the scenario), close, wait for the loop to go.
open_read() {
    local img=$1 name=$2 out=$3 loopdev
    shift 3
    dmesg -C
    loopdev=$(losetup -f --show "$img")
    integritysetup open "$loopdev" "$name" --integrity crc32c "$@" || die "$img: integritysetup open failed: $(dmesg | tail -5)"
    [ -b /dev/mapper/$name ] || { mknod /dev/mapper/$name b $(dmsetup info -c --noheadings -o major,minor "$name" | tr ':' ' '); }
    dd if=/dev/mapper/$name of="$out" bs=512 skip=$first count=$sectors iflag=direct status=none \
        || die "$img: reading the written range failed (I/O error): $(dmesg | grep -i integrity | tail -5)"
    dd if=/dev/mapper/$name of=/dev/null bs=1M iflag=direct status=none || die "$img: full read failed: $(dmesg | grep -i integrity | tail -5)"
    expect_eq "$(dmsetup status "$name" | awk '{print $4}')" "0" "$img: kernel mismatch counter"
    integritysetup close "$name"
    losetup -d "$loopdev" 2>/dev/null || true
    wait_for "$img: loop device detached" sh -c "! losetup -a | grep -q '$img'"
    if dmesg | grep -Ei 'integrity: (Error on|.*journal)|Checksum failed' >&2; then die "$img: the kernel reported the errors above"; fi
    log "ok: $img: the kernel opened it (journal replayed), read every block, no device failure"
}

# Each block of the range read through the kernel: old or new (prints "old new").
classify() {
    python3 - "$1" old.bin new.bin <<'PY'
import sys
got, old, new = (open(p, 'rb').read() for p in sys.argv[1:4])
assert len(got) == len(old) == len(new), (len(got), len(old))
o = n = 0
for i in range(0, len(got), 512):
    b = got[i:i + 512]
    if b == new[i:i + 512]: n += 1
    elif b == old[i:i + 512]: o += 1
    else: sys.exit(f"block at sector {1000 + i // 512} is neither old nor new")
print(o, n)
PY
}

i=0
for point in $points; do
    i=$((i + 1))
    cp base.img k$i.img
    set +e; IVOL_TEST_KILL_AT_WRITE=$point ivol write k$i.img --input new.bin --offset $first >/dev/null 2>&1; rc=$?; set -e
    expect_eq "$rc" "137" "write killed at $point"
    expect_rc 0 ivol dump k$i.img --json
    echo "$OUT" > d$i.json
    expect_eq "$(json d$i.json 'j["interruptedWrite"]["journaled"]')" "True" "k$i: interrupted journaled write recorded"
    log "k$i: journal $(json d$i.json 'j["journalState"]') with $(json d$i.json 'j["pendingJournalEntries"]') pending entries"
    [ "$point" != 3 ] || [ "$(json d$i.json 'j["pendingJournalEntries"]')" -gt 0 ] || die "kill at 3 left no pending journal entry"
    open_read k$i.img jw$i got$i.bin
    counts=$(classify got$i.bin) || die "k$i (kill at $point): $counts"
    log "ok: k$i (kill at $point): old/new blocks: $counts"
    [ "$point" != 3 ] || [ "${counts#* }" -gt 0 ] || die "kill at 3: the kernel's replay applied no block"
    expect_rc 0 ivol verify k$i.img --integrity crc32c --json
    echo "$OUT" > v$i.json
    expect_eq "$(json v$i.json 'j["healthy"]')" "True" "k$i: offline verify healthy after the kernel's replay"
    expect_eq "$(json v$i.json 'j["interruptedWrite"]["startSector"]')" "$first" "k$i: verify still names the unfinished write"
done

# Uninterrupted: the kernel opens our journaled write and reads the new data.
expect_rc 0 ivol verify ref.img --integrity crc32c
open_read ref.img jwref gotref.bin
expect_eq "$(sha256sum < gotref.bin)" "$(sha256sum < new.bin)" "uninterrupted journaled write read back by the kernel"

# journal_mac: the sections we write carry the MAC the kernel checks on replay (a wrong one fails the device).
printf '\x5a%.0s' $(seq 32) > jkey.bin
ivol format mac.img --size 16M --integrity crc32c --journal-integrity hmac-sha256 --journal-integrity-key-file jkey.bin --batch-mode >/dev/null
jopts="--journal-integrity hmac-sha256 --journal-integrity-key-file jkey.bin"
ivol write mac.img --input old.bin --offset $first $jopts >/dev/null
set +e; IVOL_TEST_KILL_AT_WRITE=3 ivol write mac.img --input new.bin --offset $first $jopts >/dev/null 2>&1; rc=$?; set -e
expect_eq "$rc" "137" "journal_mac write killed at 3"
expect_rc 0 ivol dump mac.img --json
echo "$OUT" > dm.json
[ "$(json dm.json 'j["pendingJournalEntries"]')" -gt 0 ] || die "journal_mac: kill at 3 left no pending journal entry"
open_read mac.img jwmac gotmac.bin --journal-integrity hmac-sha256 --journal-integrity-key-file jkey.bin --journal-integrity-key-size 32
counts=$(classify gotmac.bin) || die "journal_mac: $counts"
[ "${counts#* }" -gt 0 ] || die "journal_mac: the kernel's replay applied no block"
log "ok: journal_mac: the kernel checked the section MACs and replayed: old/new blocks: $counts"
expect_rc 0 ivol verify mac.img --integrity crc32c $jopts --json
echo "$OUT" > vm.json
expect_eq "$(json vm.json 'j["healthy"]')" "True" "journal_mac: offline verify healthy after the kernel's replay"
