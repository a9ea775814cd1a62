/* lapic.h: the virtual local APIC a vCPU sees (SDM vol. 3A, chapter 10), as xAPIC registers and x2APIC MSRs. */
#ifndef VMM_DEV_LAPIC_H
#define VMM_DEV_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define VLAPIC_DEFAULT_BASE 0xfee00000ull
#define VLAPIC_MSR_FIRST    0x800      /* x2APIC: MSR 0x800 + offset / 16 */
#define VLAPIC_MSR_LAST     0x8ff
#define VLAPIC_NO_DEADLINE  UINT64_MAX

/* The LVT entries, in register order from 0x320 (CMCI, at 0x2f0, is not modelled). */
enum vlapic_lvt { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/*
 * Time is the host TSC, passed in as now; the timer counts at the TSC's
 * rate before its divider, so a count converts to TSC cycles exactly.
 * The TPR's upper nibble is CR8, which the backend keeps: the caller
 * hands it in (vlapic_sync_tpr) before asking what is deliverable.  Every
 * field is private to lapic.c.
 */
struct vlapic {
	uint32_t id;
	bool enabled;             /* IA32_APIC_BASE.EN */
	bool x2apic;              /* IA32_APIC_BASE.EXTD */
	bool tsc_deadline_shown;  /* CPUID.1:ECX.TSC_DEADLINE: timer mode 2 exists */
	uint32_t tpr, svr, ldr, dfr, esr, esr_pending, icr_high;
	uint32_t lvt[LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_initial, timer_dcr;
	uint64_t timer_start;     /* host TSC when the count was (re)loaded */
	uint64_t deadline;        /* host TSC of the next timer interrupt, or VLAPIC_NO_DEADLINE */
	uint64_t tsc_deadline;    /* IA32_TSC_DEADLINE as the guest wrote it (guest TSC) */
	bool nmi_pending;         /* an NMI was sent to this vCPU */
	bool irr_nonempty;        /* a fast hint for the entry path */
	struct vlapic_counters {   /* for the VM's statistics */
		uint64_t timer_fired, accepted, eois, self_ipis, ipis_dropped;
	} count;
};

/* The state after reset (SDM 10.4.7.1): software-disabled, every LVT masked; base.EN/EXTD as given. */
void vlapic_reset(struct vlapic *l, uint32_t id, bool tsc_deadline_shown, uint64_t apic_base);
/* IA32_APIC_BASE changed (already checked by arch_check_apic_base). */
void vlapic_set_base(struct vlapic *l, uint64_t apic_base);

/*
 * A 32-bit access to the register at offset (0x000-0xff0) in xAPIC mode:
 * false for a reserved or write-only/read-only mismatch, which the model
 * ignores (reads give 0), as the SDM leaves such accesses undefined.
 */
bool vlapic_read(struct vlapic *l, uint32_t offset, uint64_t now, uint32_t *val);
bool vlapic_write(struct vlapic *l, uint32_t offset, uint32_t val, uint64_t now);
/* RDMSR/WRMSR 0x800-0x8ff in x2APIC mode; false means #GP (SDM 10.12.1.2, table 10-6). */
bool vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t now, uint64_t *val);
bool vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val, uint64_t now);
/* IA32_TSC_DEADLINE (SDM 10.5.4.1): host is the guest value less the TSC offset. */
uint64_t vlapic_tsc_deadline(const struct vlapic *l);
void vlapic_set_tsc_deadline(struct vlapic *l, uint64_t guest_tsc, uint64_t host_tsc);

/* CR8 as the backend holds it: the TPR's priority class. */
void vlapic_sync_tpr(struct vlapic *l, uint8_t cr8);
uint8_t vlapic_cr8(const struct vlapic *l);

/* The highest requested vector, or -1. */
int vlapic_highest_irr(const struct vlapic *l);
/* Whether vector may interrupt now: above the in-service class and the TPR's. */
bool vlapic_above_isr(const struct vlapic *l, uint8_t vector);
bool vlapic_above_tpr(const struct vlapic *l, uint8_t vector);
/* The CPU took vector: IRR to ISR (SDM 10.8.4). */
void vlapic_accept(struct vlapic *l, uint8_t vector);
/* Its delivery was lost to an exception the exit raised: back into IRR. */
void vlapic_requeue(struct vlapic *l, uint8_t vector);
/* Requests vector as an edge-triggered fixed interrupt (self-IPI, timer, a device). */
void vlapic_raise(struct vlapic *l, uint8_t vector);
/* Whether a HLT can end: a timer running, or an interrupt requested. */
bool vlapic_can_wake(const struct vlapic *l);

/* Fires the timer when its deadline has come (periodic mode reloads). */
void vlapic_tick(struct vlapic *l, uint64_t now);
static inline uint64_t vlapic_deadline(const struct vlapic *l)
{
	return l->deadline;
}

#endif
