/*
 * test-pvh-acpi: powers off (or resets) the way an ACPI guest does, from the tables alone:
 * hvm_start_info.rsdp_paddr -> RSDP -> XSDT -> FADT (hardware-reduced) and MADT, the DSDT from the
 * FADT; the sleep type of \_S5 from the DSDT's AML; SLP_TYP << 2 | SLP_EN written to the FADT's sleep
 * control register. Every checksum is checked first. Output on port 0xe9:
 *   "acpi: RSDP rev 2 at <hex>, XSDT at <hex> with <n> tables"
 *   "acpi: FACP rev 6 hardware-reduced, DSDT <len> bytes, APIC with <n> local APICs"
 *   "acpi: \_S5 sleep type 5; sleep control register: I/O port 0x<port>; powering off"
 * With the command line "reset": "acpi: reset register: I/O port 0x<port>, value <v>; resetting"
 * and the reset value written to the FADT's reset register. The host should shut the domain down
 * (poweroff, or reboot); if it does not, or anything is wrong: "acpi: FAILED: <what>" and
 * SCHEDOP_shutdown(crash).
 */
#include "guest.h"

static void fail(const char *what)
{
    debug_printf("acpi: FAILED: %s\n", what);
    xen_hypercall_init();
    xen_shutdown(SHUTDOWN_crash);
}

static int sums_to_zero(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s == 0;
}

static const uint8_t *table(uint64_t pa, const char *sig)
{
    const uint8_t *t = (const uint8_t *)pa;
    if (pa == 0 || t[0] != sig[0] || t[1] != sig[1] || t[2] != sig[2] || t[3] != sig[3]) {
        return 0;
    }
    uint32_t len = *(const uint32_t *)(t + 4);
    if (len < 36 || !sums_to_zero(t, len)) {
        return 0;
    }
    return t;
}

static uint32_t u32(const uint8_t *p) { return *(const uint32_t *)p; }
static uint64_t u64(const uint8_t *p) { return *(const uint64_t *)p; }

void kernel_main(uint64_t start_info_pa)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)start_info_pa;
    const char *cmdline = si->cmdline_paddr ? (const char *)si->cmdline_paddr : "";
    int reset = cmdline[0] == 'r' && cmdline[1] == 'e' && cmdline[2] == 's' && cmdline[3] == 'e' && cmdline[4] == 't';

    const uint8_t *rsdp = (const uint8_t *)si->rsdp_paddr;
    if (!rsdp || rsdp[0] != 'R' || rsdp[1] != 'S' || rsdp[2] != 'D' || rsdp[7] != ' ') {
        fail("no RSDP at rsdp_paddr");
    }
    if (!sums_to_zero(rsdp, 20) || rsdp[15] < 2 || !sums_to_zero(rsdp, u32(rsdp + 20))) {
        fail("RSDP checksum or revision");
    }
    const uint8_t *xsdt = table(u64(rsdp + 24), "XSDT");
    if (!xsdt) {
        fail("XSDT");
    }
    uint32_t n = (u32(xsdt + 4) - 36) / 8;
    debug_printf("acpi: RSDP rev %u at %lx, XSDT at %lx with %u tables\n", rsdp[15], si->rsdp_paddr, u64(rsdp + 24), n);
    const uint8_t *fadt = 0;
    const uint8_t *madt = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pa = u64(xsdt + 36 + 8 * i);
        if (!fadt) {
            fadt = table(pa, "FACP");
        }
        if (!madt) {
            madt = table(pa, "APIC");
        }
    }
    if (!fadt || !madt) {
        fail("no FACP or no APIC in the XSDT");
    }
    if (!(u32(fadt + 112) & (1u << 20))) {
        fail("the FADT is not hardware-reduced");
    }
    const uint8_t *dsdt = table(u64(fadt + 140), "DSDT");
    if (!dsdt) {
        fail("DSDT");
    }
    uint32_t lapics = 0;
    for (uint32_t at = 44; at + 2 <= u32(madt + 4) && madt[at + 1] >= 2; at += madt[at + 1]) {
        if (madt[at] == 0 && (u32(madt + at + 4) & 1)) {
            lapics++;
        }
    }
    debug_printf("acpi: FACP rev %u hardware-reduced, DSDT %u bytes, APIC with %u local APICs\n", fadt[8],
                 u32(dsdt + 4), lapics);

    if (reset) {
        const uint8_t *gas = fadt + 116;
        if (!(u32(fadt + 112) & (1u << 10)) || gas[0] != 1) {
            fail("no I/O reset register");
        }
        debug_printf("acpi: reset register: I/O port 0x%lx, value %u; resetting\n", u64(gas + 4), fadt[128]);
        outb((uint16_t)u64(gas + 4), fadt[128]);
        fail("still running after the reset");
    }

    /* \_S5: NameOp '_S5_' PackageOp PkgLength NumElements, then the first element (SLP_TYPa) */
    uint32_t len = u32(dsdt + 4);
    int slp_typ = -1;
    for (uint32_t i = 36; i + 9 < len; i++) {
        if (dsdt[i] == 0x08 && dsdt[i + 1] == '_' && dsdt[i + 2] == 'S' && dsdt[i + 3] == '5' && dsdt[i + 4] == '_'
            && dsdt[i + 5] == 0x12) {
            const uint8_t *e = dsdt + i + 8; /* after the one-byte PkgLength and NumElements */
            slp_typ = e[0] == 0x0a ? e[1] : e[0] == 0x01 ? 1 : e[0] == 0x00 ? 0 : -1;
            break;
        }
    }
    if (slp_typ < 0) {
        fail("no \\_S5 package in the DSDT");
    }
    const uint8_t *gas = fadt + 244; /* SLEEP_CONTROL_REG */
    if (gas[0] != 1) {
        fail("the sleep control register is not an I/O port");
    }
    debug_printf("acpi: \\_S5 sleep type %d; sleep control register: I/O port 0x%lx; powering off\n", slp_typ,
                 u64(gas + 4));
    outb((uint16_t)u64(gas + 4), (uint8_t)(((slp_typ & 7) << 2) | (1 << 5)));
    fail("still running after S5");
}
