# LUKS2 on top of an array (issue 16 "Create ... optionally LUKS2 on top ... crypttab for the crypt layer ... Open/close
# the whole stack in the right order; refuse to close a stack that is mounted"): `ivol array create --luks-key-file`
# makes RAID1 over two integrity legs → LUKS2 (the real cryptsetup) → /dev/mapper/lk-crypt; the --crypttab line's UUID
# is `cryptsetup luksUUID` of the md device and `ivol array status` names the crypt layer. An ext4 on the crypt mapping
# holds a file; `ivol array close` is refused while it is mounted (ArrayInUse, exit 5, naming the crypt mapping) and
# closes nothing; after umount it closes crypt, md and legs (no md, dm mapping or loop device left). `ivol array open`
# with a wrong key fails (CryptsetupFailed) and undoes the assembly; with the key it opens the whole stack again and the
# file reads back. Then boot (issue 16 "with the boot configuration written ... so the stack assembles at boot"): the
# integritytab, mdadm.conf and crypttab that create wrote go through systemd's own generators
# (SYSTEMD_INTEGRITYTAB/SYSTEMD_CRYPTTAB), the units' ExecStart lines run as boot runs them, mdadm assembles from the
# ARRAY line as the initramfs does, and the file reads back through the stack that boot assembled; `ivol array status`
# and `ivol array close` handle that stack.
modprobe raid1 2>/dev/null || true
modprobe dm-crypt 2>/dev/null || true
cleanup() {
    umount mnt 2>/dev/null || true
    cryptsetup close lk-crypt 2>/dev/null || true
    mdadm --stop /dev/md/lk >/dev/null 2>&1 || true
    rm -f "/dev/disk/by-uuid/${UUID:-none}"
}
trap cleanup EXIT
nothing_left() { # what: no md array, no lk* mapping, no loop device over our images
    ! grep -q "^md" /proc/mdstat || die "$1: an md array is left: $(cat /proc/mdstat)"
    [ -z "$(dmsetup ls | grep '^lk' || true)" ] || die "$1: mappings left: $(dmsetup ls)"
    [ -z "$(ls /dev/mapper | grep '^lk' || true)" ] || die "$1: /dev/mapper nodes left: $(ls /dev/mapper)"
    [ -z "$(losetup -a | grep "$S/" || true)" ] || die "$1: loop devices left: $(losetup -a)"
    log "ok: $1: no md, mapping, node or loop device left"
}

head -c 64 /dev/urandom > key && chmod 600 key
head -c 64 /dev/urandom > wrong && chmod 600 wrong
# The LUKS2 header takes 16 MiB: 40 MiB legs leave room for an ext4. pbkdf2 with 1 ms keeps TCG fast.
ivol array create lk leg0.img leg1.img --level 1 --size 40M --luks-key-file key --luks-pbkdf pbkdf2 --luks-iter-time 1 \
    --crypttab crypttab --integritytab integritytab --mdadm-conf mdadm.conf --json > cr.json
expect_eq "$(json cr.json 'j["cryptName"], j["cryptPath"], j["array"]["cryptName"]')" "('lk-crypt', '/dev/mapper/lk-crypt', 'lk-crypt')" "create: crypt layer"
[ -b /dev/mapper/lk-crypt ] || die "no /dev/mapper/lk-crypt node"
expect_eq "$(dmsetup table lk-crypt | awk '{print $3}')" "crypt" "lk-crypt is a dm-crypt mapping"
UUID=$(cryptsetup luksUUID /dev/md/lk)
expect_eq "$(cat crypttab)" "lk-crypt UUID=$UUID $S/key luks" "crypttab line: luksUUID of the md device"
expect_eq "$(json cr.json 'j["crypttabLine"]')" "$(cat crypttab)" "crypttab line in the result"
ivol array status lk --json > st.json
expect_eq "$(json st.json 'j["cryptName"]')" "lk-crypt" "array status names the crypt layer"

mkfs.ext4 -q -F /dev/mapper/lk-crypt && mkdir -p mnt && mount -t ext4 /dev/mapper/lk-crypt mnt
pattern mnt/file.bin 4096 23 && cp mnt/file.bin want.bin && sync
set +e; ivol array close lk --json 2> cl.err; rc=$?; set -e
expect_eq "$rc $(json cl.err 'j["error"]')" "5 ArrayInUse" "close refused while the crypt layer is mounted"
grep -q "lk-crypt" cl.err || die "the refusal does not name the crypt mapping: $(cat cl.err)"
[ -b /dev/mapper/lk-crypt ] && [ -e /dev/md/lk ] && [ -e /dev/mapper/lk-leg0 ] && [ -e /dev/mapper/lk-leg1 ] || die "a refused close closed something"
umount mnt
ivol array close lk --json > cl.json
expect_eq "$(json cl.json 'j["closedCrypt"], j["closedLegs"]')" "('lk-crypt', ['lk-leg0', 'lk-leg1'])" "close: crypt, then md, then legs"
nothing_left "after close"

set +e; ivol array open lk leg0.img leg1.img --luks-key-file wrong --json 2> wr.err; rc=$?; set -e
expect_eq "$rc $(json wr.err 'j["error"]')" "3 CryptsetupFailed" "open with a wrong LUKS key"
nothing_left "after the failed open"

ivol array open lk leg1.img leg0.img --leg-names lk-leg0,lk-leg1 --luks-key-file key --json > op.json
expect_eq "$(json op.json 'j["cryptName"], j["luksUuid"]')" "('lk-crypt', '$UUID')" "open: crypt layer"
mount -t ext4 -o ro /dev/mapper/lk-crypt mnt
cmp mnt/file.bin want.bin || die "the file does not read back after close and open"
log "ok: the file reads back through the reopened stack"
umount mnt
ivol array close lk > /dev/null
nothing_left "after the second close"

# Boot: systemd's generators turn the files create wrote into units; their ExecStart lines run in boot's order.
boot_generate "$S/integritytab" "$S/crypttab"
run_unit 'systemd-integritysetup@lk\x2dleg0.service'
run_unit 'systemd-integritysetup@lk\x2dleg1.service'
mdadm --assemble --scan --config "$S/mdadm.conf"
wait_for "md lk assembled" test -b /dev/md/lk
# The link udev's persistent-storage rule makes for the crypttab's UUID= (the guest has no udev).
mkdir -p /dev/disk/by-uuid && ln -sf "$(readlink -f /dev/md/lk)" "/dev/disk/by-uuid/$UUID"
grep -q "/dev/disk/by-uuid/$UUID" 'gen/normal/systemd-cryptsetup@lk\x2dcrypt.service' || die "the crypttab unit does not name the UUID"
run_unit 'systemd-cryptsetup@lk\x2dcrypt.service'
[ -b /dev/mapper/lk-crypt ] || die "systemd-cryptsetup made no /dev/mapper/lk-crypt"
mount -t ext4 -o ro /dev/mapper/lk-crypt mnt
cmp mnt/file.bin want.bin || die "the file does not read back through the stack boot assembled"
log "ok: the file reads back through the stack systemd and mdadm assembled from the written files"
ivol array status lk --json > bst.json
expect_eq "$(json bst.json 'j["cryptName"], sorted(l["state"] for l in j["legs"])')" "('lk-crypt', [['in_sync'], ['in_sync']])" "status of the booted stack"
umount mnt
ivol array close lk --json > bcl.json
expect_eq "$(json bcl.json 'j["closedCrypt"], j["closedLegs"]')" "('lk-crypt', ['lk-leg0', 'lk-leg1'])" "close of the booted stack"
nothing_left "after closing the booted stack"
