/* memory.h: the machine's memory: one buddy allocator over all usable RAM. */
#ifndef MM_MEMORY_H
#define MM_MEMORY_H

#include <stdint.h>
#include "boot/multiboot2.h"
#include "lib/error.h"
#include "mm/buddy.h"

extern struct buddy machine_pages;

/*
 * Builds the allocator from the memory map, withholding low memory, the
 * hypervisor image, the boot information and the modules.  Only RAM below
 * EARLY_MAP_LIMIT is handed out until memory_release_high().
 */
err_t memory_init(const struct boot_info *bi);
/* Hands out RAM above EARLY_MAP_LIMIT, once the direct map covers it. */
err_t memory_release_high(void);
/* Prints total, reserved and free memory, free blocks per order and pages per owner. */
void memory_report(void);

/* A zeroed page-aligned block of 2^order pages for owner; its physical address in *pa. */
err_t page_alloc(unsigned order, unsigned owner, uint64_t *pa);
err_t page_free(uint64_t pa, unsigned owner);

#endif
