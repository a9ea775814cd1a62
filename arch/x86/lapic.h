/* lapic.h: the host's local APIC (xAPIC or x2APIC) and its timer, the hypervisor's one clock event. */
#ifndef ARCH_X86_LAPIC_H
#define ARCH_X86_LAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/* The hypervisor's own interrupt vectors: above every exception, highest priority class. */
#define VEC_HOST_TIMER    0xf0
#define VEC_HOST_SPURIOUS 0xff

struct lapic_info {
	bool x2apic;          /* registers as MSRs (SDM 10.12) rather than MMIO */
	bool tsc_deadline;    /* the timer fires at a TSC value (SDM 10.5.4.1) */
	uint32_t id;
	uint64_t timer_hz;    /* one-shot mode: the count's rate after the divider */
	uint64_t timer_irqs;  /* timer interrupts taken */
	uint64_t spurious;    /* spurious-vector interrupts */
	uint64_t nmis;        /* NMIs the host took or was handed by an NMI exit */
};

extern struct lapic_info lapic;

/* Enables the LAPIC (x2APIC where the CPU has it), masks its LVTs and measures its timer
 * against the TSC; needs paging_init() (the xAPIC page is mapped) and tsc_init(). */
err_t lapic_init(void);
/* Arms the timer to interrupt once, at TSC value deadline (at once when it has passed). */
void lapic_timer_at(uint64_t deadline);
void lapic_eoi(void);

#endif
