/* cr32.h: control-register accessors for a guest's 32-bit code (arch/x86/cpu.h's are 64-bit). */
#ifndef GUESTS_COMMON_PM32_CR32_H
#define GUESTS_COMMON_PM32_CR32_H

#include <stdint.h>

#define DEFINE_CR32(n)                                                           \
	static inline uint32_t rd_cr##n(void)                                    \
	{                                                                        \
		uint32_t v;                                                      \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                \
		return v;                                                        \
	}                                                                        \
	static inline void wr_cr##n(uint32_t v)                                  \
	{                                                                        \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");       \
	}
DEFINE_CR32(0)
DEFINE_CR32(3)
DEFINE_CR32(4)
#undef DEFINE_CR32

#endif
