/*
 * devices/lapic.c - local APIC, xAPIC mode (Intel SDM Vol. 3A ch. 10 "Advanced
 * Programmable Interrupt Controller"; ch. 11 in editions from 2022 on).
 *
 * Owns: the per-CPU APIC register file (ID, version, TPR/APR/PPR, EOI, LDR,
 * DFR, SVR, ISR/TMR/IRR, ESR, ICR, the six LVT entries, the timer), the CPU's
 * INTR/NMI/INIT/SIPI pins, the INTA cycle (struct intc_port), IA32_APIC_BASE,
 * and the machine-wide "APIC bus" (lapic_set_cluster) over which IPIs,
 * IOAPIC redirection messages and MSIs find their destination APICs.
 *
 * Decided (write-down of choices where the SDM leaves room, QEMU-like):
 *  - Version register 0x00050014: version 0x14 (integrated xAPIC), max LVT
 *    entry 5 (timer, thermal, perfmon, LINT0, LINT1, error; no CMCI), no EOI
 *    broadcast suppression. x2APIC is not offered: setting IA32_APIC_BASE.EXTD
 *    is refused (#GP).
 *  - Timer base clock is 1 GHz, i.e. one tick of the divide-by-1 counter per
 *    virtual nanosecond (QEMU does the same). The current count is computed
 *    from clock_ns() on each read; no per-tick work. Linux takes the APIC
 *    timer's input clock to be the core crystal (arch/x86/kernel/tsc.c,
 *    native_calibrate_tsc sets lapic_timer_period from CPUID 0x15/0x16), so
 *    if the CPU model reports a crystal in CPUID 0x15 it must be 1 GHz
 *    (e.g. EAX=1, EBX=2, ECX=1000000000 for the 2 GHz TSC); with ECX = 0
 *    and no leaf 0x16 Linux calibrates the timer against the PIT/HPET.
 *  - TSC-deadline mode is not implemented (the CPU does not advertise it):
 *    LVT timer mode bit 18 is reserved and IA32_TSC_DEADLINE is not owned.
 *  - Lowest-priority delivery goes to the first matching APIC (no focus or
 *    arbitration), as the xAPIC architecture allows "any" choice.
 *  - Reset state of the BSP has LINT0 = ExtINT unmasked (what the BIOS sets
 *    for MP-spec virtual-wire mode; QEMU and KVM do the same), so the 8259's
 *    INTR reaches the CPU both before and after the guest enables the APIC.
 *    The PIC's INTR passes through when the APIC is globally disabled
 *    (IA32_APIC_BASE[11] = 0) or LINT0 is unmasked with delivery mode ExtINT.
 *  - Fixed interrupts arriving at a software-disabled APIC (SVR[8] = 0) are
 *    dropped (KVM behaviour); INIT/NMI/SIPI are still accepted (SDM 10.4.7.2).
 *    Disabling through the SVR sets every LVT mask bit, and LVT writes while
 *    disabled keep the mask set.
 *  - Banked MMIO page (SMP): every CPU sees its own APIC at the same
 *    physical address (SDM Vol. 3A 10.4.1), but the bus has one MMIO map.
 *    So one region per distinct APIC base is mapped, shared by every APIC
 *    of that bus using that base, and an access goes to the APIC of the CPU
 *    making it: bus_current_cpu() (set by whatever runs the vCPU) indexes
 *    the cluster, whose entry i is the APIC of vCPU i (lapic_set_cluster).
 *    An access made on behalf of no CPU (-1), or of a CPU not in this
 *    bus's cluster (unit tests), reaches the APIC that mapped the page. A
 *    CPU whose own APIC was relocated elsewhere sees the old page as
 *    unassigned (all-ones, writes dropped), as the page then decodes to
 *    memory (10.4.5) and we have none there.
 *  - Delivery is instantaneous: ICR delivery status always reads idle.
 *  - Clearing IA32_APIC_BASE[11] resets the register file to its power-up
 *    state (10.4.3) but leaves the MMIO page mapped (the SDM lets the page
 *    decode to memory then; nothing Linux relies on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "util/log.h"

/* IA32_APIC_BASE MSR (SDM Vol. 3A 10.4.4). */
#define MSR_IA32_APIC_BASE      0x1b
#define APIC_BASE_BSP           (1ull << 8)
#define APIC_BASE_EXTD          (1ull << 10)
#define APIC_BASE_EN            (1ull << 11)
#define APIC_BASE_ADDR_MASK     0x000ffffffffff000ull  /* MAXPHYADDR 52 at most */
#define APIC_PHYS_BITS          40                    /* bits above this are reserved */

/* Register offsets (SDM Vol. 3A Table 10-1). */
enum {
    APIC_REG_ID = 0x020, APIC_REG_VERSION = 0x030, APIC_REG_TPR = 0x080, APIC_REG_APR = 0x090,
    APIC_REG_PPR = 0x0a0, APIC_REG_EOI = 0x0b0, APIC_REG_RRD = 0x0c0, APIC_REG_LDR = 0x0d0,
    APIC_REG_DFR = 0x0e0, APIC_REG_SVR = 0x0f0, APIC_REG_ISR = 0x100, APIC_REG_TMR = 0x180,
    APIC_REG_IRR = 0x200, APIC_REG_ESR = 0x280, APIC_REG_LVT_CMCI = 0x2f0,
    APIC_REG_ICR_LO = 0x300, APIC_REG_ICR_HI = 0x310, APIC_REG_LVT_TIMER = 0x320,
    APIC_REG_LVT_ERROR = 0x370, APIC_REG_TIMER_ICR = 0x380, APIC_REG_TIMER_CCR = 0x390,
    APIC_REG_TIMER_DCR = 0x3e0,
};

/* LVT indexes, in register order 0x320..0x370. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERFMON, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define APIC_VERSION            0x00050014u
#define LVT_MASKED              (1u << 16)
#define LVT_TIMER_PERIODIC      (1u << 17)
#define LVT_LEVEL_TRIGGER       (1u << 15)
#define LVT_DELIVERY_MODE(v)    (((v) >> 8) & 7)
#define SVR_ENABLE              (1u << 8)

/* Delivery modes (SDM Vol. 3A 10.5.1, 10.6.1). */
enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6,
       DM_EXTINT = 7 };

/* ESR bits (SDM Vol. 3A 10.5.3). */
#define ESR_SEND_ILLEGAL_VECTOR    (1u << 5)
#define ESR_RECEIVE_ILLEGAL_VECTOR (1u << 6)
#define ESR_ILLEGAL_REGISTER       (1u << 7)

/* Writable bits of each LVT entry (SDM Vol. 3A Figure 10-8). */
static const uint32_t lvt_write_mask[LVT_COUNT] = {
    [LVT_TIMER] = 0x300ff, [LVT_THERMAL] = 0x107ff, [LVT_PERFMON] = 0x107ff,
    [LVT_LINT0] = 0x1a7ff, [LVT_LINT1] = 0x1a7ff, [LVT_ERROR] = 0x100ff,
};

/** One local APIC. */
struct lapic {
    struct bus *bus;
    struct irq_line cpu_pins;       /* .line is overridden with enum cpu_pin */
    struct i8259 *pic;              /* ExtINT source behind LINT0, may be NULL */
    uint64_t apic_base;             /* IA32_APIC_BASE */
    bool mmio_mapped;               /* this APIC uses the page at mmio_gpa (maybe shared) */
    uint64_t mmio_gpa;

    uint32_t id;                    /* ID register, xAPIC ID in bits 31:24 */
    uint32_t tpr, ldr, dfr, svr, esr, esr_pending;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];

    /* Timer (SDM Vol. 3A 10.5.4) */
    uint32_t timer_initial, timer_dcr;
    unsigned timer_shift;           /* log2 of the divisor */
    int64_t timer_start_ns;         /* when the current count was last (re)loaded */
    struct qtimer timer;

    int lint_level[2];
    bool extint_pending;            /* ExtINT message (IOAPIC/MSI) awaiting INTA */
    int intr_out;                   /* last level driven on CPU_PIN_INTR */

    lapic_eoi_fn *eoi_hook;
    void *eoi_opaque;
};

/*
 * The APIC bus: every APIC of the machine (lapic_set_cluster); entry i is
 * the APIC of vCPU i. Decided: one machine per process, so this is a file
 * static (pre-SMP design); it is written only while the board is built or
 * destroyed, and read by every vCPU: with a thread per vCPU it stays
 * read-only while they run (delivery into an APIC then needs that APIC's
 * lock - see docs/ARCHITECTURE.md "SMP").
 */
#define LAPIC_CLUSTER_MAX 256
static struct lapic *cluster[LAPIC_CLUSTER_MAX];
static int cluster_count;

/* ---------------------------------------------------------------- helpers */

static void cpu_pin(struct lapic *apic, enum cpu_pin pin, int level)
{
    if (apic->cpu_pins.set_level)
        apic->cpu_pins.set_level(apic->cpu_pins.opaque, pin, level);
}

/** Highest set bit of a 256-bit register array, or -1. */
static int vec_highest(const uint32_t reg[8])
{
    for (int i = 7; i >= 0; i--)
        if (reg[i])
            return i * 32 + 31 - __builtin_clz(reg[i]);
    return -1;
}

static inline void vec_set(uint32_t reg[8], unsigned v) { reg[(v >> 5) & 7] |= 1u << (v & 31); }
static inline void vec_clear(uint32_t reg[8], unsigned v) { reg[(v >> 5) & 7] &= ~(1u << (v & 31)); }
static inline bool vec_test(const uint32_t reg[8], unsigned v)
{
    return reg[(v >> 5) & 7] & (1u << (v & 31));
}

static bool hw_enabled(const struct lapic *apic) { return apic->apic_base & APIC_BASE_EN; }
static bool sw_enabled(const struct lapic *apic) { return apic->svr & SVR_ENABLE; }

/** PPR (SDM Vol. 3A 10.8.3.1): TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4. */
static uint32_t lapic_ppr(const struct lapic *apic)
{
    int isrv = vec_highest(apic->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (apic->tpr & 0xf0) >= isr_class ? apic->tpr & 0xff : isr_class;
}

/** APR (SDM Vol. 3A 10.8.3.1 footnote, P6 family): as PPR with max(IRRV, ISRV). */
static uint32_t lapic_apr(const struct lapic *apic)
{
    int v = MAX(vec_highest(apic->isr), vec_highest(apic->irr));
    uint32_t cls = v < 0 ? 0 : (uint32_t)v & 0xf0;
    return (apic->tpr & 0xf0) >= cls ? apic->tpr & 0xff : cls;
}

/** The highest IRR vector deliverable now (class above PPR's), or -1. */
static int lapic_pending_vector(const struct lapic *apic)
{
    if (!hw_enabled(apic) || !sw_enabled(apic))
        return -1;
    int irrv = vec_highest(apic->irr);
    if (irrv < 0 || ((uint32_t)irrv & 0xf0) <= (lapic_ppr(apic) & 0xf0))
        return -1;
    return irrv;
}

/** Does the 8259's INTR reach the CPU (virtual wire through LINT0, or APIC off)? */
static bool lapic_accepts_pic(const struct lapic *apic)
{
    uint32_t lvt0 = apic->lvt[LVT_LINT0];
    if (!hw_enabled(apic))
        return true;
    return !(lvt0 & LVT_MASKED) && LVT_DELIVERY_MODE(lvt0) == DM_EXTINT;
}

/** Re-evaluate the CPU's INTR pin (SDM Vol. 3A 10.8.4 interrupt acceptance). */
static void lapic_update_intr(struct lapic *apic)
{
    int level = lapic_pending_vector(apic) >= 0 || apic->extint_pending ||
                (apic->lint_level[0] && lapic_accepts_pic(apic));
    if (level != apic->intr_out) {
        apic->intr_out = level;
        cpu_pin(apic, CPU_PIN_INTR, level);
    }
}

static void lapic_error(struct lapic *apic, uint32_t esr_bits);

/**
 * Accept a fixed-mode interrupt into IRR (SDM Vol. 3A 10.8.3): vectors 0-15
 * are illegal (ESR "receive illegal vector"); TMR records the trigger mode.
 */
static void lapic_accept_fixed(struct lapic *apic, uint8_t vector, bool level_trigger)
{
    if (!hw_enabled(apic) || !sw_enabled(apic))
        return;
    if (vector < 16) {
        lapic_error(apic, ESR_RECEIVE_ILLEGAL_VECTOR);
        return;
    }
    vec_set(apic->irr, vector);
    if (level_trigger)
        vec_set(apic->tmr, vector);
    else
        vec_clear(apic->tmr, vector);
    lapic_update_intr(apic);
}

/** Record an APIC error and signal it through LVT Error (SDM Vol. 3A 10.5.3). */
static void lapic_error(struct lapic *apic, uint32_t esr_bits)
{
    apic->esr_pending |= esr_bits;
    uint32_t lvt = apic->lvt[LVT_ERROR];
    /* An illegal vector in LVT Error itself would loop: require >= 16. */
    if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16)
        lapic_accept_fixed(apic, lvt & 0xff, false);
}

/** INIT reset of the register file (SDM Vol. 3A 10.4.7.3): all but ID and base. */
static void lapic_reset_regs(struct lapic *apic)
{
    apic->tpr = apic->ldr = apic->esr = apic->esr_pending = 0;
    apic->dfr = 0xffffffffu;
    apic->svr = 0xff;
    memset(apic->isr, 0, sizeof(apic->isr));
    memset(apic->tmr, 0, sizeof(apic->tmr));
    memset(apic->irr, 0, sizeof(apic->irr));
    apic->icr_lo = apic->icr_hi = 0;
    for (int i = 0; i < LVT_COUNT; i++)
        apic->lvt[i] = LVT_MASKED;
    apic->timer_initial = apic->timer_dcr = 0;
    apic->timer_shift = 1;      /* DCR 0 = divide by 2 */
    apic->timer_start_ns = 0;
    qtimer_del(&apic->timer);
    apic->extint_pending = false;
}

/* ---------------------------------------------------------------- timer */

/** Divisor shift from the divide configuration register (SDM Vol. 3A Figure 10-10). */
static unsigned dcr_shift(uint32_t dcr)
{
    unsigned v = (dcr & 3) | ((dcr >> 1) & 4);
    return (v + 1) & 7;         /* 0b111 = divide by 1, else divide by 2 << v */
}

/** Timer ticks elapsed since the last load (at the divided rate). */
static uint64_t timer_elapsed_ticks(const struct lapic *apic, int64_t now)
{
    int64_t d = now - apic->timer_start_ns;
    return d <= 0 ? 0 : (uint64_t)d >> apic->timer_shift;
}

/** Current count (SDM Vol. 3A 10.5.4): counts down to 0 (one-shot) or reloads. */
static uint32_t timer_current_count(const struct lapic *apic, int64_t now)
{
    if (!apic->timer_initial)
        return 0;
    uint64_t e = timer_elapsed_ticks(apic, now);
    if (apic->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC)
        return apic->timer_initial - (uint32_t)(e % apic->timer_initial);
    return e >= apic->timer_initial ? 0 : apic->timer_initial - (uint32_t)e;
}

/** Arm the qtimer for the next time the count reaches zero, or disarm. */
static void timer_rearm(struct lapic *apic, int64_t now)
{
    if (!apic->timer_initial) {
        qtimer_del(&apic->timer);
        return;
    }
    uint64_t e = timer_elapsed_ticks(apic, now);
    uint64_t period_ns = (uint64_t)apic->timer_initial << apic->timer_shift;
    if (apic->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) {
        uint64_t k = e / apic->timer_initial + 1;
        qtimer_mod(&apic->timer, apic->timer_start_ns + (int64_t)(k * period_ns));
    } else if (e < apic->timer_initial) {
        qtimer_mod(&apic->timer, apic->timer_start_ns + (int64_t)period_ns);
    } else {
        qtimer_del(&apic->timer);
    }
}

/** qtimer callback: the count reached zero. */
static void lapic_timer_expired(void *opaque)
{
    struct lapic *apic = opaque;
    int64_t now = clock_ns();
    uint32_t lvt = apic->lvt[LVT_TIMER];
    if (!(lvt & LVT_MASKED))
        lapic_accept_fixed(apic, lvt & 0xff, false);
    if (lvt & LVT_TIMER_PERIODIC)
        timer_rearm(apic, now);
}

/* ---------------------------------------------------------------- APIC bus */

/** Does @apic accept a message for @dest (SDM Vol. 3A 10.6.2)? */
static bool lapic_match_dest(const struct lapic *apic, uint8_t dest, bool logical)
{
    if (!logical)
        return dest == 0xff || (apic->id >> 24) == dest;
    if (dest == 0xff)
        return true;
    uint8_t ldr = apic->ldr >> 24;
    if ((apic->dfr >> 28) == 0xf)                   /* flat model */
        return (ldr & dest) != 0;
    /* cluster model: bits 7:4 cluster, 3:0 member bitmap */
    return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0x0f) != 0;
}

/** Deliver one message to one APIC according to its delivery mode. */
static void lapic_receive(struct lapic *apic, uint8_t vector, uint8_t mode, bool level_trigger,
                          bool level_assert)
{
    switch (mode) {
    case DM_FIXED:
    case DM_LOWEST:
        lapic_accept_fixed(apic, vector, level_trigger);
        break;
    case DM_NMI:
        cpu_pin(apic, CPU_PIN_NMI, 1);
        cpu_pin(apic, CPU_PIN_NMI, 0);
        break;
    case DM_SMI:
        cpu_pin(apic, CPU_PIN_SMI, 1);
        cpu_pin(apic, CPU_PIN_SMI, 0);
        break;
    case DM_INIT:
        if (level_trigger && !level_assert)
            break;                      /* INIT level de-assert: arbitration ID sync only */
        lapic_reset_regs(apic);
        lapic_update_intr(apic);
        cpu_pin(apic, CPU_PIN_INIT, 1);
        cpu_pin(apic, CPU_PIN_INIT, 0);
        break;
    case DM_STARTUP:
        cpu_pin(apic, CPU_PIN_SIPI, vector);
        break;
    case DM_EXTINT:
        apic->extint_pending = true;
        lapic_update_intr(apic);
        break;
    default:
        qlog(LOG_GUEST_ERRORS, "lapic %u: reserved delivery mode %u", apic->id >> 24, mode);
        break;
    }
}

void lapic_deliver(struct lapic *apic, uint8_t vector, uint8_t delivery_mode, bool level_trigger)
{
    if (apic)
        lapic_receive(apic, vector, delivery_mode & 7, level_trigger, true);
}

void lapic_deliver_dest(uint8_t dest, bool dest_logical, uint8_t delivery_mode, uint8_t vector,
                        bool level_trigger)
{
    delivery_mode &= 7;
    for (int i = 0; i < cluster_count; i++) {
        struct lapic *a = cluster[i];
        if (!lapic_match_dest(a, dest, dest_logical))
            continue;
        lapic_receive(a, vector, delivery_mode, level_trigger, true);
        if (delivery_mode == DM_LOWEST)
            break;                      /* first match: no arbitration */
    }
}

void lapic_send_msi(uint64_t addr, uint32_t data)
{
    if ((addr & 0xfff00000u) != 0xfee00000u) {
        qlog(LOG_GUEST_ERRORS, "MSI to non-APIC address 0x%llx", (unsigned long long)addr);
        return;
    }
    /* SDM Vol. 3A 10.11.1/10.11.2: dest ID 19:12, DM bit 2; vector 7:0, mode 10:8, TM 15 */
    lapic_deliver_dest((addr >> 12) & 0xff, addr & 4, (data >> 8) & 7, data & 0xff,
                       data & (1u << 15));
}

void lapic_set_cluster(struct lapic **apics, int count)
{
    if (count < 0)
        count = 0;
    if (count > LAPIC_CLUSTER_MAX)
        count = LAPIC_CLUSTER_MAX;
    for (int i = 0; i < count; i++)
        cluster[i] = apics[i];
    cluster_count = count;
}

/** Send the IPI written to ICR low (SDM Vol. 3A 10.6.1). */
static void lapic_send_ipi(struct lapic *apic)
{
    uint32_t lo = apic->icr_lo;
    uint8_t vector = lo & 0xff, mode = (lo >> 8) & 7;
    bool logical = lo & (1u << 11), assert = lo & (1u << 14), level = lo & (1u << 15);
    unsigned shorthand = (lo >> 18) & 3;
    uint8_t dest = apic->icr_hi >> 24;

    if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
        lapic_error(apic, ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    if (mode == DM_EXTINT || mode == 3) {
        qlog(LOG_GUEST_ERRORS, "lapic %u: ICR delivery mode %u is reserved", apic->id >> 24, mode);
        return;
    }
    if (log_enabled(LOG_INT))
        qlog(LOG_INT, "lapic %u: IPI mode %u vector 0x%02x %s dest 0x%02x shorthand %u",
             apic->id >> 24, mode, vector, logical ? "logical" : "physical", dest, shorthand);
    /* For IPIs only INIT level de-assert uses the level bit; others are edge. */
    bool level_trigger = mode == DM_INIT && level;
    for (int i = 0; i < (shorthand == 1 ? 1 : cluster_count); i++) {
        struct lapic *t = shorthand == 1 ? apic : cluster[i];
        if (shorthand == 0 && !lapic_match_dest(t, dest, logical))
            continue;
        if (shorthand == 3 && t == apic)
            continue;
        lapic_receive(t, vector, mode, level_trigger, assert || !level_trigger);
        if (mode == DM_LOWEST && shorthand == 0)
            break;
    }
    /* Self IPI with an APIC not on the bus (no cluster set): still reaches itself. */
    if (shorthand == 2) {
        bool found = false;
        for (int i = 0; i < cluster_count; i++)
            found |= cluster[i] == apic;
        if (!found)
            lapic_receive(apic, vector, mode, level_trigger, true);
    }
}

/* ---------------------------------------------------------------- EOI, INTA */

/** EOI (SDM Vol. 3A 10.8.5): retire the highest ISR vector; broadcast if level. */
static void lapic_eoi(struct lapic *apic)
{
    int v = vec_highest(apic->isr);
    if (v < 0)
        return;
    vec_clear(apic->isr, v);
    if (vec_test(apic->tmr, v) && apic->eoi_hook)
        apic->eoi_hook(apic->eoi_opaque, (uint8_t)v);
    lapic_update_intr(apic);
}

/** INTA (SDM Vol. 3A 10.8.4): IRR -> ISR, or the 8259's vector for ExtINT. */
static int lapic_inta(void *opaque)
{
    struct lapic *apic = opaque;
    int v = lapic_pending_vector(apic);
    if (v >= 0) {
        vec_clear(apic->irr, v);
        vec_set(apic->isr, v);
        lapic_update_intr(apic);
        return v;
    }
    if (apic->extint_pending || (apic->lint_level[0] && lapic_accepts_pic(apic))) {
        apic->extint_pending = false;
        v = apic->pic ? i8259_inta(apic->pic) : -1;
        lapic_update_intr(apic);
        return v;
    }
    lapic_update_intr(apic);
    /* Withdrawn request: the spurious vector (SDM Vol. 3A 10.9). */
    return hw_enabled(apic) && sw_enabled(apic) ? (int)(apic->svr & 0xff) : -1;
}

/* ---------------------------------------------------------------- registers */

uint32_t lapic_reg_read(struct lapic *apic, uint32_t offset)
{
    if (offset & 0xf || offset >= 0x400) {
        qlog(LOG_GUEST_ERRORS, "lapic: unaligned/out-of-range read at 0x%x", offset);
        return 0;
    }
    switch (offset) {
    case APIC_REG_ID: return apic->id;
    case APIC_REG_VERSION: return APIC_VERSION;
    case APIC_REG_TPR: return apic->tpr;
    case APIC_REG_APR: return lapic_apr(apic);
    case APIC_REG_PPR: return lapic_ppr(apic);
    case APIC_REG_EOI: return 0;                 /* write-only */
    case APIC_REG_RRD: return 0;
    case APIC_REG_LDR: return apic->ldr;
    case APIC_REG_DFR: return apic->dfr;
    case APIC_REG_SVR: return apic->svr;
    case APIC_REG_ESR: return apic->esr;
    case APIC_REG_ICR_LO: return apic->icr_lo & ~(1u << 12);   /* delivery status idle */
    case APIC_REG_ICR_HI: return apic->icr_hi;
    case APIC_REG_TIMER_ICR: return apic->timer_initial;
    case APIC_REG_TIMER_CCR: return timer_current_count(apic, clock_ns());
    case APIC_REG_TIMER_DCR: return apic->timer_dcr;
    default: break;
    }
    if (offset >= APIC_REG_ISR && offset < APIC_REG_ISR + 0x80)
        return apic->isr[(offset - APIC_REG_ISR) >> 4];
    if (offset >= APIC_REG_TMR && offset < APIC_REG_TMR + 0x80)
        return apic->tmr[(offset - APIC_REG_TMR) >> 4];
    if (offset >= APIC_REG_IRR && offset < APIC_REG_IRR + 0x80)
        return apic->irr[(offset - APIC_REG_IRR) >> 4];
    if (offset >= APIC_REG_LVT_TIMER && offset <= APIC_REG_LVT_ERROR)
        return apic->lvt[(offset - APIC_REG_LVT_TIMER) >> 4];
    lapic_error(apic, ESR_ILLEGAL_REGISTER);
    qlog(LOG_GUEST_ERRORS, "lapic: read of reserved register 0x%x", offset);
    return 0;
}

/** Write an LVT entry, honouring reserved bits and the software-disable mask. */
static void lapic_write_lvt(struct lapic *apic, int idx, uint32_t value)
{
    int64_t now = clock_ns();
    uint32_t old = apic->lvt[idx];
    value &= lvt_write_mask[idx];
    if (!sw_enabled(apic))
        value |= LVT_MASKED;
    if (idx == LVT_TIMER && ((old ^ value) & LVT_TIMER_PERIODIC) && apic->timer_initial) {
        /* Mode change: keep the current count, continue in the new mode. */
        uint32_t cur = timer_current_count(apic, now);
        apic->timer_start_ns = now - ((int64_t)(apic->timer_initial - cur) << apic->timer_shift);
    }
    apic->lvt[idx] = value;
    if (idx == LVT_TIMER)
        timer_rearm(apic, now);
    if (idx == LVT_LINT0 || idx == LVT_LINT1)
        lapic_update_intr(apic);
}

void lapic_reg_write(struct lapic *apic, uint32_t offset, uint32_t value)
{
    if (offset & 0xf || offset >= 0x400) {
        qlog(LOG_GUEST_ERRORS, "lapic: unaligned/out-of-range write at 0x%x", offset);
        return;
    }
    int64_t now;
    switch (offset) {
    case APIC_REG_ID:
        apic->id = value & 0xff000000u;
        return;
    case APIC_REG_TPR:
        apic->tpr = value & 0xff;
        lapic_update_intr(apic);
        return;
    case APIC_REG_EOI:
        lapic_eoi(apic);
        return;
    case APIC_REG_LDR:
        apic->ldr = value & 0xff000000u;
        return;
    case APIC_REG_DFR:
        apic->dfr = (value & 0xf0000000u) | 0x0fffffffu;
        return;
    case APIC_REG_SVR:
        apic->svr = value & 0x3ff;
        if (!sw_enabled(apic))
            for (int i = 0; i < LVT_COUNT; i++)
                apic->lvt[i] |= LVT_MASKED;
        lapic_update_intr(apic);
        return;
    case APIC_REG_ESR:
        apic->esr = apic->esr_pending;      /* write arms: latch and clear (10.5.3) */
        apic->esr_pending = 0;
        return;
    case APIC_REG_ICR_LO:
        apic->icr_lo = value & 0x000ccfffu;
        lapic_send_ipi(apic);
        return;
    case APIC_REG_ICR_HI:
        apic->icr_hi = value & 0xff000000u;
        return;
    case APIC_REG_TIMER_ICR:
        apic->timer_initial = value;
        apic->timer_start_ns = clock_ns();
        timer_rearm(apic, apic->timer_start_ns);
        return;
    case APIC_REG_TIMER_DCR: {
        now = clock_ns();
        uint32_t cur = timer_current_count(apic, now);
        apic->timer_dcr = value & 0xb;
        apic->timer_shift = dcr_shift(apic->timer_dcr);
        if (apic->timer_initial) {
            /* Keep the count where it is; it continues at the new rate. */
            apic->timer_start_ns =
                now - ((int64_t)(apic->timer_initial - cur) << apic->timer_shift);
            timer_rearm(apic, now);
        }
        return;
    }
    case APIC_REG_VERSION: case APIC_REG_APR: case APIC_REG_PPR: case APIC_REG_RRD:
    case APIC_REG_TIMER_CCR:
        qlog(LOG_GUEST_ERRORS, "lapic: write to read-only register 0x%x", offset);
        return;
    default:
        break;
    }
    if (offset >= APIC_REG_LVT_TIMER && offset <= APIC_REG_LVT_ERROR) {
        lapic_write_lvt(apic, (offset - APIC_REG_LVT_TIMER) >> 4, value);
        return;
    }
    if (offset >= APIC_REG_ISR && offset < APIC_REG_IRR + 0x80) {
        qlog(LOG_GUEST_ERRORS, "lapic: write to read-only ISR/TMR/IRR 0x%x", offset);
        return;
    }
    lapic_error(apic, ESR_ILLEGAL_REGISTER);
    qlog(LOG_GUEST_ERRORS, "lapic: write of reserved register 0x%x", offset);
}

/* ---------------------------------------------------------------- MMIO */

/*
 * The APIC an access to the page mapped by @owner reaches (header: banked
 * MMIO page), or NULL when the accessing CPU's own APIC is elsewhere.
 */
static struct lapic *lapic_mmio_target(struct lapic *owner)
{
    int cpu = bus_current_cpu();
    if (cpu < 0 || cpu >= cluster_count || cluster[cpu]->bus != owner->bus)
        return owner;
    struct lapic *self = cluster[cpu];
    if (self->mmio_mapped && self->mmio_gpa == owner->mmio_gpa)
        return self;
    return NULL;
}

static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct lapic *apic = lapic_mmio_target(opaque);
    if (!apic) {
        qlog(LOG_GUEST_ERRORS, "lapic: CPU %d reads an APIC page that is not its own",
             bus_current_cpu());
        return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
    }
    uint32_t v = lapic_reg_read(apic, (uint32_t)(offset & ~3ull) & 0xfff);
    unsigned shift = (offset & 3) * 8;
    return size >= 4 ? v : (v >> shift) & ((1u << (size * 8)) - 1);
}

static void lapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    /* SDM 10.4.1: registers are accessed with 32-bit aligned loads/stores only. */
    if (size != 4 || (offset & 3)) {
        qlog(LOG_GUEST_ERRORS, "lapic: %u-byte write at 0x%llx ignored", size,
             (unsigned long long)offset);
        return;
    }
    struct lapic *apic = lapic_mmio_target(opaque);
    if (!apic) {
        qlog(LOG_GUEST_ERRORS, "lapic: CPU %d writes an APIC page that is not its own",
             bus_current_cpu());
        return;
    }
    lapic_reg_write(apic, (uint32_t)offset & 0xfff, (uint32_t)value);
}

static const struct io_ops lapic_mmio_ops = {
    .read = lapic_mmio_read, .write = lapic_mmio_write, .min_access = 1, .max_access = 4,
};

/*
 * Stop using the page @apic had mapped. The region goes away with its last
 * user; while another APIC of the bus still uses it, it is handed to that
 * one (the owner is only the fallback target, lapic_mmio_target).
 */
static void lapic_unmap(struct lapic *apic)
{
    if (!apic->mmio_mapped)
        return;
    apic->mmio_mapped = false;
    const struct io_region *r = io_space_find(&apic->bus->mmio, apic->mmio_gpa);
    if (!r || r->ops != &lapic_mmio_ops || r->opaque != apic)
        return;                         /* someone else's region: leave it */
    struct lapic *heir = NULL;
    for (int i = 0; i < cluster_count && !heir; i++) {
        struct lapic *o = cluster[i];
        if (o != apic && o->bus == apic->bus && o->mmio_mapped && o->mmio_gpa == apic->mmio_gpa)
            heir = o;
    }
    struct io_region copy = *r;
    io_space_remove(&apic->bus->mmio, apic->mmio_gpa);
    if (heir) {
        copy.opaque = heir;
        io_space_add(&apic->bus->mmio, &copy);   /* same range just freed: cannot clash */
    }
}

/** Map (or share) the APIC page at IA32_APIC_BASE for @apic (header: banked page). */
static void lapic_map(struct lapic *apic)
{
    if (!apic->bus)
        return;
    lapic_unmap(apic);
    uint64_t base = apic->apic_base & APIC_BASE_ADDR_MASK;
    const struct io_region *shared = io_space_find(&apic->bus->mmio, base);
    if (shared && shared->ops == &lapic_mmio_ops && shared->base == base) {
        apic->mmio_mapped = true;       /* another CPU's APIC already maps it */
        apic->mmio_gpa = base;
        return;
    }
    struct io_region r = {
        .base = base, .size_bytes = 0x1000,
        .ops = &lapic_mmio_ops, .opaque = apic, .name = "lapic",
    };
    if (io_space_add(&apic->bus->mmio, &r) == 0) {
        apic->mmio_mapped = true;
        apic->mmio_gpa = r.base;
    } else {
        qlog(LOG_GUEST_ERRORS, "lapic: cannot map at 0x%llx (overlap)",
             (unsigned long long)r.base);
    }
}

/* ---------------------------------------------------------------- CPU port */

static uint8_t lapic_tpr_read(void *opaque)
{
    return ((struct lapic *)opaque)->tpr >> 4;
}

static void lapic_tpr_write(void *opaque, uint8_t cr8)
{
    struct lapic *apic = opaque;
    apic->tpr = (uint32_t)(cr8 & 0xf) << 4;      /* SDM Vol. 3A 10.8.6.1 */
    lapic_update_intr(apic);
}

static bool lapic_msr_read(void *opaque, uint32_t msr, uint64_t *value)
{
    struct lapic *apic = opaque;
    if (msr != MSR_IA32_APIC_BASE)
        return false;
    *value = apic->apic_base;
    return true;
}

static bool lapic_msr_write(void *opaque, uint32_t msr, uint64_t value)
{
    struct lapic *apic = opaque;
    if (msr != MSR_IA32_APIC_BASE)
        return false;
    /* Reserved: bits 7:0, 9, EXTD (no x2APIC), above MAXPHYADDR (SDM 10.4.4). */
    uint64_t reserved = 0xffull | (1ull << 9) | APIC_BASE_EXTD | ~((1ull << APIC_PHYS_BITS) - 1);
    if (value & reserved)
        return false;
    uint64_t old = apic->apic_base;
    apic->apic_base = (value & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
    if ((old & APIC_BASE_EN) && !(value & APIC_BASE_EN)) {
        /* Global disable: the APIC returns to its power-up state (10.4.3). */
        lapic_reset_regs(apic);
    }
    if ((old ^ apic->apic_base) & APIC_BASE_ADDR_MASK)
        lapic_map(apic);
    lapic_update_intr(apic);
    return true;
}

struct intc_port lapic_port(struct lapic *apic)
{
    return (struct intc_port){
        .opaque = apic, .inta = lapic_inta, .tpr_read = lapic_tpr_read,
        .tpr_write = lapic_tpr_write, .msr_read = lapic_msr_read, .msr_write = lapic_msr_write,
    };
}

/* ---------------------------------------------------------------- LINT0/1 */

/** LINT0/LINT1 input (SDM Vol. 3A 10.5.1); globally disabled = INTR/NMI wires. */
static void lapic_lint_set(void *opaque, int lint, int level)
{
    struct lapic *apic = opaque;
    if (lint < 0 || lint > 1)
        return;
    int old = apic->lint_level[lint];
    apic->lint_level[lint] = level = !!level;
    uint32_t lvt = apic->lvt[LVT_LINT0 + lint];

    if (!hw_enabled(apic)) {
        if (lint == 0)
            lapic_update_intr(apic);
        else if (level && !old)
            lapic_receive(apic, 0, DM_NMI, false, true);
        return;
    }
    if (lvt & LVT_MASKED) {
        if (lint == 0)
            lapic_update_intr(apic);
        return;
    }
    switch (LVT_DELIVERY_MODE(lvt)) {
    case DM_EXTINT:
        lapic_update_intr(apic);
        break;
    case DM_FIXED:
        if (level && !old)
            lapic_accept_fixed(apic, lvt & 0xff, lvt & LVT_LEVEL_TRIGGER);
        break;
    case DM_NMI: case DM_SMI: case DM_INIT:
        if (level && !old)
            lapic_receive(apic, 0, LVT_DELIVERY_MODE(lvt), false, true);
        break;
    default:
        break;
    }
    if (lint == 0)
        lapic_update_intr(apic);
}

struct irq_line lapic_lint(struct lapic *apic, int lint)
{
    return (struct irq_line){ .set_level = lapic_lint_set, .opaque = apic, .line = lint };
}

/* ---------------------------------------------------------------- creation */

void lapic_set_eoi_hook(struct lapic *apic, lapic_eoi_fn *hook, void *opaque)
{
    apic->eoi_hook = hook;
    apic->eoi_opaque = opaque;
}

uint64_t lapic_get_base(const struct lapic *apic)
{
    return apic->apic_base;
}

struct lapic *lapic_create(struct bus *bus, uint32_t apic_id, struct irq_line cpu_pins,
                           struct i8259 *pic)
{
    struct lapic *apic = calloc(1, sizeof(*apic));
    if (!apic)
        return NULL;
    apic->bus = bus;
    apic->cpu_pins = cpu_pins;
    apic->pic = pic;
    apic->id = (apic_id & 0xff) << 24;
    apic->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (apic_id == 0 ? APIC_BASE_BSP : 0);
    qtimer_init(&apic->timer, lapic_timer_expired, apic);
    lapic_reset_regs(apic);
    if (apic_id == 0)
        apic->lvt[LVT_LINT0] = DM_EXTINT << 8;   /* virtual wire, as the BIOS leaves it */
    lapic_map(apic);
    /* Join the APIC bus so a single-CPU board works without lapic_set_cluster. */
    if (cluster_count < LAPIC_CLUSTER_MAX)
        cluster[cluster_count++] = apic;
    return apic;
}
