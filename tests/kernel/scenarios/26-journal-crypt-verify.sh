# Offline verify of a journal the kernel encrypted (issue 15: "encrypted-journal verify is Incomplete offline"):
# integritysetup formats with --journal-crypt (cbc-aes: each section CBC-encrypted under its own IV; ctr-aes: the
# journal XORed with a keystream, the commit ids encrypted too), the kernel writes through it, and a copy of the image
# taken while the mapping is active (committed journal entries the kernel has not yet written in place: what a crash
# leaves) is checked by `ivol verify --journal-crypt ... --journal-crypt-key-file`: the journal decrypts to valid commit
# ids, every pending entry's tag matches its decrypted data (a wrong decryption cannot), healthy (exit 0). Without the
# key it stays incomplete (exit 6, journal unreadable); with a wrong key too (never corrupt). Then the kernel opens the
# copy, replays the journal, and the data the entries held reads back; ivol verify of the replayed image is healthy.
pattern p.bin 16 26
head -c 32 /dev/urandom > jk.bin
head -c 32 /dev/urandom > wrong.bin
for c in cbc-aes ctr-aes; do
    truncate -s 16M "$c.img"
    L=$(losetup -f --show "$c.img")
    integritysetup format --batch-mode "$L" --journal-size 1M --journal-crypt "$c" --journal-crypt-key-file jk.bin --journal-crypt-key-size 32
    integritysetup open "$L" jc --journal-crypt "$c" --journal-crypt-key-file jk.bin --journal-crypt-key-size 32
    # 16 sectors at 4000, committed (O_DIRECT + fsync: the journal's FUA write), far below the journal watermark.
    dd if=p.bin of=/dev/mapper/jc bs=512 seek=4000 oflag=direct conv=fsync status=none
    cp --sparse=always "$c.img" "$c-crash.img"
    integritysetup close jc
    losetup -d "$L"
    wait_for "loop over $c.img released" bash -c "! losetup -a | grep -q '$S/$c.img'"

    # Offline: with the key, the journal decrypts and its pending entries verify.
    expect_rc 0 ivol verify "$c-crash.img" --journal-crypt "$c" --journal-crypt-key-file jk.bin --json
    echo "$OUT" > v.json
    expect_eq "$(json v.json '(j["journalState"], j["journalPendingBlocks"], len(j["failedJournalEntries"]), j["mismatchedBlocks"], j["healthy"])')" \
        "('pending', 16, 0, 0, True)" "$c: verify of the crash copy with the journal key"
    # Without the key, or with a wrong one: incomplete, never corrupt.
    expect_rc 6 ivol verify "$c-crash.img" --json
    echo "$OUT" > n.json
    expect_eq "$(json n.json 'j["journalState"]')" "unreadable" "$c: without the journal key"
    expect_rc 6 ivol verify "$c-crash.img" --journal-crypt "$c" --journal-crypt-key-file wrong.bin --json
    echo "$ERR$OUT" | grep -q "cipher or its key is wrong" || die "$c: a wrong journal key is not named: $ERR$OUT"
    # A plain-journal volume with --journal-crypt: refused, as open refuses it.
    [ -f plain.img ] || ivol format plain.img --size 16M --batch-mode >/dev/null
    expect_rc 2 ivol verify plain.img --journal-crypt "$c" --journal-crypt-key-file jk.bin --json
    echo "$ERR" | grep -q JournalNotEncrypted || die "$c: plain journal with --journal-crypt: $ERR"

    # The kernel replays the copy's journal: the entries' data is what reads back.
    L=$(losetup -f --show "$c-crash.img")
    dmesg -C
    integritysetup open "$L" jr --journal-crypt "$c" --journal-crypt-key-file jk.bin --journal-crypt-key-size 32
    expect_eq "$(dd if=/dev/mapper/jr bs=512 skip=4000 count=16 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "$c: the kernel's replay of the crash copy"
    expect_eq "$(kernel_failed_sectors | wc -l)" "0" "$c: kernel checksum failures"
    integritysetup close jr
    losetup -d "$L"
    wait_for "loop over $c-crash.img released" bash -c "! losetup -a | grep -q '$S/$c-crash.img'"
    expect_rc 0 ivol verify "$c-crash.img" --journal-crypt "$c" --journal-crypt-key-file jk.bin --json
    echo "$OUT" > r.json
    expect_eq "$(json r.json '(j["healthy"], j["mismatchedBlocks"], len(j["failedJournalEntries"]))')" "(True, 0, 0)" "$c: verify after the kernel's replay"
done
