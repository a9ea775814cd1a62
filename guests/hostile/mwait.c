/* mwait.c: attack mwait: MONITOR/MWAIT and MONITORX/MWAITX fault as the CPUID the guest is shown says (SDM vol. 2B; APM vol. 3). */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

static const char A[] = "mwait";
static uint64_t monitored; /* the address armed: any write-back memory */

/* RAX = address, ECX = extensions, EDX = hints (all zero: none). */
PROBE_ASM(do_monitor, "monitor" : : "a"(&monitored), "c"(0), "d"(0) : "memory")
PROBE_ASM(do_mwait, "mwait" : : "a"(0), "c"(0) : "memory")
PROBE_ASM(do_monitorx, "monitorx" : : "a"(&monitored), "c"(0), "d"(0) : "memory")
PROBE_ASM(do_mwaitx, "mwaitx" : : "a"(0), "b"(0), "c"(0) : "memory")

/*
 * Hidden: each instruction must raise #UD.  MWAIT(X) runs only when its
 * MONITOR(X) faulted as it should: after an armed monitor, a wait with
 * interrupts masked could sleep for ever.  Shown: only MONITOR(X) runs.
 */
static void check_pair(bool shown, const char *monitor_what, void (*monitor)(void *),
		       const char *wait_what, void (*wait)(void *), const char *name)
{
	if (shown) {
		check_vector(A, monitor_what, probe(monitor, NULL), VEC_NONE);
		skipped(A, wait_what, "shown: a wait with interrupts masked could sleep for ever");
		return;
	}
	int v = probe(monitor, NULL);
	check_vector(A, monitor_what, v, VEC_UD);
	if (v == VEC_UD)
		check_vector(A, wait_what, probe(wait, NULL), VEC_UD);
	else
		check_true(A, wait_what, false, name);
}

void attack_mwait(void)
{
	bool monitor = has(F_MONITOR), monitorx = has(F_MONITORX);

	check_pair(monitor, monitor ? "MONITOR (shown) runs" : "MONITOR (hidden) raises #UD",
		   do_monitor, monitor ? "MWAIT (shown)" : "MWAIT (hidden) raises #UD", do_mwait,
		   "not tried: MONITOR did not fault");
	check_pair(monitorx, monitorx ? "MONITORX (shown) runs" : "MONITORX (hidden) raises #UD",
		   do_monitorx, monitorx ? "MWAITX (shown)" : "MWAITX (hidden) raises #UD",
		   do_mwaitx, "not tried: MONITORX did not fault");

	/* Leaf 5: line sizes when MONITOR is shown, nothing when it is hidden. */
	if (cpuid(0, 0).eax < 5) {
		skipped(A, "CPUID leaf 5 consistent with MONITOR", "highest basic leaf below 5");
		return;
	}
	struct cpuid_regs r = cpuid(5, 0);
	if (monitor) {
		uint32_t smallest = r.eax & 0xffff, largest = r.ebx & 0xffff;
		check_true(A, "CPUID leaf 5 (MONITOR shown): smallest line <= largest",
			   smallest <= largest, "smallest line above largest");
	} else {
		check_value(A, "CPUID leaf 5 (MONITOR hidden) is all zero",
			    (uint64_t)(r.eax | r.ebx | r.ecx | r.edx), 0);
	}
}
