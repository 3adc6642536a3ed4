#!/usr/bin/env bash
# Builds a tiny initramfs for a Linux guest of `jxen run`: a static, freestanding /init (jxen-init.c,
# next to this script) that prints a few lines on the console and powers the domain off with
# reboot(RB_POWER_OFF).
#
#   vmm/scripts/linux-initramfs.sh [dest dir]     (default: vmm/target/linux)
#
# Needs gcc and python3 (which writes the cpio archive, "newc" format, uncompressed). Prints the path of the archive on the last line. Then:
#   ./jxen run --memory 256M --module <that path> --cmdline "console=hvc0 ..." vmm/target/linux/vmlinux
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/../target/linux}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
for tool in gcc python3; do
    command -v "$tool" >/dev/null || { echo "linux-initramfs: $tool not found" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -O2 -Wall -o "$work/init" \
    "$here/jxen-init.c"
python3 - "$work/init" "$dest/initramfs.cpio" <<'PY'
import os, sys
init = open(sys.argv[1], 'rb').read()
out = bytearray()
def entry(name, mode, data=b'', ino=1):
    global out
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    out += b'070701' + b''.join(b'%08X' % f for f in fields) + name.encode() + b'\0'
    out += b'\0' * (-len(out) % 4)
    out += data
    out += b'\0' * (-len(out) % 4)
entry('init', 0o100755, init, 1)
entry('TRAILER!!!', 0, b'', 0)
open(sys.argv[2], 'wb').write(out)
PY
echo "$dest/initramfs.cpio"
