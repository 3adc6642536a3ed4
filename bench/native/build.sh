#!/usr/bin/env bash
# Builds the native port-I/O floor benchmark: bench/native/build.sh [output dir]
# then run: <output dir>/pio_floor [-n exits] [-m32] [-s regs|regs+sregs|none] [-d]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../target/native}
if ! command -v gcc >/dev/null 2>&1; then
    echo "bench/native: gcc not found; install gcc (Debian: apt-get install gcc)" >&2
    exit 1
fi
mkdir -p "$out"
gcc -O2 -Wall -Wextra -Werror -o "$out/pio_floor" "$here/pio_floor.c"
echo "bench/native: built $out/pio_floor"
gcc -O2 -Wall -Wextra -Werror -pthread -o "$out/native_host" "$here/native_host.c"
echo "bench/native: built $out/native_host"
