/* hostile.h: what the files of the hostile guest share: options, result lines, exception probes, CPU features, attacks. */
#ifndef GUESTS_HOSTILE_HOSTILE_H
#define GUESTS_HOSTILE_HOSTILE_H

#include "guests/common/guest.h"

/* ---- options (options.c; also built for 32-bit code) ---- */

/* Every attack, in the order attack=all runs them.  task and the first cr
 * checks run in 32-bit protected mode before long mode (pm32/). */
enum attack {
	ATTACK_TASK, ATTACK_MWAIT, ATTACK_STATE, ATTACK_SVM, ATTACK_VMX, ATTACK_MSR,
	ATTACK_INVD, ATTACK_STRINGIO, ATTACK_EXCEPTIONS, ATTACK_SMC, ATTACK_DEBUG, ATTACK_CPUID,
	ATTACK_CR, ATTACK_COUNT
};

/* The attacks that end the VM by design (walk=...): none of them is in attack=all. */
enum walk { WALK_NONE, WALK_CR3, WALK_PTE, WALK_GDT };

struct options {
	bool attack[ATTACK_COUNT];
	enum walk walk;
	uint64_t seed;           /* seed=N: makes values differ between VMs */
	enum harness harness;
	const char *bad;         /* an unknown attack or walk name, or NULL */
};

/* Reads attack=a,b,c|all, walk=cr3|pte|gdt, seed=N and harness=...;
 * without attack= and walk=, every attack of attack=all runs. */
void options_parse(const struct boot_info *boot, struct options *o);
extern const char *const attack_names[ATTACK_COUNT];

/* ---- result lines (report.c; also built for 32-bit code) ---- */

enum emulator { EMU_QEMU = 1u << 0, EMU_BOCHS = 1u << 1 };

/* Where the checks run: under hvmicrovisor, or natively in which emulator. */
void report_setup(bool under_hypervisor, enum harness harness);
/* "hostile: <attack>: <what>: ok", or "...: FAIL 0x<got> want 0x<want>". */
void check_value(const char *attack, const char *what, uint64_t got, uint64_t want);
/* The same for an exception vector (-1: none), printed by name. */
void check_vector(const char *attack, const char *what, int got, int want);
/* A vector and, when it is the one wanted, its error code. */
void check_fault(const char *attack, const char *what, int got, uint64_t error, int want,
		 uint64_t want_error);
/* check_vector, but a wrong vector counts as skipped when running natively
 * on one of the emulators in lenient (an emulator that does not raise the
 * fault the manuals require). */
void check_vector_lenient(const char *attack, const char *what, int got, int want,
			  unsigned lenient);
/* When running natively on one of the emulators in lenient: prints
 * "skipped (native <emulator> is lenient)" and returns true. */
bool skipped_if_lenient(const char *attack, const char *what, unsigned lenient);
/* Whether we run natively on one of these emulators: a check that would be
 * unsafe on their lenient emulation is then not made. */
bool native_on(unsigned emulators);
/* "...: ok" or "...: FAIL <detail>"; detail says what was wrong. */
void check_true(const char *attack, const char *what, bool ok, const char *detail);
/* "hostile: <attack>: <what>: skipped (<why>)". */
void skipped(const char *attack, const char *what, const char *why);
/* A check whose result was recorded elsewhere (the 32-bit part's failures). */
void report_add_failures(unsigned n);
unsigned report_failures(void);
/* The name of an exception vector ("#GP"), "none" for -1. */
const char *vector_name(int vector, char buf[16]);

/* ---- exception probes (trap.asm, and pm32/entry32.asm for 32-bit code) ---- */

/* Calls fn(arg); returns -1 when it returns, or the vector of the first
 * exception it raised (the handler resumes here, abandoning fn). */
int probe(void (*fn)(void *), void *arg);

/* What the last exception left: vector, error code (0 for vectors without
 * one; meaningless after INT n), RIP, CR2 and, for #DB, DR6. */
struct trap_record {
	uint64_t vector, error, rip, cr2, dr6;
};
extern struct trap_record trap_last;

enum {
	VEC_DE = 0, VEC_DB = 1, VEC_BP = 3, VEC_UD = 6, VEC_NM = 7, VEC_TS = 10, VEC_GP = 13,
	VEC_PF = 14, VEC_MF = 16, VEC_XM = 19, VEC_NONE = -1,
};

/* ---- CPU features (features.c; also built for 32-bit code) ---- */

enum feature {
	F_VME, F_DE, F_PSE, F_TSC, F_MSR, F_PAE, F_MCE, F_MTRR, F_PGE, F_FXSR, F_SSE, F_SSE2,
	F_SSE3, F_PCLMULQDQ, F_MONITOR, F_VMX, F_SMX, F_SSSE3, F_CX16, F_PCID, F_SSE41, F_SSE42,
	F_MOVBE, F_POPCNT, F_AES, F_XSAVE, F_OSXSAVE, F_RDRAND, F_FSGSBASE, F_BMI1, F_INVPCID,
	F_SMEP, F_BMI2, F_RDSEED, F_ADX, F_SMAP, F_CLFLUSHOPT, F_CLWB, F_SHA, F_UMIP, F_PKU,
	F_OSPKE, F_CET_SS, F_LA57, F_RDPID, F_KL, F_PKS, F_UINTR, F_CET_IBT, F_LASS, F_FRED,
	F_LAM, F_SYSCALL, F_NX, F_PAGE1G, F_RDTSCP, F_LM, F_SVM, F_ABM, F_MONITORX, F_FFXSR,
	F_TCE, F_RTM, F_COUNT
};

/* Whether CPUID shows the feature (leaves above the maximum show nothing). */
bool has(enum feature f);
const char *feature_name(enum feature f);
/* CPUID, with zeros for a leaf above the basic or extended maximum. */
struct cpuid_regs cpuid_leaf(uint32_t leaf, uint32_t subleaf);

/* ---- the long-mode side (main.c, paging and the attacks) ---- */

extern struct options opt;

/* Prints why the run cannot go on and ends it with result FAIL. */
__attribute__((noreturn)) void hostile_fatal(const char *attack, const char *why);

/* A window of 4 KiB pages at WINDOW_BASE, for faults and aliases (window.c). */
#define WINDOW_BASE  0x0000008000000000ull /* 512 GiB: PML4 entry 1 */
#define WINDOW_PAGES 16
#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_PS  (1ull << 7)
#define PTE_XD  (1ull << 63)
void window_init(void);
/* Maps window page index to phys with flags (0: not present) and flushes it. */
void window_map(unsigned index, uint64_t phys, uint64_t flags);
static inline uint64_t window_addr(unsigned index)
{
	return WINDOW_BASE + (uint64_t)index * 4096;
}
/* Maps linear 1 TiB to physical 0 with one 1 GiB page; returns the linear base. */
uint64_t window_map_1g(void);
/* Four pages of the image, page-aligned, for the window to map. */
extern uint8_t window_frames[4][4096];

/* Small helpers over arch/x86/cpu.h. */
static inline uint64_t rdtsc64(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
int probe_rdmsr(uint32_t msr, uint64_t *value);
int probe_wrmsr(uint32_t msr, uint64_t value);
/* Writes CR4 = value; on success reads it back into *readback and restores
 * the old CR4 at once (so a bit that should not exist is never kept). */
int probe_cr4_roundtrip(uint64_t value, uint64_t *readback);
int probe_write_cr0(uint64_t value);
int probe_write_cr4(uint64_t value);
/* A 64-bit xorshift step: the guest's source of seed-dependent values. */
uint64_t seeded(uint64_t *state);

/* Control-register and MSR bits the attacks use (SDM vol. 3A 2.5, vol. 4). */
#define CR0_MP  (1ull << 1)
#define CR0_EM  (1ull << 2)
#define CR0_TS  (1ull << 3)
#define CR0_NE  (1ull << 5)
#define CR0_NW  (1ull << 29)
#define CR0_CD  (1ull << 30)
#define CR4_TSD        (1ull << 2)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_LA57       (1ull << 12)
#define CR4_SMXE       (1ull << 14)
#define CR4_FSGSBASE   (1ull << 16)
#define CR4_PCIDE      (1ull << 17)
#define CR4_OSXSAVE    (1ull << 18)
#define CR4_PKE        (1ull << 22)
#define CR4_CET        (1ull << 23)
#define EFER_SCE   (1ull << 0)
#define EFER_LME   (1ull << 8)
#define EFER_LMA   (1ull << 10)
#define EFER_SVME  (1ull << 12)
#define MSR_TSC         0x00000010
#define MSR_APIC_BASE   0x0000001b
#define MSR_MTRRCAP     0x000000fe
#define MSR_MISC_ENABLE 0x000001a0
#define MSR_PAT         0x00000277
#define MSR_MTRR_DEF    0x000002ff
#define MSR_STAR        0xc0000081
#define MSR_LSTAR       0xc0000082
#define MSR_SFMASK      0xc0000084
#define MSR_FS_BASE     0xc0000100
#define MSR_TSC_AUX     0xc0000103
#define PAT_DEFAULT     0x0007040600070406ull /* the power-on value (SDM 13.12.4) */
#define COM1_LSR        0x3fd

/* A probe for one fixed instruction sequence: static void name(void *). */
#define PROBE_ASM(name, ...)                         \
	static void name(void *arg)                  \
	{                                            \
		(void)arg;                           \
		__asm__ volatile(__VA_ARGS__);       \
	}

void attack_mwait(void);
void attack_state(void);
void attack_svm(void);
void attack_vmx(void);
void attack_msr(void);
void attack_invd(void);
void attack_stringio(void);
void attack_exceptions(void);
void attack_smc(void);
void attack_debug(void);
void attack_cpuid(void);
void attack_cr(void);
__attribute__((noreturn)) void attack_walk(enum walk walk);

/* The CR4 bit of a feature, set and cleared or refused (cr.c, used by cpuid.c). */
void check_cr4_feature_bit(const char *attack, unsigned bit, const char *name, bool shown);

#endif
