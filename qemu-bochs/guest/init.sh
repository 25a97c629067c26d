#!/bin/sh
# /init of the bochsfb test guest, embedded into the initramfs by qemu-bochs.
# Protocol (docs/architecture.md): load the driver, print @@bochsfb:ready, then
# run one command per console line and print @@bochsfb:status N after each.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

# Users and groups for permission checks: root, a member of video, and an outsider.
mkdir -p /etc
printf 'root:x:0:0:root:/:/bin/sh\nvideo-user:x:1000:44::/tmp:/bin/sh\nnobody:x:65534:65534::/tmp:/bin/sh\n' > /etc/passwd
printf 'root:x:0:\nvideo:x:44:video-user\nnogroup:x:65534:\n' > /etc/group
# What a udev rule does on a full system (kmod/60-bochsfb.rules): the nodes belong to
# root:video, mode 0660. mdev -s applies it to the nodes present after loading the driver.
echo 'bochsfb[0-9]+ 0:44 660' > /etc/mdev.conf

# The harness logs what it sends; the tty's echo would only interleave with output.
stty -echo

# Kernel command line words bochsfb.NAME=VALUE become module arguments NAME=VALUE;
# qemu_bochs.driver=bochsfb-drm loads bochsfb with face=1 (its DRM face),
# qemu_bochs.driver=bochs-drm loads the kernel's C DRM driver instead of bochsfb,
# qemu_bochs.driver=vesafb loads nothing (the built-in vesafb drives the card).
params=
driver=bochsfb
read -r cmdline < /proc/cmdline
set -f
for word in $cmdline; do
    case "$word" in
        bochsfb.*=*) params="$params ${word#bochsfb.}" ;;
        qemu_bochs.driver=*) driver="${word#qemu_bochs.driver=}" ;;
    esac
done
set +f

case "$driver" in
    bochsfb) insmod /lib/modules/bochsfb.ko $params ;;
    bochsfb-drm) insmod /lib/modules/bochsfb.ko face=1 $params ;;
    # bochs.ko and its DRM dependencies, listed in /lib/modules/$(uname -r)/modules.dep.
    bochs-drm) modprobe bochs ;;
    # vesafb is built in and bound at boot (after vga=): nothing to load, /dev/fb0 must exist.
    vesafb) test -e /dev/fb0 ;;
    *) echo "unknown qemu_bochs.driver=$driver"; false ;;
esac
rc=$?
mdev -s
# From here on only warnings and worse reach the console (all still go to dmesg): fewer
# kernel lines land inside command output or protocol markers, and every line the
# kernel-report scan looks for (BUG, WARNING, Oops, panic) still prints.
echo 5 > /proc/sys/kernel/printk
if [ "$rc" -eq 0 ]; then
    echo "@@bochsfb:ready"
else
    echo "@@bochsfb:insmod-failed $rc"
fi

# Commands run with the console as stdin, so a program can read the host's
# reply to "@@bochsfb:screendump NAME".
while read -r line; do
    case "$line" in
        poweroff) reboot -f ;;
        # A screendump reply that its program did not read: not a command.
        "") ;;
        *)
            sh -c "$line"
            echo "@@bochsfb:status $?"
            ;;
    esac
done
reboot -f
