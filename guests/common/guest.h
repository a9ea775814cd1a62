/* guest.h: what the test guests share: boot information, console, paging, SSE registers, environment and how a run ends. */
#ifndef GUESTS_COMMON_GUEST_H
#define GUESTS_COMMON_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/printf.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

/* ---- boot information (bootinfo.c) ---- */

#define BOOT_CMDLINE_MAX 256
#define BOOT_RANGES_MAX  64

/* A range of available RAM from the loader's memory map. */
struct ram_range {
	uint64_t base, size;
};

/* What a guest keeps of the loader's boot information: copied, so that the
 * loader's own copy can be overwritten like any other RAM. */
struct boot_info {
	const char *protocol; /* "Multiboot2" or "Multiboot" */
	char cmdline[BOOT_CMDLINE_MAX];
	struct ram_range ram[BOOT_RANGES_MAX];
	unsigned ram_count;
};

/* Reads the information at physical address info for the given magic;
 * returns NULL, or what was wrong with it. */
const char *bootinfo_parse(uint32_t magic, uint32_t info, struct boot_info *boot);
/* Whether the command line holds the option key=value. */
bool bootinfo_has_option(const struct boot_info *boot, const char *key, const char *value);
/* Copies the value of the first option key=... into value (at most size - 1
 * bytes); false when there is no such option. */
bool bootinfo_option(const struct boot_info *boot, const char *key, char *value, size_t size);

/* ---- console (console.c) ---- */

/* Sets up COM1; every line report() prints starts with "name: ".
 * uart_flush() (drivers/uart16550.h) drains it before an exit. */
void console_init(const char *name);
/* Prints one line: "name: ", the formatted text and a newline. */
void report(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* The name console_init() was given. */
const char *console_name(void);

/* ---- where the guest runs (cpuenv.c: also built for 32-bit code) ---- */

struct cpu_env {
	char vendor[13]; /* CPUID leaf 0 */
	bool intel;      /* "GenuineIntel": hypercalls by VMCALL, else VMMCALL */
	bool ours;       /* under hvmicrovisor (CPUID.1:ECX[31] and leaf 0x40000000) */
};

/* Reads the CPU vendor and whether hvmicrovisor runs us. */
void cpu_env_probe(struct cpu_env *env);

enum harness { HARNESS_NONE, HARNESS_QEMU, HARNESS_BOCHS };

/* The harness=qemu|bochs option, HARNESS_NONE without it. */
enum harness harness_option(const struct boot_info *boot);

/* ---- paging (paging.c) ---- */

/* Identity-maps the RAM with 2 MiB pages and loads the tables; returns the
 * bytes mapped, and in *end the end of the highest mapped page. */
uint64_t paging_init(const struct boot_info *boot, uint64_t *end);
/* Identity-maps the 2 MiB page at addr (below 16 GiB) unless it is mapped;
 * returns whether it was new.  The caller flushes the TLB. */
bool paging_map_2m(uint64_t addr);
/* The top-level table paging_init() loaded into CR3. */
uint64_t *paging_pml4(void);

/* ---- SSE registers (sse.c) ---- */

struct xmm {
	uint64_t lo, hi;
};

/* Enables SSE (CR0.EM and TS clear, MP set; CR4.OSFXSR and OSXMMEXCPT). */
void sse_enable(void);
/* Loads XMM0-15 from v[0..15]; sse_store() reads them back. */
void sse_load(const struct xmm v[16]);
void sse_store(struct xmm v[16]);

/* ---- environment (env.c) ---- */

/* Whether hvmicrovisor runs us. */
bool env_under_hypervisor(void);
/* Prints the "env:" lines: native, or which hypervisor and its statistics. */
void env_report(void);
/* Ends the run with status (0 = success): HC_EXIT in a VM, else the harness. */
__attribute__((noreturn)) void env_exit(unsigned status, enum harness harness);

/* ---- the guest's own code ---- */

/* Entered from entry.asm in long mode with the loader's EAX and EBX and
 * what guest_early32 (run first, in 32-bit protected mode) returned. */
__attribute__((noreturn)) void guest_main(uint32_t magic, uint32_t info, uint32_t early);

#endif
