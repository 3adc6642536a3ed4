#!/usr/bin/env bash
# Fetches a Linux kernel that follows the Xen HVM direct-boot convention (CONFIG_PVH=y) from
# Debian's archive and extracts its vmlinux ELF, for `jxen run` and LinuxBootTest.
#
#   vmm/scripts/linux-pvh-kernel.sh [dest dir]     (default: vmm/target/linux)
#
# Uses apt-get download (Debian's package registry), dpkg-deb, readelf and the decompressor the
# kernel image needs (Debian's kernels: lz4 or xz). Prints the path of the vmlinux on the last line.
# Then:  ./jxen run --memory 256M --cmdline "console=hvc0 earlyprintk=xen" <that path>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/../target/linux}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

for tool in apt-get apt-cache dpkg-deb readelf python3; do
    command -v "$tool" >/dev/null || { echo "linux-pvh-kernel: $tool not found (Debian or Ubuntu needed)" >&2; exit 1; }
done

# the newest cloud kernel the archive offers (small, built for Xen and KVM guests)
pkg=$(apt-cache search --names-only '^linux-image-[0-9].*-cloud-amd64$' | awk '{print $1}' | grep -v -- '-dbg$' \
      | sort -V | tail -n 1)
if [ -z "$pkg" ]; then
    echo "linux-pvh-kernel: no linux-image-*-cloud-amd64 package in the apt lists; run apt-get update" >&2
    exit 1
fi
echo "linux-pvh-kernel: $pkg" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "$pkg" >&2)
dpkg-deb -x "$work"/*.deb "$work/x"
vmlinuz=$(ls "$work"/x/boot/vmlinuz-*)
config=$(ls "$work"/x/boot/config-*)
grep -q '^CONFIG_PVH=y' "$config" || { echo "linux-pvh-kernel: $pkg has no CONFIG_PVH" >&2; exit 1; }

# the bzImage carries the ELF vmlinux compressed; find the compressor's magic and decompress from there
python3 - "$vmlinuz" "$work/payload" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
magics = [(b'\x02\x21\x4c\x18', 'lz4'), (b'\xfd7zXZ\x00', 'xz'), (b'\x28\xb5\x2f\xfd', 'zstd'),
          (b'\x1f\x8b\x08', 'gzip'), (b'BZh', 'bzip2'), (b'\x5d\x00\x00', 'lzma')]
at = None
for m, name in magics:
    i = data.find(m, 0x200)
    if i >= 0 and (at is None or i < at[0]):
        at = (i, name)
if at is None:
    sys.exit("linux-pvh-kernel: no compressed payload found in the kernel image")
open(sys.argv[2], 'wb').write(data[at[0]:])
open(sys.argv[2] + '.kind', 'w').write(at[1])
PY
kind=$(cat "$work/payload.kind")
command -v "$kind" >/dev/null || { echo "linux-pvh-kernel: the kernel is $kind-compressed: install $kind" >&2; exit 1; }
out="$dest/vmlinux-${pkg#linux-image-}"
# the decompressor stops with an error at the bytes after the payload; the vmlinux is complete by then
"$kind" -dc < "$work/payload" > "$out" 2>/dev/null || true
readelf -n "$out" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)\|XEN_ELFNOTE_PHYS32_ENTRY' \
    || { echo "linux-pvh-kernel: $out has no XEN_ELFNOTE_PHYS32_ENTRY note" >&2; exit 1; }
ln -sf "$(basename "$out")" "$dest/vmlinux"
echo "$dest/vmlinux"
