/* hostile.h: what the files of the hostile guest share: options, attacks, its window of test pages; result lines, probes and CPU features come from guests/common/. */
#ifndef GUESTS_HOSTILE_HOSTILE_H
#define GUESTS_HOSTILE_HOSTILE_H

#include "guests/common/guest.h"
#include "guests/common/check.h"
#include "guests/common/features.h"
#include "guests/common/trap.h"

/* ---- options (options.c; also built for 32-bit code) ---- */

/* Every attack, in the order attack=all runs them.  task and the first cr
 * checks run in 32-bit protected mode before long mode (pm32/). */
enum attack {
	ATTACK_TASK, ATTACK_MWAIT, ATTACK_STATE, ATTACK_SVM, ATTACK_VMX, ATTACK_MSR,
	ATTACK_INVD, ATTACK_STRINGIO, ATTACK_EXCEPTIONS, ATTACK_SMC, ATTACK_DEBUG, ATTACK_CPUID,
	ATTACK_CR, ATTACK_COUNT
};

/* The attacks that end the VM by design (walk=...): none of them is in attack=all. */
enum walk { WALK_NONE, WALK_CR3, WALK_PTE, WALK_GDT, WALK_REALMODE };

struct options {
	bool attack[ATTACK_COUNT];
	enum walk walk;
	uint64_t seed;           /* seed=N: makes values differ between VMs */
	enum harness harness;
	const char *bad;         /* an unknown attack or walk name, or NULL */
};

/* Reads attack=a,b,c|all, walk=cr3|pte|gdt|realmode, seed=N and harness=...;
 * without attack= and walk=, every attack of attack=all runs. */
void options_parse(const struct boot_info *boot, struct options *o);
extern const char *const attack_names[ATTACK_COUNT];

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
