/* paging.c: a test guest's own 4-level page tables: its RAM identity-mapped with 2 MiB pages. */
#include "guests/common/guest.h"
#include "arch/x86/cpu.h"

/* Page-table entry bits (Intel SDM vol. 3A, 4.5 "4-Level Paging"). */
#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_LARGE    (1ull << 7) /* in a PD entry: maps a 2 MiB page */

#define PAGE_SIZE      4096
#define PAGE_2M        (2 * MIB)
#define TABLE_ENTRIES  512
#define MAX_MAPPED_GIB 16 /* one page directory per GiB, all in .bss */

static uint64_t pml4[TABLE_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pdpt[TABLE_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pd[MAX_MAPPED_GIB][TABLE_ENTRIES] __attribute__((aligned(PAGE_SIZE)));

bool paging_map_2m(uint64_t addr)
{
	if (addr >= MAX_MAPPED_GIB * GIB)
		return false;
	uint64_t gib = addr / GIB, *pde = &pd[gib][(addr % GIB) / PAGE_2M];

	if (*pde)
		return false;
	*pde = addr | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE;
	pdpt[gib] = (uint64_t)(uintptr_t)pd[gib] | PTE_PRESENT | PTE_WRITABLE;
	return true;
}

/* Replaces entry.asm's bootstrap map of 4 GiB by one of the 2 MiB pages that
 * hold available RAM; returns the bytes mapped and in *end the end of the
 * highest page. */
uint64_t paging_init(const struct boot_info *boot, uint64_t *end)
{
	const uint64_t limit = MAX_MAPPED_GIB * GIB;
	uint64_t mapped = 0;
	bool clipped = false;

	*end = 0;
	for (unsigned i = 0; i < boot->ram_count; i++) {
		uint64_t start = boot->ram[i].base & ~(PAGE_2M - 1);
		uint64_t stop = boot->ram[i].base + boot->ram[i].size;

		if (stop > limit) {
			stop = limit;
			clipped = true;
		}
		for (uint64_t addr = start; addr < stop; addr += PAGE_2M) {
			if (paging_map_2m(addr))
				mapped += PAGE_2M;
			if (addr + PAGE_2M > *end)
				*end = addr + PAGE_2M;
		}
	}
	if (clipped)
		report("RAM above %u GiB is neither mapped nor tested", MAX_MAPPED_GIB);
	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT | PTE_WRITABLE;
	write_cr3((uint64_t)(uintptr_t)pml4);
	return mapped;
}

uint64_t *paging_pml4(void)
{
	return pml4;
}
