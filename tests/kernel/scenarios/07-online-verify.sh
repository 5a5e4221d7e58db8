# Online verify (ivol verify --name): read an ACTIVE mapping through the kernel with O_DIRECT and list the blocks it
# refuses. After corrupting data and tag bytes of the closed volume and reopening it, the failing sectors of
# `ivol verify --name` must equal the kernel's "Checksum failed at sector" list and the offline `ivol verify --json`
# list, the mismatch counter must have risen by at least that many, and the mapping must stay active and usable.
# Then a 4096-byte-sector volume (online == offline), and EIO from the device below (dm "error" target) reported
# as unreadable sectors, not as mismatches. (Each ivol start costs ~10 s under TCG: mappings that are not under
# test are removed with dmsetup, and the layout comes from `ivol format --json`.)
sectors_of() { # FILE KEY: the 512-byte sectors of a JSON range list, space-separated
    json "$1" '" ".join(str(s) for r in j["'"$2"'"] for s in range(r["start"], r["start"] + r["sectors"]))'
}
flip() { # IMAGE BYTE-OFFSET: invert one byte in place
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
data_start() { # FORMAT-JSON: byte offset of logical sector 0 (area 0: after the initial sectors and the first tag run)
    echo $(( ($(json "$1" 'j["volume"]["initialSectors"]') + $(json "$1" 'j["volume"]["metadataRunSectors"]')) * 512 ))
}
remove_mapping() { # NAME: a clean removal without starting ivol (the kernel flushes the journal; the loop autoclears)
    dmsetup remove "$1"
    wait_for "loop autoclear of $2" bash -c '! losetup -a | grep -q "$1"' _ "$2"
}

ivol format vol.img --size 16M --integrity crc32c --batch-mode --json > fmt.json
expect_rc 0 ivol open vol.img ov --integrity crc32c
pattern p.bin 8192 11
dd if=p.bin of=/dev/mapper/ov bs=512 oflag=direct conv=fsync status=none

# A healthy active volume: every block read, nothing refused, counter unchanged.
expect_rc 0 ivol verify --name ov --json
echo "$OUT" > healthy.json
expect_eq "$(json healthy.json 'j["healthy"]')" "True" "online verify of a healthy volume"
expect_eq "$(json healthy.json 'j["blocksChecked"]')" "$(blockdev --getsz /dev/mapper/ov)" "blocks checked = mapped sectors"
expect_eq "$(json healthy.json 'j["directIo"]')" "True" "O_DIRECT reads"
expect_eq "$(json healthy.json 'j["failuresDelta"]')" "0" "mismatch counter unchanged"
expect_eq "$(json healthy.json 'j["path"]')" "/dev/mapper/ov" "device node read"
remove_mapping ov vol.img

# Corrupt data and tag bytes of the closed volume. Few enough that the kernel's messages stay under dm's rate limit
# (10 per 5 s): each failing 1 MiB chunk logs its first bad block, then each block logs again on its own re-read.
d0=$(data_start fmt.json)
t0=$(( $(json fmt.json 'j["volume"]["initialSectors"]') * 512 ))
tag=$(json fmt.json 'j["volume"]["integrityTagSize"]')
log "layout: data at byte $d0, tags at byte $t0, tag size $tag"
flip vol.img $(( d0 + 0 * 512 + 7 ))        # the very first block
flip vol.img $(( d0 + 300 * 512 + 17 ))
flip vol.img $(( d0 + 301 * 512 ))          # two adjacent blocks: one range, same chunk
flip vol.img $(( d0 + 2049 * 512 + 511 ))   # second 1 MiB chunk
flip vol.img $(( t0 + 8191 * tag ))         # the tag of the last written block (fourth chunk)
expected="0 300 301 2049 8191"

set +e; ivol verify vol.img --integrity crc32c --json > offline.json; orc=$?; set -e
expect_eq "$orc" "1" "offline verify exit code"
offline=$(sectors_of offline.json mismatchedSectors)
expect_eq "$offline" "$expected" "offline mismatched sectors"

expect_rc 0 ivol open vol.img ov --integrity crc32c
before=$(dmsetup status ov | awk '{print $4}')
dmesg -C
expect_rc 1 ivol verify --name ov --json
echo "$OUT" > online.json
online=$(sectors_of online.json mismatchedSectors)
kernel=$(kernel_failed_sectors | tr '\n' ' ' | sed 's/ $//')
log "online: $online"
log "kernel: $kernel ($(dmesg | grep -c 'Checksum failed') messages)"
if dmesg | grep -q 'callbacks suppressed'; then log "note: the kernel rate-limited its messages"; fi
expect_eq "$online" "$expected" "ivol verify --name mismatched sectors"
expect_eq "$online" "$offline" "online == offline"
expect_eq "$(json online.json 'j["mismatchedBlocks"]')" "5" "mismatched blocks"
expect_eq "$(json online.json 'j["unreadableBlocks"]')" "0" "unreadable blocks"
expect_eq "$(json online.json 'j["failuresBefore"]')" "$before" "counter before = dmsetup status"
after=$(dmsetup status ov | awk '{print $4}')
expect_eq "$(json online.json 'j["failuresAfter"]')" "$after" "counter after = dmsetup status"
expect_eq "$(failing_sectors /dev/mapper/ov)" "$online" "sectors the kernel fails to read == ivol verify --name"
delta=$(json online.json 'j["failuresDelta"]')
[ "$delta" -ge 5 ] || die "mismatch counter rose by $delta, fewer than the 5 bad blocks"
log "ok: mismatch counter +$delta (failing chunks and their block re-reads)"

# Still online and usable: the mapping is active and a good region reads back.
dmsetup info ov | grep -q '^State: *ACTIVE' || die "ov is not active after the online verify"
expect_eq "$(dd if=/dev/mapper/ov bs=512 skip=1000 count=1000 iflag=direct status=none | sha256sum)" \
          "$(dd if=p.bin bs=512 skip=1000 count=1000 status=none | sha256sum)" "good sectors read while the volume stays active"
# Rewriting the bad blocks through the kernel repairs them; the text form then reports a healthy volume.
for s in $expected; do
    dd if=p.bin of=/dev/mapper/ov bs=512 skip=$s seek=$s count=1 oflag=direct conv=fsync status=none
done
set +e; ivol verify --name ov > repaired.txt 2>repaired.err; trc=$?; set -e
cat repaired.txt | sed 's/^/  | /'
expect_eq "$trc" "0" "healthy after rewriting the bad blocks (text mode)"
grep -q '^/dev/mapper/ov (ov): healthy' repaired.txt || die "unexpected text output: $(cat repaired.txt)"
expect_rc 0 ivol close ov
expect_eq "$(losetup -a | grep -c vol.img || true)" "0" "loop detached"

# 4096-byte sectors: whole blocks, numbered by their first 512-byte sector; online == offline.
ivol format big.img --size 16M --integrity crc32c --sector-size 4096 --batch-mode --json > bfmt.json
bd0=$(data_start bfmt.json)
flip big.img $(( bd0 + 800 * 512 + 3000 ))   # inside the block of sectors 800-807
flip big.img $(( bd0 + 808 * 512 ))          # the next block
set +e; ivol verify big.img --integrity crc32c --json > boff.json; set -e
expect_rc 0 ivol open big.img b7 --integrity crc32c
expect_rc 1 ivol verify --name b7 --json
echo "$OUT" > bon.json
expect_eq "$(json bon.json 'j["sectorSize"]')" "4096" "sector size"
expect_eq "$(json bon.json '[[r["start"], r["sectors"]] for r in j["mismatchedSectors"]]')" "[[800, 16]]" "4 KiB blocks: one range of two blocks"
expect_eq "$(sectors_of bon.json mismatchedSectors)" "$(sectors_of boff.json mismatchedSectors)" "4 KiB: online == offline"
log "kernel log (4 KiB blocks): $(kernel_failed_sectors | tr '\n' ' ')"
remove_mapping b7 big.img

# EIO from below: a device-mapper "error" segment under 8 sectors of the data area. Those blocks are unreadable,
# not mismatches; the kernel checks no tag for them, so the counter does not move; the exit code is 3 (I/O error).
ivol format eio.img --size 16M --integrity crc32c --batch-mode --json > efmt.json
L=$(losetup -f --show eio.img)
total=$(blockdev --getsz "$L")
bad=$(( $(data_start efmt.json) / 512 + 4000 ))   # physical sector of logical sector 4000
printf '0 %d linear %s 0\n%d 8 error\n%d %d linear %s %d\n' "$bad" "$L" "$bad" $((bad + 8)) $((total - bad - 8)) "$L" $((bad + 8)) | dmsetup create e7under
[ -b /dev/mapper/e7under ] || dmsetup mknodes e7under
expect_rc 0 ivol open /dev/mapper/e7under e7 --integrity crc32c
dmesg -C
expect_rc 3 ivol verify --name e7 --json
echo "$OUT" > eio.json
expect_eq "$(sectors_of eio.json unreadableSectors)" "4000 4001 4002 4003 4004 4005 4006 4007" "unreadable sectors (EIO)"
expect_eq "$(json eio.json 'j["mismatchedBlocks"]')" "0" "EIO is not a mismatch"
expect_eq "$(json eio.json 'j["failuresDelta"]')" "0" "EIO does not move the mismatch counter"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "no checksum failure logged for EIO"
dmsetup remove e7
dmsetup remove e7under
losetup -d "$L"
