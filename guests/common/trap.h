/* trap.h: exception probes: run a function and get back the vector of the exception it raised (trap.asm, and pm32/trap32.asm for 32-bit code). */
#ifndef GUESTS_COMMON_TRAP_H
#define GUESTS_COMMON_TRAP_H

#include <stdint.h>

/* Calls fn(arg); returns -1 when it returns, or the vector of the first
 * exception it raised (the handler resumes here, abandoning fn).  Outside a
 * probe an exception calls the guest's trap_unexpected() (64-bit code) or
 * pm32_unexpected() (32-bit code) with trap_last. */
int probe(void (*fn)(void *), void *arg);

/* What the last exception left: vector, error code (0 for vectors without
 * one; meaningless after INT n), RIP, CR2 and, for #DB, DR6. */
struct trap_record {
	uint64_t vector, error, rip, cr2, dr6;
};
extern struct trap_record trap_last;

/* The entry points of the 256 vectors, for the IDT. */
extern const uint64_t trap_stubs[256];   /* trap.asm */
extern const uint32_t trap_stubs32[256]; /* pm32/trap32.asm */

enum {
	VEC_DE = 0, VEC_DB = 1, VEC_BP = 3, VEC_UD = 6, VEC_NM = 7, VEC_TS = 10, VEC_GP = 13,
	VEC_PF = 14, VEC_MF = 16, VEC_XM = 19, VEC_NONE = -1,
};

/* A probe for one fixed instruction sequence: static void name(void *). */
#define PROBE_ASM(name, ...)                         \
	static void name(void *arg)                  \
	{                                            \
		(void)arg;                           \
		__asm__ volatile(__VA_ARGS__);       \
	}

#endif
