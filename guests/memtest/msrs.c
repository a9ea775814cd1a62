/* msrs.c: checks that segment-base and system-call MSRs keep their values across VM exits and SWAPGS. */
#include "arch/x86/cpu.h"
#include "guests/memtest/memtest.h"

#define COM1_LSR 0x3fd

static const uint32_t msrs[] = {
	0xc0000100, /* FS_BASE */
	0xc0000101, /* GS_BASE */
	0xc0000102, /* KERNEL_GS_BASE */
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK: only the low 32 bits exist */
};
#define NMSRS (sizeof(msrs) / sizeof(msrs[0]))
#define GS_BASE_INDEX   1
#define KGS_BASE_INDEX  2
#define SFMASK_INDEX    6

bool msr_check(unsigned port_reads)
{
	uint64_t want[NMSRS];
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t x = (((uint64_t)hi << 32) | lo) | 1;

	/* Canonical addresses, different in every run and every VM. */
	for (unsigned i = 0; i < NMSRS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		want[i] = x & 0x00007ffffffff000ull;
	}
	want[SFMASK_INDEX] &= 0xffffffffull;
	for (unsigned i = 0; i < NMSRS; i++)
		wrmsr(msrs[i], want[i]);
	for (unsigned i = 0; i < port_reads; i++)
		(void)inb(COM1_LSR);

	/* SWAPGS exchanges GS_BASE and KERNEL_GS_BASE without the hypervisor seeing it. */
	__asm__ volatile("swapgs" ::: "memory");
	bool same = rdmsr(msrs[GS_BASE_INDEX]) == want[KGS_BASE_INDEX] &&
		    rdmsr(msrs[KGS_BASE_INDEX]) == want[GS_BASE_INDEX];
	for (unsigned i = 0; i < port_reads; i++)
		(void)inb(COM1_LSR);
	__asm__ volatile("swapgs" ::: "memory");
	for (unsigned i = 0; i < NMSRS; i++)
		if (rdmsr(msrs[i]) != want[i])
			same = false;
	return same;
}
