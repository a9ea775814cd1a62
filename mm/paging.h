/* paging.h: the hypervisor's own page tables. */
#ifndef MM_PAGING_H
#define MM_PAGING_H

#include "boot/multiboot2.h"
#include "lib/error.h"

/*
 * Builds and loads the final tables: a direct map of every range the memory
 * map lists (largest pages the CPU has, never executable), and the image
 * mapped by section (text RX, read-only data R+NX, data RW+NX) with the
 * stack guard pages left out.  Needs memory_init() first.
 */
err_t paging_init(const struct boot_info *bi);
void paging_report(void);
/* Maps a device's registers [pa, pa + len) uncached (PCD, PWT) and non-executable; *va is where. */
err_t paging_map_device(uint64_t pa, uint64_t len, void **va);

#endif
