#!/bb/sh
# /init of the test guest (copied into the initramfs by setup.sh). Runs as PID 1 under busybox.
#  - mounts proc, sys, devtmpfs, tmpfs; loads the boot modules; mounts the 9p shares:
#      usr     -> /usr             (host /usr, read-only: bash, coreutils, dotnet, integritysetup, dmsetup, ...)
#      modules -> /usr/lib/modules (the guest kernel's module tree, read-only, for modprobe)
#      repo    -> <ivol.repo=PATH> (the repository, read-only, at the same path as on the host)
#      results -> /results         (read-write: job.sh in, output.log / exit-code / dmesg.log out)
#  - runs /results/job.sh as root with output to /results/output.log, writes its status to /results/exit-code,
#    then powers the machine off. It never returns to a shell: any failure still ends in poweroff.
export PATH=/bb
umask 022

fail() { echo "guest-init: $*" >/dev/console; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs tmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mapper
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
echo 1 > /proc/sys/kernel/printk_ratelimit 2>/dev/null

for m in $(cat /kmod/load.list); do
    insmod /kmod/"$m" 2>/dev/null || {
        # already loaded or built in is fine; anything else is reported (the share mount below will tell).
        grep -q "^${m%.ko} " /proc/modules 2>/dev/null || echo "guest-init: insmod $m failed" >/dev/console
    }
done

arg() { # value of a key=value kernel command line argument
    for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}"; return 0;; esac; done; return 1
}
msize=$(arg ivol.msize || echo 512000)

ok=1
mount -t 9p -o trans=virtio,version=9p2000.L,msize=$msize,ro,cache=loose usr /usr || { fail "cannot mount usr"; ok=0; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=$msize,ro,cache=loose modules /usr/lib/modules 2>/dev/null \
    || fail "cannot mount the module tree (modprobe will not find modules)"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=$msize,rw,cache=none results /results || { fail "cannot mount results"; ok=0; }
repo=$(arg ivol.repo)
if [ -n "$repo" ]; then
    mkdir -p "$repo"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=$msize,ro,cache=loose repo "$repo" || { fail "cannot mount repo"; ok=0; }
fi
# Kernel-requested modules (crypto algorithms by alias, targets) come from the shared tree.
echo /bb/modprobe > /proc/sys/kernel/modprobe 2>/dev/null
mkdir -p /run/cryptsetup /run/lock /var/lock /var/run /var/tmp
[ -c /dev/mapper/control ] || modprobe dm-mod 2>/dev/null || insmod /kmod/dm-mod.ko 2>/dev/null

if [ "$ok" = 1 ] && [ -f /results/job.sh ]; then
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bb HOME=/root TERM=dumb LANG=C.UTF-8
    # libdevmapper: there is no udev here; let it create /dev/mapper nodes itself.
    export DM_DISABLE_UDEV=1
    cd /tmp
    /usr/bin/bash /results/job.sh > /results/output.log 2>&1 </dev/null
    echo $? > /results/exit-code
    dmesg > /results/dmesg.log 2>/dev/null
else
    fail "no job (shares missing)"
    echo 125 > /results/exit-code 2>/dev/null
fi
sync
umount /results 2>/dev/null
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
