# Harness proof without any C#: the guest has device-mapper, dm-integrity, loop devices and the witnesses, and
# integritysetup + dmsetup + the kernel round-trip data with checksums; a raid1 (mdadm) over two integrity devices
# assembles. If this fails, every other scenario's failure is the harness's, not ours.
[ -c /dev/mapper/control ] || die "no /dev/mapper/control"
dmsetup targets | grep -q '^integrity ' || modprobe dm-integrity
dmsetup targets | grep -q '^integrity ' || die "no integrity target"

truncate -s 16M a.img b.img
A=$(losetup -f --show a.img); B=$(losetup -f --show b.img)
integritysetup format --batch-mode "$A" --integrity crc32c
integritysetup format --batch-mode --no-wipe "$B" --integrity crc32c --sector-size 4096
integritysetup open "$A" smoke-a --integrity crc32c
integritysetup open "$B" smoke-b --integrity crc32c --integrity-recalculate
expect_eq "$(dmsetup table smoke-a | awk '{print $3, $5, $6, $7}')" "integrity 0 4 J" "table of smoke-a"
pattern p.bin 2048 1
dd if=p.bin of=/dev/mapper/smoke-a bs=4096 oflag=direct status=none
expect_eq "$(dd if=/dev/mapper/smoke-a bs=4096 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "read-back sha256"
expect_eq "$(dmsetup status smoke-a | awk '{print $4}')" "0" "mismatch counter"

# mdadm raid1 over the two integrity devices (the classic md-on-integrity stack).
mdadm --create /dev/md/smoke --run --quiet --level=1 --raid-devices=2 --metadata=1.2 /dev/mapper/smoke-a /dev/mapper/smoke-b
grep -q 'md127 : active raid1' /proc/mdstat || grep -q 'active raid1' /proc/mdstat || die "raid1 not active"
log "ok: raid1 over two integrity devices is active"
mdadm --stop /dev/md/smoke >/dev/null 2>&1 || mdadm --stop /dev/md127 >/dev/null

integritysetup close smoke-a
integritysetup close smoke-b
losetup -d "$A" "$B"
expect_eq "$(dmsetup ls | grep -c smoke || true)" "0" "mappings left"
