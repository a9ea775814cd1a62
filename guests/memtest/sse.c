/* sse.c: checks that the SSE registers keep their values while the guest is interrupted by VM exits. */
#include "guests/memtest/memtest.h"
#include "arch/x86/cpu.h"

#define CR0_EM         (1ull << 2)
#define CR0_TS         (1ull << 3)
#define CR0_MP         (1ull << 1)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define COM1_LSR       0x3fd

/* The compiler never touches XMM registers here (-mgeneral-regs-only), so
 * only the asm below reads and writes them. */
#define LOAD(n)  __asm__ volatile("movdqu %0, %%xmm" #n : : "m"(want[n]))
#define STORE(n) __asm__ volatile("movdqu %%xmm" #n ", %0" : "=m"(got[n]))

struct xmm {
	uint64_t lo, hi;
};

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

bool sse_check(unsigned port_reads)
{
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT));

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
	LOAD(0); LOAD(1); LOAD(2); LOAD(3); LOAD(4); LOAD(5); LOAD(6); LOAD(7);
	LOAD(8); LOAD(9); LOAD(10); LOAD(11); LOAD(12); LOAD(13); LOAD(14); LOAD(15);
	/* Each read exits to the hypervisor, which may run other guests meanwhile. */
	for (unsigned i = 0; i < port_reads; i++)
		(void)inb(COM1_LSR);
	STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5); STORE(6); STORE(7);
	STORE(8); STORE(9); STORE(10); STORE(11); STORE(12); STORE(13); STORE(14); STORE(15);

	bool same = true;
	for (unsigned i = 0; i < 16; i++)
		if (got[i].lo != want[i].lo || got[i].hi != want[i].hi)
			same = false;
	return same;
}
