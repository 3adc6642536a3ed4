#!/usr/bin/env bash
# Builds jxen's freestanding guest images with gcc and checks them with readelf.
#
#   build-guests.sh <c source dir> <output dir> <object dir>
#
# Harness guests: src/main/c/tests/<name>.c  -> <output dir>/<name>.elf (start64.S, harness.ld)
# Direct-boot guests: src/main/c/pvh/<name>.c (+ <name>32.S) -> <output dir>/<name>.elf
#                     (pvh32.S, pvh.ld)
# <output dir>/guests.index lists the names, one a line.
set -euo pipefail
shopt -s nullglob

src=${1:?source dir}
out=${2:?output dir}
obj=${3:?object dir}

for tool in gcc readelf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        if [ "$tool" = gcc ]; then
            echo "guests: gcc not found; install gcc (Debian: apt-get install gcc)" >&2
        else
            echo "guests: readelf not found; install binutils (Debian: apt-get install binutils)" >&2
        fi
        exit 1
    fi
done

CC=${CC:-gcc}
CFLAGS=(-std=gnu11 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector -mno-red-zone
        -mgeneral-regs-only -mcmodel=kernel -O2 -static -fno-asynchronous-unwind-tables
        -fno-unwind-tables -fcf-protection=none -fno-builtin -Wall -Wextra -Werror
        -I"$src/lib")
LDFLAGS=(-nostdlib -static -no-pie -Wl,-z,max-page-size=4096 -Wl,--build-id=none
         -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)

mkdir -p "$out" "$obj"
rm -f "$out"/*.elf "$out"/guests.index

compile() { # source object
    "$CC" "${CFLAGS[@]}" -c "$1" -o "$2"
}

lib_objs=()
for f in runtime.c console.c ucall.c idt.c entry.S xen_setup.c compat32.c compat32_entry.S xenpv.c; do
    o="$obj/lib-${f%.*}.o"
    compile "$src/lib/$f" "$o"
    lib_objs+=("$o")
done
compile "$src/lib/start64.S" "$obj/start64.o"
compile "$src/lib/pvh32.S" "$obj/pvh32.o"
compile "$src/lib/pvh_runtime.c" "$obj/pvh_runtime.o"

fail() { echo "guests: $1" >&2; exit 1; }

# readelf checks common to both kinds
check_elf() { # image
    local h
    h=$(readelf -h "$1")
    grep -q 'Class:[[:space:]]*ELF64' <<<"$h" || fail "$1: not ELF64"
    grep -q 'Type:[[:space:]]*EXEC' <<<"$h" || fail "$1: not an executable"
    grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' <<<"$h" || fail "$1: not x86-64"
    local page
    page=$(readelf -sW "$1" | awk '$8 == "hypercall_page" { print $2 }')
    [ -n "$page" ] || fail "$1: no hypercall_page symbol"
    (( (16#$page & 0xfff) == 0 )) || fail "$1: hypercall_page 0x$page is not page-aligned"
}

symbol() { # image name
    readelf -sW "$1" | awk -v n="$2" '$8 == n { print $2 }'
}

names=()

for c in "$src"/tests/*.c; do
    name=$(basename "$c" .c)
    compile "$c" "$obj/$name.o"
    img="$out/$name.elf"
    "$CC" "${LDFLAGS[@]}" -Wl,-T,"$src/lib/harness.ld" -o "$img" \
        "$obj/start64.o" "$obj/$name.o" "${lib_objs[@]}"
    check_elf "$img"
    entry=$(readelf -h "$img" | awk '/Entry point/ { print $4 }')
    start=$(symbol "$img" _start)
    (( entry == 16#$start )) || fail "$img: entry $entry is not _start"
    first_load=$(readelf -lW "$img" | awk '$1 == "LOAD" { print $3, $4; exit }')
    [ "$first_load" = "0xffffffff80000000 0x0000000000100000" ] \
        || fail "$img: first PT_LOAD is at vaddr/paddr $first_load, expected 0xffffffff80000000 0x100000"
    names+=("$name")
done

for c in "$src"/pvh/*.c; do
    name=$(basename "$c" .c)
    compile "$c" "$obj/$name.o"
    extra=()
    if [ -f "$src/pvh/${name}32.S" ]; then
        compile "$src/pvh/${name}32.S" "$obj/${name}32.o"
        extra+=("$obj/${name}32.o")
    fi
    img="$out/$name.elf"
    "$CC" "${LDFLAGS[@]}" -Wl,-T,"$src/lib/pvh.ld" -o "$img" \
        "$obj/pvh32.o" "$obj/pvh_runtime.o" "$obj/$name.o" "${extra[@]}" "${lib_objs[@]}"
    check_elf "$img"
    # The Xen note: owner "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY), value = pvh_start32.
    readelf -lW "$img" | grep -q '^[[:space:]]*NOTE' || fail "$img: no PT_NOTE segment"
    note=$(readelf -x .note.Xen "$img" 2>/dev/null | awk '/^  0x/ { for (i = 2; i <= 5 && i <= NF; i++) if ($i ~ /^[0-9a-f]+$/ && length($i) % 2 == 0) printf "%s", $i }')
    want_entry=$(symbol "$img" pvh_start32)
    entry_le=$(printf '%08x' $((16#$want_entry)) | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
    # namesz 4, descsz 4, type 0x12, "Xen\0", 4-byte little-endian entry address
    [ "$note" = "040000000400000012000000""58656e00""$entry_le" ] \
        || fail "$img: .note.Xen is not a PHYS32_ENTRY note for pvh_start32 (got $note)"
    entry=$(readelf -h "$img" | awk '/Entry point/ { print $4 }')
    (( entry == 16#$want_entry )) || fail "$img: ELF entry $entry is not pvh_start32"
    (( entry < 0x100000000 )) || fail "$img: 32-bit entry $entry is above 4 GiB"
    names+=("$name")
done

printf '%s\n' "${names[@]}" | sort > "$out/guests.index"
echo "guests: built ${#names[@]} images into $out: ${names[*]}"
