/* memtest.h: what the files of the memtest guest share, beside guests/common/guest.h. */
#ifndef GUESTS_MEMTEST_MEMTEST_H
#define GUESTS_MEMTEST_MEMTEST_H

#include "guests/common/guest.h"

/* ---- deliberate crashes (crash.c) ---- */

/* Loads an empty IDT and traps: the CPU shuts down with a triple fault. */
__attribute__((noreturn)) void crash_triple_fault(void);
#define MMIO_PROBE_ADDRESS 0xfed00000u
/* Writes where a PC has its HPET, where a VM has no device. */
void crash_mmio_write(void);
/* Writes to the unmapped address addr; the page-fault handler ends the run. */
__attribute__((noreturn)) void crash_page_fault(uint64_t addr);

/* ---- SSE state (sse.c) ---- */

/* Loads a pattern into XMM0-15, reads a port port_reads times, and says
 * whether the registers still hold it. */
bool sse_check(unsigned port_reads);

/* ---- MSR state (msrs.c) ---- */

/* Writes FS/GS/KERNEL_GS base and the SYSCALL MSRs, reads a port port_reads
 * times around a SWAPGS pair, and says whether all still hold their values. */
bool msr_check(unsigned port_reads);

/* ---- bench=exits (bench.c) ---- */

/* Prints, as env lines, what a CPUID and a port read cost in TSC ticks. */
void bench_exits(void);

/* ---- the test (main.c) ---- */

/* Prints the verdict and ends the run. */
__attribute__((noreturn)) void memtest_finish(bool pass);

#endif
