/* memtest.h: what the files of the memtest guest share: boot information, console, paging, environment. */
#ifndef GUESTS_MEMTEST_MEMTEST_H
#define GUESTS_MEMTEST_MEMTEST_H

#include <stdbool.h>
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

/* What memtest keeps of the loader's boot information: copied, so that the
 * loader's own copy can be overwritten by the test like any other RAM. */
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

/* ---- console (uart.c) ---- */

/* Sets up COM1; uart_flush() (drivers/uart16550.h) drains it before an exit. */
void console_init(void);
/* Prints one line: "memtest: ", the formatted text and a newline. */
void report(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* ---- paging (paging.c) ---- */

/* Identity-maps the RAM with 2 MiB pages and loads the tables; returns the
 * bytes mapped, and in *end the end of the highest mapped page. */
uint64_t paging_init(const struct boot_info *boot, uint64_t *end);

/* ---- environment (env.c) ---- */

enum harness { HARNESS_NONE, HARNESS_QEMU, HARNESS_BOCHS };

/* Prints the "env:" lines: native, or which hypervisor and its statistics. */
void env_report(void);
/* Ends the run with status (0 = success): HC_EXIT in a VM, else the harness. */
__attribute__((noreturn)) void env_exit(unsigned status, enum harness harness);

/* ---- deliberate crashes (crash.c) ---- */

/* Loads an empty IDT and traps: the CPU shuts down with a triple fault. */
__attribute__((noreturn)) void crash_triple_fault(void);
#define MMIO_PROBE_ADDRESS 0xfee00000u
/* Writes to the local APIC's address, where a VM may have no device. */
void crash_mmio_write(void);
/* Writes to the unmapped address addr; the page-fault handler ends the run. */
__attribute__((noreturn)) void crash_page_fault(uint64_t addr);

/* ---- SSE state (sse.c) ---- */

/* Loads a pattern into XMM0-15, reads a port port_reads times, and says
 * whether the registers still hold it. */
bool sse_check(unsigned port_reads);

/* ---- MSR state (msrs.c) ---- */

/* Writes FS/GS/KERNEL_GS base and the SYSCALL MSRs, reads a port port_reads
 * times around a SWAPGS pair, and says whether all still hold their values. */
bool msr_check(unsigned port_reads);

/* ---- the test (main.c) ---- */

/* Entered from entry.asm in long mode with the loader's EAX and EBX. */
__attribute__((noreturn)) void memtest_main(uint32_t magic, uint32_t info);

/* Prints the verdict and ends the run. */
__attribute__((noreturn)) void memtest_finish(bool pass);

#endif
