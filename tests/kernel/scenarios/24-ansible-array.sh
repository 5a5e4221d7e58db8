# The example Ansible role's arrays (issue 16, "Replication": the role extended to arrays), run by ansible-playbook in
# the guest against localhost (connection local) on image legs on the guest's tmpfs; ansible-core comes from the
# host's /usr (tests/kernel/setup.sh installs it). A RAID1 over two legs (ansr1) and a RAID5 over three (ansr5, chunk
# 64 KiB, default leg names) in the first three runs:
# (a) --check first: changed reported for both, the planned arrays printed (ivol array create --dry-run), nothing
#     created (no md device, no leg mapping, no image file, no integritytab or mdadm.conf);
# (b) the real run creates both (changed), md shows raid1 with 2 legs and raid5 with 3 legs (chunk 64 KiB) in_sync,
#     the verdicts are healthy; the integritytab and mdadm.conf lines are written (by ivol array create);
# (c) a second run changes nothing (changed=0; the role's own boot-line tasks find create's lines equivalent);
# ansr5 is closed and the rest runs on ansr1 alone; an ext4 with two files is made on it; `ivol array close` stops it
# and its boot lines are removed from both files;
# (d) one data byte flipped in three blocks of leg 1's closed image (offsets from `ivol dump --json`, as in 08/20), then
#     the play with the scrub on: it assembles the array (ivol array open), writes the boot lines of the array it
#     opened (integritytab lines per leg, mdadm's ARRAY line) and scrubs (md check): four changes; the lines equal
#     create's; the report names leg 1 with integrity mismatches 3 and leg 0 with 0, the verdict is healed and the
#     play succeeds; the kernel then reads every sector of leg 1 through its mapping (O_DIRECT) and both files;
# (e) the same 4 KiB page (one file block) corrupted on both closed legs and nothing reads it: the play with the scrub
#     assembles the array (its boot lines are left alone: two changes, open and scrub) and fails with the array
#     INTERRUPTED (md's check ends at the page, no bad block logged, sync_min at md's last checkpoint), naming where
#     the next scrub resumes, each leg's failing sector (ivol verify --name; 512-byte integrity blocks) and
#     /victim.bin with its byte range;
# (f) that page read through md (the kernel fails it; md logs it in both legs' bad-block logs), the play with the
#     scrub again fails naming the array LOST, the legs' sectors and the file with its byte range (ivol locate --leg);
# finally `ivol array close` leaves no md device and no leg mapping.
modprobe raid1 2>/dev/null || true
modprobe raid456 2>/dev/null || true
trap 'umount "$S/mnt" 2>/dev/null || true; mdadm --stop /dev/md/ansr1 >/dev/null 2>&1 || true; mdadm --stop /dev/md/ansr5 >/dev/null 2>&1 || true' EXIT
command -v ansible-playbook >/dev/null || die "ansible-playbook missing in the guest: tests/kernel/setup.sh installs ansible-core on the host"

# Ansible's own files on the guest's tmpfs (the repository and /usr are read-only); no /etc/passwd in the guest.
export LC_ALL=C.UTF-8 USER=root LOGNAME=root ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
    ANSIBLE_HOME="$S/.ansible" ANSIBLE_LOCAL_TEMP="$S/.ansible/tmp" ANSIBLE_REMOTE_TEMP="$S/.ansible/remote" \
    ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_ROLES_PATH="$IVOL_REPO/examples/ansible/roles" ANSIBLE_GATHERING=explicit \
    ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
# vars.json: ansr1 alone; vars2.json: ansr1 and ansr5 (raid5, 3 legs, default leg names ansr5-leg0..2).
python3 - "$S" "${IVOL_CMD[@]}" <<'PY'
import json, sys
s, ivol = sys.argv[1], sys.argv[2:]
r1 = {"name": "ansr1", "level": 1, "legs": [f"{s}/leg0.img", f"{s}/leg1.img"], "size": "16M",
      "leg_names": ["an0", "an1"], "integritytab": f"{s}/integritytab", "mdadm_conf": f"{s}/mdadm.conf"}
r5 = {"name": "ansr5", "level": 5, "chunk": 64, "legs": [f"{s}/r5-{k}.img" for k in range(3)], "size": "12M",
      "integritytab": f"{s}/integritytab", "mdadm_conf": f"{s}/mdadm.conf"}
json.dump({"integrity_volume_ivol": ivol, "integrity_volume_arrays": [r1]}, open("vars.json", "w"))
json.dump({"integrity_volume_ivol": ivol, "integrity_volume_arrays": [r1, r5]}, open("vars2.json", "w"))
PY
cat > play.yml <<'EOF'
- hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: integrity_volume
EOF

# play NAME [args]: run the play, keep NAME.log; $rc, $changed, $failed from the recap.
play() {
    local name=$1; shift
    set +e
    ansible-playbook -i localhost, play.yml -e "@${VARS:-vars.json}" "$@" > "$name.log" 2>&1; rc=$?
    set -e
    changed=$(sed -n 's/^localhost *:.* changed=\([0-9]*\).*/\1/p' "$name.log" | tail -1)
    failed=$(sed -n 's/^localhost *:.* failed=\([0-9]*\).*/\1/p' "$name.log" | tail -1)
    log "$name: exit $rc, changed=${changed:-?}, failed=${failed:-?}"
    [ -n "$changed" ] || { tail -40 "$name.log"; die "$name: no play recap"; }
    [ "$rc" = 0 ] || grep -E -A2 '^(fatal|failed):' "$name.log" | cut -c1-600 | sed 's/^/  > /' || true
}
flip() { # image byte-offset: invert one byte in place
    local b
    b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# data_offset DUMP.json LEG-SECTOR: byte offset of a logical sector's data in a closed leg image (+17: inside it).
data_offset() { python3 -c "import json; d=json.load(open('$1')); L=$2; a=L//d['interleaveSectors']; print((d['initialSectors']+(a+1)*d['metadataRunSectors']+L)*512+17)"; }
# No active md array, no leg mapping (without udev a /dev/md/NAME link or node can outlive the array: not checked).
no_array_left() { ! grep -q '^md' /proc/mdstat && [ ! -e /dev/mapper/an0 ] && [ ! -e /dev/mapper/an1 ] && [ ! -e /dev/mapper/ansr5-leg0 ]; }
# task_changed LOG NAME: how many "changed:" lines (one per loop item) the task named printed.
task_changed() { awk -v t="TASK [integrity_volume : $2" 'index($0, t) == 1 { on = 1; next } /^(TASK|PLAY) / { on = 0 } on && /^changed:/ { n++ } END { print n + 0 }' "$1"; }

log "$(ansible-playbook --version | head -1)"

# (a) check mode on a host without the arrays.
VARS=vars2.json play check --check
expect_eq "$rc $changed" "0 2" "--check: exit, changed (the creates it would run)"
grep -q "would create /dev/md/ansr1 (raid1) over $S/leg0.img, $S/leg1.img as /dev/mapper/an0, /dev/mapper/an1 (new image files: $S/leg0.img, $S/leg1.img)" check.log \
    || { tail -30 check.log; die "--check did not print the planned array"; }
grep -q "would create /dev/md/ansr5 (raid5) over $S/r5-0.img, $S/r5-1.img, $S/r5-2.img as /dev/mapper/ansr5-leg0, /dev/mapper/ansr5-leg1, /dev/mapper/ansr5-leg2" check.log \
    || { grep -i 'would create' check.log; die "--check did not print the planned raid5"; }
no_array_left && [ ! -e /dev/md/ansr1 ] && [ ! -e /dev/md/ansr5 ] || die "--check created an array or a leg mapping"
expect_eq "$(ls leg*.img r5-*.img integritytab mdadm.conf 2>/dev/null | wc -l)" "0" "--check: files created"

# (b) create.
VARS=vars2.json play create
expect_eq "$rc $changed" "0 2" "create: exit, changed"
MD=$(basename "$(readlink -f /dev/md/ansr1)")
expect_eq "$(cat /sys/block/$MD/md/level) $(cat /sys/block/$MD/md/degraded) $(cat /sys/block/$MD/md/raid_disks)" "raid1 0 2" "md: level, degraded, raid disks"
D0="dm-$(dmsetup info -c --noheadings -o minor an0 | tr -d ' ')"; D1="dm-$(dmsetup info -c --noheadings -o minor an1 | tr -d ' ')"
expect_eq "$(cat /sys/block/$MD/md/dev-$D0/state) $(cat /sys/block/$MD/md/dev-$D1/state)" "in_sync in_sync" "md: both legs"
expect_eq "$(dmsetup table an0 | awk '{print $3}') $(dmsetup table an1 | awk '{print $3}')" "integrity integrity" "legs are dm-integrity mappings"
M5=$(basename "$(readlink -f /dev/md/ansr5)")
expect_eq "$(cat /sys/block/$M5/md/level) $(cat /sys/block/$M5/md/degraded) $(cat /sys/block/$M5/md/raid_disks) $(cat /sys/block/$M5/md/chunk_size)" "raid5 0 3 65536" "md: raid5 level, degraded, raid disks, chunk"
expect_eq "$(cat /sys/block/$M5/md/dev-*/state | grep -c in_sync)" "3" "md: raid5 legs in_sync"
grep -q '"ansr1": "healthy"' create.log && grep -q '"ansr5": "healthy"' create.log || die "create: verdicts healthy not reported"
grep -q 'leg ansr5-leg2 (slot 2): in_sync, md errors 0, integrity mismatches 0, bad blocks none' create.log || { grep 'leg ans' create.log; die "report: raid5 leg 2"; }
expect_eq "$(awk '{print $1, $2}' integritytab | tr '\n' ' ')" "an0 $S/leg0.img an1 $S/leg1.img ansr5-leg0 $S/r5-0.img ansr5-leg1 $S/r5-1.img ansr5-leg2 $S/r5-2.img " "integritytab lines"
expect_eq "$(grep -o 'UUID=[^ ]*' mdadm.conf | tr '\n' ' ')" "$(mdadm --detail --brief /dev/md/ansr1 /dev/md/ansr5 | grep -o 'UUID=[^ ]*' | tr '\n' ' ')" "mdadm.conf ARRAY lines"

# (c) converged.
VARS=vars2.json play again
expect_eq "$rc $changed" "0 0" "second run: exit, changed"
ivol array close ansr5 > /dev/null
wait_for "raid5 stopped" test ! -e /dev/mapper/ansr5-leg0
rm -f r5-*.img

# Data: an ext4 (4 KiB blocks, so one block is one md page) with two files.
mkfs.ext4 -q -F -b 4096 /dev/md/ansr1
mkdir -p mnt && mount -t ext4 /dev/md/ansr1 mnt
pattern victim.bin 128 3; pattern other.bin 256 4
cp victim.bin other.bin mnt/ && umount mnt
VB=$(debugfs -R "bmap /victim.bin 0" /dev/md/ansr1 2>/dev/null)
OFF0=$(cat /sys/block/$MD/md/dev-$D0/offset); OFF1=$(cat /sys/block/$MD/md/dev-$D1/offset)
log "victim.bin block 0 = fs block $VB (array sectors $((VB * 8))+8); md data offsets $OFF0, $OFF1"
ivol array close ansr1 > /dev/null
wait_for "array stopped" no_array_left
ivol dump leg0.img --json > dump0.json; ivol dump leg1.img --json > dump1.json
# The boot lines of ansr1 removed (an array set up by hand, or lines lost): the run that opens it writes them.
grep '^an[01] ' integritytab > tab.created; { grep -v '^an[01] \|^ansr5-' integritytab || true; } > tab.new; mv tab.new integritytab
R1UUID=$(grep -o 'UUID=[^ ]*' mdadm.conf | head -1); grep -F "$R1UUID" mdadm.conf > conf.created
{ grep -vF "$R1UUID" mdadm.conf || true; } > conf.new; mv conf.new mdadm.conf

# (d) one leg corrupted in three blocks (each in its own 64 KiB resync window, none in victim.bin's block).
for s in 2000 7000 20000; do
    [ $((s / 8)) -ne "$VB" ] || die "test setup: sector $s is in victim.bin's block"
    flip leg1.img "$(data_offset dump1.json $((OFF1 + s)))"
done
play heal -e integrity_volume_array_scrub=true
expect_eq "$rc $changed" "0 4" "scrub run: exit, changed (array open, integritytab, ARRAY line, scrub rewrote blocks)"
expect_eq "$(task_changed heal.log 'ansr1: integritytab line per leg') $(task_changed heal.log 'ansr1: ARRAY line')" "2 1" "opened array: boot-line tasks changed (legs, ARRAY line)"
expect_eq "$(grep '^an[01] ' integritytab)" "$(cat tab.created)" "opened array: integritytab lines (as create wrote them)"
expect_eq "$(grep -F "$R1UUID" mdadm.conf)" "$(cat conf.created)" "opened array: mdadm.conf ARRAY line (as create wrote it)"
ivol tab check --file integritytab > /dev/null || die "integritytab invalid after the opened array's lines"
grep -q 'leg an1 (slot 1): in_sync, md errors [0-9]*, integrity mismatches 3, bad blocks none' heal.log || { grep 'leg an' heal.log; die "report: leg an1 with 3 mismatches"; }
grep -q 'leg an0 (slot 0): in_sync, md errors 0, integrity mismatches 0, bad blocks none' heal.log || { grep 'leg an' heal.log; die "report: leg an0 clean"; }
grep -q '"ansr1": "healed"' heal.log || die "scrub run: verdict healed not reported"
expect_eq "$(dmsetup status an1 | awk '{print $4}')" "3" "dmsetup's an1 mismatch counter (witness)"
expect_eq "$(failing_sectors /dev/mapper/an1)" "" "sectors of leg 1 the kernel fails after the scrub"
mount -o ro -t ext4 /dev/md/ansr1 mnt
expect_eq "$(cmp mnt/victim.bin victim.bin && cmp mnt/other.bin other.bin && echo same)" "same" "files read through md"
umount mnt

# (e) the same page on both legs, not read by anyone: md's check ends at it (interrupted).
ivol array close ansr1 > /dev/null
wait_for "array stopped" no_array_left
flip leg0.img "$(data_offset dump0.json $((OFF0 + VB * 8 + 3)))"
flip leg1.img "$(data_offset dump1.json $((OFF1 + VB * 8 + 3)))"
play interrupted -e integrity_volume_array_scrub=true
expect_eq "$([ "$rc" -ne 0 ] && echo failed) $failed $changed" "failed 1 2" "interrupted run: the play fails; changed (open, scrub; boot lines already there)"
MD=$(basename "$(readlink -f /dev/md/ansr1)")
msg=$(grep -o '/dev/md/ansr1 is INTERRUPTED: .*' interrupted.log | head -1)
log "failure: ${msg:0:1500}"
[ -n "$msg" ] || { grep -E 'leg an|INTERRUPTED|LOST|"ansr1"' interrupted.log | cut -c1-400; die "the interrupted run does not fail with /dev/md/ansr1 is INTERRUPTED"; }
expect_eq "$(task_changed interrupted.log 'ansr1: integritytab line per leg') $(task_changed interrupted.log 'ansr1: ARRAY line')" "0 0" "opened again: boot-line tasks changed"
expect_eq "$(cat /sys/block/$MD/md/sync_action) $(cat /sys/block/$MD/md/dev-*/bad_blocks | wc -w)" "idle 0" "md: idle, no bad block logged"
RESUME=$(cat /sys/block/$MD/md/sync_min)
echo "$msg" | grep -q "the next scrub resumes at array sector $RESUME," || die "the failure does not name md's resume sector $RESUME"
# The legs have 512-byte integrity blocks: the kernel fails the one sector flipped (+3 in the page), on both legs.
for leg in "an0 $OFF0" "an1 $OFF1"; do
    set -- $leg
    echo "$msg" | grep -q "leg $1 failing sectors $(($2 + VB * 8 + 3))-$(($2 + VB * 8 + 3)); leg $(($2 + VB * 8 + 3))+1 = array $((VB * 8 + 3))+1: file /victim.bin bytes 1536+512" \
        || die "the failure does not name $1's failing sector and /victim.bin bytes 1536+512"
done
echo "$msg" | grep -q "restore the file named from a backup" || die "the failure does not say what to do"

# (f) the page read through md: no leg supplies it, so md logs it as bad on both legs (the loss
# docs/raid-experiments.md (b) measured): lost.
set +e; dd if=/dev/md/ansr1 of=/dev/null bs=4096 skip="$VB" count=1 iflag=direct status=none; drc=$?; set -e
expect_eq "$drc" "1" "the kernel's read of the lost page through md (dd exit)"
play lost -e integrity_volume_array_scrub=true
expect_eq "$([ "$rc" -ne 0 ] && echo failed) $failed" "failed 1" "lost run: the play fails"
msg=$(grep -o '/dev/md/ansr1 is LOST: .*' lost.log | head -1)
log "failure: ${msg:0:400}"
for leg in "an0 $OFF0" "an1 $OFF1"; do
    set -- $leg
    echo "$msg" | grep -q "leg $1 lost sectors $(($2 + VB * 8))-$(($2 + VB * 8 + 7))" || die "the failure does not name $1's lost sectors"
done
echo "$msg" | grep -q "array $((VB * 8))+8: file /victim.bin bytes 0+4096" || die "the failure does not name /victim.bin bytes 0+4096"
expect_eq "$(cat /sys/block/$MD/md/degraded)" "0" "md not degraded (the legs stay in)"

ivol array close ansr1 > /dev/null
wait_for "array stopped" no_array_left
