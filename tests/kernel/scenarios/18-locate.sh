# Bad block → file (issue 16, single volume): an ext4 file system on an open volume, one byte of one file's block
# flipped in the closed image, `ivol verify --json` lists the sector, and `ivol locate /dev/mapper/NAME` names the
# file and the byte offset; the kernel's read of that file fails with EIO while another file reads back intact. Then
# xfs on a second volume, mounted: ivol locate names the file and warns that it reads a mounted file system.
# Where the block lives is found independently: by searching the image for the file block's distinct content and
# inverting the dm-integrity layout (initial sectors, then per area a tag run and interleave_sectors data sectors).
ivol format vol.img --size 24M --integrity crc32c --batch-mode --json > fmt.json
expect_rc 0 ivol open vol.img lx --integrity crc32c

# Two files of distinct 4 KiB blocks ("<name:k>" repeated), written by mkfs.ext4 -d through the kernel.
mkdir -p src/docs
python3 - <<'PY'
for name, path, blocks in (("victim", "src/docs/victim.bin", 8), ("other", "src/other.bin", 4)):
    with open(path, "wb") as f:
        for k in range(blocks):
            f.write((f"<{name}:{k:04d}>" * 512).encode()[:4096])
PY
mkfs.ext4 -q -F -b 4096 -E nodiscard -d src /dev/mapper/lx
sync
dmsetup remove lx
wait_for "loop autoclear of vol.img" bash -c '! losetup -a | grep -q vol.img'

# Physical byte of victim's block 5, sector 3 of it; its logical sector from the layout.
phys=$(python3 - <<'PY'
data = open("vol.img", "rb").read()
pat = ("<victim:0005>" * 512).encode()[:4096]
i = data.find(pat)
assert i >= 0 and data.find(pat, i + 1) < 0, "block not found exactly once"
print(i + 3 * 512 + 100)
PY
)
initial=$(json fmt.json 'j["volume"]["initialSectors"]')
run=$(json fmt.json 'j["volume"]["metadataRunSectors"]')
inter=$(json fmt.json 'j["volume"]["interleaveSectors"]')
p=$(( phys / 512 - initial ))
logical=$(( (p / (run + inter)) * inter + p % (run + inter) - run ))
log "victim block 5 sector 3: image byte $phys, logical sector $logical"
b=$(dd if=vol.img bs=1 skip="$phys" count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of=vol.img bs=1 seek="$phys" conv=notrunc status=none

set +e; ivol verify vol.img --integrity crc32c --json > verify.json; vrc=$?; set -e
expect_eq "$vrc" "1" "verify exit code (corruption found)"
ranges=$(json verify.json '",".join(str(r["start"]) if r["sectors"] == 1 else "%d-%d" % (r["start"], r["start"] + r["sectors"] - 1) for r in j["mismatchedSectors"])')
expect_eq "$ranges" "$logical" "verify's mismatched sectors"

expect_rc 0 ivol open vol.img lx --integrity crc32c
expect_rc 0 ivol locate /dev/mapper/lx --sectors "$ranges" --json
echo "$OUT" > locate.json
expect_eq "$(json locate.json 'j["fileSystem"]')" "ext4" "file system"
expect_eq "$(json locate.json 'len(j["owners"])')" "1" "owners"
expect_eq "$(json locate.json 'j["owners"][0]["kind"]')" "file" "kind"
expect_eq "$(json locate.json 'j["owners"][0]["path"]')" "/docs/victim.bin" "path of the bad block"
expect_eq "$(json locate.json 'j["owners"][0]["fileOffset"]')" "$(( 5 * 4096 + 3 * 512 ))" "byte offset in the file"
expect_eq "$(json locate.json 'j["owners"][0]["length"]')" "512" "bytes"
# The superblock's sector is metadata, not a file.
expect_rc 0 ivol locate /dev/mapper/lx --sectors 2 --json
echo "$OUT" > meta.json
expect_eq "$(json meta.json 'j["owners"][0]["kind"]')" "metadata" "sector 2 (superblock)"

# The kernel: reading the victim fails with EIO, the other file reads back its content.
mkdir -p mnt
mount -t ext4 -o ro /dev/mapper/lx mnt
set +e; cat mnt/docs/victim.bin > /dev/null 2>cat.err; crc=$?; set -e
grep -q "Input/output error" cat.err || { cat cat.err >&2; umount mnt; die "reading the victim did not fail with EIO (exit $crc)"; }
log "ok: kernel read of /docs/victim.bin: $(cat cat.err)"
cmp mnt/other.bin src/other.bin || { umount mnt; die "other.bin does not read back intact"; }
log "ok: /other.bin reads back intact"
umount mnt
dmsetup remove lx

# xfs on a second open volume, populated by mkfs.xfs -p without mounting (TEST_DIR/TEST_DEV/QA_CHECK_FS: fstests' switch
# for file systems under 300 MiB), then mounted read-only: ivol locate names the file and offset, and warns that the
# file system is mounted. The block is found by its content on /dev/mapper/lxx itself (no corruption here).
ivol format vx.img --size 24M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol open vx.img lxx --integrity crc32c
printf 'boot\n0 0\nd--755 0 0\ndata d--755 0 0\nx.bin ---644 0 0 %s\n$\n$\n' "$PWD/src/docs/victim.bin" > proto
TEST_DIR=/tmp TEST_DEV=/dev/null QA_CHECK_FS=1 mkfs.xfs -q -f -K -p proto /dev/mapper/lxx
sync
xs=$(python3 - <<'PY'
data = open("/dev/mapper/lxx", "rb").read()
pat = ("<victim:0006>" * 512).encode()[:4096]
i = data.find(pat)
assert i >= 0 and data.find(pat, i + 1) < 0, "block not found exactly once"
print(i // 512 + 2)
PY
)
mount -t xfs -o ro /dev/mapper/lxx mnt
expect_rc 0 ivol locate /dev/mapper/lxx --sectors "$xs-$((xs + 1))" --json
echo "$OUT" > xfs.json
umount mnt
expect_eq "$(json xfs.json 'j["fileSystem"]')" "xfs" "file system"
expect_eq "$(json xfs.json '[(o["kind"], o["path"], o["fileOffset"], o["length"]) for o in j["owners"]]')" \
    '[["file", "/data/x.bin", '"$(( 6 * 4096 + 2 * 512 ))"', 1024]]' "xfs owner of victim block 6, sectors 2-3"
case "$ERR" in *"is mounted on"*) log "ok: warned that the file system is mounted";; *) echo "$ERR" >&2; die "no warning about the mounted file system";; esac
dmsetup remove lxx
