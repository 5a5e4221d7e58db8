# md RAID1 (mdadm) over two volumes we formatted (ivol format) and opened (ivol open): a pattern is written through
# /dev/mdX, everything is stopped and closed, data bytes of one leg's backing image are corrupted (offsets from
# `ivol dump --json`), the array is reassembled and md's `check` runs. dm-integrity fails the reads of the corrupted
# blocks (EILSEQ); raid1's check rewrites a leg whose read failed from the good leg (process_checks skips the write
# in check mode only when the read succeeded), so `check` heals without `repair` and without failing the leg.
# Evidence: the kernel's "Checksum failed" sectors are exactly the corrupted ones, mismatch_cnt > 0, both legs stay
# in_sync with 0 errors, a second check finds nothing; offline, ivol verify of both legs is healthy and both legs
# hold the pattern.
modprobe raid1 2>/dev/null || true
# A failure must not leave the array holding our mappings (the suite's cleanup only removes mappings and loops).
trap 'mdadm --stop /dev/md/heal >/dev/null 2>&1 || true' EXIT

par() { # par 'cmd1' 'cmd2' ...: run in parallel (ivol calls cost seconds each under TCG); fail if any fails
    local pids=() c p rc=0
    for c in "$@"; do ( eval "$c" ) & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || die "a parallel step failed: $*"
}

# read_logical IMG DUMP.json FIRST COUNT OUT: logical sectors of a closed interleaved volume, straight from the image.
read_logical() {
    python3 - "$@" <<'PY'
import json, sys
img, dump, first, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
d = json.load(open(dump))
initial, run, il = d["initialSectors"], d["metadataRunSectors"], d["interleaveSectors"]
with open(img, "rb") as f, open(out, "wb") as o:
    for s in range(first, first + count):
        area = s // il
        f.seek((initial + (area + 1) * run + s) * 512)
        o.write(f.read(512))
PY
}

flip() { # image byte-offset: invert one byte in place
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

wait_idle() { # md name: wait for sync_action to return to idle (writing "check" sets the request flags at once, so it
    # reads "check" until md has finished the pass; no sleep needed)
    wait_for "$1: sync_action back to idle" \
        bash -c '[ "$(cat /sys/block/$1/md/sync_action)" = idle ]' _ "$1"
}

dmdev() { echo "dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')"; }

par 'ivol format leg0.img --size 16M --integrity crc32c --batch-mode >/dev/null' \
    'ivol format leg1.img --size 16M --integrity crc32c --batch-mode >/dev/null'
par 'ivol open leg0.img h0 --integrity crc32c >/dev/null' 'ivol open leg1.img h1 --integrity crc32c >/dev/null' \
    'ivol dump leg1.img --json > dump1.json'   # leg0 has the same size and options, so the same layout
mdadm --create /dev/md/heal --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean \
    /dev/mapper/h0 /dev/mapper/h1
MD=$(basename "$(readlink -f /dev/md/heal)")
grep -q "^$MD : active raid1" /proc/mdstat || die "raid1 not active: $(cat /proc/mdstat)"
D0=$(dmdev h0); D1=$(dmdev h1)
mdoff=$(cat /sys/block/$MD/md/dev-$D1/offset)
log "array $MD over $D0 (leg0) and $D1 (leg1), data offset $mdoff sectors"

N=8192                                   # 4 MiB pattern at the start of the array
pattern p.bin $N 8
dd if=p.bin of=/dev/$MD bs=1M oflag=direct conv=fsync status=none
mdadm --stop /dev/$MD >/dev/null
par 'ivol close h0 >/dev/null' 'ivol close h1 >/dev/null'
expect_eq "$(losetup -a | grep -c 'leg[01].img' || true)" "0" "loops detached after close"

# Corrupt one data byte in three array sectors of leg1, each in a different 64 KiB resync window.
expected=""
for s in 5 2000 7000; do
    L=$((mdoff + s))                     # leg-logical sector = what dm-integrity reports
    off=$(python3 -c "import json; d=json.load(open('dump1.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+17)")
    flip leg1.img "$off"
    expected="$expected $L"
done
expected="${expected# }"
# Our offline verify of the corrupted leg (read-only) runs alongside the reopening.
par 'ivol open leg0.img h0 --integrity crc32c >/dev/null' 'ivol open leg1.img h1 --integrity crc32c >/dev/null' \
    'ivol verify leg1.img --integrity crc32c --json > vc.json || [ $? = 1 ]'
expect_eq "$(json vc.json '" ".join(str(r["start"]) for r in j["mismatchedSectors"])')" "$expected" "offline verify of the corrupted leg: mismatched sectors"
dmesg -C
mdadm --assemble /dev/md/heal /dev/mapper/h0 /dev/mapper/h1 >/dev/null 2>&1 || die "reassembly failed"
MD=$(basename "$(readlink -f /dev/md/heal)")
D0=$(dmdev h0); D1=$(dmdev h1)
echo check > /sys/block/$MD/md/sync_action
wait_idle "$MD"
mm=$(cat /sys/block/$MD/md/mismatch_cnt)
log "first check: mismatch_cnt $mm"
[ "$mm" -gt 0 ] || die "md check saw no mismatch"
expect_eq "$(kernel_failed_sectors | tr '\n' ' ' | sed 's/ $//')" "$expected" "kernel 'Checksum failed' sectors during check"
expect_eq "$(dmsetup status h1 | awk '{print $4}')" "3" "leg1 mismatch counter"
expect_eq "$(dmsetup status h0 | awk '{print $4}')" "0" "leg0 mismatch counter"
for d in $D0 $D1; do
    expect_eq "$(cat /sys/block/$MD/md/dev-$d/state)" "in_sync" "$d state after check"
    expect_eq "$(cat /sys/block/$MD/md/dev-$d/errors)" "0" "$d error count"
done
grep -A1 "^$MD : active raid1" /proc/mdstat | grep -q '\[2/2\] \[UU\]' || die "array degraded: $(cat /proc/mdstat)"
log "ok: both legs active ([UU])"
dmesg | grep -qiE "raid1.*(disk failure|disabling device)" && die "md failed a leg: $(dmesg | grep -i raid1)"
dmesg -C
echo check > /sys/block/$MD/md/sync_action
wait_idle "$MD"
expect_eq "$(cat /sys/block/$MD/md/mismatch_cnt)" "0" "second check: mismatch_cnt (bad blocks were rewritten)"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "second check: kernel checksum failures"
expect_eq "$(dd if=/dev/$MD bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "pattern read through the array"
mdadm --stop /dev/$MD >/dev/null
par 'ivol close h0 >/dev/null' 'ivol close h1 >/dev/null'

# Offline: both legs healthy, both hold the pattern at the md data offset.
par 'ivol verify leg0.img --integrity crc32c --json > v0.json' 'ivol verify leg1.img --integrity crc32c --json > v1.json'
for leg in 0 1; do
    expect_eq "$(json v$leg.json 'j["healthy"]')" "True" "leg$leg offline verify healthy"
    expect_eq "$(json v$leg.json 'j["mismatchedBlocks"]')" "0" "leg$leg mismatched blocks"
    read_logical leg$leg.img dump1.json "$mdoff" "$N" out$leg.bin
    expect_eq "$(sha256sum < out$leg.bin)" "$(sha256sum < p.bin)" "leg$leg data = pattern"
done
expect_eq "$(dmsetup ls | grep -cE '^h[01]\s' || true)" "0" "mappings removed"
