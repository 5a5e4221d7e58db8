# LUKS2 authenticated encryption (cryptsetup luksFormat --integrity, issue 16): dm-crypt NAME over dm-integrity
# NAME_dif, whose tags dm-crypt provides (HMAC-SHA256 here). Offline, `ivol dump` of the closed image must find the
# LUKS2 header and the dm-integrity superblock at its data offset exactly as `cryptsetup luksDump` (offset, cipher,
# integrity) and `integritysetup dump` of the bytes at that offset say; offline verify refuses (TagsFromCryptLayer).
# Online, `ivol status NAME_dif` names the crypt mapping above it; after one flipped ciphertext byte, `ivol verify
# --name NAME` reports exactly the sector whose O_DIRECT read fails (failing_sectors), and verify --name of the _dif
# refuses (reading it checks nothing). (Each ivol start costs ~10 s under TCG: five of them here.)
head -c 32 /dev/urandom > key.bin
truncate -s 16M luks.img
loop=$(losetup -f --show luks.img)
# Small header (16 KiB metadata, 512 KiB keyslots) and a cheap PBKDF keep it fast; --integrity-no-wipe: the whole
# device is written below, so every sector carries a valid tag.
cryptsetup luksFormat --batch-mode --type luks2 --integrity hmac-sha256 --integrity-no-wipe \
    --luks2-metadata-size 16k --luks2-keyslots-size 512k --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file key.bin "$loop"
cryptsetup luksDump "$loop" > luksdump.txt
losetup -d "$loop"

# Offline: the closed image, read by ivol and by cryptsetup/integritysetup.
expect_rc 0 ivol dump luks.img --json
echo "$OUT" > dump.json
segment=$(sed -n '/^Data segments:/,/^Keyslots:/p' luksdump.txt)
offset=$(echo "$segment" | sed -n 's/^\s*offset: \([0-9]*\) \[bytes\].*/\1/p')
expect_eq "$(json dump.json 'j["container"]["container"]')" "LUKS2" "container"
expect_eq "$(json dump.json 'j["container"]["dataOffsetBytes"]')" "$offset" "data offset = luksDump's segment offset"
expect_eq "$(json dump.json 'j["reservedSectors"]')" "$((offset / 512))" "superblock read at the data offset"
expect_eq "$(json dump.json 'j["container"]["cipher"]')" "$(echo "$segment" | sed -n 's/^\s*cipher: \(\S*\).*/\1/p')" "cipher = luksDump's"
expect_eq "$(json dump.json 'j["container"]["integrity"]')" "$(echo "$segment" | sed -n 's/^\s*integrity: \(\S*\).*/\1/p')" "integrity = luksDump's"
expect_eq "$(json dump.json 'j["container"]["uuid"]')" "$(sed -n 's/^UUID:\s*\(\S*\).*/\1/p' luksdump.txt)" "uuid = luksDump's"
expect_eq "$(json dump.json 'j["tagsFromCryptLayer"]')" "True" "tags from the crypt layer"
# integritysetup's own view of the superblock: dump of a loop device that starts at the data offset.
dif=$(losetup -f --show -r -o "$offset" luks.img)
integritysetup dump "$dif" > isdump.txt
losetup -d "$dif"
for f in integrity_tag_size journal_sections provided_data_sectors sector_size log2_interleave_sectors; do
    key=$(python3 -c 'import sys; p=sys.argv[1].split("_"); print(p[0] + "".join(w.title() for w in p[1:]))' "$f")
    expect_eq "$(json dump.json "j[\"$key\"]")" "$(sed -n "s/^$f \([0-9]*\).*/\1/p" isdump.txt)" "$f = integritysetup dump's"
done

# Open with cryptsetup; write every sector through dm-crypt (O_DIRECT: buffered writes read untagged neighbours).
loop=$(losetup -f --show luks.img)
cryptsetup open --key-file key.bin "$loop" lx
sectors=$(blockdev --getsz /dev/mapper/lx)
# (zeros: dm-crypt encrypts them anyway, and generating a pattern costs minutes under TCG)
dd if=/dev/zero of=/dev/mapper/lx bs=64k count=$((sectors / 128)) oflag=direct conv=fsync status=none
rest=$((sectors % 128))
[ "$rest" = 0 ] || dd if=/dev/zero of=/dev/mapper/lx bs=512 count="$rest" seek=$((sectors - rest)) oflag=direct conv=fsync,notrunc status=none
expect_eq "$(failing_sectors /dev/mapper/lx)" "" "no failing sector after writing everything"
expect_rc 0 ivol status lx_dif --json
echo "$OUT" > status.json
expect_eq "$(json status.json 'j["algorithm"]')" "None" "the _dif has no internal_hash"
expect_eq "$(json status.json 'j["tagsProvidedBy"]["name"]')" "lx" "tags provided by the crypt mapping lx"
expect_eq "$(json status.json 'j["tagsProvidedBy"]["integrity"]')" "aead" "crypt integrity type"
expect_eq "$(json status.json 'j["tagsProvidedBy"]["cipher"]')" "$(dmsetup table lx | awk '{print $4}')" "crypt cipher = dmsetup table's"
expect_eq "$(json status.json 'j["tagsProvidedBy"]["keyLocation"]')" "keyring" "key location (never the key)"
cryptsetup close lx
losetup -d "$loop"

# Flip one ciphertext byte of logical sector 100 (area 0: superblock, journal, first tag run, then data).
victim=100
byte=$(( offset + ($(json dump.json 'j["initialSectors"]') + $(json dump.json 'j["metadataRunSectors"]') + victim) * 512 + 37 ))
b=$(dd if=luks.img bs=1 skip="$byte" count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of=luks.img bs=1 seek="$byte" conv=notrunc status=none

# Offline verify cannot check dm-crypt's tags: a stable refusal, never "healthy".
expect_rc 2 ivol verify luks.img
echo "$ERR" | grep -q TagsFromCryptLayer || die "offline verify: no TagsFromCryptLayer in [$ERR]"

loop=$(losetup -f --show luks.img)
cryptsetup open --key-file key.bin "$loop" lx
expect_eq "$(failing_sectors /dev/mapper/lx)" "$victim" "the kernel fails exactly the flipped sector"
expect_rc 1 ivol verify --name lx --json
echo "$OUT" > online.json
expect_eq "$(json online.json '" ".join(str(s) for r in j["mismatchedSectors"] for s in range(r["start"], r["start"] + r["sectors"]))')" "$victim" "verify --name lists the flipped sector"
expect_eq "$(json online.json 'j["blocksChecked"]')" "$sectors" "every sector of the crypt mapping read"
expect_eq "$(json online.json 'j["integrityMapping"]')" "lx_dif" "read through the crypt mapping over lx_dif"
expect_eq "$(json online.json 'j["cryptLayer"]["name"]')" "lx" "crypt layer named"
expect_rc 2 ivol verify --name lx_dif
echo "$ERR" | grep -q "TagsFromCryptLayer" || die "verify --name of the _dif: no TagsFromCryptLayer in [$ERR]"
cryptsetup close lx
losetup -d "$loop"
