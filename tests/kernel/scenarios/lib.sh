# Helpers for kernel scenarios (sourced by guest-suite.sh before each scenario; runs inside the guest, bash).
# A scenario is a bash script run with `set -euo pipefail` in its own scratch dir ($S); it passes when it exits 0.
# Use: ivol ... (our CLI), die "msg", wait_for WHAT CMD... (poll a state), expect_eq A B "what", expect_rc N cmd..., json FILE EXPR (python3 expression on `j`),
# pattern FILE SECTORS SEED (deterministic bytes), kernel_failed_sectors (dmesg "Checksum failed at sector" as decimals; rate-limited, so only for "none" checks),
# failing_sectors DEVICE (sectors whose reads the kernel fails, read one by one: for exact lists).

IVOL_DLL="${IVOL_DLL:-$IVOL_REPO/src/IntegrityVolume.Cli/bin/Release/net8.0/ivol.dll}"
export DOTNET_ROLL_FORWARD=Major DOTNET_gcServer=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
       DOTNET_EnableDiagnostics=0 DOTNET_CLI_HOME=/tmp/dotnet-home HOME=/tmp/dotnet-home DOTNET_TieredPGO=0
mkdir -p /tmp/dotnet-home

# ivol is the NativeAOT binary when run.sh published one for this run (IVOL_GUEST_AOT): under TCG it starts in about
# 0.5 s where `dotnet ivol.dll` takes about 5 s. Otherwise (IVOL_GUEST_JIT=1, or no AOT toolchain) ivol.dll.
# A background ivol whose pid gets a signal: "${IVOL_CMD[@]}" ... & (not the function, whose subshell would get it).
if [ -n "${IVOL_GUEST_AOT:-}" ] && [ -x "$IVOL_GUEST_AOT" ]; then IVOL_CMD=("$IVOL_GUEST_AOT"); else IVOL_CMD=(dotnet "$IVOL_DLL"); fi
ivol() { "${IVOL_CMD[@]}" "$@"; }

log() { echo "  | $*"; }
die() { echo "  ! $*" >&2; exit 1; }

expect_eq() { # actual expected what
    [ "$1" = "$2" ] || die "$3: expected [$2], got [$1]"
    log "ok: $3 = $1"
}

# expect_rc N command...: run, require exit code N, keep stdout in $OUT and stderr in $ERR.
expect_rc() {
    local want=$1; shift
    set +e
    "$@" >"$S/.out" 2>"$S/.err"; local rc=$?
    set -e
    OUT="$(cat "$S/.out")"; ERR="$(cat "$S/.err")"
    [ "$rc" = "$want" ] || { echo "$OUT"; echo "$ERR" >&2; die "'$*' exited $rc, expected $want"; }
    log "ok: exit $rc: $*"
}

# json FILE EXPR: evaluate a python expression over the parsed JSON `j`.
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=eval(sys.argv[2]); print(r if not isinstance(r,(list,dict)) else json.dumps(r))' "$1" "$2"; }

# pattern FILE SECTORS SEED: 512-byte sectors where byte j of sector s = (s*131 + j*7 + SEED) & 0xff.
pattern() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "wb") as f:
    for s in range(n):
        f.write(bytes(((s * 131 + j * 7 + seed) & 0xff) for j in range(512)))
PY
}

# Decimal, sorted, unique sectors of "Checksum failed at sector 0x..." lines since the last `dmesg -C`.
kernel_failed_sectors() {
    dmesg | sed -n 's/.*Checksum failed at sector 0x\([0-9a-fA-F]*\).*/\1/p' | while read -r h; do echo $((16#$h)); done | sort -n | uniq
}

# failing_sectors DEVICE: the 512-byte sectors whose reads the kernel fails, space-separated: DEVICE is read in 4 KiB
# chunks with O_DIRECT and a failing chunk sector by sector. Compare exact lists with this, not with
# kernel_failed_sectors: dm-integrity's "Checksum failed" lines are rate-limited (DMERR_LIMIT: 10 per 5 s), so right
# after another read of the bad blocks dmesg can list only some of them.
failing_sectors() {
    python3 - "$1" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
size = os.lseek(fd, 0, os.SEEK_END)
chunk, one, bad = mmap.mmap(-1, 4096), mmap.mmap(-1, 512), []
for off in range(0, size, 4096):
    try:
        os.preadv(fd, [chunk], off)
    except OSError:
        for s in range(off, min(off + 4096, size), 512):
            try:
                os.preadv(fd, [one], s)
            except OSError:
                bad.append(s // 512)
print(" ".join(map(str, bad)))
PY
}

# wait_for WHAT CMD...: poll CMD until it succeeds - the test waits on state, never on elapsed time. The limit
# (IVOL_GUEST_WAIT_LIMIT, default 600 s) only turns a hang into a failure; TCG on a busy host is slow.
wait_for() {
    local what=$1; shift
    local end=$(( $(date +%s) + ${IVOL_GUEST_WAIT_LIMIT:-600} ))
    until "$@"; do
        [ "$(date +%s)" -lt "$end" ] || die "$what: not reached after ${IVOL_GUEST_WAIT_LIMIT:-600} s"
        sleep 0.1
    done
}

# Remove every mapping and loop device a scenario left behind (the next one starts clean).
cleanup_kernel_state() {
    local n
    for n in $(dmsetup ls 2>/dev/null | awk '$1 != "No" {print $1}'); do dmsetup remove --force "$n" >/dev/null 2>&1 || true; done
    losetup -D 2>/dev/null || true
}

# boot_generate INTEGRITYTAB CRYPTTAB: systemd's own generators turn the boot files into units under $S/gen (what boot
# reads); run_unit UNIT then runs a generated unit's ExecStart line as systemd would (the guest runs no systemd).
boot_generate() {
    local g=/usr/lib/systemd/system-generators
    mkdir -p gen/normal gen/early gen/late
    SYSTEMD_INTEGRITYTAB="$1" "$g/systemd-integritysetup-generator" gen/normal gen/early gen/late
    SYSTEMD_CRYPTTAB="$2" "$g/systemd-cryptsetup-generator" gen/normal gen/early gen/late
}
run_unit() {
    local u="gen/normal/$1" cmd
    [ -f "$u" ] || die "the generator made no $1: $(ls gen/normal)"
    cmd=$(sed -n 's/^ExecStart=//p' "$u")
    log "boot: $cmd"
    eval "$cmd" || die "$1 failed: $cmd"
}
