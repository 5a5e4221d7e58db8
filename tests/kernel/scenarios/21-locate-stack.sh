# Bad block → file through a stack (issue 16): a leg sector (logical sector of one of our integrity volumes under md)
# → md array sector → dm-crypt payload sector → file.
# 1. md's placement, checked against what md itself wrote: RAID1 (2 legs), RAID5 (3), RAID6 (4) and RAID10 near
#    (3 legs, 2 copies) over the same four open volumes; every array sector is stamped with its number through
#    /dev/mdX, the array is stopped, and for a span of one leg per level (md's area before the data offset, then six chunks)
#    each leg sector read through the leg's own mapping must hold the stamp of the array sector `ivol locate --leg`
#    names, and the sectors it calls parity must hold no stamp.
# 2. The full stack: RAID5 over 3 legs → LUKS2 → ext4. A file block's sector on the crypt device is found by its
#    plaintext; its ciphertext sector (read through /dev/mdX) is found on a leg by content; that leg sector is
#    corrupted in the closed image; `ivol verify` of the image lists it, and `ivol locate --leg` names the file and the
#    byte offset, with the array and crypt sectors found independently (the crypt offset from cryptsetup's table).
# 3. The other crypt order: RAID1 over per-leg LUKS2 (each leg's own crypt mapping under md) → ext4: a leg sector
#    of a file block → crypt member sector → array sector → file, checked against the kernel's offsets and by reading
#    the member sector through dm-crypt; the leg's LUKS header sectors are named as such.
modprobe raid1 2>/dev/null || true
modprobe raid456 2>/dev/null || true
modprobe raid10 2>/dev/null || true
cleanup() {
    umount mnt 2>/dev/null || true
    cryptsetup close st_crypt 2>/dev/null || true
    mdadm --stop /dev/md/st >/dev/null 2>&1 || true
}
trap cleanup EXIT

par() { # par 'cmd1' 'cmd2' ...: run in parallel (ivol calls cost seconds each under TCG); fail if any fails
    local pids=() c p rc=0
    for c in "$@"; do ( eval "$c" ) & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || die "a parallel step failed: $*"
}
dmdev() { echo "dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')"; }

par 'ivol format leg0.img --size 16M --integrity crc32c --batch-mode >/dev/null' \
    'ivol format leg1.img --size 16M --integrity crc32c --batch-mode >/dev/null' \
    'ivol format leg2.img --size 16M --integrity crc32c --batch-mode >/dev/null' \
    'ivol format leg3.img --size 16M --integrity crc32c --batch-mode >/dev/null'
par 'ivol open leg0.img s0 --integrity crc32c >/dev/null' 'ivol open leg1.img s1 --integrity crc32c >/dev/null' \
    'ivol open leg2.img s2 --integrity crc32c >/dev/null' 'ivol open leg3.img s3 --integrity crc32c >/dev/null' \
    'ivol dump leg0.img --json > dump.json'   # all legs have the same size and options, so the same layout

# check_level LEVEL LEGS LEG [mdadm options]: create over LEGS volumes, stamp every array sector, locate a span of leg
# LEG (one `ivol locate` per level keeps the guest time down), stop, compare with what md wrote there.
check_level() {
    local level=$1 n=$2 i=$3; shift 3
    local legs=() k
    for ((k = 0; k < n; k++)); do legs+=(/dev/mapper/s$k); done
    mdadm --create /dev/md/st --run --quiet --level="$level" --raid-devices="$n" --metadata=1.2 --assume-clean \
        --bitmap=none "$@" "${legs[@]}"
    MD=$(basename "$(readlink -f /dev/md/st)")
    local size chunk d off span
    size=$(blockdev --getsz /dev/$MD)
    chunk=$(( $(cat /sys/block/$MD/md/chunk_size) / 512 ))
    log "$level: $MD, $size sectors, layout $(cat /sys/block/$MD/md/layout), chunk $chunk sectors"
    # Stamp: every array sector holds "L<level>:<sector, 12 digits>;" repeated.
    python3 - "$level" "$size" <<'PY2' | dd of=/dev/$MD bs=1M iflag=fullblock oflag=direct conv=fsync status=none
import sys
level, size = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
for s in range(size):
    out.write((f"L{level}:{s:012d};" * 32).encode()[:512])
PY2
    # Leg i: md's area just before the data offset, then six chunks (at least 768 sectors) of data.
    d=$(dmdev s$i)
    off=$(cat /sys/block/$MD/md/dev-$d/offset)
    span=$(( chunk > 0 ? 6 * chunk : 768 ))
    expect_rc 0 ivol locate --leg s$i --sectors $((off - 8))-$((off + span - 1)) --json
    echo "$OUT" > loc$level.json
    mdadm --stop /dev/$MD >/dev/null
    # The leg's logical sectors as the kernel's dm-integrity serves them (the array is stopped, the leg still open).
    dd if=/dev/mapper/s$i of=leg.bin bs=512 skip=$((off - 8)) count=$((span + 8)) iflag=direct status=none
    python3 - "$level" loc$level.json leg.bin "$((off - 8))" <<'PY2' || die "$level leg s$i: md's placement differs from ivol locate"
import json, re, sys
level, loc, data, first = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3], "rb").read(), int(sys.argv[4])
stamp = re.compile(rb"L" + level.encode() + rb":(\d{12});")
seen, bad = {}, 0
for p in loc["pieces"]:
    seen[p["role"]] = seen.get(p["role"], 0) + p["legSectors"]["sectors"]
    for k in range(p["legSectors"]["sectors"]):
        s = p["legSectors"]["start"] + k
        sec = data[(s - first) * 512:(s - first + 1) * 512]
        m = stamp.match(sec)
        if p["role"] == "data":
            want = p["arraySectors"]["start"] + k
            if not m or int(m.group(1)) != want:
                bad += 1
                if bad <= 5: print(f"  ! leg sector {s}: ivol says array sector {want}, the leg holds {sec[:20]!r}", file=sys.stderr)
        elif m:   # parity, md metadata: no stamp may be there
            bad += 1
            if bad <= 5: print(f"  ! leg sector {s}: ivol says {p['role']}, the leg holds stamp {m.group(1)}", file=sys.stderr)
print(f"  | raid{level} slot {loc['slot']}: {', '.join(f'{v} {k}' for k, v in sorted(seen.items()))} sectors checked, {bad} wrong")
sys.exit(1 if bad or seen.get("data", 0) == 0 or seen.get("mdMetadata", 0) != 8 or sum(seen.values()) != len(data) // 512 else 0)
PY2
    mdadm --zero-superblock "${legs[@]}"
}

check_level 1 2 1
check_level 5 3 2 --chunk=16
expect_eq "$(json loc5.json 'sorted({p["parity"] for p in j["pieces"] if p["role"] == "parity"})')" '["P"]' "raid5: parity seen on the leg"
check_level 6 4 3 --chunk=16
expect_eq "$(json loc6.json 'sorted({p["parity"] for p in j["pieces"] if p["role"] == "parity"})')" '["P", "Q"]' "raid6: P and Q seen on the leg"
check_level 10 3 1 --chunk=16 --layout=n2

# ---------------------------------------------------------------- the full stack: RAID5 → LUKS2 → ext4
mdadm --create /dev/md/st --run --quiet --level=5 --raid-devices=3 --metadata=1.2 --assume-clean --bitmap=none --chunk=16 \
    /dev/mapper/s0 /dev/mapper/s1 /dev/mapper/s2
MD=$(basename "$(readlink -f /dev/md/st)")
head -c 64 /dev/urandom > key
cryptsetup luksFormat --type luks2 --batch-mode --key-file key --pbkdf pbkdf2 --pbkdf-force-iterations 1000 /dev/$MD
cryptsetup open --key-file key /dev/$MD st_crypt
[ -b /dev/mapper/st_crypt ] || die "no /dev/mapper/st_crypt node"
mkdir -p src/docs mnt
python3 - <<'PY'
for name, path, blocks in (("victim", "src/docs/victim.bin", 12), ("other", "src/other.bin", 4)):
    with open(path, "wb") as f:
        for k in range(blocks):
            f.write((f"<{name}:{k:04d}>" * 512).encode()[:4096])
PY
mkfs.ext4 -q -F -b 4096 -E nodiscard -d src /dev/mapper/st_crypt
sync
# The file system sector of victim block 7, sector 5 of it: found by its plaintext on the crypt device.
F=$(python3 - <<'PY'
data = open("/dev/mapper/st_crypt", "rb").read()
pat = ("<victim:0007>" * 512).encode()[:4096]
i = data.find(pat)
assert i >= 0 and data.find(pat, i + 1) < 0, "block not found exactly once"
print(i // 512 + 5)
PY
)
coff=$(dmsetup table st_crypt | awk '$3 == "crypt" {print $8}')
A=$((F + coff))
log "victim block 7 sector 5: crypt sector $F, crypt payload offset $coff (cryptsetup's table), array sector $A"
# Its ciphertext, read through md, found on exactly one leg by content (leg page caches dropped first).
for i in 0 1 2; do blockdev --flushbufs /dev/mapper/s$i; done
dd if=/dev/$MD of=cipher.bin bs=512 skip=$A count=1 iflag=direct status=none
python3 - > legpos.txt <<'PY'
c = open("cipher.bin", "rb").read()
hits = []
for i in range(3):
    data = open(f"/dev/mapper/s{i}", "rb").read()
    at = data.find(c)
    while at >= 0:
        if at % 512 == 0: hits.append((i, at // 512))
        at = data.find(c, at + 1)
assert len(hits) == 1, f"ciphertext sector found {len(hits)} times"
print(*hits[0])
PY
read -r LEG L < legpos.txt   # (no process substitution: the guest has no /dev/fd)
log "its ciphertext is leg s$LEG sector $L"
cryptsetup close st_crypt
mdadm --stop /dev/$MD >/dev/null
ivol close s$LEG >/dev/null
# Corrupt that logical sector of the closed leg image (physical offset from the dump, as scenario 08 does).
off=$(python3 -c "import json; d=json.load(open('dump.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+77)")
b=$(dd if=leg$LEG.img bs=1 skip="$off" count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of=leg$LEG.img bs=1 seek="$off" conv=notrunc status=none
set +e; ivol verify leg$LEG.img --integrity crc32c --json > verify.json; vrc=$?; set -e
expect_eq "$vrc" "1" "verify of the corrupted leg: exit code"
expect_eq "$(json verify.json '",".join(str(r["start"]) for r in j["mismatchedSectors"])')" "$L" "verify's mismatched sectors of leg s$LEG"

ivol open leg$LEG.img s$LEG --integrity crc32c >/dev/null
mdadm --assemble /dev/md/st /dev/mapper/s0 /dev/mapper/s1 /dev/mapper/s2 >/dev/null 2>&1 || die "reassembly failed"
MD=$(basename "$(readlink -f /dev/md/st)")
cryptsetup open --key-file key /dev/$MD st_crypt
expect_rc 0 ivol locate --leg s$LEG --sectors "$L" --json
echo "$OUT" > stack.json
expect_eq "$(json stack.json '[l["kind"] for l in j["layers"]]')" '["md", "crypt"]' "layers"
expect_eq "$(json stack.json 'j["fileSystemPath"]')" "/dev/mapper/st_crypt" "file-system device"
expect_eq "$(json stack.json 'len(j["pieces"])')" "1" "pieces"
expect_eq "$(json stack.json 'j["pieces"][0]["arraySectors"]["start"]')" "$A" "array sector"
expect_eq "$(json stack.json 'j["pieces"][0]["fileSystemSectors"]["start"]')" "$F" "crypt (file-system) sector"
expect_eq "$(json stack.json '[(o["kind"], o["path"], o["fileOffset"], o["length"]) for o in j["pieces"][0]["owners"]]')" \
    '[["file", "/docs/victim.bin", '"$(( 7 * 4096 + 5 * 512 ))"', 512]]' "owner of the corrupted leg sector"
# The kernel: the file reads back intact through md (raid5 rebuilds the block the leg fails).
mount -t ext4 -o ro /dev/mapper/st_crypt mnt
cmp mnt/docs/victim.bin src/docs/victim.bin && cmp mnt/other.bin src/other.bin || die "victim.bin does not read back through md"
log "ok: /docs/victim.bin reads back intact through raid5"
umount mnt
# A volume in no array: NotAnArrayMember (usage error, exit 2).
expect_rc 2 ivol locate --leg s3 --sectors 100 --json
case "$ERR" in *NotAnArrayMember*) log "ok: a leg outside any array: NotAnArrayMember";; *) echo "$ERR" >&2; die "no NotAnArrayMember";; esac
cryptsetup close st_crypt
mdadm --stop /dev/$MD >/dev/null

# ---------------------------------------------------------------- the other order: RAID1 over per-leg LUKS2 → ext4
# Each leg carries its own LUKS2 (header in the first 2 MiB of the leg), md mirrors the two crypt mappings, ext4 on md.
for i in 0 1; do
    cryptsetup luksFormat --type luks2 --batch-mode --key-file key --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --luks2-metadata-size 16k --luks2-keyslots-size 256k --offset 4096 /dev/mapper/s$i
    cryptsetup open --key-file key /dev/mapper/s$i st_c$i
done
cleanup() {
    umount mnt 2>/dev/null || true
    mdadm --stop /dev/md/st1 >/dev/null 2>&1 || true
    cryptsetup close st_c0 2>/dev/null || true; cryptsetup close st_c1 2>/dev/null || true
}
mdadm --create /dev/md/st1 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean --bitmap=none \
    /dev/mapper/st_c0 /dev/mapper/st_c1
MD=$(basename "$(readlink -f /dev/md/st1)")
mkfs.ext4 -q -F -b 4096 -E nodiscard -d src /dev/$MD
sync
# victim block 3, sector 2: its array (= file system) sector found by plaintext on md; md's data offset on the crypt
# member from sysfs; the crypt payload offset from cryptsetup's table: leg sector = both offsets + the array sector.
F=$(python3 - "$MD" <<'PY'
import sys
data = open("/dev/" + sys.argv[1], "rb").read()
pat = ("<victim:0003>" * 512).encode()[:4096]
i = data.find(pat)
assert i >= 0 and data.find(pat, i + 1) < 0, "block not found exactly once"
print(i // 512 + 2)
PY
)
c0=$(dmdev st_c0)
moff=$(cat /sys/block/$MD/md/dev-$c0/offset)
coff=$(dmsetup table st_c0 | awk '$3 == "crypt" {print $8}')
L=$((F + moff + coff))
log "victim block 3 sector 2: array sector $F, md data offset $moff on st_c0, crypt payload offset $coff: leg s0 sector $L"
expect_rc 0 ivol locate --leg s0 --sectors "0-1,$L" --json
echo "$OUT" > perleg.json
expect_eq "$(json perleg.json '[l["kind"] for l in j["layers"]]')" '["crypt", "md"]' "per-leg LUKS: layers"
expect_eq "$(json perleg.json 'j["fileSystemPath"]')" "/dev/$MD" "per-leg LUKS: file-system device"
expect_eq "$(json perleg.json '[(p["role"], p["legSectors"]["start"], p["legSectors"]["sectors"]) for p in j["pieces"]]')" \
    '[["belowArrayLayer", 0, 2], ["data", '"$L"', 1]]' "per-leg LUKS: pieces"
expect_eq "$(json perleg.json '"LUKS header" in j["pieces"][0]["note"]')" "True" "per-leg LUKS: the header sectors are named"
expect_eq "$(json perleg.json '[(l["device"], l["sectors"]["start"]) for l in j["pieces"][1]["layerSectors"]]')" \
    '[["/dev/mapper/st_c0", '"$((F + moff))"']]' "per-leg LUKS: crypt member sector"
expect_eq "$(json perleg.json 'j["pieces"][1]["arraySectors"]["start"]')" "$F" "per-leg LUKS: array sector"
expect_eq "$(json perleg.json '[(o["kind"], o["path"], o["fileOffset"], o["length"]) for o in j["pieces"][1]["owners"]]')" \
    '[["file", "/docs/victim.bin", '"$(( 3 * 4096 + 2 * 512 ))"', 512]]' "per-leg LUKS: owner of the leg sector"
# The kernel agrees: the crypt member sector ivol names holds that plaintext sector (read through dm-crypt).
blockdev --flushbufs /dev/mapper/st_c0
dd if=/dev/mapper/st_c0 of=member.bin bs=512 skip=$((F + moff)) count=1 iflag=direct status=none
dd if=src/docs/victim.bin of=expect.bin bs=512 skip=$((3 * 8 + 2)) count=1 status=none
cmp member.bin expect.bin || die "the crypt member sector does not hold victim block 3 sector 2"
log "ok: /dev/mapper/st_c0 sector $((F + moff)) holds victim.bin block 3 sector 2"
# What md heals in this order: leg sector L corrupted in the closed image fails the crypt member's read (dm-crypt passes
# the integrity error up); md's check rewrites it from the mirror through st_c0, and the array status finds the
# integrity mapping under the crypt leg to count it.
mdadm --stop /dev/$MD >/dev/null
cryptsetup close st_c0
ivol close s0 >/dev/null
off=$(python3 -c "import json; d=json.load(open('dump.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+77)")
b=$(dd if=leg0.img bs=1 skip="$off" count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of=leg0.img bs=1 seek="$off" conv=notrunc status=none
ivol open leg0.img s0 --integrity crc32c >/dev/null
cryptsetup open --key-file key /dev/mapper/s0 st_c0
expect_eq "$(failing_sectors /dev/mapper/s0)" "$L" "per-leg LUKS: the corrupted leg sector fails in the kernel"
mdadm --assemble /dev/md/st1 /dev/mapper/st_c0 /dev/mapper/st_c1 >/dev/null 2>&1 || die "per-leg LUKS: reassembly failed"
MD=$(basename "$(readlink -f /dev/md/st1)")
set +e; ivol array scrub /dev/md/st1 --json > scrub.json; src=$?; set -e
expect_eq "$src" "1" "per-leg LUKS: scrub exit code (integrity failures found)"
expect_eq "$(json scrub.json 'sorted((l["path"], l["integrityMismatchesAdded"] > 0) for l in j["legs"])')" \
    '[["/dev/mapper/st_c0", true], ["/dev/mapper/st_c1", false]]' "per-leg LUKS: the failure counted on st_c0's integrity mapping (s0)"
expect_eq "$(json scrub.json 'j["anyLegFailed"]')" "False" "per-leg LUKS: no leg failed"
expect_eq "$(failing_sectors /dev/mapper/s0)" "" "per-leg LUKS: md rewrote the sector through dm-crypt"
mount -t ext4 -o ro /dev/$MD mnt
cmp mnt/docs/victim.bin src/docs/victim.bin || die "per-leg LUKS: victim.bin does not read back"
umount mnt
log "ok: per-leg LUKS: md healed the corrupted leg sector through dm-crypt; victim.bin reads back"
mdadm --stop /dev/$MD >/dev/null
cryptsetup close st_c0; cryptsetup close st_c1
