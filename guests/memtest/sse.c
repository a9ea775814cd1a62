/* sse.c: checks that the SSE registers keep their values while the guest is interrupted by VM exits. */
#include "guests/memtest/memtest.h"
#include "arch/x86/cpu.h"

#define COM1_LSR 0x3fd

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

bool sse_check(unsigned port_reads)
{
	sse_enable();

	/* A pattern no other guest shares: seeded by the time stamp counter. */
	struct xmm want[16], got[16];
	uint64_t x = rdtsc() | 1;
	for (unsigned i = 0; i < 16; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		want[i].lo = x;
		want[i].hi = ~x + i;
	}
	sse_load(want);
	/* Each read exits to the hypervisor, which may run other guests meanwhile. */
	for (unsigned i = 0; i < port_reads; i++)
		(void)inb(COM1_LSR);
	sse_store(got);

	bool same = true;
	for (unsigned i = 0; i < 16; i++)
		if (got[i].lo != want[i].lo || got[i].hi != want[i].hi)
			same = false;
	return same;
}
