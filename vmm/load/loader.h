/* loader.h: what the guest loader's files share; callers use multiboot.h instead. */
#ifndef VMM_LOAD_LOADER_H
#define VMM_LOAD_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/error.h"
#include "lib/printf.h"
#include "vmm/load/multiboot.h"

#define KIB         1024ull
#define MIB         (1024ull * KIB)
#define GIB         (1024ull * MIB)
#define LOAD_PAGE   4096ull
#define LOAD_4GIB   (4 * GIB)    /* the guest starts with paging off: 32-bit physical addresses */

/* The memory map given to the guest: conventional memory up to the EBDA, the
 * reserved EBDA / video / ROM hole, then RAM from 1 MiB to the end. */
#define LOW_RAM_END    0x9fc00ull
#define HIGH_RAM_START 0x100000ull
#define GUEST_MMAP_ENTRIES 3
#define MMAP_AVAILABLE 1u        /* the same type values in both specifications */
#define MMAP_RESERVED  2u

#define LOAD_MAX_SEGMENTS 32     /* PT_LOAD segments with contents; kernels have a handful */
#define LOAD_MAX_STRING   (64 * KIB) /* command line and loader name */
#define LOAD_MSG_MAX      256

struct loader {
	const uint8_t *image;
	uint64_t size;
	const struct guest_ram *ram;
	void (*report)(void *ctx, const char *msg);
	void *ctx;
};

/* Formats one report line (see load_multiboot for the "load: " convention). */
void load_say(const struct loader *l, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* "64 MiB", "1536 KiB" or "1000 bytes", for messages. */
void load_fmt_size(char *buf, size_t n, uint64_t bytes);

/* Bytewise little-endian reads: hostile images have no alignment to rely on. */
static inline uint16_t load_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t load_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load_rd64(const uint8_t *p)
{
	return (uint64_t)load_rd32(p) | (uint64_t)load_rd32(p + 4) << 32;
}

static inline uint64_t load_align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* ---- ELF (elf.c) ---- */

struct load_segment {
	unsigned index;             /* program header number, for messages */
	uint64_t offset, filesz;    /* file bytes [offset, offset + filesz) */
	uint64_t vaddr;
	uint64_t paddr, memsz;      /* guest-physical [paddr, paddr + memsz), below 4 GiB and in RAM */
};

struct load_plan {
	struct load_segment seg[LOAD_MAX_SEGMENTS];
	unsigned nseg;
	uint64_t start, end;        /* lowest loaded byte and one past the highest */
	uint64_t entry;             /* physical entry point from e_entry */
};

/* Validates the ELF executable in l->image and fills plan; reports and fails on any problem. */
err_t load_elf_plan(const struct loader *l, struct load_plan *plan);
/* Whether guest-physical addr lies in a planned segment. */
bool load_plan_contains(const struct load_plan *plan, uint64_t addr);
/* Copies every planned segment into guest RAM and zeroes its tail. */
err_t load_plan_apply(const struct loader *l, const struct load_plan *plan);

/* ---- Multiboot headers (multiboot1.c, multiboot2.c) ---- */

enum hdr_scan {
	HDR_NONE,             /* no magic at an allowed offset */
	HDR_FOUND,            /* magic and checksum hold at off */
	HDR_BAD_CHECKSUM,     /* magic at off, checksum does not hold (sum is the total) */
};

struct hdr_find {
	enum hdr_scan kind;
	uint64_t off;
	uint32_t sum;
};

/* What a header asks of the loader beyond loading the ELF image. */
struct mb_request {
	bool has_entry;             /* Multiboot2 entry address tag */
	uint32_t entry;
	bool has_reloc;             /* Multiboot2 relocatable tag, not optional */
	uint32_t reloc_min, reloc_max;
};

/* The first valid header at an allowed offset, else the first whose checksum fails. */
struct hdr_find load_mb1_find(const struct loader *l);
struct hdr_find load_mb2_find(const struct loader *l);
/* Checks the header found at off; reports and fails on what the loader cannot honour. */
err_t load_mb1_check_header(const struct loader *l, uint64_t off);
err_t load_mb2_check_header(const struct loader *l, uint64_t off, struct mb_request *req);

/* ---- boot information (multiboot1.c, multiboot2.c) ---- */

struct boot_strings {
	const char *cmdline, *loader_name;
	uint64_t cmdline_len, loader_name_len; /* without the NUL */
};

struct guest_region {
	uint64_t base, len;
	uint32_t type;
};

/* The memory map promised to the guest (see load_multiboot). */
void load_guest_mmap(uint64_t ram_size, struct guest_region map[GUEST_MMAP_ENTRIES]);
/* KiB of RAM from 1 MiB up (the mem_upper of both specifications), saturated to 32 bits. */
uint32_t load_mem_upper_kib(uint64_t ram_size);
#define LOAD_MEM_LOWER_KIB ((uint32_t)(LOW_RAM_END / KIB))

/* Writes guest RAM at gpa + off; the first failure is reported and kept in err, later puts do nothing. */
struct info_writer {
	const struct loader *l;
	uint64_t gpa, size;
	err_t err;
};

void load_put(struct info_writer *w, uint64_t off, const void *src, uint64_t len);
void load_put32(struct info_writer *w, uint64_t off, uint32_t v);
void load_put64(struct info_writer *w, uint64_t off, uint64_t v);

uint64_t load_mb1_info_size(const struct boot_strings *s);
uint64_t load_mb2_info_size(const struct boot_strings *s);
/* Writes the boot information into [gpa, gpa + size), which the caller has zeroed. */
err_t load_mb1_info_write(const struct loader *l, uint64_t gpa, uint64_t size, const struct boot_strings *s);
err_t load_mb2_info_write(const struct loader *l, uint64_t gpa, uint64_t size, const struct boot_strings *s);

#endif
