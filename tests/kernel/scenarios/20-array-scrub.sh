# md RAID1 (mdadm) over two volumes we formatted and opened; issue 16's "Arrays: Inspect" and "Scrub" through ivol.
# A pattern is written through the array, everything is stopped and closed, data bytes of three blocks of leg 1's
# closed image are corrupted (offsets from `ivol dump --json`, as in 08), the array is reassembled.
# `ivol array status --json` shows the array (by /dev/md/NAME, /dev/mdN, mdN and in the list of all) with both legs and
# their integrity mappings; `ivol array scrub` (md check) reports leg 1's integrity mismatch counter risen by exactly 3
# (dm-integrity's own counter, one per failed block; dmesg is rate-limited and not used), leg 0's unchanged, no leg
# failed, exit 1 (mismatches found); a second scrub is clean (exit 0). A scrub is refused while a check runs
# (ArrayBusy, exit 5), and a scrub stopped by SIGTERM once md shows it running (state, not time) exits 130 and leaves
# sync_action idle. md's speed limits make the check slow only for these last two steps.
modprobe raid1 2>/dev/null || true
trap 'mdadm --stop /dev/md/scrub >/dev/null 2>&1 || true' EXIT

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

par 'ivol format leg0.img --size 16M --integrity crc32c --batch-mode >/dev/null' \
    'ivol format leg1.img --size 16M --integrity crc32c --batch-mode >/dev/null'
par 'ivol open leg0.img sc0 --integrity crc32c >/dev/null' 'ivol open leg1.img sc1 --integrity crc32c >/dev/null' \
    'ivol dump leg1.img --json > dump1.json'
mdadm --create /dev/md/scrub --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean \
    /dev/mapper/sc0 /dev/mapper/sc1
MD=$(basename "$(readlink -f /dev/md/scrub)")
D1="dm-$(dmsetup info -c --noheadings -o minor sc1 | tr -d ' ')"
mdoff=$(cat /sys/block/$MD/md/dev-$D1/offset)
pattern p.bin 8192 5
dd if=p.bin of=/dev/$MD bs=1M oflag=direct conv=fsync status=none
mdadm --stop /dev/$MD >/dev/null
par 'ivol close sc0 >/dev/null' 'ivol close sc1 >/dev/null'
for s in 5 2000 7000; do   # one data byte in three blocks of leg 1, each in its own 64 KiB resync window
    L=$((mdoff + s))
    off=$(python3 -c "import json; d=json.load(open('dump1.json')); L=$L; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+17)")
    flip leg1.img "$off"
done
par 'ivol open leg0.img sc0 --integrity crc32c >/dev/null' 'ivol open leg1.img sc1 --integrity crc32c >/dev/null'
mdadm --assemble /dev/md/scrub /dev/mapper/sc0 /dev/mapper/sc1 >/dev/null 2>&1 || die "reassembly failed"
MD=$(basename "$(readlink -f /dev/md/scrub)")
log "array $MD"

# Inspect: the same array by every accepted name, and in the list of arrays with integrity legs.
par 'ivol array status /dev/md/scrub --json > st.json' "ivol array status /dev/$MD --json > st2.json" \
    "ivol array status $MD --json > st3.json" 'ivol array status --json > all.json' \
    'ivol array status /dev/mapper/sc0 --json 2> e1.err || echo $? > e1.rc' 'ivol array status md999 2> e2.err || echo $? > e2.rc'
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

# dotnet itself in the background (not the ivol shell function, whose subshell the signal would end instead); an
# async command of a script ignores SIGINT, so SIGTERM, which ivol treats like Ctrl+C.
dotnet "$IVOL_DLL" array scrub /dev/md/scrub --json > s3.json 2>s3.err & pid=$!
wait_for "scrub running" bash -c '[ "$(cat /sys/block/$1/md/sync_action)" = check ]' _ "$MD"
[ -d /results/md-sysfs ] && cat /sys/block/$MD/md/sync_completed > /results/md-sysfs/sync_completed-running
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
expect_eq "$rc" "130" "stopped scrub exit code"
expect_eq "$(json s3.json 'j["cancelled"], j["stopped"], j["completed"], j["anyLegFailed"]')" "(True, True, False, False)" "stopped scrub result"
expect_eq "$(cat /sys/block/$MD/md/sync_action)" "idle" "sync_action after the stopped scrub"
[ -d /results/md-sysfs ] && cat /sys/block/$MD/md/sync_min > /results/md-sysfs/sync_min-stopped
log "stopped scrub: resume sector $(json s3.json 'j["resumeSector"]'), sync_min $(cat /sys/block/$MD/md/sync_min)"
mdadm --stop /dev/$MD >/dev/null
par 'ivol close sc0 >/dev/null' 'ivol close sc1 >/dev/null'
