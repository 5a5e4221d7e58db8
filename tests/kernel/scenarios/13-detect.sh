# Algorithm detection (issue 15): integritysetup (the kernel) formats with sha256, xxhash64 and crc32 and writes a
# pattern through the kernel; ivol verify WITHOUT --integrity names the algorithm (detected, from at most 64 sampled
# blocks) and says healthy; ivol open WITHOUT --integrity detects it offline, builds the table with it and the kernel
# reads the pattern back without a checksum failure. A keyed volume says a key is needed and opens nothing.
pattern p.bin 256 13                     # 128 KiB at sector 2048
for alg in sha256 xxhash64 crc32; do
    truncate -s 8M "$alg.img"
    L=$(losetup -f --show "$alg.img")
    integritysetup format --batch-mode "$L" --integrity "$alg" --sector-size 4096 >/dev/null
    integritysetup open "$L" w1 --integrity "$alg"
    dd if=p.bin of=/dev/mapper/w1 bs=4096 seek=256 oflag=direct conv=fsync status=none
    integritysetup close w1
    losetup -d "$L"

    expect_rc 0 ivol verify "$alg.img" --json
    echo "$OUT" > v.json
    expect_eq "$(json v.json 'j["algorithm"]')" "$alg" "$alg: verify's algorithm"
    expect_eq "$(json v.json 'j["algorithmSource"]')" "detected" "$alg: algorithm source"
    expect_eq "$(json v.json 'j["verdict"]')" "healthy" "$alg: verdict"
    expect_eq "$(json v.json '[c["matched"] for c in j["algorithmDetection"]["candidates"] if c["algorithm"]=="'$alg'"][0] == j["algorithmDetection"]["sampledBlocks"] <= 64')" "True" "$alg: every sampled block matched"

    dmesg -C
    expect_rc 0 ivol open "$alg.img" d1 --json
    echo "$OUT" > o.json
    expect_eq "$(json o.json 'j["algorithmSource"]')" "detected" "$alg: open's algorithm source"
    expect_eq "$(dmsetup table d1 | grep -o 'internal_hash:[^ ]*')" "internal_hash:$alg" "$alg: kernel table"
    expect_eq "$(dd if=/dev/mapper/d1 bs=4096 skip=256 count=32 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "$alg: pattern read back"
    dd if=/dev/mapper/d1 of=/dev/null bs=1M iflag=direct status=none || die "$alg: full read failed"
    expect_eq "$(kernel_failed_sectors | wc -l)" "0" "$alg: kernel checksum failures"
    expect_rc 0 ivol close d1
done

# Keyed: no key, no guess.
head -c 32 /dev/urandom > k.bin
truncate -s 8M hmac.img
L=$(losetup -f --show hmac.img)
integritysetup format --batch-mode "$L" --integrity hmac-sha256 --integrity-key-file k.bin --integrity-key-size 32 >/dev/null
losetup -d "$L"
expect_rc 2 ivol verify hmac.img
case "$ERR" in *"keyed: a key is needed"*"[KeyRequired]"*) log "ok: keyed volume: $ERR" ;; *) die "keyed volume: $ERR" ;; esac
expect_rc 2 ivol open hmac.img d2
[ ! -e /dev/mapper/d2 ] || die "a mapping was created without an algorithm"
expect_rc 0 ivol verify hmac.img --integrity-key-file k.bin --json
echo "$OUT" > k.json
expect_eq "$(json k.json 'j["algorithmSource"]')" "detected" "hmac-sha256 detected with the key"
