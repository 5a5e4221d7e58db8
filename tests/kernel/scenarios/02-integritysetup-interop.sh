# (a) integritysetup formats and writes -> we open and read the same bytes; `ivol status` prints what
#     `integritysetup status` prints for the same mapping.
# (b) we format (4096-byte sectors, and hmac-sha256 with a key) -> integritysetup opens, writes, reads; its status
#     agrees with ours; our offline verify stays healthy afterwards.
pattern p.bin 2048 3

truncate -s 24M a.img
L=$(losetup -f --show a.img)
integritysetup format --batch-mode "$L" --integrity crc32c
integritysetup open "$L" ia --integrity crc32c
dd if=p.bin of=/dev/mapper/ia bs=4096 seek=10 oflag=direct conv=fsync status=none
integritysetup close ia
losetup -d "$L"
expect_rc 0 ivol open a.img a1 --integrity crc32c
expect_eq "$(dd if=/dev/mapper/a1 bs=4096 skip=10 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "we read what integritysetup wrote"
dd if=/dev/mapper/a1 of=/dev/null bs=1M iflag=direct status=none || die "full read failed"
expect_rc 0 ivol status a1
echo "$OUT" > ours.txt
integritysetup status a1 > theirs.txt
diff -u theirs.txt ours.txt || die "ivol status differs from integritysetup status"
log "ok: ivol status == integritysetup status"
expect_rc 0 ivol close a1
expect_eq "$(losetup -a | grep -c a.img || true)" "0" "loop detached"

# (b) 4096-byte sectors
ivol format b.img --size 24M --integrity crc32c --sector-size 4096 --batch-mode >/dev/null
L=$(losetup -f --show b.img)
integritysetup open "$L" ib --integrity crc32c
dd if=p.bin of=/dev/mapper/ib bs=4096 seek=3 oflag=direct conv=fsync status=none
expect_eq "$(dd if=/dev/mapper/ib bs=4096 skip=3 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "integritysetup round trip on our volume"
integritysetup status ib > theirs.txt
expect_rc 0 ivol status ib
echo "$OUT" > ours.txt
diff -u theirs.txt ours.txt || die "status differs (4096-byte sectors)"
grep -q 'sector size:  4096 bytes' ours.txt || die "sector size not 4096"
log "ok: integritysetup opens our 4096-byte-sector volume; statuses agree"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures"
integritysetup close ib
losetup -d "$L"
expect_rc 0 ivol verify b.img --integrity crc32c --json
echo "$OUT" > v.json
expect_eq "$(json v.json 'j["healthy"]')" "True" "verify after integritysetup wrote"

# (b') keyed hmac-sha256: integritysetup needs the same key; we load keys with DM_SECURE_DATA_FLAG.
head -c 32 /dev/urandom > k.bin
ivol format c.img --size 16M --integrity hmac-sha256 --integrity-key-file k.bin --integrity-key-size 32 --batch-mode >/dev/null
L=$(losetup -f --show c.img)
integritysetup open "$L" ic --integrity hmac-sha256 --integrity-key-file k.bin --integrity-key-size 32
dd if=p.bin of=/dev/mapper/ic bs=4096 oflag=direct conv=fsync status=none
dd if=/dev/mapper/ic of=/dev/null bs=1M iflag=direct status=none || die "keyed full read failed"
integritysetup status ic > theirs.txt
expect_rc 0 ivol status ic
echo "$OUT" > ours.txt
diff -u theirs.txt ours.txt || die "status differs (hmac)"
dmsetup table ic | grep -q 'internal_hash:hmac(sha256):0000000000000000000000000000000000000000000000000000000000000000$' || die "dmsetup shows the key"
expect_rc 0 ivol status ic --json
echo "$OUT" | grep -q "$(od -An -tx1 k.bin | tr -d ' \n')" && die "ivol status leaks the key"
integritysetup close ic
losetup -d "$L"
# ... and we open it with the key, read what integritysetup wrote
expect_rc 0 ivol open c.img c1 --integrity hmac-sha256 --integrity-key-file k.bin --integrity-key-size 32
expect_eq "$(dd if=/dev/mapper/c1 bs=4096 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "keyed read back"
expect_rc 0 ivol close c1
