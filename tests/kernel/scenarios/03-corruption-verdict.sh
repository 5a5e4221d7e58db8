# Corrupt data and tag bytes of a closed volume; the sectors the kernel reports ("Checksum failed at sector")
# while reading everything must equal what our offline `ivol verify --json` lists as mismatched.
ivol format vol.img --size 16M --integrity crc32c --batch-mode >/dev/null
expect_rc 0 ivol open vol.img c3 --integrity crc32c
pattern p.bin 8192 5
dd if=p.bin of=/dev/mapper/c3 bs=512 oflag=direct conv=fsync status=none
expect_rc 0 ivol close c3

ivol dump vol.img --json > dump.json
initial=$(json dump.json 'j["initialSectors"]')
run=$(json dump.json 'j["metadataRunSectors"]')
tag=$(json dump.json 'j["integrityTagSize"]')
log "layout: initial_sectors=$initial metadata_run=$run tag=$tag"
flip() { # byte offset: invert one byte in place
    local off=$1 b
    b=$(dd if=vol.img bs=1 skip="$off" count=1 status=none | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 0xff) & 0xff )))" | dd of=vol.img bs=1 seek="$off" conv=notrunc status=none
}
data_off() { echo $(( (initial + run + $1) * 512 + ${2:-0} )); }   # logical sector (area 0), byte in it
tag_off() { echo $(( initial * 512 + $1 * tag )); }
flip "$(data_off 3 100)"        # data byte in sector 3
flip "$(data_off 777 0)"        # first data byte of sector 777
flip "$(data_off 4100 511)"     # last data byte of sector 4100
flip "$(tag_off 2000)"          # tag of sector 2000
flip "$(tag_off 8191)"          # tag of the last written sector
expected="3 777 2000 4100 8191"

set +e; ivol verify vol.img --integrity crc32c --json > verify.json; vrc=$?; set -e
expect_eq "$vrc" "1" "ivol verify exit code (corruption found)"
ours=$(json verify.json '" ".join(str(s) for r in j["mismatchedSectors"] for s in range(r["start"], r["start"] + r["sectors"]))')
expect_eq "$ours" "$expected" "ivol verify mismatched sectors"

expect_rc 0 ivol open vol.img c3 --integrity crc32c
dmesg -C
# 4 KiB reads: each corrupted sector is alone in its 4 KiB chunk, so every bad block is still reported.
set +e; dd if=/dev/mapper/c3 of=/dev/null bs=4096 conv=noerror iflag=direct status=none 2>dd.err; set -e
log "kernel log: $(kernel_failed_sectors | tr '\n' ' ')"
expect_eq "$(dmsetup status c3 | awk '{print $4}')" "5" "kernel mismatch counter"
expect_rc 0 ivol status c3 --json
echo "$OUT" > st.json
expect_eq "$(json st.json 'j["failures"]')" "5" "ivol status failures"
expect_eq "$(failing_sectors /dev/mapper/c3)" "$ours" "sectors the kernel fails to read == ivol verify"
expect_rc 0 ivol close c3
