# RAID over per-leg LUKS over integrity (issue 16 "Support both orders ... RAID over per-leg LUKS over integrity"), the
# other order than scenario 23, built by `ivol array create --luks-per-leg`: RAID1 over two crypt mappings, each the
# real cryptsetup's LUKS2 on one of our integrity legs. Checked against the kernel and cryptsetup: md's members are the
# dm-crypt mappings pl-legK-crypt, each over the integrity mapping pl-legK (dmsetup deps); the --crypttab lines carry
# `cryptsetup luksUUID` of each leg; `ivol array status` shows the crypt mappings as md members with the integrity
# mappings under them. An ext4 on the array holds a file; `ivol array close` is refused while it is mounted (nothing
# closed), then stops md and closes crypt, then integrity, per leg (nothing left).
# What md heals in this order: one byte in three blocks of leg 1's closed image (in the crypt payload, where md's check
# reads; offsets from cryptsetup's table, md's data offset and `ivol dump --json`) is corrupted. md resyncs after create
# (no --assume-clean over per-leg LUKS: each leg decrypts its unwritten area to different data). `ivol array open`
# finds the LUKS headers on the legs: without a key KeyRequired, with a wrong one CryptsetupFailed, both undo everything;
# with the key it opens the crypt layers before md. `ivol array scrub`: leg 1's integrity counter rises by exactly 3 (the
# EILSEQ passes up through dm-crypt; md rewrites the blocks through the leg's crypt mapping), no leg failed, a second
# scrub clean, the file reads back, and offline `ivol verify` of both closed legs is healthy.
# Boot: the integritytab, crypttab and mdadm.conf create wrote go through systemd's own generators; the units' ExecStart
# lines run (integrity legs, then each leg's crypt layer by its LUKS UUID), mdadm assembles from the ARRAY line, the file
# reads back. `ivol array replace` of leg 1 in that stack: without --luks-key-file KeyRequired, with a key that opens no
# leg's header KeyMismatch (the new device untouched); with the key the new leg gets its own LUKS2 layer (pl-leg2-crypt
# over pl-leg2), md recovers onto it, the old leg's crypt and integrity mappings are closed, a scrub is clean, the file
# reads back, `ivol array close` takes the stack down and the new leg verifies healthy offline.
modprobe raid1 2>/dev/null || true
modprobe dm-crypt 2>/dev/null || true
cleanup() {
    umount mnt 2>/dev/null || true
    mdadm --stop /dev/md/pl >/dev/null 2>&1 || true
    cryptsetup close pl-leg0-crypt 2>/dev/null || true
    cryptsetup close pl-leg1-crypt 2>/dev/null || true
    rm -f "/dev/disk/by-uuid/${U0:-none}" "/dev/disk/by-uuid/${U1:-none}"
}
trap cleanup EXIT
nothing_left() { # what: no md array, no pl* mapping or node, no loop device over our images
    ! grep -q "^md" /proc/mdstat || die "$1: an md array is left: $(cat /proc/mdstat)"
    [ -z "$(dmsetup ls | grep '^pl' || true)" ] || die "$1: mappings left: $(dmsetup ls)"
    [ -z "$(ls /dev/mapper | grep '^pl' || true)" ] || die "$1: /dev/mapper nodes left: $(ls /dev/mapper)"
    [ -z "$(losetup -a | grep "$S/" || true)" ] || die "$1: loop devices left: $(losetup -a)"
    log "ok: $1: no md, mapping, node or loop device left"
}
flip() { # image byte-offset: invert one byte in place
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# leg FILE MAPPER EXPR: a python expression over the leg whose mapperName is MAPPER (`l`).
leg() { json "$1" "[l for l in j['legs'] if l['mapperName'] == '$2'][0]$3"; }

head -c 64 /dev/urandom > key && chmod 600 key
head -c 64 /dev/urandom > wrong && chmod 600 wrong
# Each leg carries a 16 MiB LUKS2 header: 40 MiB legs leave room for an ext4. pbkdf2 with 1 ms keeps TCG fast.
ivol array create pl leg0.img leg1.img --level 1 --size 40M --integrity crc32c --luks-key-file key --luks-per-leg \
    --luks-pbkdf pbkdf2 --luks-iter-time 1 --crypttab crypttab --integritytab integritytab --mdadm-conf mdadm.conf --json > cr.json
MD=$(basename "$(readlink -f /dev/md/pl)")
# No --assume-clean here: each leg's LUKS header has its own volume key, so the legs' unwritten areas decrypt to
# different data; md resyncs once (a check after --assume-clean counted 36,352 mismatched sectors of 45,696).
expect_eq "$(json cr.json 'any("resyncing" in w for w in j["warnings"])')" "True" "create says md resyncs"
wait_for "md's initial resync of $MD" bash -c '[ "$(cat /sys/block/$1/md/sync_action)" = idle ] && [ "$(cat /sys/block/$1/md/last_sync_action)" = resync ]' _ "$MD"
members=$(for d in /sys/block/$MD/slaves/*; do cat "$d/dm/name"; done | sort | tr '\n' ' ')
expect_eq "$members" "pl-leg0-crypt pl-leg1-crypt " "md's members are the legs' crypt mappings"
for k in 0 1; do
    expect_eq "$(dmsetup table pl-leg$k-crypt | awk '{print $3}') $(dmsetup deps -o devname pl-leg$k-crypt | grep -o '(.*)')" \
        "crypt (pl-leg$k)" "pl-leg$k-crypt is dm-crypt over the integrity mapping pl-leg$k"
    expect_eq "$(dmsetup table pl-leg$k | awk '{print $3}')" "integrity" "pl-leg$k is dm-integrity"
done
U0=$(cryptsetup luksUUID /dev/mapper/pl-leg0); U1=$(cryptsetup luksUUID /dev/mapper/pl-leg1)
[ "$U0" != "$U1" ] || die "both legs have the same LUKS UUID"
expect_eq "$(cat crypttab)" "pl-leg0-crypt UUID=$U0 $S/key luks
pl-leg1-crypt UUID=$U1 $S/key luks" "crypttab: one line per leg, by the leg's luksUUID"
expect_eq "$(json cr.json '[(l["crypt"]["name"], l["crypt"]["luksUuid"], l["crypttabLine"]) for l in j["legs"]]')" \
    "[[\"pl-leg0-crypt\", \"$U0\", \"pl-leg0-crypt UUID=$U0 $S/key luks\"], [\"pl-leg1-crypt\", \"$U1\", \"pl-leg1-crypt UUID=$U1 $S/key luks\"]]" "create result: the legs' crypt layers"
expect_eq "$(json cr.json 'j.get("cryptName")')" "None" "no crypt layer on top"
expect_eq "$(grep -o 'UUID=[^ ]*' mdadm.conf)" "$(mdadm --detail --brief /dev/md/pl | grep -o 'UUID=[^ ]*')" "mdadm.conf UUID = mdadm --detail --brief"
ivol array status pl --json > st.json
expect_eq "$(json st.json 'sorted((l["mapperName"], l["integrity"]["name"], l["state"]) for l in j["legs"])')" \
    '[["pl-leg0-crypt", "pl-leg0", ["in_sync"]], ["pl-leg1-crypt", "pl-leg1", ["in_sync"]]]' "status: crypt members over integrity legs"
# Where leg 1's md data sits on its integrity mapping: the crypt payload offset (cryptsetup's table) + md's data offset.
cryptoff=$(dmsetup table pl-leg1-crypt | awk '{print $8}')
D1=$(basename "$(readlink -f /sys/block/$MD/md/dev-*/block | while read -r b; do [ "$(cat "$b/dm/name")" = pl-leg1-crypt ] && echo "$b"; done)")
mdoff=$(cat /sys/block/$MD/md/dev-$D1/offset)
log "leg 1: crypt payload at $cryptoff, md data at +$mdoff"

mkfs.ext4 -q -F /dev/md/pl && mkdir -p mnt && mount -t ext4 /dev/md/pl mnt
pattern mnt/file.bin 4096 28 && cp mnt/file.bin want.bin && sync
expect_rc 5 ivol array close pl --json
expect_eq "$(echo "$ERR" | grep -o '"ArrayInUse"')" '"ArrayInUse"' "close refused while mounted"
[ -e /dev/md/pl ] && [ -b /dev/mapper/pl-leg0-crypt ] && [ -b /dev/mapper/pl-leg1-crypt ] && [ -b /dev/mapper/pl-leg0 ] || die "a refused close closed something"
umount mnt
ivol array close pl --json > cl.json
expect_eq "$(json cl.json '[j["closedLegCrypts"], j["closedLegs"], j["otherLegs"]]')" \
    '[["pl-leg0-crypt", "pl-leg1-crypt"], ["pl-leg0", "pl-leg1"], []]' "close: md, then each leg's crypt, then integrity"
nothing_left "after close"

ivol dump leg1.img --json > dump1.json
for s in 5 2000 7000; do   # one byte of three blocks in the ciphertext of leg 1's md data
    L=$((cryptoff + mdoff + s))
    off=$(python3 -c "import json; d=json.load(open('dump1.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+17)")
    flip leg1.img "$off"
done

expect_rc 2 ivol array open pl leg0.img leg1.img --integrity crc32c --json
expect_eq "$(echo "$ERR" | grep -o '"KeyRequired"')" '"KeyRequired"' "open of encrypted legs without a key"
nothing_left "after the open without a key"
expect_rc 3 ivol array open pl leg0.img leg1.img --integrity crc32c --luks-key-file wrong --json
expect_eq "$(echo "$ERR" | grep -o '"CryptsetupFailed"')" '"CryptsetupFailed"' "open with a wrong LUKS key"
nothing_left "after the open with a wrong key"
ivol array open pl leg1.img leg0.img --leg-names pl-leg1,pl-leg0 --integrity crc32c --luks-key-file key --json > op.json
expect_eq "$(json op.json 'sorted((l["mapperName"], l["crypt"]["name"], l["crypt"]["luksUuid"]) for l in j["legs"])')" \
    "[[\"pl-leg0\", \"pl-leg0-crypt\", \"$U0\"], [\"pl-leg1\", \"pl-leg1-crypt\", \"$U1\"]]" "open: each leg's crypt layer before md"

# Scrub: the three blocks fail their tags; dm-crypt passes the error up; raid1 rewrites them through pl-leg1-crypt.
expect_rc 1 ivol array scrub pl --json
echo "$OUT" > s1.json
expect_eq "$(leg s1.json pl-leg1-crypt '["integrityMismatchesAdded"]') $(leg s1.json pl-leg0-crypt '["integrityMismatchesAdded"]')" "3 0" "scrub: leg 1's integrity counter +3, leg 0's +0"
expect_eq "$(json s1.json 'j["completed"], j["anyLegFailed"]')" "(True, False)" "scrub completed, no leg failed"
expect_eq "$(dmsetup status pl-leg1 | awk '{print $4}')" "3" "dmsetup's pl-leg1 mismatch counter (witness)"
expect_rc 0 ivol array scrub pl --json
echo "$OUT" > s2.json
expect_eq "$(json s2.json 'j["mismatchCount"], [l["integrityMismatchesAdded"] for l in j["legs"]]')" "(0, [0, 0])" "second scrub clean"
mount -t ext4 -o ro /dev/md/pl mnt
cmp mnt/file.bin want.bin || die "the file does not read back after the scrub"
umount mnt
ivol array close pl > /dev/null
nothing_left "after the second close"
par_verify() { ivol verify "$1" --integrity crc32c --json > "$1.verify.json"; }
par_verify leg0.img & p0=$!; par_verify leg1.img & p1=$!
wait $p0 || die "offline verify of leg 0: not healthy"; wait $p1 || die "offline verify of leg 1: not healthy"
expect_eq "$(json leg0.img.verify.json 'j["verdict"]') $(json leg1.img.verify.json 'j["verdict"]')" "healthy healthy" "offline verify of both legs after the scrub"

# Boot: systemd's generators turn the files create wrote into units; their ExecStart lines run in boot's order.
boot_generate "$S/integritytab" "$S/crypttab"
run_unit 'systemd-integritysetup@pl\x2dleg0.service'
run_unit 'systemd-integritysetup@pl\x2dleg1.service'
# The links udev's persistent-storage rule makes for the crypttab's UUID= (the guest has no udev).
mkdir -p /dev/disk/by-uuid
ln -sf "$(readlink -f /dev/mapper/pl-leg0)" "/dev/disk/by-uuid/$U0"; ln -sf "$(readlink -f /dev/mapper/pl-leg1)" "/dev/disk/by-uuid/$U1"
run_unit 'systemd-cryptsetup@pl\x2dleg0\x2dcrypt.service'
run_unit 'systemd-cryptsetup@pl\x2dleg1\x2dcrypt.service'
mdadm --assemble --scan --config "$S/mdadm.conf"
wait_for "md pl assembled" test -b /dev/md/pl
mount -t ext4 -o ro /dev/md/pl mnt
cmp mnt/file.bin want.bin || die "the file does not read back through the stack boot assembled"
log "ok: the file reads back through the stack systemd and mdadm assembled from the written files"
umount mnt

# Replace leg 1 of the booted stack: the new leg needs its own LUKS layer made with the legs' key.
truncate -s 40M new.img
expect_rc 2 ivol array replace pl --leg pl-leg1-crypt --device new.img --name pl-leg2 --json
expect_eq "$(echo "$ERR" | grep -o '"KeyRequired"')" '"KeyRequired"' "replace over per-leg LUKS without the LUKS key"
expect_rc 2 ivol array replace pl --leg pl-leg1 --device new.img --name pl-leg2 --luks-key-file wrong --json
expect_eq "$(echo "$ERR" | grep -o '"KeyMismatch"')" '"KeyMismatch"' "replace with a key that opens no leg's header"
cmp -n 40M new.img /dev/zero || die "a refused replace wrote to the new device"
ivol array replace pl --leg pl-leg1-crypt --device new.img --name pl-leg2 --luks-key-file key --luks-pbkdf pbkdf2 --luks-iter-time 1 --json > rp.json
U2=$(cryptsetup luksUUID /dev/mapper/pl-leg2)
expect_eq "$(json rp.json '[j["recoveryCompleted"], j["newLeg"], j["newLegCrypt"]["name"], j["newLegCrypt"]["luksUuid"], j["oldLegRemoved"], j["oldLegClosed"]]')" \
    "[true, \"/dev/mapper/pl-leg2-crypt\", \"pl-leg2-crypt\", \"$U2\", true, true]" "replace: the new leg's crypt layer recovered, the old leg's crypt and integrity closed"
expect_eq "$(dmsetup table pl-leg2-crypt | awk '{print $3}') $(dmsetup deps -o devname pl-leg2-crypt | grep -o '(.*)')" "crypt (pl-leg2)" "pl-leg2-crypt is dm-crypt over pl-leg2"
! dmsetup info pl-leg1-crypt >/dev/null 2>&1 && ! dmsetup info pl-leg1 >/dev/null 2>&1 || die "the old leg's mappings are still open"
MD=$(basename "$(readlink -f /dev/md/pl)")
expect_eq "$(for d in /sys/block/$MD/slaves/*; do cat "$d/dm/name"; done | sort | tr '\n' ' ')" "pl-leg0-crypt pl-leg2-crypt " "md's members after the replace"
expect_rc 0 ivol array scrub pl --json
echo "$OUT" > s3.json
expect_eq "$(json s3.json 'j["mismatchCount"]')" "0" "scrub after the replace: clean"
mount -t ext4 -o ro /dev/md/pl mnt
cmp mnt/file.bin want.bin || die "the file does not read back after the replace"
umount mnt
ivol array close pl --json > bcl.json
expect_eq "$(json bcl.json '[j["closedLegCrypts"], j["closedLegs"]]')" '[["pl-leg0-crypt", "pl-leg2-crypt"], ["pl-leg0", "pl-leg2"]]' "close of the booted, repaired stack"
nothing_left "after closing the booted stack"
ivol verify new.img --integrity crc32c --json > new.verify.json || die "offline verify of the new leg: not healthy"
expect_eq "$(json new.verify.json 'j["verdict"]')" "healthy" "offline verify of the new leg"
