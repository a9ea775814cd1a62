/* bench.c: bench=exits: the cost of an exit as the guest sees it, in TSC ticks (instructions under QEMU's -icount shift=0 and Bochs). */
#include "arch/x86/cpu.h"
#include "guests/memtest/memtest.h"

#define BENCH_ROUNDS 10000u
#define UART_LSR     0x3fdu  /* the line-status register of the VM's 16550 */

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t per_round(uint64_t start)
{
	return (tsc() - start) / BENCH_ROUNDS;
}

/* env lines, so the run's other lines stay what they are natively. */
void bench_exits(void)
{
	uint64_t t = tsc();
	for (unsigned i = 0; i < BENCH_ROUNDS; i++) {
		uint32_t a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	report("env: bench: CPUID takes %llu ticks", (unsigned long long)per_round(t));
	t = tsc();
	for (unsigned i = 0; i < BENCH_ROUNDS; i++)
		(void)inb(UART_LSR);
	report("env: bench: a port read takes %llu ticks", (unsigned long long)per_round(t));
	t = tsc();
	for (unsigned i = 0; i < BENCH_ROUNDS; i++)
		__asm__ volatile("" ::: "memory");
	report("env: bench: an empty round takes %llu ticks", (unsigned long long)per_round(t));
}
