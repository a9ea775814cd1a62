/* archcheck.h: what MOV to CR0/CR4 and WRMSR accept, per the Intel SDM and AMD APM, for the CPU a VM is shown. */
#ifndef VMM_ARCHCHECK_H
#define VMM_ARCHCHECK_H

#include <stdbool.h>
#include <stdint.h>

/* Control-register bits (SDM vol. 3A, 2.5; APM vol. 2, 3.1). */
enum {
	ARCH_CR0_PE = 1u << 0,  ARCH_CR0_MP = 1u << 1,  ARCH_CR0_EM = 1u << 2,
	ARCH_CR0_TS = 1u << 3,  ARCH_CR0_ET = 1u << 4,  ARCH_CR0_NE = 1u << 5,
	ARCH_CR0_WP = 1u << 16, ARCH_CR0_AM = 1u << 18, ARCH_CR0_NW = 1u << 29,
	ARCH_CR0_CD = 1u << 30,
};
#define ARCH_CR0_PG (1ull << 31)
/* The CR0 bits a MOV can change; the other bits of 31:0 are reserved and ignored. */
#define ARCH_CR0_DEFINED (ARCH_CR0_PE | ARCH_CR0_MP | ARCH_CR0_EM | ARCH_CR0_TS | ARCH_CR0_ET | \
			  ARCH_CR0_NE | ARCH_CR0_WP | ARCH_CR0_AM | ARCH_CR0_NW | ARCH_CR0_CD |   \
			  ARCH_CR0_PG)

enum {
	ARCH_CR4_VME = 1u << 0,         ARCH_CR4_PVI = 1u << 1,       ARCH_CR4_TSD = 1u << 2,
	ARCH_CR4_DE = 1u << 3,          ARCH_CR4_PSE = 1u << 4,       ARCH_CR4_PAE = 1u << 5,
	ARCH_CR4_MCE = 1u << 6,         ARCH_CR4_PGE = 1u << 7,       ARCH_CR4_PCE = 1u << 8,
	ARCH_CR4_OSFXSR = 1u << 9,      ARCH_CR4_OSXMMEXCPT = 1u << 10, ARCH_CR4_UMIP = 1u << 11,
	ARCH_CR4_LA57 = 1u << 12,       ARCH_CR4_VMXE = 1u << 13,     ARCH_CR4_SMXE = 1u << 14,
	ARCH_CR4_FSGSBASE = 1u << 16,   ARCH_CR4_PCIDE = 1u << 17,    ARCH_CR4_OSXSAVE = 1u << 18,
	ARCH_CR4_KL = 1u << 19,         ARCH_CR4_SMEP = 1u << 20,     ARCH_CR4_SMAP = 1u << 21,
	ARCH_CR4_PKE = 1u << 22,        ARCH_CR4_CET = 1u << 23,      ARCH_CR4_PKS = 1u << 24,
};

/* EFER (SDM vol. 4, IA32_EFER; APM vol. 2, 3.1.7). */
enum {
	ARCH_EFER_SCE = 1u << 0,  ARCH_EFER_LME = 1u << 8,    ARCH_EFER_LMA = 1u << 10,
	ARCH_EFER_NXE = 1u << 11, ARCH_EFER_SVME = 1u << 12,  ARCH_EFER_FFXSR = 1u << 14,
};

/* The CPUID feature words the checks read (the values the VM is shown). */
struct cpuid_view {
	uint32_t l1_ecx, l1_edx;          /* leaf 1 */
	uint32_t l7_ebx, l7_ecx, l7_edx;  /* leaf 7, subleaf 0 */
	uint32_t x1_ecx, x1_edx;          /* leaf 0x80000001 */
};

/* What the checks need to know of the CPU the VM sees. */
struct guest_cpu {
	uint64_t cr4_allowed;   /* CR4 bits whose feature is shown */
	uint64_t efer_allowed;  /* EFER bits whose feature is shown */
	unsigned phys_bits;     /* MAXPHYADDR */
	bool intel;             /* IA32_MISC_ENABLE exists only on Intel */
	bool x2apic;            /* APIC_BASE.EXTD may be set */
};

/* The CR4 bits a MOV may set when the VM is shown these features (SDM 2.5, table 2-? by bit). */
uint64_t arch_cr4_allowed(const struct cpuid_view *f);
/* The EFER bits WRMSR may set when the VM is shown these features. */
uint64_t arch_efer_allowed(const struct cpuid_view *f);

/* The paging-related state a write is judged against. */
struct cr_state {
	uint64_t cr0, cr3, cr4, efer;
	bool cs_l;              /* CS.L: with EFER.LMA, the vCPU is in 64-bit mode */
};

/* The outcome of a check: the value to install, or a #GP for the guest. */
struct arch_write {
	bool gp;
	uint64_t value;         /* valid when !gp */
	bool flush_tlb;         /* the write invalidates the TLB and paging-structure caches (SDM 4.10.4.1) */
	bool load_pdptes;       /* PAE paging is on after the write and the PDPTEs must be (re)loaded from CR3 */
};

/* MOV to CR0 (SDM vol. 2B "MOV—Move to/from Control Registers"; APM vol. 3 "MOV CRn"). */
struct arch_write arch_check_cr0(const struct cr_state *s, uint64_t val);
/* MOV to CR4, against the bits the VM may set. */
struct arch_write arch_check_cr4(const struct guest_cpu *g, const struct cr_state *s, uint64_t val);
/* WRMSR IA32_EFER: the value to keep (LMA stays the CPU's), or #GP. */
struct arch_write arch_check_efer(const struct guest_cpu *g, const struct cr_state *s, uint64_t val);

/* WRMSR IA32_PAT: every entry a valid memory type (SDM 11.12.2). */
bool arch_pat_valid(uint64_t val);
/* WRMSR IA32_MTRR_DEF_TYPE: type 0/1/4/5/6, FE, E; the rest reserved (SDM 11.11.2.1). */
bool arch_mtrr_def_type_valid(uint64_t val);
#define ARCH_RFLAGS_IF      (1ull << 9)
#define ARCH_APIC_BASE_BSP  (1ull << 8)
#define ARCH_APIC_BASE_EXTD (1ull << 10)
#define ARCH_APIC_BASE_EN   (1ull << 11)
/* WRMSR IA32_APIC_BASE (SDM 10.4.4): reserved bits #GP; the BSP flag is not the guest's to change. */
struct arch_write arch_check_apic_base(const struct guest_cpu *g, uint64_t old, uint64_t val);
/* WRMSR IA32_MISC_ENABLE (SDM vol. 4, table 2-2): what this model lets a guest change. */
struct arch_write arch_check_misc_enable(uint64_t old, uint64_t val);
/* The IA32_MISC_ENABLE a vCPU starts with: fast strings on, BTS and PEBS unavailable. */
#define ARCH_MISC_ENABLE_RESET ((1ull << 0) | (1ull << 11) | (1ull << 12))
#define ARCH_MISC_ENABLE_LIMIT_CPUID (1ull << 22)

/* Bits 63:47 all equal: canonical with 48-bit linear addresses (SDM 3.3.7.1; LA57 is never shown). */
static inline bool arch_canonical(uint64_t la)
{
	uint64_t top = la >> 47;
	return top == 0 || top == 0x1ffff;
}

/*
 * An exception raised while the CPU delivers another event (SDM vol. 3A,
 * 6.15, table 6-5): the two are handled one after the other, or become a
 * double fault, or (a fault while delivering #DF) shut the CPU down.
 * first_exception: the event being delivered is a hardware exception
 * (interrupts and INT n count as benign), with vector first.
 */
enum arch_combined { ARCH_SERIAL, ARCH_DOUBLE_FAULT, ARCH_SHUTDOWN };
enum arch_combined arch_combine_exceptions(bool first_exception, unsigned first, unsigned second);

#endif
