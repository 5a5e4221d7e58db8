# We format (ivol format) -> we open through our ioctl client (ivol open) -> dd writes a pattern through
# /dev/mapper/<name> -> ivol close (mapping, node and loop device gone) -> our offline ivol verify says healthy,
# and the kernel (integritysetup as witness) reads the pattern back without a checksum failure.
ivol format vol.img --size 32M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol open vol.img s1 --integrity crc32c
[ -b /dev/mapper/s1 ] || die "/dev/mapper/s1 is not a block device"
expect_eq "$(dmsetup info -c --noheadings -o uuid s1)" "CRYPT-INTEGRITY-s1" "uuid (integritysetup-compatible)"
table="$(dmsetup table s1)"
log "kernel table: $table"
case "$table" in
    "0 "*" integrity 7:"*" 0 4 J 8 journal_sectors:"*" interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding fix_hmac internal_hash:crc32c") ;;
    *) die "unexpected kernel table: $table" ;;
esac
expect_eq "$(echo "$table" | awk '{print $2}')" "$(ivol dump vol.img --json > dump.json && json dump.json 'j["providedDataSectors"]')" "mapped size = provided_data_sectors"
loopdev=$(losetup -a | grep vol.img | cut -d: -f1)
[ -n "$loopdev" ] || die "no loop device over vol.img"
expect_eq "$(cat /sys/block/${loopdev#/dev/}/loop/autoclear)" "1" "loop autoclear"

pattern p.bin 4096 7                     # 2 MiB at sector 1000 and 64 KiB at the very end
dd if=p.bin of=/dev/mapper/s1 bs=512 seek=1000 oflag=direct conv=fsync status=none
size=$(blockdev --getsz /dev/mapper/s1)
dd if=p.bin of=/dev/mapper/s1 bs=512 seek=$((size - 128)) count=128 oflag=direct conv=fsync status=none
expect_eq "$(dd if=/dev/mapper/s1 bs=512 skip=1000 count=4096 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "read back through the mapping"
expect_eq "$(dmsetup status s1 | awk '{print $4}')" "0" "kernel mismatch counter"

expect_rc 0 ivol status s1 --json
echo "$OUT" > status.json
expect_eq "$(json status.json 'j["table"]')" "$table" "ivol status table = dmsetup table"
expect_eq "$(json status.json 'j["dataLoopBackingFile"]')" "$S/vol.img" "backing file"

expect_rc 0 ivol close s1
[ ! -e /dev/mapper/s1 ] || die "/dev/mapper/s1 still exists after close"
expect_eq "$(dmsetup ls | grep -c '^s1' || true)" "0" "mapping removed"
expect_eq "$(losetup -a | grep -c vol.img || true)" "0" "loop device detached"

expect_rc 0 ivol verify vol.img --integrity crc32c --json
echo "$OUT" > verify.json
expect_eq "$(json verify.json 'j["healthy"]')" "True" "offline verify healthy"
expect_eq "$(json verify.json 'j["mismatchedBlocks"]')" "0" "mismatched blocks"

# Kernel witness: integritysetup reads our volume back, data intact, no checksum failure.
L=$(losetup -f --show vol.img)
integritysetup open "$L" w1 --integrity crc32c
expect_eq "$(dd if=/dev/mapper/w1 bs=512 skip=1000 count=4096 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "integritysetup reads the pattern"
dd if=/dev/mapper/w1 of=/dev/null bs=1M iflag=direct status=none || die "full read through integritysetup failed"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures"
integritysetup close w1
losetup -d "$L"
