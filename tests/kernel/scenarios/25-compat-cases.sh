# cryptsetup 2.6.1's tests/integrity-compat-test case list (issue 15), every case both ways with the real
# integritysetup 2.6.1 and the 6.1 kernel: (i) integritysetup formats -> `ivol dump` == `integritysetup dump`, ivol
# opens with the same options and loads the table integritysetup loads (dmsetup table --showkeys, devices masked),
# reads what integritysetup wrote, and `ivol verify` gives the kernel's verdict; (ii) ivol formats -> `integritysetup
# dump` == ours, integritysetup opens it, the kernel reads every block (our tags) and what it wrote verifies.
# Error-detection cases corrupt one data byte in the closed image: the sectors `ivol verify` lists == the sectors
# whose O_DIRECT reads the kernel fails == the block written there. Case numbers and results:
# docs/integritysetup-compat.md. IVOL_GUEST_COMPAT_CASES="F03 E01" runs some cases only (default: all).
# Images are 4 MiB (the original's 32 MiB checksums depend on the size; here both tools read the same bytes).
MB=4
pattern p.bin 64 25                      # 32 KiB written at 4 KiB block 2 (logical sector 16)
PSUM=$(sha256sum < p.bin)
head -c 4096 /dev/urandom > key.bin      # the original's KEY_FILE (4096 bytes; --*-key-size reads a prefix)
head -c 32 /dev/urandom > key2.bin       # its KEY_FILE2
dmesg -C
want() { [ -z "${IVOL_GUEST_COMPAT_CASES:-}" ] || [[ " $IVOL_GUEST_COMPAT_CASES " == *" $1 "* ]]; }
img() { rm -f "$1"; truncate -s "${2:-$MB}M" "$1"; }
keyhex() { head -c "$1" key.bin | od -An -tx1 -v | tr -d ' \n'; }

# table NAME: the kernel's table (keys shown), the data and metadata devices masked: two mappings of the same
# kind of volume made by the two tools compare equal.
table() { dmsetup table --showkeys "$1" | sed -E 's/^([0-9]+ [0-9]+ integrity) [0-9]+:[0-9]+ /\1 DEV /; s/meta_device:[0-9]+:[0-9]+/meta_device:DEV/'; }
same_table() { expect_eq "$1" "$2" "$C: ivol's table == integritysetup's"; }
# same_dump DEV [IVOL ARGS]: integritysetup dump == the first lines of ivol dump (the superblock fields).
same_dump() {
    integritysetup dump "$1" > theirs.txt
    ivol dump "$@" > ours-all.txt
    head -n "$(wc -l < theirs.txt)" ours-all.txt > ours.txt
    diff -u theirs.txt ours.txt >&2 || die "$C: $1: ivol dump differs from integritysetup dump"
    log "ok: $C: $1: ivol dump == integritysetup dump"
}
dump_field() { expect_eq "$(awk -v f="$1" '$1 == f {print $2}' theirs.txt)" "$2" "$C: dump $1"; }
put() { dd if=p.bin of="/dev/mapper/$1" bs=4096 seek=2 oflag=direct conv=fsync status=none; }
got() { expect_eq "$(dd if="/dev/mapper/$1" bs=4096 skip=2 count=8 iflag=direct status=none | sha256sum)" "$PSUM" "$C: $2"; }
fullread() { dd if="/dev/mapper/$1" of=/dev/null bs=64K iflag=direct status=none || die "$C: the kernel fails a read of $1"; }
size_of() { blockdev --getsz "/dev/mapper/$1"; }
# verify_healthy IMG ARGS...: ivol's offline verdict after the kernel read every block without a failure.
verify_healthy() {
    expect_rc 0 ivol verify "$@" --json
    echo "$OUT" | grep -Eq '"verdict": ?"healthy"' || die "$C: ivol verify $*: not healthy: $OUT"
    log "ok: $C: ivol verify healthy (the kernel read every block)"
}
# refused RC ID CMD...: ivol refuses with exit RC and the stable error id ID.
refused() { local rc=$1 id=$2; shift 2; expect_rc "$rc" "$@"; echo "$ERR" | grep -q "$id" || die "$C: expected $id: $ERR"; }
gone() { ! dmsetup info "$1" >/dev/null 2>&1; }
# wait_recalc NAME: the kernel's recalculation reached the end (status: recalc_sector '-' or == provided sectors).
recalc_done() { local s; s=$(dmsetup status "$1"); [ "$(echo "$s" | awk '{print $6}')" = "-" ] || [ "$(echo "$s" | awk '{print $6}')" = "$(echo "$s" | awk '{print $5}')" ]; }
wait_recalc() { wait_for "$C: recalculation of $1" recalc_done "$1"; }
# corrupt IMG: flip byte 10 of the written pattern's first sector (its last copy: the data area, after the journal).
corrupt() {
    python3 - "$1" <<'PY'
import sys
path = sys.argv[1]
needle = open("p.bin", "rb").read(512)
data = bytearray(open(path, "rb").read())
off = data.rfind(needle)
assert off >= 0, "pattern not found in the image"
with open(path, "r+b") as f:
    f.seek(off + 10); f.write(bytes([data[off + 10] ^ 0xFF]))
PY
}
# The logical sectors of the block holding logical sector 16 (the corrupted one) for sector size $1.
expected_bad() { if [ "$1" = 4096 ]; then echo "16 17 18 19 20 21 22 23"; else echo 16; fi; }
verify_lists() { # IMG EXPECTED ARGS...
    local im=$1 exp=$2; shift 2
    expect_rc 1 ivol verify "$im" "$@" --json
    echo "$OUT" > v.json
    expect_eq "$(json v.json '" ".join(str(s) for r in j["mismatchedSectors"] for s in range(r["start"], r["start"] + r["sectors"]))')" "$exp" "$C: ivol verify lists the corrupted block"
}

# --- Kinds ---------------------------------------------------------------------------------------------------
# plain FA / OA / VA (format, open, verify options as arrays) [DATA=data image] [VRC=verify exit]: both ways.
plain() {
    local dd_i=() dd_ii=()
    [ -n "${DATA:-}" ] && { img d1.img; img d2.img; dd_i=(--data-device d1.img); dd_ii=(--data-device d2.img); }
    # (i) integritysetup formats
    img a.img
    integritysetup format -q "${FA[@]}" a.img "${dd_i[@]}"
    # integritysetup dumps a metadata device alone: so does ivol (the layout after the superblock needs the data device).
    [ -n "${DATA:-}" ] && same_dump a.img
    same_dump a.img "${dd_i[@]}"
    [ -n "${TAG:-}" ] && dump_field integrity_tag_size "$TAG" && dump_field sector_size "$SS"
    integritysetup open a.img $ci "${OA[@]}" "${dd_i[@]}"
    local t1; t1=$(table $ci)
    put $ci
    integritysetup close $ci
    expect_rc 0 ivol open a.img $co "${OA[@]}" "${dd_i[@]}"
    same_table "$(table $co)" "$t1"
    [ -n "${KEYLEN:-}" ] && { echo "$t1" | grep -q "$(keyhex "$KEYLEN")" || die "$C: the key is not in the table"; }
    [ -n "${TABLE_HAS:-}" ] && { echo "$t1" | grep -qF "$TABLE_HAS" || die "$C: the table has no $TABLE_HAS"; }
    got $co "(i) ivol's mapping reads what integritysetup's wrote"
    fullread $co
    [ -n "${STATUS_CHECK:-}" ] && { integritysetup status $co > st.txt; $STATUS_CHECK st.txt; }
    expect_rc 0 ivol close $co
    if [ "${VRC:-0}" = 0 ]; then verify_healthy a.img "${dd_i[@]}" "${VA[@]}"; else expect_rc "$VRC" ivol verify a.img "${dd_i[@]}" "${VA[@]}" --json; fi
    # (ii) ivol formats
    img b.img
    expect_rc 0 ivol format b.img --batch-mode "${FA[@]}" "${dd_ii[@]}"
    same_dump b.img "${dd_ii[@]}"
    [ -n "${TAG:-}" ] && dump_field integrity_tag_size "$TAG" && dump_field sector_size "$SS"
    integritysetup open b.img $ci "${OA[@]}" "${dd_ii[@]}"
    same_table "$(table $ci)" "$t1"
    fullread $ci
    put $ci
    got $ci "(ii) integritysetup reads back on ivol's volume"
    integritysetup close $ci
    if [ "${VRC:-0}" = 0 ]; then verify_healthy b.img "${dd_ii[@]}" "${VA[@]}"; else expect_rc "$VRC" ivol verify b.img "${dd_ii[@]}" "${VA[@]}" --json; fi
}

# det MODE(J|B) SS FA / OA / VA: one corrupted data byte, both ways; the mappings open in MODE.
det() {
    local mode=$1 ss=$2 exp mf=() wf=(--integrity-no-journal)
    exp=$(expected_bad "$ss")
    [ "$mode" = B ] && { mf=(-B); wf=(-B); }
    # (i) integritysetup formats and writes (direct mode: no journal copy of the data), ivol verifies and opens.
    img a.img
    integritysetup format -q "${FA[@]}" a.img "${mf[@]}"
    same_dump a.img
    integritysetup open a.img $ci "${OA[@]}" "${wf[@]}"
    put $ci
    integritysetup close $ci
    corrupt a.img
    verify_lists a.img "$exp" "${VA[@]}"
    expect_rc 0 ivol open a.img $co "${OA[@]}" "${mf[@]}"
    local t2; t2=$(table $co)
    [ -n "${KEYLEN:-}" ] && { echo "$t2" | grep -q "$(keyhex "$KEYLEN")" || die "$C: the key is not in the table"; }
    expect_eq "$(failing_sectors /dev/mapper/$co)" "$exp" "$C: (i) the kernel fails exactly what ivol verify lists"
    expect_rc 0 ivol close $co
    # (ii) ivol formats, integritysetup writes; after the corruption integritysetup's mapping fails what ivol lists.
    img b.img
    expect_rc 0 ivol format b.img --batch-mode "${FA[@]}" "${mf[@]}"
    same_dump b.img
    integritysetup open b.img $ci "${OA[@]}" "${wf[@]}"
    put $ci
    integritysetup close $ci
    corrupt b.img
    verify_lists b.img "$exp" "${VA[@]}"
    integritysetup open b.img $ci "${OA[@]}" "${mf[@]}"
    same_table "$t2" "$(table $ci)"
    expect_eq "$(failing_sectors /dev/mapper/$ci)" "$exp" "$C: (ii) the kernel fails exactly what ivol verify lists"
    integritysetup close $ci
}

# modes FA / OA / VA: journal (J), direct (-D) and recovery (-R) opens of both tools load the same tables.
modes() {
    img a.img
    integritysetup format -q "${FA[@]}" a.img
    same_dump a.img
    local m flag t1
    for m in J D R; do
        case $m in J) flag=();; D) flag=(--integrity-no-journal);; R) flag=(--integrity-recovery-mode);; esac
        integritysetup open a.img $ci "${OA[@]}" "${flag[@]}"
        t1=$(table $ci)
        integritysetup close $ci
        expect_rc 0 ivol open a.img $co "${OA[@]}" "${flag[@]}"
        same_table "$(table $co)" "$t1"
        expect_eq "$(dmsetup table $co | cut -d' ' -f7)" "$m" "$C: mode field"
        [ $m = R ] || fullread $co
        expect_rc 0 ivol close $co
    done
    verify_healthy a.img "${VA[@]}"
    img b.img
    expect_rc 0 ivol format b.img --batch-mode "${FA[@]}"
    same_dump b.img
    for m in J D R; do
        case $m in J) flag=();; D) flag=(--integrity-no-journal);; R) flag=(--integrity-recovery-mode);; esac
        integritysetup open b.img $ci "${OA[@]}" "${flag[@]}"
        expect_eq "$(dmsetup table $ci | cut -d' ' -f7)" "$m" "$C: (ii) mode field"
        fullread $ci
        integritysetup close $ci
    done
}

status_journal() { grep -q "journal watermark: ${JW}%" "$1" && grep -q "journal commit time: ${JC} ms" "$1" && grep -q "journal integrity MAC: $JMAC" "$1" || { cat "$1" >&2; die "$C: status"; }; }
status_bitmap() { grep -q 'bitmap 512-byte sectors per bit: 65536' "$1" && grep -q 'bitmap flush interval: 5000 ms' "$1" || { cat "$1" >&2; die "$C: status"; }; }

# --- The case table: ID KIND ARGS (see docs/integritysetup-compat.md) ---------------------------------------
run_case() {
    C=$1; local kind=$2; shift 2
    FA=(); OA=(); VA=(); DATA=; VRC=0; TAG=; SS=; KEYLEN=; STATUS_CHECK=; TABLE_HAS=
    case $kind in
    intformat) # alg tagsize outtagsize sector_size [keysize]
        local kp=(); [ -n "${5:-}" ] && { kp=(--integrity-key-file key.bin --integrity-key-size "$5"); KEYLEN=$5; }
        local tp=(); [ "$2" != 0 ] && tp=(--tag-size "$2")
        FA=(--integrity-legacy-padding --integrity "$1" "${tp[@]}" --sector-size "$4" "${kp[@]}")
        OA=(--integrity "$1" "${kp[@]}"); VA=("${OA[@]}"); TAG=$3; SS=$4
        img probe.img
        if ! integritysetup format -q "${FA[@]}" probe.img >/dev/null 2>&1; then
            # integritysetup cannot format it on this kernel (the original prints N/A): ivol refuses the same way.
            rm -f probe2.img
            refused 2 AlgorithmNotInKernel ivol format probe2.img --size ${MB}M --batch-mode "${FA[@]}"
            log "$C: $1 not in this kernel: both refuse"
            return
        fi
        plain ;;
    error) # J|B alg tagsize outtagsize sector_size [keysize]
        local kp=(); [ -n "${6:-}" ] && { kp=(--integrity-key-file key.bin --integrity-key-size "$6"); KEYLEN=$6; }
        local tp=(); [ "$3" != 0 ] && tp=(--tag-size "$3")
        FA=(--integrity "$2" "${tp[@]}" --sector-size "$5" "${kp[@]}"); OA=(--integrity "$2" "${kp[@]}"); VA=("${OA[@]}")
        det "$1" "$5" ;;
    journal) # alg tagsize sector_size watermark commit_time journal_integrity keysize journal_integrity_out
        local ja=(--journal-integrity "$6" --journal-integrity-key-file key.bin --journal-integrity-key-size "$7")
        FA=(--tag-size "$2" --sector-size "$3" --integrity "$1" --journal-watermark "$4" --journal-commit-time "$5" "${ja[@]}")
        OA=(--integrity "$1" --journal-watermark "$4" --journal-commit-time "$5" "${ja[@]}"); VA=(--integrity "$1" "${ja[@]}")
        JW=$4 JC=$5 JMAC=$8 KEYLEN=$7 STATUS_CHECK=status_journal
        plain ;;
    journal-crypt) # cipher kernel_cipher keysize
        FA=(--journal-crypt "$1" --journal-crypt-key-file key.bin --journal-crypt-key-size "$3"); OA=("${FA[@]}")
        # Offline verify decrypts the journal with the same cipher and key (without them it would be incomplete, exit 6).
        VA=("${FA[@]}") KEYLEN=$3
        TABLE_HAS="journal_crypt:$2:$(keyhex "$3")"
        plain ;;
    mode) # alg tagsize sector_size [keysize]
        local kp=(); [ -n "${4:-}" ] && kp=(--integrity-key-file key.bin --integrity-key-size "$4")
        FA=(--tag-size "$2" --sector-size "$3" "${kp[@]}" --integrity "$1"); OA=(--integrity "$1" "${kp[@]}"); VA=("${OA[@]}")
        modes ;;
    *) "case_$kind" "$@" ;;
    esac
}

# R01/R02: --no-wipe, then the kernel recalculates (--integrity-recalculate), then restarts with another
# algorithm (--integrity-recalculate-reset -I sha256: 4-byte sha256 tags).
case_recalc() {
    img a.img
    integritysetup format -q a.img --no-wipe
    same_dump a.img
    integritysetup open a.img $ci --integrity-recalculate
    local t1; t1=$(table $ci)
    integritysetup close $ci
    expect_rc 0 ivol open a.img $co --integrity-recalculate -I crc32c
    same_table "$(table $co)" "$t1"
    wait_recalc $co
    fullread $co
    expect_rc 0 ivol close $co
    verify_healthy a.img
    img b.img
    expect_rc 0 ivol format b.img --batch-mode --no-wipe
    same_dump b.img
    integritysetup open b.img $ci --integrity-recalculate
    wait_recalc $ci
    fullread $ci
    integritysetup close $ci
    verify_healthy b.img
}
case_recalc-reset() {
    # continues on R01's images (a.img: integritysetup's, b.img: ours), both fully recalculated with crc32c.
    integritysetup open a.img $ci -I sha256 --integrity-recalculate-reset
    local t1; t1=$(table $ci)
    integritysetup close $ci
    expect_rc 0 ivol open a.img $co -I sha256 --integrity-recalculate-reset
    same_table "$(table $co)" "$t1"
    wait_recalc $co
    fullread $co
    expect_rc 0 ivol close $co
    verify_healthy a.img -I sha256
    integritysetup open b.img $ci -I sha256 --integrity-recalculate-reset
    wait_recalc $ci
    fullread $ci
    integritysetup close $ci
    verify_healthy b.img -I sha256
}
status_meta() { grep -q 'metadata device:' "$1" || { cat "$1" >&2; die "$C: status names no metadata device"; }; }
case_metadata() { DATA=1 STATUS_CHECK=status_meta; plain; }
case_bitmap() {
    FA=(-B); OA=(-B --bitmap-sectors-per-bit 65536 --bitmap-flush-time 5000); VA=(); STATUS_CHECK=status_bitmap
    plain
    integritysetup open b.img $ci "${OA[@]}"
    integritysetup status $ci > st.txt; status_bitmap st.txt
    expect_rc 0 ivol status $ci
    echo "$OUT" > ours-st.txt
    diff -u st.txt ours-st.txt >&2 || die "$C: ivol status differs from integritysetup status"
    integritysetup close $ci
}
# G01: a 37 TiB device (8 MiB of a loop + a zero target): provided_data_sectors == the mapping's size.
case_big() {
    img big.img 8
    local L; L=$(losetup -f --show big.img)
    printf '0 16284 linear %s 0\n16284 80000000000 zero\n' "$L" | dmsetup create "$big"
    [ -b /dev/mapper/$big ] || die "$C: no /dev/mapper/$big"
    integritysetup format -q -s 512 --no-wipe /dev/mapper/$big
    same_dump /dev/mapper/$big
    local prov; prov=$(awk '$1 == "provided_data_sectors" {print $2}' theirs.txt)
    integritysetup open /dev/mapper/$big $ci
    expect_eq "$(size_of $ci)" "$prov" "$C: (i) integritysetup's mapping size"
    local t1; t1=$(table $ci)
    integritysetup close $ci
    # Deliberate: without --integrity ivol detects the algorithm from valid tags; after --no-wipe there are none.
    refused 2 AlgorithmNotDetected ivol open /dev/mapper/$big $co
    gone $co || die "$C: a refused open left a mapping"
    expect_rc 0 ivol open /dev/mapper/$big $co --integrity crc32c
    same_table "$(table $co)" "$t1"
    expect_eq "$(size_of $co)" "$prov" "$C: (i) ivol's mapping size"
    expect_rc 0 ivol close $co
    # Deliberate: ivol does not format over a superblock without --force, even with --batch-mode.
    refused 2 ExistingSignature ivol format /dev/mapper/$big --batch-mode -s 512 --no-wipe
    # --kernel: integritysetup's --no-wipe (superblock and journal only); ivol's userspace --no-wipe marks the
    # volume RECALCULATING instead, and the kernel would then recalculate 37 TiB of zeros on open.
    expect_rc 0 ivol format /dev/mapper/$big --batch-mode -s 512 --no-wipe --kernel --force
    same_dump /dev/mapper/$big
    integritysetup open /dev/mapper/$big $ci
    expect_eq "$(size_of $ci)" "$prov" "$C: (ii) integritysetup's mapping of ivol's format"
    same_table "$(table $ci)" "$t1"
    integritysetup close $ci
    dmsetup remove "$big"
    losetup -d "$L"
}
# D01: close of a held mapping fails, --deferred marks it, --cancel-deferred unmarks, the holder's removal removes it.
no_loop() { [ -z "$(losetup -j "$1")" ]; }
deferred_state() { dmsetup info "$1" | grep -q 'DEFERRED REMOVE'; }
case_deferred() {
    img a.img
    integritysetup format -q a.img
    integritysetup open a.img $ci
    dmsetup create $hold --table "0 8 linear /dev/mapper/$ci 0"
    refused 5 DeviceInUse ivol close $ci
    expect_rc 0 ivol status $ci
    expect_rc 0 ivol close $ci --deferred
    deferred_state $ci || die "$C: (i) not marked"
    expect_rc 0 ivol close $ci --cancel-deferred
    ! deferred_state $ci || die "$C: (i) still marked"
    expect_rc 0 ivol close $ci --deferred
    dmsetup remove $hold
    wait_for "$C: (i) $ci removed" gone $ci
    img b.img
    expect_rc 0 ivol format b.img --batch-mode
    expect_rc 0 ivol open b.img $co
    dmsetup create $hold --table "0 8 linear /dev/mapper/$co 0"
    ! integritysetup close $co 2>/dev/null || die "$C: (ii) integritysetup closed a held mapping"
    integritysetup -q status $co >/dev/null
    integritysetup close --deferred $co
    deferred_state $co || die "$C: (ii) not marked"
    integritysetup close --cancel-deferred $co
    ! deferred_state $co || die "$C: (ii) still marked"
    integritysetup close --deferred $co
    dmsetup remove $hold
    wait_for "$C: (ii) $co removed" gone $co
    wait_for "$C: (ii) loop of b.img autocleared" no_loop "$PWD/b.img"
}
# H01-H04: keyed volumes with/without fix_hmac (legacy flags), with/without a journal MAC: recalculate is refused
# where the kernel refuses it (no fix_hmac, or no journal MAC), --integrity-legacy-recalculate opens.
case_hmac() { # legacy(0|1) journalmac(0|1)
    local args=(--integrity hmac-sha256 --integrity-key-file key.bin --integrity-key-size 32) lh=()
    [ "$2" = 1 ] && args+=(--journal-integrity hmac-sha256 --journal-integrity-key-file key2.bin --journal-integrity-key-size 32)
    [ "$1" = 1 ] && lh=(--integrity-legacy-hmac)
    local ok=0; [ "$1" = 0 ] && [ "$2" = 1 ] && ok=1
    img a.img
    integritysetup format -q a.img "${lh[@]}" --no-wipe --tag-size 32 "${args[@]}"
    same_dump a.img
    if [ $ok = 1 ]; then grep flags theirs.txt | grep -q fix_hmac || die "$C: no fix_hmac"; fi
    local t1
    if [ $ok = 1 ]; then
        integritysetup open a.img $ci --integrity-recalculate "${args[@]}"; t1=$(table $ci); integritysetup close $ci
        expect_rc 0 ivol open a.img $co --integrity-recalculate "${args[@]}"
    else
        ! integritysetup open a.img $ci --integrity-recalculate "${args[@]}" 2>/dev/null || die "$C: integritysetup recalculated"
        refused 2 TableLoadRejected ivol open a.img $co --integrity-recalculate "${args[@]}"
        gone $co || die "$C: refused open left a mapping"
        integritysetup open a.img $ci --integrity-legacy-recalculate "${args[@]}"; t1=$(table $ci); integritysetup close $ci
        expect_rc 0 ivol open a.img $co --integrity-legacy-recalculate "${args[@]}"
    fi
    same_table "$(table $co)" "$t1"
    expect_rc 0 ivol close $co
    img b.img
    expect_rc 0 ivol format b.img --batch-mode "${lh[@]}" --no-wipe --kernel --tag-size 32 "${args[@]}"
    same_dump b.img
    if [ $ok = 1 ]; then
        integritysetup open b.img $ci --integrity-recalculate "${args[@]}"
    else
        ! integritysetup open b.img $ci --integrity-recalculate "${args[@]}" 2>/dev/null || die "$C: (ii) integritysetup recalculated"
        integritysetup open b.img $ci --integrity-legacy-recalculate "${args[@]}"
    fi
    same_table "$(table $ci)" "$t1"
    integritysetup close $ci
}
# Z01/Z02: an active mapping shrunk to 1 MiB by the other tool.
KEYARGS=(--integrity hmac-sha256 --integrity-key-size 128 --integrity-key-file key.bin --journal-integrity hmac-sha256
         --journal-integrity-key-file key.bin --journal-integrity-key-size 128 --journal-crypt ctr-aes
         --journal-crypt-key-size 16 --journal-crypt-key-file key.bin)
case_resize-basic() { # nokey|key
    local args=(--integrity crc32); [ "$1" = key ] && args=("${KEYARGS[@]}")
    img a.img
    integritysetup format -q a.img "${args[@]}"
    integritysetup open -q a.img $ci "${args[@]}"
    # --device-size 0 is the whole device for both (nothing changes here).
    expect_rc 0 ivol resize --name $ci --device-size 0
    expect_rc 0 ivol resize --name $ci --device-size 1MiB
    expect_eq "$(size_of $ci)" 2048 "$C: (i) ivol shrank integritysetup's mapping"
    fullread $ci
    integritysetup close $ci
    img b.img
    expect_rc 0 ivol format b.img --batch-mode "${args[@]}"
    expect_rc 0 ivol open b.img $co "${args[@]}"
    integritysetup resize $co --device-size 1MiB
    expect_eq "$(size_of $co)" 2048 "$C: (ii) integritysetup shrank ivol's mapping"
    fullread $co
    expect_rc 0 ivol close $co
}
# Z03-Z10: shrink to 1 MiB, fill the device, grow the image and resize to a fixed size, fill; with --wipe or
# recalculation (ivol: default wipe, --no-wipe recalculates), interleaved or detached metadata, keyed or not.
case_resize() { # nokey|key detached(0|1) wipe(0|1)
    local args=(--integrity crc32); [ "$1" = key ] && args=("${KEYARGS[@]}")
    local iw=() ow=(--no-wipe); [ "$3" = 1 ] && { iw=(--wipe); ow=(--wipe); }
    local t
    for t in i ii; do
        img m.img; img dt.img
        local dv=() whole grow=dt.img
        [ "$2" = 1 ] && dv=(--data-device dt.img) || grow=m.img
        if [ $t = i ]; then integritysetup format -q "${args[@]}" m.img "${dv[@]}"; integritysetup open -q "${args[@]}" m.img $rz "${dv[@]}"
        else expect_rc 0 ivol format m.img --batch-mode "${args[@]}" "${dv[@]}"; expect_rc 0 ivol open m.img $rz "${args[@]}" "${dv[@]}"; fi
        if [ "$2" = 1 ]; then whole=$((MB * 2048)); else whole=$(size_of $rz); fi
        rs() { if [ $t = i ]; then expect_rc 0 ivol resize --name $rz "${ow[@]}" "$@"; else integritysetup resize -q "${iw[@]}" $rz "$@"; fi; }
        rs --device-size 1MiB
        expect_eq "$(size_of $rz)" 2048 "$C ($t): shrunk"
        fullread $rz
        rs --device-size 0
        expect_eq "$(size_of $rz)" "$whole" "$C ($t): filled"
        fullread $rz
        truncate -s $((MB * 2))M "$grow"
        # Both refresh the loop device's capacity themselves (LOOP_SET_CAPACITY): no losetup -c.
        rs --device-size $((MB * 3 / 2))MiB
        expect_eq "$(size_of $rz)" $((MB * 3 * 1024)) "$C ($t): grown to a fixed size"
        fullread $rz
        rs --device-size 0
        [ "$(size_of $rz)" -ge $((MB * 3 * 1024)) ] || die "$C ($t): fill after growing: $(size_of $rz)"
        [ "$2" = 1 ] && expect_eq "$(size_of $rz)" $((MB * 2 * 2048)) "$C ($t): detached fill = the whole data image"
        fullread $rz
        if [ $t = i ]; then integritysetup close $rz; else expect_rc 0 ivol close $rz; fi
    done
}

CASES=$(cat <<'EOF'
F01 intformat blake2s-256 32 32  512
F02 intformat blake2b-256 32 32  512
F03 intformat crc32c       0  4  512
F04 intformat crc32        0  4  512
F05 intformat xxhash64     0  8  512
F06 intformat sha1         0 20  512
F07 intformat sha1        16 16 4096
F08 intformat sha256       0 32  512
F09 intformat hmac-sha256  0 32  512 32
F10 intformat sha256       0 32 4096
F11 intformat hmac-sha256  0 32 4096 32
F12 intformat hmac-sha256  0 32 4096 4096
E01 error J crc32c    0  4  512
E02 error J crc32c    0  4 4096
E03 error J crc32     0  4  512
E04 error J crc32     0  4 4096
E05 error J xxhash64  0  8  512
E06 error J xxhash64  0  8 4096
E07 error J sha1      0 20  512
E08 error J sha1     16 16  512
E09 error J sha1      0 20 4096
E10 error J sha256    0 32  512
E11 error J sha256    0 32 4096
E12 error J hmac-sha256 0 32  512 32
E13 error J hmac-sha256 0 32 4096 32
J01 journal crc32   4  512 66 1000 hmac-sha256 32   hmac(sha256)
J02 journal sha256 32 4096 34 5000 hmac-sha1   16   hmac(sha1)
J03 journal sha1   20  512 75 9999 hmac-sha256 32   hmac(sha256)
J04 journal sha1   20  512 75 9999 hmac-sha256 4096 hmac(sha256)
C01 journal-crypt cbc-aes cbc(aes) 32
C02 journal-crypt cbc-aes cbc(aes) 16
C03 journal-crypt ctr-aes ctr(aes) 32
C04 journal-crypt ctr-aes ctr(aes) 16
M01 mode crc32c       4  512
M02 mode crc32        4  512
M03 mode sha1        20  512
M04 mode sha256      32  512
M05 mode hmac-sha256 32  512 32
M06 mode hmac-sha256 32 4096 32
R01 recalc
+R02 recalc-reset
S01 metadata
P01 bitmap
B01 error B crc32c      0  4  512
B02 error B crc32c      0  4 4096
B03 error B sha256      0 32  512
B04 error B sha256      0 32 4096
B05 error B hmac-sha256 0 32  512 32
B06 error B hmac-sha256 0 32 4096 32
G01 big
D01 deferred
H01 hmac 1 0
H02 hmac 0 0
H03 hmac 1 1
H04 hmac 0 1
Z01 resize-basic nokey
Z02 resize-basic key
Z03 resize nokey 0 0
Z04 resize nokey 0 1
Z05 resize nokey 1 0
Z06 resize nokey 1 1
Z07 resize key 0 0
Z08 resize key 0 1
Z09 resize key 1 0
Z10 resize key 1 1
EOF
)

# Cases run IVOL_GUEST_COMPAT_JOBS (2: the guest's CPUs) at a time, each in its own directory with its own mapping names;
# a line starting with '+' runs in the job of the line before it (R02 continues on R01's images).
jobs_list=()
while read -r line; do
    [ -n "$line" ] || continue
    if [ "${line:0:1}" = + ]; then jobs_list[-1]+=$'\n'"${line:1}"; else jobs_list+=("$line"); fi
done <<< "$CASES"
run_job() { # the job's case lines
    local id kind args
    while read -r id kind args; do
        want "$id" || continue
        ci=${id,,}i co=${id,,}o rz=${id,,}r hold=${id,,}h big=${id,,}b
        local t0=$SECONDS
        # shellcheck disable=SC2086 # the table's fields are words
        run_case "$id" "$kind" $args < /dev/null
        echo "  = $id $kind: passed both ways ($((SECONDS - t0)) s)"
    done <<< "$1"
}
top=$S
done_ids=() shown=" "
# show_finished: print the logs of the jobs that ended (as they end: a scenario time limit still leaves them).
show_finished() {
    local f
    for f in "${done_ids[@]}"; do
        [[ "$shown" == *" $f "* ]] || [ ! -f "$top/$f.rc" ] || { cat "$top/$f.log"; shown+="$f "; }
    done
}
for job in "${jobs_list[@]}"; do
    first=${job%% *}
    while [ "$(jobs -pr | wc -l)" -ge "${IVOL_GUEST_COMPAT_JOBS:-2}" ]; do wait -n || true; show_finished; done
    mkdir -p "$top/$first"; cp "$top/p.bin" "$top/key.bin" "$top/key2.bin" "$top/$first/"
    ( trap 'echo $? > "$top/$first.rc"' EXIT; cd "$top/$first"; S=$top/$first; run_job "$job" ) > "$top/$first.log" 2>&1 &
    done_ids+=("$first")
done
wait || true
show_finished
failed=()
for first in "${done_ids[@]}"; do
    [ "$(cat "$top/$first.rc" 2>/dev/null)" = 0 ] || failed+=("$first")
done
n=$(cat "$top"/*.log | grep -c '^  = ' || true)
[ ${#failed[@]} = 0 ] || die "failed: ${failed[*]} ($n cases passed)"
log "$n cases passed both ways"
