/* multiboot2.h: what the hypervisor takes from the Multiboot2 boot information, validated. */
#ifndef BOOT_MULTIBOOT2_H
#define BOOT_MULTIBOOT2_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/* Multiboot2 specification 1.0, section 3.2: machine state at entry. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

/* Tag types (Multiboot2 specification, section 3.6). */
enum mb2_tag_type {
	MB2_TAG_END            = 0,
	MB2_TAG_CMDLINE        = 1,
	MB2_TAG_LOADER_NAME    = 2,
	MB2_TAG_MODULE         = 3,
	MB2_TAG_BASIC_MEMINFO  = 4,
	MB2_TAG_BOOTDEV        = 5,
	MB2_TAG_MMAP           = 6,
	MB2_TAG_VBE            = 7,
	MB2_TAG_FRAMEBUFFER    = 8,
	MB2_TAG_ELF_SECTIONS   = 9,
	MB2_TAG_APM            = 10,
	MB2_TAG_EFI32          = 11,
	MB2_TAG_EFI64          = 12,
	MB2_TAG_SMBIOS         = 13,
	MB2_TAG_ACPI_OLD       = 14,
	MB2_TAG_ACPI_NEW       = 15,
	MB2_TAG_NETWORK        = 16,
	MB2_TAG_EFI_MMAP       = 17,
	MB2_TAG_EFI_BS         = 18,
	MB2_TAG_EFI32_IH       = 19,
	MB2_TAG_EFI64_IH       = 20,
	MB2_TAG_LOAD_BASE_ADDR = 21,
};

/* Memory map entry types (section 3.6.8). */
enum mb2_mem_type {
	MB2_MEM_AVAILABLE = 1,
	MB2_MEM_RESERVED  = 2,
	MB2_MEM_ACPI      = 3,
	MB2_MEM_NVS       = 4,
	MB2_MEM_BADRAM    = 5,
};

#define MB2_MAX_MMAP    128
#define MB2_MAX_MODULES 32

struct mb2_mmap_entry {
	uint64_t addr;
	uint64_t len;
	uint32_t type;
};

struct mb2_module {
	uint32_t start, end;   /* physical [start, end) */
	const char *cmdline;   /* points into the boot information, NUL-terminated */
};

struct mb2_framebuffer {
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, type;     /* type 0 indexed, 1 RGB, 2 EGA text */
};

struct boot_info {
	uint64_t info_phys, info_size; /* where the boot information itself lies */
	const char *cmdline;           /* "" when the tag is absent */
	const char *loader_name;       /* "" when the tag is absent */
	struct mb2_mmap_entry mmap[MB2_MAX_MMAP];
	unsigned nmmap;
	struct mb2_module modules[MB2_MAX_MODULES];
	unsigned nmodules;
	bool has_meminfo;
	uint32_t mem_lower_kb, mem_upper_kb;
	bool has_framebuffer;
	struct mb2_framebuffer fb;
	const void *rsdp;              /* copy of the ACPI RSDP inside the info, or NULL */
	unsigned rsdp_len;             /* bytes at rsdp */
	unsigned acpi_revision;        /* 1 for tag 14 (RSDP v1), 2 for tag 15 (RSDP v2+) */
	bool efi_boot;                 /* an EFI system table tag was present */
};

/* Receives one diagnostic line (no trailing newline) naming the tag at fault. */
typedef void (*mb2_report_fn)(void *ctx, const char *msg);

/*
 * Parses and validates the boot information at info (already mapped; its
 * physical address is info_phys, recorded for reservation).  limit bounds
 * how many bytes may be read (the caller's mapping).  A malformed optional tag
 * is reported and ignored; a malformed structure (bad total size, a tag
 * overrunning the end, no end tag) or a missing/malformed memory map is
 * reported and returns ERR_MALFORMED / ERR_MISSING.
 */
err_t mb2_parse(const void *info, uint64_t info_phys, uint64_t limit,
		struct boot_info *out, mb2_report_fn report, void *ctx);

#endif
