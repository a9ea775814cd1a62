/* layout.h: the hypervisor's virtual address space and conversions between its views of memory. */
#ifndef MM_LAYOUT_H
#define MM_LAYOUT_H

#include <stdint.h>

/*
 *   0xffff800000000000  direct map: all memory the firmware map lists, at base + physical
 *   0xffffc00000000000  device window: uncached mappings of device registers (LAPIC)
 *   0xffffffff80000000  the hypervisor image (text, rodata, data, bss), at base + physical
 */
#define DIRECT_MAP_BASE 0xffff800000000000ull
#define DEVICE_MAP_BASE 0xffffc00000000000ull
#define DEVICE_MAP_SIZE (1ull << 30)
#define KERNEL_VMA      0xffffffff80000000ull
/* Physical memory at or above this is neither mapped nor used (64 TiB). */
#define DIRECT_MAP_SIZE (1ull << 46)

/* Until paging_init switches tables, only physical 0..4 GiB is in the direct map. */
#define EARLY_MAP_LIMIT (4ull << 30)

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)(DIRECT_MAP_BASE + pa);
}

static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)(uintptr_t)va;
	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}

/* Linker-script symbols (linker.ld). */
extern char __image_start_phys[], __image_end_phys[];
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_end[], __ksyms_start[], __ksyms_end[];

#endif
