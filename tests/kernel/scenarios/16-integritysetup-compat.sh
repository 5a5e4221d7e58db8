# integritysetup's own spellings and options, both directions (cryptsetup's integrity-compat-test cases that failed):
# journal encryption (cbc-aes, ctr-aes: integritysetup formats -> ivol opens; ivol formats -> integritysetup opens;
# a plain journal with --journal-crypt is refused), a seeded crc32c (4-byte key), --tag-size 0, format with
# --journal-watermark/--journal-commit-time, close --cancel-deferred, and an algorithm the running kernel lacks.
pattern p.bin 512 5
head -c 32 /dev/urandom > jk.bin
head -c 16 /dev/urandom > jk16.bin
printf '\x5a\xa5\x0f\xf0' > k4.bin

# same_dump IMG: integritysetup dump == the first lines of ivol dump (superblock fields).
same_dump() {
    integritysetup dump "$1" > theirs.txt
    ivol dump "$1" | head -n "$(wc -l < theirs.txt)" > ours.txt
    diff -u theirs.txt ours.txt || die "$1: ivol dump differs from integritysetup dump"
    log "ok: $1: dump == integritysetup dump"
}
# roundtrip MAPPER: write the pattern, read it back.
roundtrip() {
    dd if=p.bin of=/dev/mapper/$1 bs=4096 seek=2 oflag=direct conv=fsync status=none
    expect_eq "$(dd if=/dev/mapper/$1 bs=4096 skip=2 count=64 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "$1: read back"
}
same_status() {
    integritysetup status "$1" > theirs.txt
    expect_rc 0 ivol status "$1"
    echo "$OUT" > ours.txt
    diff -u theirs.txt ours.txt || die "$1: ivol status differs from integritysetup status"
}
dmesg -C

# (1) integritysetup formats with an encrypted journal -> ivol opens it with integritysetup's spelling.
for c in cbc-aes ctr-aes; do
    truncate -s 16M "j-$c.img"
    L=$(losetup -f --show "j-$c.img")
    integritysetup format --batch-mode "$L" --journal-crypt "$c" --journal-crypt-key-file jk.bin --journal-crypt-key-size 32
    losetup -d "$L"
    expect_rc 0 ivol open "j-$c.img" j1 --journal-crypt "$c" --journal-crypt-key-file jk.bin --journal-crypt-key-size 32
    dmsetup table j1 | grep -q "journal_crypt:${c%-aes}(aes):" || die "table: $(dmsetup table j1)"
    roundtrip j1
    same_status j1
    expect_rc 0 ivol close j1
    same_dump "j-$c.img"
    # Offline verify checks every tag; the encrypted journal cannot be read without the cipher (verify takes no
    # --journal-crypt), so the verdict is incomplete (exit 6), never healthy and never corrupt.
    expect_rc 6 ivol verify "j-$c.img" --json
    echo "$OUT" > v.json
    expect_eq "$(json v.json '(j["validBlocks"], j["mismatchedBlocks"], j["journalState"])')" "(32328, 0, 'unreadable')" "$c: offline verify of integritysetup's encrypted-journal volume"
done

# (2) ivol formats with --journal-crypt (through the kernel) -> integritysetup opens, writes, reads.
ivol format jo.img --size 16M --journal-crypt cbc-aes --journal-crypt-key-file jk.bin --batch-mode > fmt.txt 2> fmt.err
grep -q 'formatting through the kernel' fmt.err || die "format --journal-crypt: $(cat fmt.err)"
L=$(losetup -f --show jo.img)
integritysetup open "$L" jo --journal-crypt cbc-aes --journal-crypt-key-file jk.bin --journal-crypt-key-size 32
roundtrip jo
same_status jo
integritysetup close jo
losetup -d "$L"
same_dump jo.img
expect_rc 0 ivol open jo.img jo2 --journal-crypt cbc-aes --journal-crypt-key-file jk.bin
roundtrip jo2
expect_rc 0 ivol close jo2

# (3) a plain journal with --journal-crypt: refused before the kernel sees it (the kernel would fail every I/O).
ivol format plain.img --size 16M --batch-mode >/dev/null
expect_rc 2 ivol open plain.img pj --journal-crypt cbc-aes --journal-crypt-key-file jk.bin
echo "$ERR" | grep -q JournalNotEncrypted || die "plain journal + journal-crypt: $ERR"
expect_eq "$(dmsetup ls | grep -c '^pj' || true)" "0" "no mapping left"
# A journal cipher without its key is refused with the key id.
expect_rc 2 ivol open plain.img pj --journal-crypt cbc-aes
echo "$ERR" | grep -q KeyRequired || die "journal-crypt without key: $ERR"

# (4) seeded crc32c (a 4-byte key): integritysetup formats and writes -> ivol verifies with the key (and the
#     default seed does not match); ivol formats -> the kernel reads every block without a checksum failure.
truncate -s 16M kc.img
L=$(losetup -f --show kc.img)
integritysetup format --batch-mode "$L" --integrity crc32c --integrity-key-file k4.bin --integrity-key-size 4
integritysetup open "$L" kc --integrity crc32c --integrity-key-file k4.bin --integrity-key-size 4
dd if=p.bin of=/dev/mapper/kc bs=4096 seek=7 oflag=direct conv=fsync status=none
integritysetup close kc
losetup -d "$L"
expect_rc 0 ivol verify kc.img --integrity crc32c --integrity-key-file k4.bin --json
echo "$OUT" > v.json
expect_eq "$(json v.json 'j["verdict"]')" "healthy" "kernel-made seeded crc32c verifies with the key"
set +e; ivol verify kc.img --integrity crc32c --json > v2.json 2>/dev/null; set -e
expect_eq "$(json v2.json 'j["verdict"]')" "corrupt" "the default seed does not match a seeded volume"
ivol format kc2.img --size 16M --integrity crc32c --integrity-key-file k4.bin --batch-mode >/dev/null
L=$(losetup -f --show kc2.img)
integritysetup open "$L" kc2 --integrity crc32c --integrity-key-file k4.bin --integrity-key-size 4
dd if=/dev/mapper/kc2 of=/dev/null bs=1M iflag=direct status=none || die "full read of our seeded crc32c volume failed"
roundtrip kc2
integritysetup close kc2
losetup -d "$L"
expect_rc 2 ivol format bad.img --size 16M --integrity crc32c --integrity-key-file jk16.bin --batch-mode
echo "$ERR" | grep -q KeyNotAllowed || die "16-byte crc32c key: $ERR"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures"

# (5) --tag-size 0 is the algorithm's default; format takes --journal-watermark/--journal-commit-time (not stored).
ivol format t0.img --size 16M --tag-size 0 --integrity sha256 --journal-watermark 60 --journal-commit-time 5000 --batch-mode >/dev/null
truncate -s 16M t0i.img
L=$(losetup -f --show t0i.img)
integritysetup format --batch-mode "$L" --tag-size 0 --integrity sha256 --journal-watermark 60 --journal-commit-time 5000
losetup -d "$L"
expect_eq "$(integritysetup dump t0.img | grep integrity_tag_size)" "$(integritysetup dump t0i.img | grep integrity_tag_size)" "tag size 0 = integritysetup's"
ivol format t1.img --size 16M --kernel --journal-watermark 60 --journal-commit-time 5000 --batch-mode >/dev/null
same_dump t1.img

# (6) close --cancel-deferred keeps a mapping whose deferred removal was pending.
expect_rc 0 ivol open plain.img cd1
exec 3< /dev/mapper/cd1
expect_rc 0 ivol close cd1 --deferred
expect_rc 0 ivol close cd1 --cancel-deferred --json
expect_eq "$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["deferredRemovalCancelled"])')" "True" "a pending removal was cancelled"
exec 3<&-
expect_eq "$(dmsetup ls | grep -c '^cd1' || true)" "1" "cancelled: still there after the last close"
expect_rc 2 ivol close cd1 --deferred --cancel-deferred
expect_rc 0 ivol close cd1

# (7) an algorithm the running kernel lacks: integritysetup refuses it at format, so do we (--any-kernel overrides).
if ! grep -q 'blake2s-256' /proc/crypto && ! modprobe -q crypto-blake2s-256; then
    truncate -s 16M b2i.img
    set +e; integritysetup format --batch-mode b2i.img --integrity blake2s-256 >/dev/null 2>&1; irc=$?; set -e
    [ "$irc" != 0 ] || die "integritysetup formatted blake2s-256 on a kernel without it"
    expect_rc 2 ivol format b2.img --size 16M --integrity blake2s-256 --batch-mode
    echo "$ERR" | grep -q AlgorithmNotInKernel || die "blake2s-256: $ERR"
    expect_rc 0 ivol format b2.img --size 16M --integrity blake2s-256 --any-kernel --batch-mode
    echo "$ERR" | grep -q 'warning: The running kernel has no blake2s-256' || die "--any-kernel warning: $ERR"
else
    log "this kernel has blake2s-256: nothing to refuse"
fi
