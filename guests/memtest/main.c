/* main.c: the memtest guest: writes and reads back every word of its RAM, then reports and ends the run. */
#include "guests/memtest/memtest.h"

#define SSE_PORT_READS 200

#define TEST_START_ADDR   (1 * MIB) /* below: BIOS data, the loader, ROMs */
#define ERRORS_REPORTED   4
#define PATTERN_MULTIPLIER 0x9e3779b97f4a7c15ull /* odd: a bijection on words */

/* A span of RAM to test: [start, end), 8-byte aligned. */
struct span {
	uint64_t start, end;
};

/* The image's bounds, from memtest.ld; .bss holds the stack and page tables. */
extern char __image_start[], __image_end[];

static struct boot_info boot;
static enum harness harness;
static struct span spans[2 * BOOT_RANGES_MAX];
static uint64_t errors;

static void add_span(unsigned *count, uint64_t start, uint64_t end)
{
	start = (start + 7) & ~7ull;
	end &= ~7ull;
	if (start < end)
		spans[(*count)++] = (struct span){ start, end };
}

/* Available RAM from 1 MiB to the end of the identity map, less the image.
 * The boot information was copied: its RAM is tested like any other. */
static unsigned find_spans(uint64_t map_end)
{
	uint64_t image_start = (uint64_t)(uintptr_t)__image_start;
	uint64_t image_end = (uint64_t)(uintptr_t)__image_end;
	unsigned count = 0;

	for (unsigned i = 0; i < boot.ram_count; i++) {
		uint64_t start = boot.ram[i].base, end = start + boot.ram[i].size;

		if (start < TEST_START_ADDR)
			start = TEST_START_ADDR;
		if (end > map_end)
			end = map_end;
		if (start >= end)
			continue;
		if (end <= image_start || start >= image_end) {
			add_span(&count, start, end);
		} else {
			add_span(&count, start, image_start);
			add_span(&count, image_end, end);
		}
	}
	return count;
}

/* The word expected at addr: different for every address. */
static inline uint64_t pattern(uint64_t addr, uint64_t invert)
{
	return ((addr >> 3) * PATTERN_MULTIPLIER) ^ invert;
}

static void write_span(const struct span *s, uint64_t invert)
{
	for (uint64_t a = s->start; a < s->end; a += 8)
		*(volatile uint64_t *)(uintptr_t)a = pattern(a, invert);
}

static void check_span(const struct span *s, uint64_t invert)
{
	for (uint64_t a = s->start; a < s->end; a += 8) {
		uint64_t got = *(volatile uint64_t *)(uintptr_t)a, want = pattern(a, invert);

		if (got == want)
			continue;
		if (errors < ERRORS_REPORTED)
			report("error at %#llx: read %#018llx, want %#018llx", (unsigned long long)a,
			       (unsigned long long)got, (unsigned long long)want);
		errors++;
	}
}

/* Two passes, the second with the pattern inverted.  Every span is written
 * before any is read, so two addresses backed by one location are caught. */
static uint64_t test_memory(uint64_t map_end)
{
	unsigned count = find_spans(map_end);
	uint64_t bytes = 0;

	for (unsigned i = 0; i < count; i++)
		bytes += spans[i].end - spans[i].start;
	for (uint64_t invert = 0;; invert = ~0ull) {
		for (unsigned i = 0; i < count; i++)
			write_span(&spans[i], invert);
		for (unsigned i = 0; i < count; i++)
			check_span(&spans[i], invert);
		if (invert)
			break;
	}
	return bytes;
}

void memtest_finish(bool pass)
{
	report("result %s", pass ? "PASS" : "FAIL");
	env_exit(pass ? 0 : 1, harness);
}

void guest_main(uint32_t magic, uint32_t info, uint32_t early)
{
	(void)early;
	console_init("memtest");
	report("x86-64 memory test guest");
	const char *problem = bootinfo_parse(magic, info, &boot);
	if (problem) {
		report("%s", problem);
		memtest_finish(false);
	}
	report("booted by %s, command line \"%s\"", boot.protocol, boot.cmdline);
	harness = harness_option(&boot);
	if (bootinfo_has_option(&boot, "crash", "triple"))
		crash_triple_fault();
	if (bootinfo_has_option(&boot, "crash", "mmio"))
		crash_mmio_write();

	uint64_t end;
	uint64_t mapped = paging_init(&boot, &end);
	report("long mode, 4-level paging, %llu MiB identity-mapped", (unsigned long long)(mapped / MIB));
	if (bootinfo_has_option(&boot, "crash", "pf"))
		crash_page_fault(end);
	if (bootinfo_has_option(&boot, "bench", "exits"))
		bench_exits();

	uint64_t bytes = test_memory(end);
	/* Other guests run during the port reads: their SSE state must not leak in. */
	if (sse_check(SSE_PORT_READS)) {
		report("SSE registers intact across %u port reads", SSE_PORT_READS);
	} else {
		report("SSE registers CHANGED across %u port reads", SSE_PORT_READS);
		errors++;
	}
	if (msr_check(SSE_PORT_READS)) {
		report("FS/GS/KERNEL_GS base and SYSCALL MSRs intact across port reads and SWAPGS");
	} else {
		report("FS/GS/KERNEL_GS base or SYSCALL MSRs CHANGED across port reads and SWAPGS");
		errors++;
	}
	/* How much RAM there is depends on the firmware's map: an env line. */
	report("checked all available RAM above 1 MiB, %llu errors", (unsigned long long)errors);
	report("env: checked %llu KiB", (unsigned long long)(bytes / KIB));
	env_report();
	memtest_finish(errors == 0);
}
