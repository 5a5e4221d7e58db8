# Error paths through the real kernel: name taken, a table the kernel rejects (with its reason), busy close,
# deferred close, and status of a missing mapping. Exit codes as documented (2 input, 5 busy).
ivol format vol.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol open vol.img e1 --integrity crc32c

expect_rc 2 ivol open vol.img e1 --integrity crc32c --json
echo "$ERR" | grep -q '"error": *"MapperNameTaken"' || die "no MapperNameTaken: $ERR"

# Tag and block size come from the superblock, so a table the kernel refuses needs something only the kernel
# checks: a hash algorithm it does not have. We must report its reason and clean up (no mapping, no loop device).
expect_rc 2 ivol open vol.img e2 --integrity no-such-hash --json
echo "$ERR" | grep -q '"error": *"TableLoadRejected"' || die "no TableLoadRejected: $ERR"
echo "$ERR" | grep -q 'errno' || die "no errno in: $ERR"
echo "$ERR" | grep -q 'integrity: Invalid internal hash' || die "no kernel reason in: $ERR"
log "kernel reason: $(echo "$ERR" | sed -n 's/.*"message": *"\(.*\)".*/\1/p')"
expect_eq "$(dmsetup ls | grep -c '^e2' || true)" "0" "half-created mapping removed"
expect_eq "$(losetup -a | grep -c vol.img || true)" "1" "only e1's loop device is attached"

exec 3</dev/mapper/e1
expect_rc 5 ivol close e1 --json
echo "$ERR" | grep -q '"error": *"DeviceInUse"' || die "no DeviceInUse: $ERR"
expect_rc 0 ivol close e1 --deferred
expect_eq "$(dmsetup ls | grep -c '^e1' || true)" "1" "deferred: still there while open"
exec 3<&-
wait_for "deferred removal of e1" bash -c '! dmsetup ls | grep -q "^e1"'
expect_eq "$(dmsetup ls | grep -c '^e1' || true)" "0" "deferred removal after last close"
wait_for "loop autoclear after the deferred removal" bash -c '! losetup -a | grep -q vol.img'
expect_eq "$(losetup -a | grep -c vol.img || true)" "0" "loop detached after deferred removal"

# No udev in the guest: the kernel removed e1 on the last close, nobody unlinked its node; our next call does.
expect_eq "$(test -b /dev/mapper/e1 && echo node)" "node" "without udev the node outlives the deferred removal"
expect_rc 2 ivol status e1
expect_eq "$(test -e /dev/mapper/e1 && echo node)" "" "stale /dev/mapper/e1 pruned by the next ivol call"
expect_rc 2 ivol close e1 --json
echo "$ERR" | grep -q '"error": *"MapperDeviceNotFound"' || die "no MapperDeviceNotFound: $ERR"
