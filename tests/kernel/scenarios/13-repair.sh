# Repair (issue 15). A volume made by integritysetup gets data and tag bytes corrupted; the kernel fails reads there
# ("Checksum failed"). `ivol repair --from` a second leg (an integrity image) and from a plain image at an offset heal
# it: the kernel then reads the original content without an error. `--zero-lost` lists exactly the corrupted blocks and
# the kernel reads zeros there, without errors. Offline repair of an active volume is refused (DeviceInUse, exit 5);
# online repair (--name) rewrites the failing blocks through the mapping: from the leg, zero-the-lost, re-tag of one
# range; a dry run writes nothing, a held mapping (DeviceInUse) and a read-only one (OnlineRepairRefused) are refused.
# A loop device over the image and the image itself are one volume: neither is a copy of the other.
pattern p.bin 8192 13

truncate -s 16M vol.img
L=$(losetup -f --show vol.img)
integritysetup format --batch-mode "$L" --integrity crc32c
integritysetup open "$L" r13 --integrity crc32c
dd if=p.bin of=/dev/mapper/r13 bs=4096 oflag=direct conv=fsync status=none
integritysetup close r13
losetup -d "$L"
cp vol.img leg.img                                   # the second leg: same logical data, its own tags

ivol dump vol.img --json > dump.json
initial=$(json dump.json 'j["initialSectors"]')
run=$(json dump.json 'j["metadataRunSectors"]')
tag=$(json dump.json 'j["integrityTagSize"]')
provided=$(json dump.json 'j["providedDataSectors"]')
log "layout: initial_sectors=$initial metadata_run=$run tag=$tag provided=$provided"
# The original logical content (integritysetup wiped the rest to zeros), and a plain copy of it 1 MiB into a file.
cp p.bin full.bin; truncate -s $(( provided * 512 )) full.bin
{ head -c 1048576 /dev/zero; cat full.bin; } > plain.img

flip() { # byte offset: invert one byte in place
    local off=$1 b
    b=$(dd if=vol.img bs=1 skip="$off" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of=vol.img bs=1 seek="$off" conv=notrunc status=none
}
data_off() { echo $(( (initial + run + $1) * 512 + ${2:-0} )); }
tag_off() { echo $(( initial * 512 + $1 * tag )); }
corrupt() {
    flip "$(data_off 3 100)"; flip "$(data_off 777 0)"; flip "$(data_off 4100 511)"   # data bytes
    flip "$(tag_off 2000)"; flip "$(tag_off 8191)"                                     # tag bytes
}
expected="3 777 2000 4100 8191"

# read_active WHAT FILE [SECTORS]: read all of the open r13 (4 KiB chunks: one bad sector each), compare with FILE.
read_active() {
    local what=$1 want=$2
    dmesg -C
    set +e; dd if=/dev/mapper/r13 of=got.bin bs=4096 conv=noerror,sync iflag=direct status=none 2>dd.err; drc=$?; set -e
    expect_eq "$(failing_sectors /dev/mapper/r13)" "${3:-}" "$what: sectors the kernel fails to read"
    if [ -z "${3:-}" ]; then
        expect_eq "$drc" "0" "$what: full read exit code"
        cmp got.bin "$want" || die "$what: the kernel does not read back the expected content"
        log "ok: $what: kernel reads back the expected content"
    fi
}
# read_back WHAT FILE [SECTORS]: open, read_active, close.
read_back() {
    expect_rc 0 ivol open vol.img r13 --integrity crc32c
    read_active "$@"
    expect_rc 0 ivol close r13
}

# 1. Corrupt; the kernel fails exactly those reads.
corrupt
read_back "corrupted" full.bin "$expected"

# Offline repair of an active volume: refused with a stable id, nothing written.
expect_rc 0 ivol open vol.img r13 --integrity crc32c
expect_rc 5 ivol repair vol.img --from leg.img --json
echo "$OUT$ERR" | grep -q DeviceInUse || die "active volume: no DeviceInUse id"

# Online (--name): the blocks the kernel fails are rewritten through /dev/mapper/r13; the kernel computes the tags.
expect_rc 2 ivol repair --name r13 --zero-lost --reserved-sectors 8            # an option for closed volumes
expect_rc 0 ivol repair --name r13 --from leg.img --dry-run --json
echo "$OUT" > o0.json
expect_eq "$(json o0.json 'j["whatIf"]') $(json o0.json 'j["blocksToWrite"]')" "True 5" "online dry run: plan only"
read_active "online dry run wrote nothing" full.bin "$expected"
dmsetup create r13h --table "0 $provided linear /dev/mapper/r13 0"             # a holder: refused unless --force
expect_rc 5 ivol repair --name r13 --zero-lost --json
echo "$OUT$ERR" | grep -q DeviceInUse || die "held mapping: no DeviceInUse id"
dmsetup remove r13h
wait_for "holder gone" sh -c "! dmsetup info r13h >/dev/null 2>&1"
expect_rc 0 ivol repair --name r13 --from leg.img --json
echo "$OUT" > o1.json
expect_eq "$(json o1.json 'j["name"]') $(json o1.json 'j["healedBlocks"]')" "r13 5" "online: healed from the leg"
expect_eq "$(json o1.json '" ".join(str(r["startSector"]) for r in j["ranges"])')" "$expected" "online: repaired blocks"
read_active "online repair from the leg" full.bin
expect_rc 0 ivol close r13
expect_rc 0 ivol open vol.img r13 --integrity crc32c --readonly                  # read-only: refused, says why
expect_rc 2 ivol repair --name r13 --zero-lost --json
echo "$OUT$ERR" | grep -q OnlineRepairRefused || die "read-only mapping: no OnlineRepairRefused id"
expect_rc 0 ivol close r13
# Online zero-the-lost: exactly the corrupted blocks are lost, and the kernel reads zeros there.
python3 - full.bin zeroed.bin $expected <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
for s in map(int, sys.argv[3:]): b[s * 512:(s + 1) * 512] = bytes(512)
open(sys.argv[2], 'wb').write(b)
PY
corrupt
expect_rc 0 ivol open vol.img r13 --integrity crc32c
expect_rc 0 ivol repair --name r13 --zero-lost --json
echo "$OUT" > o2.json
expect_eq "$(json o2.json '" ".join(str(s) for r in j["lostSectors"] for s in range(r["start"], r["start"] + r["sectors"]))')" "$expected" "online: lost sectors"
read_active "online zero-the-lost" zeroed.bin
expect_rc 0 ivol close r13
# Online re-tag of one range: the kernel then reads its current (corrupted) data; the other blocks still fail.
corrupt
dd if=vol.img of=raw777.bin bs=512 skip=$(( initial + run + 777 )) count=1 status=none
expect_rc 0 ivol open vol.img r13 --integrity crc32c
expect_rc 0 ivol repair --name r13 --retag --sectors 777 --json
echo "$OUT" > o3.json
expect_eq "$(json o3.json 'j["retaggedBlocks"]')" "1" "online: re-tagged"
dmesg -C
dd if=/dev/mapper/r13 of=got777.bin bs=512 skip=777 count=1 iflag=direct status=none || die "online re-tag: sector 777 still fails"
cmp got777.bin raw777.bin || die "online re-tag: the kernel does not read the block's current data"
expect_eq "$(kernel_failed_sectors | tr '\n' ' ' | sed 's/ $//')" "" "online re-tag: no checksum failure"
expect_rc 0 ivol close r13
cp leg.img vol.img; corrupt                                                        # back to step 1's state

# 2. From the second leg (its own tags verify every block).
expect_rc 0 ivol repair vol.img --from leg.img --json
echo "$OUT" > r1.json
expect_eq "$(json r1.json 'j["healedBlocks"]')" "5" "healed from the leg"
expect_eq "$(json r1.json '" ".join(str(r["startSector"]) for r in j["ranges"])')" "$expected" "repaired blocks"
read_back "after repair from the leg" full.bin

# The volume's own image is no copy of the volume opened through a loop device over it (and the other way round):
# refused (RepairSourceMismatch), nothing written.
cp vol.img vol-before.img
Lv=$(losetup -f --show vol.img)
expect_rc 2 ivol repair "$Lv" --from vol.img --json
echo "$ERR" | grep -q RepairSourceMismatch || die "the loop device's own backing file as the copy: $ERR"
set +e; ivol repair vol.img --from "$Lv" --json >/dev/null 2> lo.err; rc=$?; set -e
grep -q 'RepairSourceMismatch\|DeviceInUse' lo.err && [ "$rc" != 0 ] || die "the image with its own loop device as the copy: rc $rc $(cat lo.err)"
losetup -d "$Lv"
cmp vol.img vol-before.img || die "a refused repair changed the image"
rm -f vol-before.img
log "ok: a loop device and its backing file are one volume, not a copy"

# 3. From a plain image at an offset: data edits are verified by the volume's intact tags; tag edits need --trust-copy.
corrupt
expect_rc 1 ivol repair vol.img --from plain.img --from-offset 2048 --json
echo "$OUT" > r2.json
expect_eq "$(json r2.json 'j["healedBlocks"]')" "3" "healed from the plain copy (verified by the stored tags)"
expect_eq "$(json r2.json '" ".join(str(s["start"]) for s in j["unrepairedSectors"])')" "2000 8191" "unverifiable (tag edits)"
expect_rc 0 ivol repair vol.img --from plain.img --from-offset 2048 --trust-copy --json
read_back "after repair from the plain image at 1 MiB" full.bin

# 4. Zero the lost: exactly the corrupted blocks are listed, and the kernel reads zeros there without errors.
corrupt
expect_rc 0 ivol repair vol.img --zero-lost --json
echo "$OUT" > r3.json
expect_eq "$(json r3.json '" ".join(str(s) for r in j["lostSectors"] for s in range(r["start"], r["start"] + r["sectors"]))')" "$expected" "lost sectors"
python3 - full.bin zeroed.bin $expected <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
for s in map(int, sys.argv[3:]): b[s * 512:(s + 1) * 512] = bytes(512)
open(sys.argv[2], 'wb').write(b)
PY
read_back "after zero-the-lost" zeroed.bin
set +e; ivol verify vol.img --integrity crc32c >/dev/null; vrc=$?; set -e
expect_eq "$vrc" "0" "ivol verify after zero-the-lost"
