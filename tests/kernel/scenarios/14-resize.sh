# Resize (issue 15) against the kernel and integritysetup.
# (a) ivol resize grows an image offline -> the kernel opens it at the new size, the data reads back, the new tail
#     reads as zeros with no checksum failure.
# (b) the same volume grown by the kernel (integritysetup open + resize --wipe on the grown file) and by ivol resize:
#     the same integritysetup dump, the same superblock sector, the same data and tag bytes after the journal.
# (c) online: active mappings over loop devices whose backing files grew (losetup -c): ivol resize --name vs
#     integritysetup resize --wipe give the same size and content; both verify healthy offline after close. An online
#     shrink is refused while the cut tail holds data (listed), done with --force.
# (d) shrink: refused while the cut tail holds data (listed), done with --force; the kernel opens the smaller volume.
# (e) a grow killed while tagging the tail (IVOL_TEST_KILL_AT_WRITE; the file is already grown): the kernel sizes the
#     volume from the file at activation, and the grow marker (RECALCULATING at the old end) makes it recalculate the
#     half-tagged tail instead of failing its reads; afterwards the whole volume reads and verifies healthy.
# (f) an online grow killed while wiping (SIGKILL before its third 1 MiB write through the mapping): the mapping keeps
#     its new length and the unwiped end fails in the kernel; a re-run of `ivol resize --name` names exactly that tail
#     (unreadableTail, nothing written), the repair it names finishes it, and a third run finds nothing.
pattern p.bin 600 5

# ---- (a)
ivol format a.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol write a.img --input p.bin --offset 100
expect_rc 0 ivol resize a.img --device-size 24M --json
echo "$OUT" > r.json
expect_eq "$(json r.json 'j["newProvidedDataSectors"]')" "48456" "grown provided_data_sectors (the kernel's for 24 MiB, fixture p16)"
L=$(losetup -f --show a.img)
dmesg -C
integritysetup open "$L" ra --integrity crc32c
expect_eq "$(blockdev --getsz /dev/mapper/ra)" "48456" "kernel maps the new size"
expect_eq "$(dmsetup status ra | awk '{print $5}')" "48456" "kernel's own provided_data_sectors"
expect_eq "$(dd if=/dev/mapper/ra bs=512 skip=100 count=600 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "old data reads back"
expect_eq "$(dd if=/dev/mapper/ra bs=512 skip=32328 count=16128 iflag=direct status=none | tr -d '\0' | wc -c)" "0" "new tail reads as zeros"
dd if=/dev/mapper/ra of=/dev/null bs=1M iflag=direct status=none || die "full read failed"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures"
expect_eq "$(dmsetup status ra | awk '{print $4}')" "0" "kernel mismatch counter"
integritysetup close ra
losetup -d "$L"

# ---- (b) integritysetup's grow of the same volume (a copy: same salt) vs ours
ivol format b.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol write b.img --input p.bin --offset 31000
cp --sparse=always b.img k.img
truncate -s 24M k.img
L=$(losetup -f --show k.img)
integritysetup open "$L" rk --integrity crc32c
integritysetup resize rk --wipe --batch-mode
expect_eq "$(blockdev --getsz /dev/mapper/rk)" "48456" "integritysetup resize size"
integritysetup close rk
losetup -d "$L"
expect_rc 0 ivol resize b.img --device-size 24M
integritysetup dump b.img | tail -n +2 > ours.txt      # line 1 names the file
integritysetup dump k.img | tail -n +2 > theirs.txt
diff -u theirs.txt ours.txt || die "integritysetup dump differs after the two grows"
log "ok: integritysetup dump identical"
cmp -n 512 b.img k.img || die "superblock sector differs"
init=$(ivol dump b.img --json > d.json && json d.json 'j["initialSectors"]')
cmp -i $((init * 512)) b.img k.img || die "data or tags differ after the journal"   # (no /dev/fd in the guest)
log "ok: superblock, data and tags byte-identical to the kernel's grow"
for f in b.img k.img; do
    expect_rc 0 ivol verify "$f" --integrity crc32c --json
    echo "$OUT" > v.json
    expect_eq "$(json v.json 'j["healthy"]')" "True" "verify $f"
done

# ---- (c) online: ours (ivol resize --name) vs integritysetup resize --wipe, same starting image
ivol format c.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol write c.img --input p.bin --offset 31000
cp --sparse=always c.img e.img
Lc=$(losetup -f --show c.img)
Le=$(losetup -f --show e.img)
expect_rc 0 ivol open "$Lc" oc --integrity crc32c
integritysetup open "$Le" oe --integrity crc32c
truncate -s 24M c.img e.img
losetup -c "$Lc"
losetup -c "$Le"
dmesg -C
expect_rc 0 ivol resize --name oc --json
echo "$OUT" > rc.json
integritysetup resize oe --wipe --batch-mode
expect_eq "$(json rc.json 'j["action"]')" "grow" "online action"
expect_eq "$(blockdev --getsz /dev/mapper/oc)" "$(blockdev --getsz /dev/mapper/oe)" "online sizes equal"
expect_eq "$(blockdev --getsz /dev/mapper/oc)" "48456" "online size"
expect_eq "$(dmsetup table oc | cut -d' ' -f1-3)" "$(dmsetup table oe | cut -d' ' -f1-3)" "table lengths equal"
expect_eq "$(sha256sum < /dev/mapper/oc)" "$(sha256sum < /dev/mapper/oe)" "same content through both mappings"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures (online)"
expect_rc 0 ivol close oc
integritysetup close oe
losetup -d "$Lc" "$Le"
integritysetup dump e.img | tail -n +2 > theirs.txt
integritysetup dump c.img | tail -n +2 > ours.txt
diff -u theirs.txt ours.txt || die "dump differs after the online grows"
for f in c.img e.img; do
    expect_rc 0 ivol verify "$f" --integrity crc32c --json
    echo "$OUT" > v.json
    expect_eq "$(json v.json 'j["healthy"]')" "True" "verify $f after online grow"
done
# Online shrink (table length; read through the mapping): refused while the cut tail holds data, done with --force.
Lc=$(losetup -f --show c.img)
expect_rc 0 ivol open "$Lc" oc --integrity crc32c
expect_rc 0 ivol resize --name oc --size 40000 --json
echo "$OUT" > rs1.json
expect_eq "$(json rs1.json 'j["action"]') $(json rs1.json 'j["cutBlocks"]')" "shrink 0" "online shrink over zeros"
expect_eq "$(blockdev --getsz /dev/mapper/oc)" "40000" "online shrunk size"
expect_rc 2 ivol resize --name oc --size 31200
echo "$ERR" | grep -q 'ResizeWouldCutData' || die "no ResizeWouldCutData online: $ERR"
echo "$ERR" | grep -q '31200-31599' || die "online cut list wrong: $ERR"
expect_eq "$(blockdev --getsz /dev/mapper/oc)" "40000" "refused online shrink left the mapping"
expect_rc 0 ivol resize --name oc --size 31200 --force --json
echo "$OUT" > rs2.json
expect_eq "$(json rs2.json 'j["cutBlocks"]')" "400" "online cut blocks"
expect_eq "$(blockdev --getsz /dev/mapper/oc)" "31200" "online forced shrink"
expect_rc 0 ivol close oc
losetup -d "$Lc"

# ---- (d) shrink
ivol format s.img --size 24M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol write s.img --input p.bin --offset 40000
expect_rc 2 ivol resize s.img --device-size 16M
echo "$ERR" | grep -q 'ResizeWouldCutData' || die "no ResizeWouldCutData: $ERR"
echo "$ERR" | grep -q '40000-40599' || die "cut list wrong: $ERR"
expect_eq "$(stat -c %s s.img)" "$((24 << 20))" "refused shrink left the file"
expect_rc 0 ivol resize s.img --device-size 16M --force --json
echo "$OUT" > s.json
expect_eq "$(json s.json 'j["cutBlocks"]')" "600" "cut blocks"
shrunk=$(json s.json 'j["newProvidedDataSectors"]')   # the 24 MiB format's journal is bigger than a 16 MiB one's
[ "$shrunk" -ge 32000 ] && [ "$shrunk" -lt 40000 ] || die "shrunk provided_data_sectors $shrunk"
expect_eq "$(stat -c %s s.img)" "$((16 << 20))" "file truncated"
L=$(losetup -f --show s.img)
dmesg -C
integritysetup open "$L" rs --integrity crc32c
expect_eq "$(blockdev --getsz /dev/mapper/rs)" "$shrunk" "kernel maps the shrunk size"
expect_eq "$(dmsetup status rs | awk '{print $5}')" "$shrunk" "kernel's own provided_data_sectors for the truncated file"
dd if=/dev/mapper/rs of=/dev/null bs=1M iflag=direct status=none || die "full read of the shrunk volume failed"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures (shrunk)"
integritysetup close rs
losetup -d "$L"

# ---- (e) killed grow, then the kernel
ivol format g.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol write g.img --input p.bin --offset 100
cp g.img g-count.img
n=$(IVOL_TEST_COUNT_WRITES=1 ivol resize g-count.img --device-size 24M 2>&1 >/dev/null | sed -n 's/^ivol-test: \([0-9]*\) writes$/\1/p')
rm -f g-count.img
[ "${n:-0}" -ge 4 ] || die "grow made ${n:-no} device writes (expected the marker, tail tags, superblock)"
# Write 1 is the marker, the last the superblock: killed before n-1, part of the tail's tags are missing.
set +e; IVOL_TEST_KILL_AT_WRITE=$((n - 2)) ivol resize g.img --device-size 24M >/dev/null 2>&1; rc=$?; set -e
expect_eq "$rc" "137" "resize killed at write $((n - 2)) of $n"
expect_eq "$(stat -c %s g.img)" "$((24 << 20))" "the file was already grown"
expect_rc 0 ivol dump g.img --json
echo "$OUT" > gd.json
expect_eq "$(json gd.json 'j["providedDataSectors"]')" "32328" "superblock keeps the old size"
expect_eq "$(json gd.json 'j["recalcSector"]')" "32328" "grow marker: recalc_sector at the old end"
L=$(losetup -f --show g.img)
dmesg -C
integritysetup open "$L" rk --integrity crc32c
provided=48456
recalc_done() { [ "$(dmsetup status rk | awk '{print $6}')" = "$provided" ]; }
wait_for "kernel recalculation of the grown tail" recalc_done
integritysetup close rk
integritysetup open "$L" rk --integrity crc32c
expect_eq "$(blockdev --getsz /dev/mapper/rk)" "$provided" "kernel maps the grown size"
expect_eq "$(dd if=/dev/mapper/rk bs=512 skip=100 count=600 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "old data reads back"
dd if=/dev/mapper/rk of=/dev/null bs=1M iflag=direct status=none || die "full read after the killed grow failed"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures after the killed grow"
integritysetup close rk
losetup -d "$L"
expect_rc 0 ivol verify g.img --integrity crc32c --json
echo "$OUT" > gv.json
expect_eq "$(json gv.json 'j["healthy"]')" "True" "ivol verify after the kernel finished the grow"

# ---- (f) online grow killed while wiping
ivol format f.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol write f.img --input p.bin --offset 100
Lf=$(losetup -f --show f.img)
expect_rc 0 ivol open "$Lf" of --integrity crc32c
old=$(blockdev --getsz /dev/mapper/of)
truncate -s 24M f.img
losetup -c "$Lf"
set +e; IVOL_TEST_KILL_AT_WRITE=3 ivol resize --name of >/dev/null 2>&1; rc=$?; set -e
expect_eq "$rc" "137" "online grow killed before its third wipe write"
new=$(blockdev --getsz /dev/mapper/of)
expect_eq "$new" "48456" "the killed grow left the new length mapped"
k=$((old + 4096))   # two 1 MiB wipe writes done
dd if=/dev/mapper/of of=/dev/null bs=512 skip=$((k - 1)) count=1 iflag=direct status=none || die "the last wiped sector $((k - 1)) does not read"
if dd if=/dev/mapper/of of=/dev/null bs=512 skip=$k count=1 iflag=direct status=none 2>/dev/null; then die "unwiped sector $k reads"; fi
if dd if=/dev/mapper/of of=/dev/null bs=512 skip=$((new - 1)) count=1 iflag=direct status=none 2>/dev/null; then die "the last sector reads"; fi
log "ok: the kernel reads up to sector $((k - 1)) and fails from $k (the unwiped tail)"
expect_rc 0 ivol resize --name of --json
echo "$OUT" > rf.json
expect_eq "$(json rf.json 'j["action"], j["unreadableTail"]["start"], j["unreadableTail"]["sectors"]')" "('unchanged', $k, $((new - k)))" "re-run names the unwiped tail"
echo "$ERR" | grep -q "ivol repair --name of --zero-lost --sectors $k-$((new - 1))" || die "the warning does not name the repair: $ERR"
expect_rc 0 ivol repair --name of --zero-lost --sectors "$k-$((new - 1))" --json
echo "$OUT" > rr.json
expect_eq "$(json rr.json 'j["zeroedBlocks"], j["mismatchedBlocks"]')" "($((new - k)), $((new - k)))" "the named repair zeroes exactly the unwiped tail"
dmesg -C
dd if=/dev/mapper/of of=/dev/null bs=1M iflag=direct status=none || die "full read after the repair failed"
expect_eq "$(dd if=/dev/mapper/of bs=512 skip=100 count=600 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "old data reads back"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures after finishing the killed grow"
expect_rc 0 ivol resize --name of --json
echo "$OUT" > rf2.json
expect_eq "$(json rf2.json 'j["action"], j.get("unreadableTail")')" "('unchanged', None)" "a third run finds nothing"
expect_rc 0 ivol close of
losetup -d "$Lf"
expect_rc 0 ivol verify f.img --integrity crc32c --json
echo "$OUT" > fv.json
expect_eq "$(json fv.json 'j["healthy"]')" "True" "ivol verify after the finished grow"
