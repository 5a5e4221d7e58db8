# The published RAID-over-dm-integrity experiments, with real md (mdadm) over legs we formatted (ivol format) and
# opened (ivol open): RAID1 (2 legs), RAID5 (3 legs), RAID6 (4 legs) and RAID10 (4 legs, near-2), 64 KiB chunks, 8 MiB
# legs. For each level:
#  (a) one leg's data corrupted (in its closed image) in several stripes: reading through md and md's `check` heal it,
#      no leg is failed, a second check is clean, our offline verify of every leg is healthy, the data is the pattern;
#  (c) one leg's whole md data region overwritten with random bytes: md reads and `check` (measured: does md fail the
#      leg?), then the leg is replaced by a fresh one with `ivol array replace` (RAID5: --replace of the active leg;
#      RAID1/6/10: the leg failed first unless md did, then remove/add), recovery, a clean check, every leg healthy offline;
#  (b) the same stripe corrupted on two legs: RAID6 heals it; RAID1 and RAID5 lose exactly the 4 KiB pages of the
#      data blocks there (read one sector at a time with O_DIRECT through /dev/mdX, compared with the list computed
#      from the md layout and where we corrupted); no leg is failed; offline, exactly the corrupted sectors mismatch.
#      RAID10: the same page on both copies of a chunk (a mirror pair, derived from md's `layout` in sysfs) is lost,
#      the same page on two legs that are not copies of each other is healed (offline only the pair's sectors fail).
# md's handling of EILSEQ (per-leg `errors`, max_read_errors, bad-block log) is logged as "measure:" lines; the
# assertions are only deterministic facts. Offsets in leg images come from `ivol dump --json`; the md layout
# (left-symmetric) mapping is cross-checked against the data the kernel wrote into the leg images before corrupting.
# expect_eq collects failures instead of stopping (one run reports every level; the scenario fails at its end).
expect_eq() { if [ "$1" = "$2" ]; then log "ok: $3 = $1"; else echo "  ! SOFT FAIL $3: expected [$2], got [$1]"; SOFT=1; fi; }
modprobe raid1 2>/dev/null || true
modprobe raid456 2>/dev/null || true
modprobe raid10 2>/dev/null || true
trap 'for m in r19a1 r19a5 r19a6 r19a10; do mdadm --stop /dev/md/$m >/dev/null 2>&1 || true; done' EXIT

par() { # par 'cmd1' 'cmd2' ...: run in parallel (ivol calls cost seconds each under TCG); fail if any fails
    local pids=() c p rc=0
    for c in "$@"; do ( eval "$c" ) & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || die "a parallel step failed: $*"
}
measure() { echo "  | measure: $*"; }
dmdev() { echo "dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')"; }
wait_idle() { # md: sync_action back to idle (writing "check" sets the flags at once; no sleep needed)
    wait_for "$1: sync_action back to idle" bash -c '[ "$(cat /sys/block/$1/md/sync_action)" = idle ]' _ "$1"
}

# One leg formatted by ivol, copied to every leg (same size and options: byte-identical formats; saves TCG time).
# The replacement legs of (c) are formatted and opened by `ivol array replace` (from the live legs' tables).
LEG_SIZE=8M
ivol format base.img --size $LEG_SIZE --integrity crc32c --batch-mode >/dev/null
ivol dump base.img --json > dump.json
log "leg layout: $(json dump.json '[j["initialSectors"], j["metadataRunSectors"], j["interleaveSectors"], j["providedDataSectors"]]') (initial, run, interleave, provided)"

P=8192                       # 4 MiB pattern at the start of each array
CHUNK=128                    # 64 KiB md chunk (sectors)

# pat FILE SECTORS TAG: every 512-byte sector names itself ("TAG:sector:" repeated), so any sector found in a leg
# image tells which array sector it is.
pat() { python3 -c '
import sys
n, t = int(sys.argv[2]), sys.argv[3].encode()
with open(sys.argv[1], "wb") as f:
    for s in range(n):
        u = b"%s:%d:" % (t, s)
        f.write((u * (512 // len(u) + 1))[:512])' "$@"; }

# Python helpers over the leg layout (dump.json) and md's left-symmetric layout.
PYLIB='
import json, os, sys
d = json.load(open("dump.json"))
def img_off(L):            # byte offset of leg-logical sector L in a closed leg image
    return (d["initialSectors"] + (L // d["interleaveSectors"] + 1) * d["metadataRunSectors"] + L) * 512
NEAR = int(os.environ.get("NEAR") or 0)   # raid10: near copies, from the md sysfs layout (set by experiment)
def arr(level, n, leg, o, C):  # array sector held by leg at leg-data offset o, or None (parity)
    if level == 1: return o
    if level == 10:        # md(4) near layout: the copies of chunk c at positions c*NEAR.. counted row by row over the legs
        return ((o // C) * n + leg) // NEAR * C + o % C
    st, w = divmod(o, C)
    pd = n - 1 - st % n    # raid5 and raid6 left-symmetric: parity rotates down from the last leg
    if level == 5:
        if leg == pd: return None
        dd = (leg - pd - 1) % n; return (st * (n - 1) + dd) * C + w
    qd = (pd + 1) % n
    if leg in (pd, qd): return None
    dd = (leg - pd - 2) % n; return (st * (n - 2) + dd) * C + w
def copies(level, n, a, C):  # raid1/raid10: every (leg, leg-data offset) holding array sector a
    if level == 1: return [(leg, a) for leg in range(n)]
    return [((a // C * NEAR + j) % n, (a // C * NEAR + j) // n * C + a % C) for j in range(NEAR)]
'

# corrupt LEVEL N MDOFF TAG "leg:off leg:off ...": flip a byte in each leg-data sector (closed images), after checking
# that the image holds there exactly what the md layout says (the kernel wrote it). Prints nothing.
corrupt() {
    python3 -c "$PYLIB"'
level, n, mdoff, tag, C = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode(), int(sys.argv[5])
for item in sys.argv[6].split():
    leg, o = map(int, item.split(":"))
    p = "leg%d-%d.img" % (level, leg)
    with open(p, "r+b") as f:
        off = img_off(mdoff + o); f.seek(off); b = bytearray(f.read(512))
        a = arr(level, n, leg, o, C)
        if a is not None:
            u = b"%s:%d:" % (tag, a)
            if bytes(b) != (u * (512 // len(u) + 1))[:512]:
                sys.exit("layout check failed: %s sector %d does not hold array sector %d" % (p, o, a))
        b[100] ^= 0xff; f.seek(off); f.write(b)
' "$1" "$2" "$3" "$4" "$CHUNK" "$5"
}

# expected_lost LEVEL N "leg:off ...": array sectors md cannot return: every 4 KiB page (8 sectors) of a data block in
# a stripe page where more legs failed than the level tolerates.
expected_lost() {
    python3 -c "$PYLIB"'
level, n, C = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[4])
tol = {1: n - 1, 5: 1, 6: 2, 10: NEAR - 1}[level]
pages = {}
for item in sys.argv[3].split():
    leg, o = map(int, item.split(":")); pages.setdefault(o // 8, set()).add(leg)
lost = set()
if level == 10:            # a page is lost when every copy of it is corrupted
    for pg, legs in pages.items():
        for leg in legs:
            a = arr(level, n, leg, pg * 8, C)
            if all(l in pages.get(o // 8, ()) for l, o in copies(level, n, a, C)): lost.update(range(a, a + 8))
    pages = {}
for pg, legs in pages.items():
    if len(legs) > tol:
        for leg in legs:
            a = arr(level, n, leg, pg * 8, C)
            if a is not None: lost.update(range(a, a + 8))
        if level == 1: lost.update(range(pg * 8, pg * 8 + 8))
print(" ".join(map(str, sorted(lost))))
' "$1" "$2" "$3" "$CHUNK"
}

# scan_md DEV PATTERN: read the pattern region through md with O_DIRECT (4 KiB, then one sector at a time where a
# read fails); prints the unreadable sectors; dies on a readable sector that differs from the pattern.
scan_md() {
    python3 - "$1" "$2" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
want = open(sys.argv[2], "rb").read()
chunk, one, bad = mmap.mmap(-1, 4096), mmap.mmap(-1, 512), []
for off in range(0, len(want), 4096):
    try:
        os.preadv(fd, [chunk], off)
        if chunk[:] != want[off:off + 4096]: sys.exit("wrong data read at byte %d" % off)
    except OSError:
        for s in range(off, off + 4096, 512):
            try:
                os.preadv(fd, [one], s)
                if one[:] != want[s:s + 512]: sys.exit("wrong data read at sector %d" % (s // 512))
            except OSError:
                bad.append(s // 512)
print(" ".join(map(str, bad)))
PY
}

# md_report MD WHAT: log per-leg state/errors/bad blocks, mismatch_cnt, degraded (measurements).
md_report() {
    local md=$1 what=$2 r d
    r="mismatch_cnt=$(cat /sys/block/$md/md/mismatch_cnt) degraded=$(cat /sys/block/$md/md/degraded)"
    for d in /sys/block/$md/md/dev-*; do
        r="$r; ${d##*/dev-}(slot $(cat $d/slot)): $(cat $d/state), errors $(cat $d/errors), bad_blocks [$(tr '\n' ' ' < $d/bad_blocks | sed 's/ $//')]"
    done
    measure "$what: $r; $(grep -A1 "^$md :" /proc/mdstat | tail -n1 | sed 's/^ *//')"
}
# all_in_sync MD N WHAT: every slot's leg in_sync, no failed leg, [UU..]
all_in_sync() {
    local md=$1 n=$2 what=$3 d us
    for d in /sys/block/$md/md/dev-*; do
        expect_eq "$(cat $d/state)" "in_sync" "$what: ${d##*/dev-} state"
    done
    us=$(printf 'U%.0s' $(seq "$n"))
    grep -A1 "^$md :" /proc/mdstat | grep -q "\[$n/$n\] \[$us\]" || die "$what: array degraded: $(cat /proc/mdstat)"
    expect_eq "$(cat /sys/block/$md/md/degraded)" "0" "$what: degraded"
}
md_check() { # md: run a check pass to the end
    echo check > /sys/block/$1/md/sync_action
    wait_idle "$1"
}

opens() { # opens LEVEL N: open every leg of the level (parallel)
    local c=() i
    for i in $(seq 0 $(($2 - 1))); do c+=("ivol open leg$1-$i.img r19l$1-$i --integrity crc32c >/dev/null"); done
    par "${c[@]}"
}
closes() { # closes LEVEL N [SKIP]: close every leg of the level but SKIP (parallel)
    local c=() i
    for i in $(seq 0 $(($2 - 1))); do [ "$i" = "${3:-}" ] || c+=("ivol close r19l$1-$i >/dev/null"); done
    par "${c[@]}"
}
verifies() { # verifies LEVEL N TAG: offline verify of every leg (parallel) into v<TAG>-<leg>.json
    local c=() i
    for i in $(seq 0 $(($2 - 1))); do c+=("ivol verify leg$1-$i.img --integrity crc32c --json > v$3-$i.json || [ \$? = 1 ]"); done
    par "${c[@]}"
}
legs_of() { local i; for i in $(seq 0 $(($2 - 1))); do printf '/dev/mapper/r19l%s-%s ' "$1" "$i"; done; }
assemble() { # assemble LEVEL N: the array from the open legs, prints the md kernel name
    mdadm --assemble /dev/md/r19a$1 $(legs_of "$1" "$2") >/dev/null 2>&1 || die "raid$1: reassembly failed"
    basename "$(readlink -f /dev/md/r19a$1)"
}
expect_healthy() { # LEVEL N TAG WHAT
    local i
    for i in $(seq 0 $(($2 - 1))); do
        expect_eq "$(json v$3-$i.json 'j["healthy"]') $(json v$3-$i.json 'j["mismatchedBlocks"]')" "True 0" "raid$1 $4: leg$i offline verify (healthy, mismatched)"
    done
}

experiment() { # experiment LEVEL N
    local level=$1 n=$2 md mdoff i tag="r$1" opts="" a_pts b_pts lost exp k c
    log "===== raid$level, $n legs"
    for i in $(seq 0 $((n - 1))); do cp base.img leg$level-$i.img; done
    pat p$level.bin $P "$tag"
    opens "$level" "$n"
    case $level in 1) ;; 10) opts="--chunk=64 --layout=n2" ;; *) opts="--chunk=64" ;; esac
    mdadm --create /dev/md/r19a$level --run --quiet --level=$level --raid-devices=$n --metadata=1.2 --assume-clean \
        $opts $(legs_of "$level" "$n")
    md=$(basename "$(readlink -f /dev/md/r19a$level)")
    if [ "$level" = 10 ]; then
        # md(4): raid10's layout number is near copies | far copies << 8 | offset flag << 16; only near is mapped here.
        lay=$(cat /sys/block/$md/md/layout)
        export NEAR=$((lay & 255))
        expect_eq "$(( (lay >> 8) & 255 )) $(( (lay >> 16) & 1 ))" "1 0" "raid10: md layout $lay is a near layout (far copies, offset)"
        measure "raid10: md layout $lay = near $NEAR, $(cat /sys/block/$md/md/raid_disks) legs, chunk $(cat /sys/block/$md/md/chunk_size) bytes, array $(cat /sys/block/$md/size) sectors, component $(cat /sys/block/$md/md/component_size) KiB"
    fi
    mdoff=$(cat /sys/block/$md/md/dev-$(dmdev r19l$level-0)/offset)
    for i in $(seq 1 $((n - 1))); do
        expect_eq "$(cat /sys/block/$md/md/dev-$(dmdev r19l$level-$i)/offset)" "$mdoff" "raid$level: leg$i data offset"
    done
    measure "raid$level: $md data offset $mdoff sectors, max_read_errors $(cat /sys/block/$md/md/max_read_errors), stripe_cache_size $(cat /sys/block/$md/md/stripe_cache_size 2>/dev/null || echo -), bad block log: $(cat /sys/block/$md/md/dev-$(dmdev r19l$level-0)/bad_blocks | wc -l) entries"
    dd if=p$level.bin of=/dev/$md bs=1M oflag=direct conv=fsync status=none
    mdadm --stop /dev/$md >/dev/null
    closes "$level" "$n"

    # ---- (a) one leg corrupted in 5 stripes (data and, for RAID5/6, parity blocks alike)
    a_pts="1:5 1:500 1:1300 1:2100 1:3000"
    corrupt "$level" "$n" "$mdoff" "$tag" "$a_pts"
    opens "$level" "$n"
    md=$(assemble "$level" "$n")
    dmesg -C
    expect_eq "$(scan_md /dev/$md p$level.bin)" "" "raid$level (a): unreadable sectors through md"
    md_report "$md" "raid$level (a) after reading the pattern through md"
    all_in_sync "$md" "$n" "raid$level (a) after the read"
    md_check "$md"
    md_report "$md" "raid$level (a) after check"
    all_in_sync "$md" "$n" "raid$level (a) after check"
    md_check "$md"
    expect_eq "$(cat /sys/block/$md/md/mismatch_cnt)" "0" "raid$level (a): second check mismatch_cnt"
    expect_eq "$(scan_md /dev/$md p$level.bin)" "" "raid$level (a): unreadable sectors after check"
    mdadm --stop /dev/$md >/dev/null
    closes "$level" "$n"
    verifies "$level" "$n" "a$level"
    expect_healthy "$level" "$n" "a$level" "(a) after check"

    # ---- (c) the whole md data region of one leg (the last; raid10: below) overwritten with random bytes
    k=$((n - 1))
    if [ "$level" = 10 ]; then
        # raid10 reads the first copy of a chunk when no I/O is pending (read_balance: near copies, distance 0 for the
        # first idle copy), so the last leg (second copies) would never be read: overwrite the leg holding the first
        # copy of chunk 1 (md layout), which half of the pattern's reads hit.
        k=$(python3 -c "$PYLIB"'print(copies(10, int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[2]))[0][0])' "$n" "$CHUNK")
        log "raid10 (c): overwriting leg $k (first copy of chunk 1)"
    fi
    python3 -c "$PYLIB"'
p, mdoff = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    L = mdoff
    while L < d["providedDataSectors"]:
        end = min((L // d["interleaveSectors"] + 1) * d["interleaveSectors"], d["providedDataSectors"])
        f.seek(img_off(L)); f.write(os.urandom((end - L) * 512)); L = end
' "leg$level-$k.img" "$mdoff"
    opens "$level" "$n"
    truncate -s $LEG_SIZE fresh$level.img
    md=$(assemble "$level" "$n")
    dmesg -C
    if [ "$level" = 1 ]; then
        # raid1 reads one leg: with leg0 write-mostly every read goes to the overwritten leg. 1 MiB (256 failing
        # 4 KiB reads) with max_read_errors raised, then 1 MiB more with the default 20: is the leg failed?
        bad=$(dmdev r19l1-1)
        echo writemostly > /sys/block/$md/md/dev-$(dmdev r19l1-0)/state
        echo 1000000 > /sys/block/$md/md/max_read_errors
        dd if=/dev/$md of=/dev/null bs=4096 count=256 iflag=direct status=none || measure "raid1 (c): dd failed"
        measure "raid1 (c) 1 MiB read from the overwritten leg only, max_read_errors 1000000: $(cat /sys/block/$md/md/dev-$bad/state), errors $(cat /sys/block/$md/md/dev-$bad/errors)"
        echo 20 > /sys/block/$md/md/max_read_errors
        dd if=/dev/$md of=/dev/null bs=4096 skip=256 count=256 iflag=direct status=none || measure "raid1 (c): dd failed"
        measure "raid1 (c) next 1 MiB, max_read_errors 20: $(cat /sys/block/$md/md/dev-$bad/state), errors $(cat /sys/block/$md/md/dev-$bad/errors)"
        echo -writemostly > /sys/block/$md/md/dev-$(dmdev r19l1-0)/state
    fi
    if [ "$level" = 10 ]; then
        # raid10 counts failed reads it corrected (fix_read_error) against max_read_errors. 1 MiB read with the limit
        # raised (half of its 4 KiB reads hit the overwritten leg), then the limit back at the default 20 for the scan
        # below: is the leg failed, and when?
        bad=$(dmdev r19l10-$k)
        echo 1000000 > /sys/block/$md/md/max_read_errors
        dd if=/dev/$md of=/dev/null bs=4096 count=256 iflag=direct status=none || measure "raid10 (c): dd failed"
        measure "raid10 (c) 1 MiB read, max_read_errors 1000000: $(cat /sys/block/$md/md/dev-$bad/state), errors $(cat /sys/block/$md/md/dev-$bad/errors)"
        echo 20 > /sys/block/$md/md/max_read_errors
    fi
    expect_eq "$(scan_md /dev/$md p$level.bin)" "" "raid$level (c): unreadable sectors through md"
    md_report "$md" "raid$level (c) after reading the pattern through md"
    md_check "$md"
    md_report "$md" "raid$level (c) after check of the overwritten leg"
    measure "raid$level (c) kernel: $(dmesg | grep -ciE 'md/raid.*(read error corrected|corrected)' || true) 'corrected' lines, $(dmesg | grep -iE 'disabling device|Disk failure|too many read errors|read_error threshold|Failing raid device' | head -n3 | tr '\n' ' ')"
    old=$(dmdev r19l$level-$k)
    # `ivol array replace` in both modes: RAID5 keeps the overwritten leg active (mdadm --replace: md copies from it,
    # the other legs for its failing blocks); the other levels fail it first (mdadm --fail) unless md already did,
    # so the command removes it and adds the new leg (--remove/--add).
    if grep -q faulty /sys/block/$md/md/dev-$old/state; then
        measure "raid$level (c): md failed the overwritten leg"
    else
        measure "raid$level (c): md kept the overwritten leg in the array (state $(cat /sys/block/$md/md/dev-$old/state))"
        [ "$level" = 5 ] || mdadm /dev/$md --fail /dev/mapper/r19l$level-$k >/dev/null 2>&1
    fi
    if grep -q faulty /sys/block/$md/md/dev-$old/state; then mode=add; else mode=replace; fi
    ivol array replace /dev/$md --leg /dev/mapper/r19l$level-$k --device fresh$level.img --name r19f$level --json > rep$level.json \
        || die "raid$level (c): ivol array replace failed: $(cat rep$level.json)"
    expect_eq "$(json rep$level.json '" ".join(str(j[k]) for k in ("mode", "recoveryCompleted", "oldLegRemoved", "oldLegClosed", "degradedAfter"))')" \
        "$mode True True True 0" "raid$level (c): ivol array replace (mode, recovered, old removed, old closed, degraded)"
    new=$(dmdev r19f$level)
    expect_eq "$(cat /sys/block/$md/md/sync_action) $(cat /sys/block/$md/md/degraded) $(cat /sys/block/$md/md/dev-$new/state)" "idle 0 in_sync" \
        "raid$level (c): after the replace (sync_action, degraded, new leg state)"
    expect_eq "$([ -e /sys/block/$md/md/dev-$old ] && echo member || echo gone) $(dmsetup info r19l$level-$k >/dev/null 2>&1 && echo open || echo closed)" \
        "gone closed" "raid$level (c): the old leg (md member, mapping)"
    md_report "$md" "raid$level (c) after the replacement"
    expect_eq "$(cat /sys/block/$md/md/dev-$new/slot)" "$k" "raid$level (c): the fresh leg's slot"
    md_check "$md"
    expect_eq "$(cat /sys/block/$md/md/mismatch_cnt)" "0" "raid$level (c): check after the replacement, mismatch_cnt"
    all_in_sync "$md" "$n" "raid$level (c) after the replacement"
    expect_eq "$(scan_md /dev/$md p$level.bin)" "" "raid$level (c): unreadable sectors after the replacement"
    mdadm --stop /dev/$md >/dev/null
    ivol close r19f$level >/dev/null
    closes "$level" "$n" "$k"
    mv leg$level-$k.img old$level.img; mv fresh$level.img leg$level-$k.img
    # The replaced leg too: md's check rewrote every block of it (measured: no leg is failed on 6.1), so it is healthy.
    par "verifies $level $n c$level" "ivol verify old$level.img --integrity crc32c --json > vold$level.json || [ \$? = 1 ]"
    measure "raid$level (c): the replaced (overwritten, then checked) leg offline: healthy $(json vold$level.json 'j["healthy"]'), mismatched blocks $(json vold$level.json 'j["mismatchedBlocks"]')"
    expect_healthy "$level" "$n" "c$level" "(c) after the replacement"

    # ---- (b) the same stripe pages corrupted on two legs, in two stripes
    case $level in
        1) b_pts="0:1501 1:1501 0:2503 1:2503" ;;
        5) b_pts="0:1501 1:1501 0:2503 2:2503" ;;   # stripe 11: parity+data; stripe 19: data+data
        6) b_pts="1:1501 2:1501 2:2503 3:2503" ;;   # stripe 11: Q+data; stripe 19: data+data
        10) # offset 1501 on leg 0 and on the other copy of its chunk (lost); offset 2503 on leg 1 and on a leg holding
            # no copy of leg 1's chunk there (healed): both pairs from md's layout (NEAR), checked by `corrupt` against
            # what md wrote.
            b_pts=$(python3 -c "$PYLIB"'
n, C = int(sys.argv[1]), int(sys.argv[2])
pair = [(l, o) for l, o in copies(10, n, arr(10, n, 0, 1501, C), C)]
assert len(pair) == 2 and all(o == 1501 for l, o in pair), pair
mine = {l for l, o in copies(10, n, arr(10, n, 1, 2503, C), C) if o == 2503}
other = [l for l in range(n) if l not in mine][0]
print(" ".join("%d:%d" % p for p in pair + [(1, 2503), (other, 2503)]))' "$n" "$CHUNK")
            log "raid10 (b): mirror pair and non-mirror pair points (leg:offset): $b_pts" ;;
    esac
    corrupt "$level" "$n" "$mdoff" "$tag" "$b_pts"
    exp=$(expected_lost "$level" "$n" "$b_pts")
    opens "$level" "$n"
    md=$(assemble "$level" "$n")
    dmesg -C
    lost=$(scan_md /dev/$md p$level.bin)
    md_report "$md" "raid$level (b) after reading the pattern through md"
    expect_eq "$lost" "$exp" "raid$level (b): array sectors lost (unreadable through md)"
    md_check "$md"
    md_report "$md" "raid$level (b) after check"
    expect_eq "$(scan_md /dev/$md p$level.bin)" "$exp" "raid$level (b): array sectors lost after check"
    all_in_sync "$md" "$n" "raid$level (b): no leg failed"
    mdadm --stop /dev/$md >/dev/null
    closes "$level" "$n"
    verifies "$level" "$n" "b$level"
    for i in $(seq 0 $((n - 1))); do
        c=$(json vb$level-$i.json '" ".join(str(r["start"]) for r in j["mismatchedSectors"])')
        if [ "$level" = 6 ]; then want=""; else
            want=$(echo "$b_pts" | { [ "$level" = 10 ] && cut -d' ' -f1,2 || cat; } | tr ' ' '\n' | awk -F: -v l="$i" -v m="$mdoff" '$1 == l {print $2 + m}' | tr '\n' ' ' | sed 's/ $//')
        fi
        expect_eq "$c" "$want" "raid$level (b): leg$i sectors failing offline verify"
    done
}

for l in ${IVOL_GUEST_RAID_LEVELS:-1 5 6 10}; do   # IVOL_GUEST_RAID_LEVELS="6": one level (debugging)
    case $l in 1) experiment 1 2 ;; 5) experiment 5 3 ;; 6) experiment 6 4 ;; 10) experiment 10 4 ;; esac
done
expect_eq "$(dmsetup ls | grep -c '^r19' || true)" "0" "mappings removed"
[ -z "${SOFT:-}" ] || die "soft failures above"
