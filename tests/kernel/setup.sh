#!/usr/bin/env bash
# Prepare the real-kernel test harness (idempotent).
#
#  * installs, with apt, what the harness needs on the host: qemu-system-x86 (TCG), busybox-static (guest
#    userland for the initramfs), cpio; and cryptsetup-bin, dmsetup, mdadm, systemd (systemd-integritysetup), e2fsprogs and xfsprogs (scenario 18) and ansible-core (scenario 24), which are only used *inside the
#    guest* (they reach it through the read-only 9p share of the host's /usr) as independent witnesses.
#  * fetches Debian's stock kernel (linux-image-amd64's current dependency) with `apt-get download` and
#    unpacks it with `dpkg-deb -x` into tests/kernel/.work/ - it is never installed on the host.
#  * extracts the uncompressed vmlinux (PVH-bootable ELF) from the vmlinuz when possible.
#  * builds an initramfs: busybox, our guest-init.sh as /init, and the module closure (from that kernel's
#    modules.dep) of everything the guest needs before its module tree is mounted.
#
# Everything is cached in tests/kernel/.work/; a second run only checks the stamps.
# Environment: IVOL_KERNEL_PACKAGE=linux-image-6.1.0-56-amd64 pins a kernel package (default: whatever
# linux-image-amd64 depends on).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$HERE/.work"
mkdir -p "$WORK"

log() { echo "setup: $*" >&2; }

# ---------------------------------------------------------------- host packages
need_pkgs=(qemu-system-x86 busybox-static cpio xz-utils cryptsetup-bin dmsetup mdadm systemd e2fsprogs xfsprogs ansible-core)
missing=()
for p in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
apt_updated=0
apt_update() { if [ "$apt_updated" = 0 ]; then apt-get update -qq >&2; apt_updated=1; fi; }
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v qemu-system-x86_64 >/dev/null || { log "qemu-system-x86_64 missing after install"; exit 1; }

# The guest mounts the kernel's module tree over /usr/lib/modules of the (read-only) host /usr share;
# 9p needs the mount point to exist on the host.
[ -d /usr/lib/modules ] || mkdir -p /usr/lib/modules

# ---------------------------------------------------------------- kernel package
kpkg="${IVOL_KERNEL_PACKAGE:-}"
if [ -z "$kpkg" ] && [ -f "$WORK/kernel.pkg" ]; then
    kpkg="$(cat "$WORK/kernel.pkg")"
fi
if [ -z "$kpkg" ]; then
    kpkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
    if [ -z "$kpkg" ]; then
        apt_update
        kpkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
    fi
    [ -n "$kpkg" ] || { log "cannot resolve the kernel package behind linux-image-amd64"; exit 1; }
fi
KROOT="$WORK/kernel/$kpkg"
if [ ! -f "$KROOT/.unpacked" ]; then
    log "downloading $kpkg"
    rm -rf "$KROOT" "$WORK/deb"
    mkdir -p "$WORK/deb" "$KROOT"
    ( cd "$WORK/deb" && { apt-get download "$kpkg" >&2 2>/dev/null || { apt_update; apt-get download "$kpkg" >&2; }; } )
    deb="$(ls "$WORK/deb"/*.deb | head -n1)"
    dpkg-deb -x "$deb" "$KROOT"
    rm -rf "$WORK/deb"
    touch "$KROOT/.unpacked"
fi
echo "$kpkg" > "$WORK/kernel.pkg"

KVER="$(ls "$KROOT/lib/modules" 2>/dev/null | head -n1)"
[ -n "$KVER" ] || KVER="$(ls "$KROOT/usr/lib/modules" | head -n1)"
MODROOT="$KROOT/lib/modules/$KVER"
[ -d "$MODROOT" ] || MODROOT="$KROOT/usr/lib/modules/$KVER"
# The package ships no modules.dep (depmod runs at install time): generate it (and modules.alias, which the
# guest's busybox modprobe uses for the kernel's crypto-*/dm-* requests) with busybox depmod on the unpacked tree.
if [ ! -f "$MODROOT/modules.dep" ] || [ ! -f "$MODROOT/modules.alias" ]; then
    log "depmod $KVER"
    busybox depmod -b "${MODROOT%/lib/modules/*}" "$KVER"
fi
[ -f "$MODROOT/modules.dep" ] || { log "no modules.dep in $MODROOT"; exit 1; }
VMLINUZ="$KROOT/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || { log "no $VMLINUZ"; exit 1; }

# ---------------------------------------------------------------- vmlinux (uncompressed, PVH entry)
# A direct ELF boot (qemu's PVH loader) skips the in-guest decompression, which is slow under TCG.
VMLINUX="$KROOT/vmlinux"
if [ ! -f "$VMLINUX" ] && [ ! -f "$KROOT/.no-vmlinux" ]; then
    extract_at() { # magic-as-grep-pattern decompressor
        local off
        for off in $(LC_ALL=C grep -abo -P "$1" "$VMLINUZ" | cut -d: -f1); do
            tail -c +$((off + 1)) "$VMLINUZ" | $2 > "$VMLINUX.tmp" 2>/dev/null || true
            if [ "$(head -c 4 "$VMLINUX.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
                mv "$VMLINUX.tmp" "$VMLINUX"; return 0
            fi
        done
        rm -f "$VMLINUX.tmp"; return 1
    }
    extract_at '\xFD\x37\x7A\x58\x5A\x00' 'xz -dc --single-stream' \
        || extract_at '\x28\xB5\x2F\xFD' 'zstd -dc' \
        || extract_at '\x1F\x8B\x08' 'gzip -dc' \
        || { log "could not extract vmlinux; will boot the vmlinuz"; touch "$KROOT/.no-vmlinux"; }
    # Only an ELF with a Xen PVH entry note can be booted directly by qemu.
    if [ -f "$VMLINUX" ] && command -v readelf >/dev/null && ! readelf -n "$VMLINUX" 2>/dev/null | grep -q 'Xen'; then
        log "vmlinux has no PVH note; will boot the vmlinuz"
        rm -f "$VMLINUX"; touch "$KROOT/.no-vmlinux"
    fi
fi

# ---------------------------------------------------------------- initramfs
# Modules loaded at boot, in this order (dependencies first, from modules.dep). Everything else the kernel may
# ask for later (crypto algorithms by alias) is found by busybox modprobe in the shared module tree.
WANT_MODULES=(
    virtio virtio_ring virtio_pci virtio_rng
    netfs fscache 9pnet 9pnet_virtio 9p
    loop dm-mod dm-bufio dm-integrity dm-crypt md-mod raid1
    crc32c_generic crc32c-intel crc32_generic crc32-pclmul xxhash_generic blake2b_generic
    sha256_ssse3 sha512_generic sha512_ssse3 sha1_ssse3 hmac
    aesni_intel xts gcm ccm authenc essiv cbc ctr chacha20poly1305
    af_alg algif_hash algif_skcipher
)
INIT_SRC="$HERE/guest-init.sh"
stamp_in="$(cat "$INIT_SRC" "$HERE/setup.sh"; echo "$KVER ${WANT_MODULES[*]}"; ls -l "$(command -v busybox)")"
stamp="$(printf '%s' "$stamp_in" | sha256sum | cut -c1-16)"
INITRD="$WORK/initramfs-$stamp.cpio.gz"
if [ ! -f "$INITRD" ]; then
    log "building initramfs for $KVER"
    rm -f "$WORK"/initramfs-*.cpio.gz
    R="$WORK/initramfs-root"
    rm -rf "$R"
    mkdir -p "$R"/{bb,kmod,proc,sys,dev,run,tmp,results,etc,root,mnt}
    cp "$(readlink -f "$(command -v busybox)")" "$R/bb/busybox"
    for a in $("$R/bb/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$R/bb/$a"; done
    # merged-/usr layout like the host: the real /usr arrives over 9p.
    mkdir -p "$R/usr"
    ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
    printf 'root:x:0:\ndisk:x:6:\n' > "$R/etc/group"
    printf '%s\n' "$KVER" > "$R/etc/ivol-kernel-version"
    cp "$INIT_SRC" "$R/init"; chmod 755 "$R/init"

    # Dependency closure, in load order.
    declare -A depmap=() seen=()
    while IFS= read -r line; do
        key="${line%%:*}"; deps="${line#*:}"
        depmap["$key"]="$deps"
    done < "$MODROOT/modules.dep"
    declare -A byname=()
    for key in "${!depmap[@]}"; do
        b="${key##*/}"; b="${b%%.ko*}"; b="${b//-/_}"
        byname["$b"]="$key"
    done
    order=()
    visit() {
        local key="$1" d
        [ -n "${seen[$key]:-}" ] && return 0
        seen["$key"]=1
        for d in ${depmap[$key]}; do visit "$d"; done
        order+=("$key")
    }
    builtin_list="$(cat "$MODROOT/modules.builtin" 2>/dev/null || true)"
    for m in "${WANT_MODULES[@]}"; do
        n="${m//-/_}"
        if [ -n "${byname[$n]:-}" ]; then visit "${byname[$n]}"
        elif printf '%s\n' "$builtin_list" | sed 's#.*/##; s/\.ko.*//; s/-/_/g' | grep -qx "$n"; then :  # built in
        else log "note: module $m not in this kernel (skipped)"
        fi
    done
    : > "$R/kmod/load.list"
    for key in "${order[@]}"; do
        b="${key##*/}"; out="${b%%.ko*}.ko"
        case "$key" in
            *.ko.xz)  xz -dc "$MODROOT/$key" > "$R/kmod/$out" ;;
            *.ko.zst) zstd -qdc "$MODROOT/$key" > "$R/kmod/$out" ;;
            *.ko.gz)  gzip -dc "$MODROOT/$key" > "$R/kmod/$out" ;;
            *)        cp "$MODROOT/$key" "$R/kmod/$out" ;;
        esac
        echo "$out" >> "$R/kmod/load.list"
    done
    ( cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet ) | gzip -1 > "$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
    rm -rf "$R"
fi

# ---------------------------------------------------------------- config for run-guest.sh
write_env() {
    cat > "$WORK/env.sh" <<EOF
# written by setup.sh
IVOL_KVER='$KVER'
IVOL_BOOT_KERNEL='$1'
IVOL_VMLINUZ='$VMLINUZ'
IVOL_INITRD='$INITRD'
IVOL_MODULES='$MODROOT'
EOF
}
if [ -f "$VMLINUX" ]; then BOOT="$VMLINUX"; else BOOT="$VMLINUZ"; fi
write_env "$BOOT"

# ---------------------------------------------------------------- boot check (once per initramfs and kernel)
# Proves the whole path (boot, modules, 9p shares, device-mapper, loop, exit code back to the host); falls back to
# the compressed kernel if qemu cannot boot the uncompressed ELF directly.
OK_STAMP="$WORK/boot-ok-$(basename "$INITRD" .cpio.gz)"
if [ ! -f "$OK_STAMP" ] || [ "$(cat "$OK_STAMP")" != "$BOOT" ]; then
    probe="$WORK/boot-probe.sh"
    printf '%s\n' '[ -c /dev/mapper/control ] && dmsetup version >/dev/null && [ -e /dev/loop-control ] && exit 42' 'exit 1' > "$probe"
    try_boot() {
        IVOL_GUEST_TIMEOUT=180 IVOL_RESULTS_DIR="$WORK/results/boot-probe" bash "$HERE/run-guest.sh" "$probe" >/dev/null 2>&1
        [ $? = 42 ]
    }
    if try_boot; then
        echo "$BOOT" > "$OK_STAMP"
    elif [ "$BOOT" != "$VMLINUZ" ] && { log "direct boot of the vmlinux failed; trying the vmlinuz"; BOOT="$VMLINUZ"; write_env "$BOOT"; try_boot; }; then
        echo "$BOOT" > "$OK_STAMP"
    else
        log "the guest does not boot (see $WORK/results/boot-probe/console.log)"
        exit 1
    fi
fi
log "ready: kernel $KVER ($(basename "$BOOT")), initramfs $(basename "$INITRD") ($(du -h "$INITRD" | cut -f1))"
