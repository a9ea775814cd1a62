/* tsc.h: the TSC's frequency, found once at boot. */
#ifndef ARCH_X86_TSC_H
#define ARCH_X86_TSC_H

#include <stdbool.h>
#include <stdint.h>

struct tsc_info {
	uint64_t hz;         /* 0: unknown */
	const char *source;  /* where hz came from */
	bool invariant;      /* CPUID 8000_0007H:EDX[8]: constant rate in every P-, C- and T-state */
};

extern struct tsc_info tsc;

/* Finds the frequency (CPUID, a hypervisor's timing leaf, or the PIT) and prints it. */
void tsc_init(void);

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif
