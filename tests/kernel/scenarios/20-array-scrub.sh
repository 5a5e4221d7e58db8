# md RAID1 over two dm-integrity legs made with `ivol array create` (issue 16 "Arrays: Create"), then issue 16's
# "Arrays: Inspect" and "Scrub" through ivol.
# Create: a set with one device that looks like data (an ext4 superblock) is refused (ExistingSignature) and leaves the
# other device untouched; `ivol array create` formats and opens both legs and runs mdadm --create --assume-clean; a
# first md check finds mismatch_cnt 0 (the fresh legs read zeros with valid tags everywhere, so skipping the initial
# resync is safe); the --mdadm-conf line's UUID is `mdadm --detail --brief`'s and the --integritytab lines pass
# `ivol tab check`. `ivol array close` is refused (ArrayInUse, exit 5) while an ext4 on the array is mounted and while a
# linear mapping holds it.
# A pattern is written through the array, `ivol array close` stops it and closes both legs (no md device, no leg mapping
# left), data bytes of three blocks of leg 1's closed image are corrupted (offsets from `ivol dump --json`, as in 08),
# `ivol array open` reassembles it.
# `ivol array status --json` shows the array (by /dev/md/NAME, /dev/mdN, mdN and in the list of all) with both legs and
# their integrity mappings; `ivol array scrub` (md check) reports leg 1's integrity mismatch counter risen by exactly 3
# (dm-integrity's own counter, one per failed block; dmesg is rate-limited and not used), leg 0's unchanged, no leg
# failed, exit 1 (mismatches found); a second scrub is clean (exit 0). A scrub is refused while a check runs
# (ArrayBusy, exit 5), and a scrub stopped by SIGTERM once md shows it running (state, not time) exits 130 and leaves
# sync_action idle. md's speed limits make the check slow only for these last two steps.
# Replace cancelled (issue 16 "replace a leg ... Ctrl+C cancelling cleanly"): `ivol array replace --leg sc1` started in
# the background, SIGINT (what Ctrl+C sends) once md shows the recovery onto the new leg running (the new leg a
# `replacement` member, sync_action recover; the speed limits keep it from ending first): exit 130, the result says
# cancelled, the new leg failed, removed and its mapping (and loop device) closed; the array is as before (the same two
# legs in_sync, sc1 without want_replacement, degraded 0, sync_action idle) and reads the pattern. Run again at md's
# normal speed: refused without --force (the new device holds a partial copy), with --force it completes (sc1 removed
# and closed, the new leg in_sync in slot 1), the next scrub is clean and the pattern reads back.
# Replace in remove/add mode cancelled (the array degraded: sc1n failed, removed, its mapping closed): SIGINT once md
# rebuilds the new leg from sc0 (a spare in slot 1, sync_action recover): exit 130, mode add, the new leg removed and
# closed, the array still degraded on sc0 alone, the pattern reads; with --force again it completes, a scrub is clean.
# RAID10 (near-2, 4 legs, 64 KiB chunks): `ivol array create --level 10`, md's level/layout/legs/chunk in sysfs, `ivol
# array status` (4 legs in_sync in slots 0-3, crc32c), a pattern written, a clean scrub, the pattern read back, close.
# A check md interrupts (one block unreadable on both legs of a RAID1 at array sector 64): the scrub reports md's
# logged "interrupted" (kernelLogged), completed false, stopped, and md's resume sector.
modprobe raid1 2>/dev/null || true
trap 'umount mnt 2>/dev/null || true; dmsetup remove sc_hold 2>/dev/null || true; mdadm --stop /dev/md/scrub >/dev/null 2>&1 || true; mdadm --stop /dev/md/r10 >/dev/null 2>&1 || true; mdadm --stop /dev/md/ei >/dev/null 2>&1 || true' EXIT

par() { # par 'cmd1' 'cmd2' ...: run in parallel (ivol calls cost seconds each under TCG); fail if any fails
    local pids=() c p rc=0
    for c in "$@"; do ( eval "$c" ) & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || die "a parallel step failed: $*"
}
flip() { # image byte-offset: invert one byte in place
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# leg FILE MAPPER EXPR: a python expression over the scrub/status leg whose mapperName is MAPPER (`l`).
leg() { json "$1" "[l for l in j['legs'] if l['mapperName'] == '$2'][0]$3"; }

truncate -s 16M spare.img data.img && mkfs.ext4 -q -F data.img && cp data.img data.orig && cp spare.img spare.orig
par 'ivol array create scrub leg0.img leg1.img --level 1 --size 16M --integrity crc32c --leg-names sc0,sc1 --integritytab tab --mdadm-conf mdadm.conf --json > cr.json' \
    'ivol array create refused spare.img data.img --level 1 2> r.err || echo $? > r.rc'
expect_eq "$(cat r.rc) $(grep -o '\[ExistingSignature\]' r.err)" "2 [ExistingSignature]" "a set with a device holding ext4: refused"
expect_eq "$(cmp spare.img spare.orig && cmp data.img data.orig && echo same)" "same" "refused set: both devices untouched"
[ ! -e /dev/md/refused ] && [ ! -e /dev/mapper/refused-leg0 ] || die "the refused create left an array or a leg"
par 'ivol dump leg1.img --json > dump1.json' 'ivol tab check --file tab --json > tabcheck.json'
expect_eq "$(json cr.json 'j["path"], j["array"]["level"], sorted(l["mapperName"] for l in j["legs"])')" "('/dev/md/scrub', 'raid1', ['sc0', 'sc1'])" "array create result"
expect_eq "$(awk '{print $1, $2}' tab | sort | tr '\n' ' ')" "sc0 $S/leg0.img sc1 $S/leg1.img " "integritytab lines"
expect_eq "$(json tabcheck.json 'j["valid"]')" "True" "integritytab lines pass ivol tab check"
expect_eq "$(grep -o 'UUID=[^ ]*' mdadm.conf)" "$(mdadm --detail --brief /dev/md/scrub | grep -o 'UUID=[^ ]*')" "mdadm.conf UUID = mdadm --detail --brief"
expect_eq "$(json cr.json 'j["mdadmConfLine"]')" "$(cat mdadm.conf)" "mdadm.conf line in the result"
MD=$(basename "$(readlink -f /dev/md/scrub)")
D1="dm-$(dmsetup info -c --noheadings -o minor sc1 | tr -d ' ')"
mdoff=$(cat /sys/block/$MD/md/dev-$D1/offset)
# --assume-clean was safe: md's check over the fresh legs finds no mismatch (mkfs.ext4 writes through md, so both legs
# get the same blocks; every other block is still the format's zeros). Meanwhile close is refused: the ext4 is mounted.
mkfs.ext4 -q -F /dev/md/scrub && mkdir -p mnt && mount -t ext4 /dev/md/scrub mnt
par 'ivol array scrub /dev/md/scrub --json > s0.json' 'ivol array close scrub --json 2> cl.err || echo $? > cl.rc'
expect_eq "$(json s0.json 'j["completed"], j["mismatchCount"]')" "(True, 0)" "md check right after create: mismatch_cnt"
expect_eq "$(cat cl.rc) $(json cl.err 'j["error"]')" "5 ArrayInUse" "close refused while mounted"
umount mnt
[ -e /dev/md/scrub ] && [ -e /dev/mapper/sc0 ] && [ -e /dev/mapper/sc1 ] || die "a refused close changed something"
pattern p.bin 8192 5
dd if=p.bin of=/dev/$MD bs=1M oflag=direct conv=fsync status=none
ivol array close scrub --json > cl.json
expect_eq "$(json cl.json 'j["closedLegs"]')" '["sc0", "sc1"]' "array close: legs closed"
expect_eq "$(ls /dev/mapper | grep -c '^sc' || true)" "0" "after close: no leg mapping"
wait_for "no active md array" bash -c '! grep -q "^md" /proc/mdstat'

for s in 5 2000 7000; do   # one data byte in three blocks of leg 1, each in its own 64 KiB resync window
    L=$((mdoff + s))
    off=$(python3 -c "import json; d=json.load(open('dump1.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+17)")
    flip leg1.img "$off"
done
ivol array open scrub leg0.img leg1.img --leg-names sc0,sc1 --integrity crc32c >/dev/null || die "reassembly failed"
MD=$(basename "$(readlink -f /dev/md/scrub)")
log "array $MD"

# Inspect: the same array by every accepted name, and in the list of arrays with integrity legs.
dmsetup create sc_hold --table "0 8 linear /dev/$MD 0"   # a mapping on top holds the array (holders/)
par 'ivol array close scrub 2> h.err || echo $? > h.rc' \
    'ivol array status /dev/md/scrub --json > st.json' "ivol array status /dev/$MD --json > st2.json" \
    "ivol array status $MD --json > st3.json" 'ivol array status --json > all.json' \
    'ivol array status /dev/mapper/sc0 --json 2> e1.err || echo $? > e1.rc' 'ivol array status md999 2> e2.err || echo $? > e2.rc'
dmsetup remove sc_hold
expect_eq "$(cat h.rc) $(grep -o '\[ArrayInUse\]' h.err)" "5 [ArrayInUse]" "close refused while held"
expect_eq "$(json st.json 'j["device"]')" "$MD" "status by /dev/md/scrub: kernel name"
expect_eq "$(json st.json 'j["name"]')" "scrub" "mdadm name"
expect_eq "$(json st.json 'j["level"]')" "raid1" "level"
expect_eq "$(json st.json 'j["syncAction"]')" "idle" "sync_action"
expect_eq "$(json st.json 'j["raidDisks"]')" "2" "raid_disks"
expect_eq "$(json st.json 'sorted(l["mapperName"] for l in j["legs"])')" '["sc0", "sc1"]' "legs (device-mapper names)"
expect_eq "$(json st.json 'sorted(l["integrity"]["name"] + ":" + l["integrity"]["algorithm"] for l in j["legs"])')" '["sc0:crc32c", "sc1:crc32c"]' "legs' integrity mappings"
expect_eq "$(json st.json 'sorted((l["slot"], l["state"]) for l in j["legs"])')" '[[0, ["in_sync"]], [1, ["in_sync"]]]' "legs' slots and state"
expect_eq "$(leg st.json sc1 '["integrityMismatches"]')" "0" "sc1 integrity mismatches before the scrub"
expect_eq "$(leg st.json sc1 '["dataOffset"]')" "$mdoff" "sc1 data offset"
for f in st2.json st3.json; do expect_eq "$(json $f 'j["device"], j["legs"][1]["path"]')" "$(json st.json 'j["device"], j["legs"][1]["path"]')" "$f: same array"; done
expect_eq "$(json all.json '[a["device"] for a in j]')" "[\"$MD\"]" "status of all arrays"
expect_eq "$(cat e1.rc) $(json e1.err 'j["error"]')" "2 NotAnMdArray" "a leg is not an md array: exit code, error id"
expect_eq "$(cat e2.rc) $(grep -o '\[ArrayNotFound\]' e2.err)" "2 [ArrayNotFound]" "a missing array: exit code, error id"
if [ -d /results ]; then   # the kernel's own words, for the xunit parsing tests
    mkdir -p /results/md-sysfs
    for a in level array_state sync_action sync_completed degraded mismatch_cnt raid_disks chunk_size max_read_errors sync_min last_sync_action; do
        cat /sys/block/$MD/md/$a > /results/md-sysfs/$a 2>/dev/null || true
    done
    cat /sys/block/$MD/md/dev-$D1/state > /results/md-sysfs/dev-state; cat /sys/block/$MD/md/dev-$D1/slot > /results/md-sysfs/dev-slot
fi

# Scrub (md check): the kernel fails the reads of the three corrupted blocks; raid1 rewrites them from leg 0.
expect_rc 1 ivol array scrub /dev/md/scrub --json
echo "$OUT" > s1.json
expect_eq "$(json s1.json 'j["completed"], j["stopped"], j["action"]')" "(True, False, 'check')" "first scrub completed"
expect_eq "$(leg s1.json sc1 '["integrityMismatchesAdded"]')" "3" "sc1: integrity mismatches added by the scrub"
expect_eq "$(leg s1.json sc0 '["integrityMismatchesAdded"]')" "0" "sc0: integrity mismatches added"
expect_eq "$(json s1.json 'j["anyLegFailed"], [l["failed"] for l in j["legs"]]')" "(False, [False, False])" "no leg failed"
expect_eq "$(leg s1.json sc1 '["stateAfter"]')" '["in_sync"]' "sc1 still in sync"
[ "$(json s1.json 'j["mismatchCount"]')" -gt 0 ] || die "md check counted no mismatch"
expect_eq "$(dmsetup status sc1 | awk '{print $4}')" "3" "dmsetup's sc1 mismatch counter (witness)"
expect_rc 0 ivol array scrub "$MD" --json
echo "$OUT" > s2.json
expect_eq "$(json s2.json 'j["completed"], j["mismatchCount"], [l["integrityMismatchesAdded"] for l in j["legs"]]')" "(True, 0, [0, 0])" "second scrub clean"
expect_eq "$(dd if=/dev/$MD bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "pattern read through the array"

# A slow check (md's speed limits, KiB/s) so the next two steps see it running.
echo 100 > /sys/block/$MD/md/sync_speed_min; echo 200 > /sys/block/$MD/md/sync_speed_max
echo check > /sys/block/$MD/md/sync_action
expect_rc 5 ivol array scrub /dev/md/scrub
expect_eq "$(echo "$ERR" | grep -o '\[ArrayBusy\]')" "[ArrayBusy]" "scrub refused while a check runs"
echo idle > /sys/block/$MD/md/sync_action
wait_for "$MD idle" bash -c '[ "$(cat /sys/block/$1/md/sync_action)" = idle ]' _ "$MD"

# ivol itself in the background (not the ivol shell function, whose subshell the signal would end instead); an
# async command of a script ignores SIGINT, so SIGTERM, which ivol treats like Ctrl+C.
"${IVOL_CMD[@]}" array scrub /dev/md/scrub --json > s3.json 2>s3.err & pid=$!
wait_for "scrub running" bash -c '[ "$(cat /sys/block/$1/md/sync_action)" = check ]' _ "$MD"
[ -d /results/md-sysfs ] && cat /sys/block/$MD/md/sync_completed > /results/md-sysfs/sync_completed-running
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
expect_eq "$rc" "130" "stopped scrub exit code"
expect_eq "$(json s3.json 'j["cancelled"], j["stopped"], j["completed"], j["anyLegFailed"]')" "(True, True, False, False)" "stopped scrub result"
expect_eq "$(cat /sys/block/$MD/md/sync_action)" "idle" "sync_action after the stopped scrub"
[ -d /results/md-sysfs ] && cat /sys/block/$MD/md/sync_min > /results/md-sysfs/sync_min-stopped
log "stopped scrub: resume sector $(json s3.json 'j["resumeSector"]'), sync_min $(cat /sys/block/$MD/md/sync_min)"

# Replace cancelled by SIGINT while md recovers onto the new leg (the speed limits above still hold). A script's
# background command starts with SIGINT ignored, and an ignored signal stays ignored across exec: python puts the
# default back before it execs ivol, which then gets SIGINT as from Ctrl+C.
truncate -s 16M new.img
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    "${IVOL_CMD[@]}" array replace /dev/md/scrub --leg sc1 --device new.img --name sc1n --json > rp1.json 2> rp1.err & pid=$!
recovering() { # the new leg is md's replacement member and md recovers onto it (or ivol already ended: checked below)
    kill -0 "$pid" 2>/dev/null || return 0
    local m; m=$(dmsetup info -c --noheadings -o minor sc1n 2>/dev/null | tr -d ' ') || return 1
    [ -n "$m" ] && grep -qw replacement "/sys/block/$MD/md/dev-dm-$m/state" 2>/dev/null && [ "$(cat /sys/block/$MD/md/sync_action)" = recover ]
}
wait_for "md recovering onto sc1n" recovering
kill -0 "$pid" 2>/dev/null || { cat rp1.json rp1.err; die "ivol array replace ended before md's recovery was seen"; }
log "recovery running: $(cat /sys/block/$MD/md/sync_completed) sectors; sending SIGINT"
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 130 ] || { cat rp1.json rp1.err; }
expect_eq "$rc" "130" "cancelled replace: exit code"
expect_eq "$(json rp1.json 'j["cancelled"], j["recoveryCompleted"], j["recoveryRunning"], j["mode"]')" "(True, False, False, 'replace')" "cancelled replace: cancelled, completed, running, mode"
expect_eq "$(json rp1.json 'j["newLegRemoved"], j["newLegClosed"], j["oldLegRemoved"], j["oldLegClosed"], j["degradedAfter"]')" "(True, True, False, False, 0)" "cancelled replace: new leg removed and closed, old leg kept"
expect_eq "$(json rp1.json 'j["messages"][0].split(":")[0]')" "Cancelled" "cancelled replace: first message"
log "message: $(json rp1.json 'j["messages"][0]')"
D1="dm-$(dmsetup info -c --noheadings -o minor sc1 | tr -d ' ')"
expect_eq "$(cat /sys/block/$MD/md/sync_action) $(cat /sys/block/$MD/md/degraded) $(cd /sys/block/$MD/md && ls -d dev-* | wc -l)" "idle 0 2" "after the cancel: sync_action, degraded, members"
expect_eq "$(cat /sys/block/$MD/md/dev-$D1/state) $(cat /sys/block/$MD/md/dev-$D1/slot)" "in_sync 1" "after the cancel: sc1 (no want_replacement), slot"
expect_eq "$(dmsetup info sc1n >/dev/null 2>&1 && echo open || echo closed) $(losetup -j new.img | wc -l)" "closed 0" "after the cancel: new leg mapping, loop device"
expect_eq "$(dd if=/dev/$MD bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "after the cancel: pattern read through the array"

# Again at md's normal speed: the partial copy on new.img is refused without --force, then replaced for good.
echo system > /sys/block/$MD/md/sync_speed_min; echo system > /sys/block/$MD/md/sync_speed_max
expect_rc 2 ivol array replace /dev/md/scrub --leg sc1 --device new.img --name sc1n
expect_eq "$(echo "$ERR" | grep -o '\[ExistingSignature\]')" "[ExistingSignature]" "replace onto the cancelled leg without --force"
expect_rc 0 ivol array replace /dev/md/scrub --leg sc1 --device new.img --name sc1n --force --json
echo "$OUT" > rp2.json
expect_eq "$(json rp2.json 'j["recoveryCompleted"], j["cancelled"], j["oldLegRemoved"], j["oldLegClosed"], j["degradedAfter"], j["newLegSlot"]')" "(True, False, True, True, 0, 1)" "replace again: completed, old leg removed and closed, new slot"
N1="dm-$(dmsetup info -c --noheadings -o minor sc1n | tr -d ' ')"
expect_eq "$(cat /sys/block/$MD/md/sync_action) $(cat /sys/block/$MD/md/dev-$N1/state) $(dmsetup info sc1 >/dev/null 2>&1 && echo open || echo closed)" "idle in_sync closed" "replace again: sysfs, old mapping"
expect_rc 0 ivol array scrub /dev/md/scrub --json
echo "$OUT" > s4.json
expect_eq "$(json s4.json 'j["completed"], j["mismatchCount"], j["anyLegFailed"]')" "(True, 0, False)" "scrub after the replace"
expect_eq "$(dd if=/dev/$MD bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "after the replace: pattern read through the array"

# Replace in remove/add mode cancelled: the leg sc1n dies (md fails it, it is removed, its mapping is gone), the array
# runs degraded on sc0; `ivol array replace --leg sc1n` adds a new leg that md rebuilds from sc0 (a spare in slot 1,
# sync_action recover; slowed by the speed limits), SIGINT then: exit 130, cancelled, the new leg out of the array and
# closed, the array degraded on sc0 alone as before, the pattern reads; again (--force: the partial copy) it completes.
mdadm /dev/md/scrub --fail /dev/mapper/sc1n >/dev/null 2>&1
# md frees a failed leg's slot once no I/O is pending on it; --remove is refused (EBUSY) until then.
wait_for "sc1n removed" bash -c 'mdadm /dev/md/scrub --remove /dev/mapper/sc1n >/dev/null 2>&1'
ivol close sc1n >/dev/null
expect_eq "$(cat /sys/block/$MD/md/degraded) $(cd /sys/block/$MD/md && ls -d dev-* | wc -l) $(losetup -j new.img | wc -l)" "1 1 0" "sc1n gone: degraded, members, its loop device"
echo 100 > /sys/block/$MD/md/sync_speed_min; echo 200 > /sys/block/$MD/md/sync_speed_max
truncate -s 16M new2.img
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    "${IVOL_CMD[@]}" array replace /dev/md/scrub --leg sc1n --device new2.img --name sc1m --json > rp3.json 2> rp3.err & pid=$!
rebuilding() { # the new leg holds slot 1 as a spare being rebuilt and md recovers onto it (or ivol already ended)
    kill -0 "$pid" 2>/dev/null || return 0
    local m; m=$(dmsetup info -c --noheadings -o minor sc1m 2>/dev/null | tr -d ' ') || return 1
    [ -n "$m" ] && [ "$(cat "/sys/block/$MD/md/dev-dm-$m/slot" 2>/dev/null)" = 1 ] && [ "$(cat /sys/block/$MD/md/sync_action)" = recover ]
}
wait_for "md rebuilding sc1m" rebuilding
kill -0 "$pid" 2>/dev/null || { cat rp3.json rp3.err; die "ivol array replace (remove/add) ended before md's recovery was seen"; }
log "rebuild running: $(cat /sys/block/$MD/md/sync_completed) sectors, sc1m $(cat /sys/block/$MD/md/dev-dm-$(dmsetup info -c --noheadings -o minor sc1m | tr -d ' ')/state); sending SIGINT"
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 130 ] || { cat rp3.json rp3.err; }
expect_eq "$rc" "130" "cancelled replace (remove/add): exit code"
expect_eq "$(json rp3.json 'j["cancelled"], j["recoveryCompleted"], j["recoveryRunning"], j["mode"], j["oldLegDevice"], j["oldLegStateBefore"]')" "(True, False, False, 'add', None, ['missing'])" "cancelled replace (remove/add): cancelled, completed, running, mode, old leg"
expect_eq "$(json rp3.json 'j["newLegRemoved"], j["newLegClosed"], j["oldLegRemoved"], j["degradedBefore"], j["degradedAfter"]')" "(True, True, False, 1, 1)" "cancelled replace (remove/add): new leg removed and closed, degraded before and after"
expect_eq "$(json rp3.json 'j["messages"][0].split(":")[0], len(j["messages"])')" "('Cancelled', 1)" "cancelled replace (remove/add): one message, the cancel"
log "message: $(json rp3.json 'j["messages"][0]')"
D0="dm-$(dmsetup info -c --noheadings -o minor sc0 | tr -d ' ')"
expect_eq "$(cat /sys/block/$MD/md/sync_action) $(cat /sys/block/$MD/md/degraded) $(cd /sys/block/$MD/md && ls -d dev-*)" "idle 1 dev-$D0" "after the cancel (remove/add): sync_action, degraded, the one member sc0"
expect_eq "$(cat /sys/block/$MD/md/dev-$D0/state) $(cat /sys/block/$MD/md/dev-$D0/slot)" "in_sync 0" "after the cancel (remove/add): sc0 state, slot"
expect_eq "$(dmsetup info sc1m >/dev/null 2>&1 && echo open || echo closed) $(losetup -j new2.img | wc -l)" "closed 0" "after the cancel (remove/add): new leg mapping, loop device"
expect_eq "$(dd if=/dev/$MD bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "after the cancel (remove/add): pattern read through the degraded array"
echo system > /sys/block/$MD/md/sync_speed_min; echo system > /sys/block/$MD/md/sync_speed_max
expect_rc 2 ivol array replace /dev/md/scrub --leg sc1n --device new2.img --name sc1m
expect_eq "$(echo "$ERR" | grep -o '\[ExistingSignature\]')" "[ExistingSignature]" "replace (remove/add) onto the cancelled leg without --force"
expect_rc 0 ivol array replace /dev/md/scrub --leg sc1n --device new2.img --name sc1m --force --json
echo "$OUT" > rp4.json
expect_eq "$(json rp4.json 'j["recoveryCompleted"], j["cancelled"], j["mode"], j["degradedAfter"], j["newLegSlot"], j["newLegState"]')" "(True, False, 'add', 0, 1, ['in_sync'])" "replace (remove/add) again: completed, mode, degraded, slot, state"
expect_rc 0 ivol array scrub /dev/md/scrub --json
echo "$OUT" > s5.json
expect_eq "$(json s5.json 'j["completed"], j["mismatchCount"], j["anyLegFailed"], sorted(l["mapperName"] for l in j["legs"])')" "(True, 0, False, ['sc0', 'sc1m'])" "scrub after the rebuild: clean, legs"
expect_eq "$(dd if=/dev/$MD bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p.bin)" "after the rebuild: pattern read through the array"
ivol array close scrub >/dev/null
expect_eq "$(ls /dev/mapper | grep -c '^sc' || true)" "0" "after the last close: no leg mapping"
wait_for "no active md array" bash -c '! grep -q "^md" /proc/mdstat'


# RAID10 (near-2, md's default layout) over four legs through the same create / status / scrub / close path.
modprobe raid10 2>/dev/null || true
ivol array create r10 t0.img t1.img t2.img t3.img --level 10 --chunk 64 --size 16M --integrity crc32c --leg-names t0,t1,t2,t3 --json > c10.json 2> c10.err
grep -q "max_read_errors" c10.err || die "raid10 create does not warn about max_read_errors: $(cat c10.err)"
M10=$(basename "$(readlink -f /dev/md/r10)")
expect_eq "$(cat /sys/block/$M10/md/level) $(( $(cat /sys/block/$M10/md/layout) & 255 )) $(cat /sys/block/$M10/md/raid_disks) $(cat /sys/block/$M10/md/chunk_size)" "raid10 2 4 65536" "raid10: md level, near copies, legs, chunk"
expect_eq "$(json c10.json 'j["array"]["level"], sorted(l["mapperName"] for l in j["legs"])')" "('raid10', ['t0', 't1', 't2', 't3'])" "raid10 create result"
pattern p10.bin 8192 10
dd if=p10.bin of=/dev/$M10 bs=1M oflag=direct conv=fsync status=none
ivol array status /dev/md/r10 --json > st10.json
expect_eq "$(json st10.json 'j["device"], j["level"], j["raidDisks"], j["chunkSize"], j["degraded"], j["syncAction"]')" "('$M10', 'raid10', 4, 65536, 0, 'idle')" "raid10 status: device, level, legs, chunk, degraded, sync_action"
expect_eq "$(json st10.json 'sorted((l["slot"], l["mapperName"], l["state"], l["integrity"]["algorithm"]) for l in j["legs"])')" \
    '[[0, "t0", ["in_sync"], "crc32c"], [1, "t1", ["in_sync"], "crc32c"], [2, "t2", ["in_sync"], "crc32c"], [3, "t3", ["in_sync"], "crc32c"]]' "raid10 status: legs (slot, name, state, algorithm)"
expect_rc 0 ivol array scrub /dev/md/r10 --json
echo "$OUT" > s10.json
expect_eq "$(json s10.json 'j["completed"], j["mismatchCount"], j["anyLegFailed"], [l["integrityMismatchesAdded"] for l in j["legs"]]')" "(True, 0, False, [0, 0, 0, 0])" "raid10 scrub (md check after create and a write)"
expect_eq "$(dd if=/dev/$M10 bs=1M count=4 iflag=direct status=none | sha256sum)" "$(sha256sum < p10.bin)" "raid10: pattern read through the array"
ivol array close r10 --json > cl10.json
expect_eq "$(json cl10.json 'sorted(j["closedLegs"])')" '["t0", "t1", "t2", "t3"]' "raid10 close: legs closed"
expect_eq "$(ls /dev/mapper | grep -c '^t[0-3]$' || true)" "0" "raid10 close: no leg mapping"
wait_for "no active md array" bash -c '! grep -q "^md" /proc/mdstat'

# A check md interrupts: one block unreadable on both legs of a RAID1 near the array's start. md logs "data-check
# interrupted" and the scrub reports md's own word (kernelLogged), completed false, stopped, and the resume sector md
# wrote (sync_min is a resume point written at md's checkpoints, not a completion flag).
ivol array create ei e0.img e1.img --level 1 --size 16M --integrity crc32c --leg-names ei0,ei1 >/dev/null
ME=$(basename "$(readlink -f /dev/md/ei)")
eoff=$(cat /sys/block/$ME/md/dev-*/offset | sort -u)
[ "$(echo "$eoff" | wc -l)" = 1 ] || die "ei: the legs have different data offsets: $eoff"
ivol array close ei >/dev/null
ivol dump e0.img --json > de.json
L=$((eoff + 64))   # array sector 64
off=$(python3 -c "import json; d=json.load(open('de.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+17)")
flip e0.img "$off"; flip e1.img "$off"
ivol array open ei e0.img e1.img --leg-names ei0,ei1 --integrity crc32c >/dev/null
ME=$(basename "$(readlink -f /dev/md/ei)")
intr0=$(dmesg | grep -c "md: $ME: data-check interrupted" || true)
expect_rc 1 ivol array scrub ei --json
echo "$OUT" > sei.json
expect_eq "$(json sei.json '[j["completed"], j["stopped"], j["cancelled"], j["kernelLogged"], j["resumeSector"]]')" \
    "[false, true, false, \"interrupted\", $(cat /sys/block/$ME/md/sync_min)]" "a check md interrupted: md's logged word, not completed, md's resume sector"
expect_eq "$(cat /sys/block/$ME/md/sync_action) $(( $(dmesg | grep -c "md: $ME: data-check interrupted" || true) - intr0 ))" "idle 1" "md: idle, one more 'data-check interrupted' line (the witness)"
ivol array close ei >/dev/null
wait_for "no active md array" bash -c '! grep -q "^md" /proc/mdstat'
