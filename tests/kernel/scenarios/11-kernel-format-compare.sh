# The same-size image formatted twice: in userspace (ivol format) and through the kernel (ivol format --kernel: the
# kernel's constructor formats an 8-sector temporary mapping, then zeros go through a direct-mode mapping so the
# kernel computes every tag, as integritysetup format does). Asserted: identical superblock fields except the salt,
# identical journal bytes, both healthy with ivol verify, both opened and fully read by integritysetup; and with the
# kernel's salt given to the userspace formatter, the two images are byte-identical. Variants: 4096-byte sectors with
# keyed hmac-sha256 tags and a journal MAC; a separate metadata device. Also: the kernel path refuses what the
# userspace formatter refuses, and --no-wipe leaves what integritysetup --no-wipe leaves. Wall times are logged.

par() { # par 'cmd1' 'cmd2' ...: run in parallel; fail if any fails
    local pids=() c p rc=0
    for c in "$@"; do ( eval "$c" ) & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || die "a parallel step failed: $*"
}
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }

mapper_before=$(ls /dev/mapper | tr '\n' ' ')   # earlier scenarios may leave stale nodes behind

# ---- default options, 32 MiB (two interleave areas): timed, sequentially
t0=$(now); ivol format u.img --size 32M --integrity crc32c --batch-mode --json > fu.json; t1=$(now)
ivol format k.img --size 32M --integrity crc32c --batch-mode --kernel --json > fk.json; t2=$(now)
log "format wall time, 32 MiB: userspace $(secs $t0 $t1) s (engine $(json fu.json 'round(float(j["duration"].split(":")[2]), 2)') s, $(json fu.json 'j["tagInitialization"]')), kernel $(secs $t1 $t2) s (engine $(json fk.json 'round(float(j["duration"].split(":")[2]), 2)') s, $(json fk.json 'j["tagInitialization"]'))"
expect_eq "$(json fk.json 'j["tagInitialization"]')" "kernel-wipe" "kernel format: tag initialisation"
expect_eq "$(dmsetup ls)" "No devices found" "no temporary mapping left"
expect_eq "$(losetup -a | wc -l)" "0" "no loop device left"
expect_eq "$(ls /dev/mapper | tr '\n' ' ')" "$mapper_before" "no /dev/mapper node left"

salt=$(json fk.json 'j["volume"]["salt"]')
python3 - fu.json fk.json <<'PY' || die "superblock fields differ"
import json, sys
u, k = (json.load(open(p))["volume"] for p in sys.argv[1:3])
diff = {f: (u[f], k[f]) for f in u if f not in ("path", "salt") and u[f] != k[f]}
if diff: print(diff); sys.exit(1)
print("  | ok: superblock and layout identical except the salt:", ", ".join(f"{f}={u[f]}" for f in ("superblockVersion", "integrityTagSize", "sectorSize", "providedDataSectors", "journalSections", "log2InterleaveSectors", "flags")))
PY
initial=$(json fk.json 'j["volume"]["initialSectors"]')
dd if=u.img of=ju.bin bs=512 skip=8 count=$((initial - 8)) status=none
dd if=k.img of=jk.bin bs=512 skip=8 count=$((initial - 8)) status=none
expect_eq "$(cmp ju.bin jk.bin && echo same)" "same" "journal bytes (sectors 8..$initial)"

# Variants through the kernel, formatted alongside the userspace copy with the kernel's salt:
# 4096-byte sectors with keyed hmac-sha256 tags and an hmac-sha256 journal MAC (superblock MAC); a separate
# metadata device.
head -c 32 /dev/urandom > ik.bin; head -c 32 /dev/urandom > jk.bin
keyed="--integrity hmac-sha256 --integrity-key-file ik.bin --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file jk.bin --journal-integrity-key-size 32"
truncate -s 2M m.img; truncate -s 16M dd.img
par "ivol format s.img --size 32M --integrity crc32c --batch-mode --salt $salt >/dev/null" \
    "ivol format h.img --size 24M $keyed --sector-size 4096 --batch-mode --kernel --json > fh.json" \
    'ivol format m.img --data-device dd.img --integrity crc32c --sector-size 4096 --batch-mode --kernel --json > fm.json'
cmp s.img k.img || die "userspace format with the kernel's salt differs from the kernel's format"
log "ok: with the same salt the userspace and kernel formats are byte-identical ($(stat -c %s k.img) bytes)"
par 'ivol verify u.img --integrity crc32c --json > vu.json' 'ivol verify k.img --integrity crc32c --json > vk.json' \
    "ivol format hs.img --size 24M $keyed --sector-size 4096 --batch-mode --salt $(json fh.json 'j["volume"]["salt"]') >/dev/null" \
    "ivol verify h.img $keyed --json > vh.json" \
    'ivol verify m.img --data-device dd.img --integrity crc32c --json > vm.json'
for f in u k; do
    expect_eq "$(json v$f.json 'j["healthy"]') $(json v$f.json 'j["validBlocks"]')" "True $(json fk.json 'j["volume"]["providedDataSectors"]')" "$f.img verify: healthy, every block valid"
done
cmp hs.img h.img || die "keyed: userspace format with the kernel's salt differs from the kernel's format"
expect_eq "$(json fh.json '" ".join(j["volume"]["flags"])')" "have_journal_mac fix_padding fix_hmac" "keyed: flags"
expect_eq "$(json vh.json 'j["healthy"]') $(json vh.json 'j["mismatchedBlocks"]')" "True 0" "keyed: verify (superblock MAC checked) healthy"
log "ok: keyed variant byte-identical to the userspace format, healthy"
expect_eq "$(json fm.json 'j["tagInitialization"]') $(json vm.json 'j["healthy"]') $(json vm.json 'j["mismatchedBlocks"]')" "kernel-wipe True 0" "meta device: wiped through the kernel, verify healthy"

# integritysetup opens both formats (and the keyed one) and reads every block.
dmesg -C
for f in u k; do
    L=$(losetup -f --show $f.img)
    integritysetup open "$L" is-$f --integrity crc32c
    dd if=/dev/mapper/is-$f of=/dev/null bs=1M iflag=direct status=none || die "integritysetup: full read of $f.img failed"
    expect_eq "$(dmsetup status is-$f | awk '{print $4}')" "0" "integritysetup open of $f.img: mismatch counter after a full read"
    integritysetup close is-$f
    losetup -d "$L"
done
L=$(losetup -f --show h.img)
integritysetup open "$L" is-h --integrity hmac-sha256 --integrity-key-file ik.bin --integrity-key-size 32 \
    --journal-integrity hmac-sha256 --journal-integrity-key-file jk.bin --journal-integrity-key-size 32
dd if=/dev/mapper/is-h of=/dev/null bs=1M iflag=direct status=none || die "integritysetup: full read of h.img failed"
integritysetup close is-h; losetup -d "$L"
expect_eq "$(kernel_failed_sectors | wc -l)" "0" "kernel checksum failures"

# Refusals (as the userspace formatter: signature without --force, image in use) and --no-wipe.
cp k.img k0.img
L=$(losetup -f --show s.img)
par 'ivol format k.img --integrity crc32c --batch-mode --kernel --json 2> sig.err || [ $? = 2 ]' \
    'ivol format s.img --integrity crc32c --batch-mode --kernel --force --json 2> busy.err || [ $? = 5 ]' \
    'ivol format n.img --size 16M --integrity crc32c --batch-mode --kernel --no-wipe --json > fn.json'
losetup -d "$L"
grep -q '"error": *"ExistingSignature"' sig.err || die "no ExistingSignature: $(cat sig.err)"
grep -q '"error": *"DeviceInUse"' busy.err || die "no DeviceInUse: $(cat busy.err)"
expect_eq "$(cmp k.img k0.img && cmp s.img k0.img && echo untouched)" "untouched" "refused formats wrote nothing"
expect_eq "$(json fn.json 'j["tagInitialization"]') $(json fn.json '" ".join(j["volume"]["flags"])')" "none fix_padding fix_hmac" "no-wipe: superblock only, as integritysetup --no-wipe"

# Ctrl+C during the wipe (SIGINT; a background job of a script ignores it, so restore the default first): exit 130,
# temporary mappings and loops gone, and the superblock is zeroed again - a half-wiped volume never looks valid.
truncate -s 256M c.img
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    "${IVOL_CMD[@]}" format c.img --integrity crc32c --batch-mode --kernel --progress-json 2> cancel.err > /dev/null &
pid=$!
wait_for "wipe progress before SIGINT" bash -c 'grep -q "\"bytes\":\"[1-9]" cancel.err || ! kill -0 '"$pid"' 2>/dev/null'
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
expect_eq "$rc" "130" "cancelled kernel format: exit code"
grep -q '"bytes":"[1-9]' cancel.err || die "no wipe progress before the cancellation: $(cat cancel.err)"
expect_eq "$(dd if=c.img bs=4096 count=1 status=none | tr -d '\0' | wc -c)" "0" "cancelled kernel format: superblock area zeroed"
expect_eq "$(dmsetup ls) $(losetup -a | wc -l) $(ls /dev/mapper | tr '\n' ' ')" "No devices found 0 $mapper_before" "nothing left behind"
