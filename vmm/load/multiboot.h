/* multiboot.h: loads a Multiboot2 or Multiboot (v1) ELF kernel into a VM's RAM and builds its boot information. */
#ifndef VMM_LOAD_MULTIBOOT_H
#define VMM_LOAD_MULTIBOOT_H

#include <stdint.h>
#include "lib/error.h"

/* The VM's RAM: guest-physical [0, size) is RAM. */
struct guest_ram {
	uint64_t size;
	void *ctx;
	/* Copies len bytes into guest-physical gpa; ERR_INVAL when [gpa, gpa+len) is not inside RAM. */
	err_t (*write)(void *ctx, uint64_t gpa, const void *src, uint64_t len);
	/* Fills len bytes at gpa with zero (for .bss); same errors. */
	err_t (*zero)(void *ctx, uint64_t gpa, uint64_t len);
};

/* The register state the specifications prescribe at entry. */
struct guest_entry {
	uint32_t eip, eax, ebx;          /* 32-bit protected mode, paging off, flat segments (the caller sets those) */
	uint64_t image_start, image_end; /* guest-physical span of what was loaded, for the report */
	uint64_t info_gpa, info_size;    /* where the boot information was put */
	unsigned protocol;               /* 1 or 2 */
};

/* Reported to the guest at entry in EAX (Multiboot 0.6.96 section 3.2, Multiboot2 1.0 section 3.3, i386 machine state). */
#define MB1_BOOTLOADER_MAGIC_EAX 0x2badb002u
#define MB2_BOOTLOADER_MAGIC_EAX 0x36d76289u

/* Guest RAM below this is refused: the memory map promises RAM from 1 MiB on. */
#define LOAD_MIN_GUEST_RAM (2ull << 20)

/*
 * Loads image (size bytes) as a Multiboot2 kernel if it has a valid
 * Multiboot2 header, else as Multiboot (v1); ELF32 (i386) and ELF64 (x86-64)
 * executables are loaded by their PT_LOAD segments at p_paddr.  The guest is
 * given the memory map [0, 0x9fc00) available, [0x9fc00, 0x100000) reserved,
 * [0x100000, ram->size) available, the command line cmdline and the boot
 * loader name loader_name (NULL for either means ""); the boot information
 * lies page-aligned after the highest loaded byte.  Everything is validated
 * before the first byte is written into guest RAM.  On a problem exactly one
 * line (no newline, starting "load: ") goes to report(ctx, msg) (report may
 * be NULL) and ERR_MALFORMED (the image breaks its format), ERR_UNSUPPORTED
 * (it asks for what this loader does not do), ERR_NOMEM (it or the boot
 * information does not fit in guest RAM) or ERR_INVAL (bad arguments) is
 * returned, or the error of a failing ram callback; *entry is filled only on
 * success.  On success nothing is reported.
 */
err_t load_multiboot(const uint8_t *image, uint64_t size, const char *cmdline, const char *loader_name,
		     const struct guest_ram *ram, struct guest_entry *entry,
		     void (*report)(void *ctx, const char *msg), void *ctx);

#endif
