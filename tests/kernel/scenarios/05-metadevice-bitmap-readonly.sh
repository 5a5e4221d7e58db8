# Separate metadata device (meta_device:) in bitmap mode, opened by us over two image files (two loop devices,
# both detached on close), compared with integritysetup status; then a read-only activation refuses writes.
truncate -s 2M meta.img
truncate -s 16M data.img
ivol format meta.img --data-device data.img --integrity crc32c --sector-size 4096 --batch-mode >/dev/null
expect_rc 0 ivol open meta.img m5 --data-device data.img --integrity crc32c --integrity-bitmap-mode
table="$(dmsetup table m5)"
log "kernel table: $table"
case "$table" in
    *" integrity 7:"*" 0 4 B "*"meta_device:7:"*" block_size:4096 "*" interleave_sectors:1 "*" sectors_per_bit:"*" bitmap_flush_interval:10000 "*"internal_hash:crc32c") ;;
    *) die "unexpected kernel table: $table" ;;
esac
pattern p.bin 2048 9
dd if=p.bin of=/dev/mapper/m5 bs=4096 seek=100 oflag=direct conv=fsync status=none
expect_eq "$(dd if=/dev/mapper/m5 bs=4096 skip=100 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "read back (meta device, bitmap)"
integritysetup status m5 > theirs.txt
expect_rc 0 ivol status m5
echo "$OUT" > ours.txt
diff -u theirs.txt ours.txt || die "ivol status differs from integritysetup status (meta device, bitmap)"
log "ok: statuses agree"
expect_eq "$(losetup -a | grep -cE 'meta.img|data.img' || true)" "2" "two loop devices while open"
expect_rc 0 ivol close m5
expect_eq "$(losetup -a | grep -cE 'meta.img|data.img' || true)" "0" "both loop devices detached"
expect_rc 0 ivol verify meta.img --data-device data.img --integrity crc32c --json
echo "$OUT" > v.json
expect_eq "$(json v.json 'j["healthy"]')" "True" "offline verify after bitmap-mode writes"

expect_rc 0 ivol open meta.img r5 --data-device data.img --integrity crc32c --readonly
expect_eq "$(blockdev --getro /dev/mapper/r5)" "1" "read-only block device"
expect_eq "$(dmsetup info r5 | sed -n "s/^State: *//p")" "ACTIVE (READ-ONLY)" "dm state"
expect_eq "$(dd if=/dev/mapper/r5 bs=4096 skip=100 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "read through the read-only mapping"
if dd if=p.bin of=/dev/mapper/r5 bs=4096 count=1 oflag=direct status=none 2>/dev/null; then die "write to a read-only mapping succeeded"; fi
log "ok: write refused"
expect_rc 0 ivol close r5
expect_eq "$(losetup -a | grep -cE 'meta.img|data.img' || true)" "0" "loops detached after read-only close"

# Direct mode with discards (interleaved volume): statuses still agree, discards reach the device.
ivol format d.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol open d.img d5 --integrity crc32c --integrity-no-journal --allow-discards
dmsetup table d5 | grep -q ' D 7 allow_discards journal_sectors:' || die "unexpected table: $(dmsetup table d5)"
integritysetup status d5 > theirs.txt
expect_rc 0 ivol status d5
echo "$OUT" > ours.txt
diff -u theirs.txt ours.txt || die "status differs (direct mode, discards)"
log "ok: statuses agree (direct, discards)"
dd if=p.bin of=/dev/mapper/d5 bs=4096 oflag=direct conv=fsync status=none
blkdiscard -o 0 -l 1048576 /dev/mapper/d5
expect_eq "$(dd if=/dev/mapper/d5 bs=4096 count=256 iflag=direct status=none | tr -d '\0' | wc -c)" "0" "discarded range reads as zeros"
expect_rc 0 ivol close d5
