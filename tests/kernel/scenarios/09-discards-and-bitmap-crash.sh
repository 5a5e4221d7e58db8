# (a) Discards: opened with --allow-discards (journal mode), a range is blkdiscard'ed; after close our offline verify
#     counts exactly that range as discarded (the kernel's all-0xF6 filler tags) and calls the volume healthy.
# (b) Bitmap-mode crash: opened in bitmap mode with a long bitmap flush interval, a pattern is written (O_DIRECT, no
#     flush), and while the mapping is still active the device under it is copied with O_DIRECT reads: that copy is
#     exactly what a power cut would leave on disk - DIRTY_BITMAP set, dirty bits written (FUA) before the data, the
#     data written, the tags still in dm-bufio's memory. Our verify of the copy: journal state dirtyBitmap,
#     unsynchronized blocks > 0, healthy. Opening the copy, the kernel recalculates the dirty regions (status shows
#     recalc_sector running to the end); after close our verify is healthy with nothing unsynchronized and the data
#     is the pattern.
#     Deterministic under load: dm-bufio may write the tags back at any moment (then the copy is consistent and shows
#     no unsynchronized block although its bits are dirty) and the flush interval is pinned (300 s, timer armed by the
#     first write): b9 opens only right before its write, and when the copy's tags turn out already written back
#     (state, read from the copy) a new pattern is written and copied again, at most 4 times.

par() { # par 'cmd1' 'cmd2' ...: run in parallel (ivol calls cost seconds each under TCG); fail if any fails
    local pids=() c p rc=0
    for c in "$@"; do ( eval "$c" ) & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || die "a parallel step failed: $*"
}

par 'ivol format d.img --size 16M --integrity crc32c --batch-mode >/dev/null' \
    'ivol format b.img --size 16M --integrity crc32c --batch-mode >/dev/null'

# ---- (a) discards
expect_rc 0 ivol open d.img d9 --integrity crc32c --allow-discards
dmsetup table d9 | grep -q ' J [0-9]* allow_discards ' || die "no allow_discards in: $(dmsetup table d9)"
pattern p.bin 4096 11
dd if=p.bin of=/dev/mapper/d9 bs=4096 oflag=direct conv=fsync status=none
first=1024; count=2048                   # sectors [1024, 3072): 1 MiB inside the written 2 MiB
blkdiscard -o $((first * 512)) -l $((count * 512)) /dev/mapper/d9
expect_eq "$(dd if=/dev/mapper/d9 bs=512 skip=$first count=$count iflag=direct status=none | tr -d '\0' | wc -c)" "0" "discarded range reads as zeros"
expect_eq "$(dd if=/dev/mapper/d9 bs=512 count=$first iflag=direct status=none | sha256sum)" "$(head -c $((first * 512)) p.bin | sha256sum)" "data before the range intact"

# ---- (b) bitmap mode: write, snapshot the device under the live mapping, then close the original cleanly
par 'ivol close d9 >/dev/null' 'pattern q1.bin 2048 12'
par 'ivol verify d.img --integrity crc32c --json > vd.json' \
    'ivol open b.img b9 --integrity crc32c --integrity-bitmap-mode --bitmap-flush-time 300000 >/dev/null'
table="$(dmsetup table b9)"
case "$table" in *" B "*"bitmap_flush_interval:300000 "*) ;; *) die "unexpected bitmap table: $table";; esac
LB=$(losetup -a | grep "$S/b.img" | cut -d: -f1)
[ -n "$LB" ] || die "no loop device under b9"
for k in 1 2 3 4; do
    [ -f "q$k.bin" ] || pattern "q$k.bin" 2048 $((11 + k))
    cp "q$k.bin" q.bin                   # 1 MiB at 4 KiB block 100 (sectors 800..2847)
    dd if=q.bin of=/dev/mapper/b9 bs=4096 seek=100 oflag=direct status=none
    dd if="$LB" of=crash.img bs=1M iflag=direct status=none
    log "crash image: O_DIRECT copy of $LB taken while b9 was active (write $k)"
    ivol verify crash.img --integrity crc32c --json > vc.json || true
    [ "$(json vc.json 'j["unsynchronizedBlocks"]')" -gt 0 ] && break
    log "the kernel had written the tags back before the copy (state of the copy, not a failure): writing again"
done
expect_rc 0 ivol close b9
expect_rc 0 ivol dump crash.img --json
echo "$OUT" > dc.json
expect_eq "$(json vd.json 'j["healthy"]')" "True" "discards: verify healthy"
expect_eq "$(json vd.json 'j["discardedBlocks"]')" "$count" "discards: discarded blocks = the discarded range"
expect_eq "$(json vd.json 'j["mismatchedBlocks"]')" "0" "discards: mismatched blocks"
expect_eq "$(json vd.json 'j["journalState"]')" "clean" "discards: journal state"

expect_eq "$(json dc.json '"dirty_bitmap" in j["flags"]')" "True" "crash copy: DIRTY_BITMAP in the superblock"
expect_eq "$(json vc.json 'j["journalState"]')" "dirtyBitmap" "crash copy: journal state"
expect_eq "$(json vc.json 'j["verdict"]')" "incomplete" "crash copy: incomplete (stale tags in dirty regions are not verified)"
expect_eq "$(json vc.json 'j["mismatchedBlocks"]')" "0" "crash copy: mismatched blocks"
unsync=$(json vc.json 'j["unsynchronizedBlocks"]')
log "crash copy: $unsync unsynchronized blocks (2048 written)"
[ "$unsync" -gt 0 ] && [ "$unsync" -le 2048 ] || die "unsynchronized blocks: $unsync (expected 1..2048)"

# The kernel's crash recovery: resume in B mode with DIRTY_BITMAP recalculates the dirty regions.
provided=$(json dc.json 'j["providedDataSectors"]')
expect_rc 0 ivol open crash.img c9 --integrity crc32c --integrity-bitmap-mode
dmesg -C
seen=""
recalc_done() {
    r=$(dmsetup status c9 | awk '{print $6}')
    [ "$r" = "$(echo "$seen" | awk '{print $NF}')" ] || seen="$seen $r"
    [ "$r" = "$provided" ]
}
wait_for "recalculation to provided_data_sectors" recalc_done
log "recalc_sector seen in status: $seen"
expect_eq "$r" "$provided" "recalculation reached provided_data_sectors"
dmsetup table c9 | grep -q ' recalculate ' || die "kernel table shows no recalculate: $(dmsetup table c9)"
expect_eq "$(dd if=/dev/mapper/c9 bs=4096 skip=100 count=256 iflag=direct status=none | sha256sum)" "$(sha256sum < q.bin)" "pattern survived the crash"
dd if=/dev/mapper/c9 of=/dev/null bs=1M iflag=direct status=none || die "full read of the recovered volume failed"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures after recovery"
expect_rc 0 ivol close c9

expect_rc 0 ivol verify crash.img --integrity crc32c --json
echo "$OUT" > vr.json
expect_eq "$(json vr.json 'j["healthy"]')" "True" "recovered: verify healthy"
expect_eq "$(json vr.json 'j["unsynchronizedBlocks"]')" "0" "recovered: unsynchronized blocks"
expect_eq "$(json vr.json 'j["journalState"]')" "clean" "recovered: journal state"
expect_eq "$(json vr.json 'j["validBlocks"]')" "$provided" "recovered: every block valid"
