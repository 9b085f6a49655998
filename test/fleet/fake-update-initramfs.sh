#!/bin/sh
# The fleet suite's stand-in for update-initramfs -u on a fake root ($1): it counts the rebuild and
# writes, for each kernel under lib/modules, a gzip'd newc image holding the root's modprobe.d
# directories as they are now, the part of a real image fsblacklist compares with the root.
set -eu
cd "$1"
echo rebuilt >> initramfs-rebuilds
mkdir -p boot
for dir in lib/modules/*/; do
  [ -d "$dir" ] || continue
  release=$(basename "$dir")
  {
    # Parents first, as a real image lists them: the kernel does not make missing directories.
    for d in etc lib usr usr/lib run; do if [ -e "$d" ] || [ -L "$d" ]; then echo "$d"; fi; done
    for d in etc/modprobe.d usr/lib/modprobe.d run/modprobe.d; do if [ -d "$d" ]; then find "$d"; fi; done
    # On a merged /usr, lib is a link and lib/modprobe.d is usr/lib/modprobe.d already.
    if [ -d lib/modprobe.d ] && [ ! -L lib ]; then find lib/modprobe.d; fi
  } | cpio -o -H newc --quiet | gzip -n > "boot/initrd.img-$release.new"
  mv "boot/initrd.img-$release.new" "boot/initrd.img-$release"
done
