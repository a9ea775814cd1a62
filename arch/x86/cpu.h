/* cpu.h: thin wrappers over x86 instructions (port I/O, MSRs, control registers, CPUID). */
#ifndef ARCH_X86_CPU_H
#define ARCH_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* Control-register bits (Intel SDM vol. 3A, 2.5 "Control Registers"). */
#define CR0_PE   (1ull << 0)
#define CR0_WP   (1ull << 16)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define CR4_PGE  (1ull << 7)
#define CR4_VMXE (1ull << 13)

/* Model-specific registers (SDM vol. 4; AMD APM vol. 2, appendix A). */
#define MSR_IA32_FEATURE_CONTROL 0x03a
#define MSR_IA32_VMX_BASIC       0x480
#define MSR_IA32_VMX_PINBASED    0x481
#define MSR_IA32_VMX_PROCBASED   0x482
#define MSR_IA32_VMX_EXIT        0x483
#define MSR_IA32_VMX_ENTRY       0x484
#define MSR_IA32_VMX_MISC        0x485
#define MSR_IA32_VMX_PROCBASED2  0x48b
#define MSR_IA32_VMX_EPT_VPID    0x48c
#define MSR_IA32_VMX_TRUE_PIN    0x48d
#define MSR_IA32_VMX_TRUE_PROC   0x48e
#define MSR_EFER                 0xc0000080
#define MSR_VM_CR                0xc0010114

#define EFER_NXE  (1ull << 11)

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

#define DEFINE_CR_ACCESSORS(n)                                            \
	static inline uint64_t read_cr##n(void)                           \
	{                                                                 \
		uint64_t v;                                               \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));         \
		return v;                                                 \
	}                                                                 \
	static inline void write_cr##n(uint64_t v)                        \
	{                                                                 \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/* Debug registers by number (SDM vol. 3B, 17.2): n is 0-3, 6 or 7. */
static inline uint64_t read_dr(unsigned n)
{
	uint64_t v;
	switch (n) {
	case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
	case 6: __asm__ volatile("mov %%dr6, %0" : "=r"(v)); break;
	default: __asm__ volatile("mov %%dr7, %0" : "=r"(v)); break;
	}
	return v;
}

static inline void write_dr(unsigned n, uint64_t v)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" : : "r"(v)); break;
	case 3: __asm__ volatile("mov %0, %%dr3" : : "r"(v)); break;
	case 6: __asm__ volatile("mov %0, %%dr6" : : "r"(v)); break;
	default: __asm__ volatile("mov %0, %%dr7" : : "r"(v)); break;
	}
}
#define DR6_NUM 6
#define DR7_NUM 7

__attribute__((noreturn)) static inline void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Lets interrupts held while IF was clear be taken, then closes again (STI's shadow covers the NOP). */
static inline void cpu_take_interrupts(void)
{
	__asm__ volatile("sti; nop; cli" : : : "memory");
}

/* Sleeps until the next interrupt, takes it, and returns with IF clear again. */
static inline void cpu_idle(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause");
}

#endif
