/* window.c: the hostile guest's own 4 KiB mappings beside the identity map: a window of test pages and a 1 GiB page. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

#define PML4_WINDOW 1 /* WINDOW_BASE, 512 GiB */
#define PML4_1G     2 /* 1 TiB */
#define ENTRIES     512

static uint64_t window_pdpt[ENTRIES] __attribute__((aligned(4096)));
static uint64_t window_pd[ENTRIES] __attribute__((aligned(4096)));
static uint64_t window_pt[ENTRIES] __attribute__((aligned(4096)));
static uint64_t pdpt_1g[ENTRIES] __attribute__((aligned(4096)));
uint8_t window_frames[4][4096] __attribute__((aligned(4096)));

static uint64_t phys(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity-mapped */
}

void window_init(void)
{
	uint64_t *pml4 = paging_pml4();

	window_pd[0] = phys(window_pt) | PTE_P | PTE_W;
	window_pdpt[0] = phys(window_pd) | PTE_P | PTE_W;
	pml4[PML4_WINDOW] = phys(window_pdpt) | PTE_P | PTE_W;
	write_cr3(read_cr3());
}

void window_map(unsigned index, uint64_t pa, uint64_t flags)
{
	window_pt[index] = flags ? (pa | flags) : 0;
	__asm__ volatile("invlpg (%0)" : : "r"(window_addr(index)) : "memory");
}

uint64_t window_map_1g(void)
{
	pdpt_1g[0] = 0 | PTE_P | PTE_W | PTE_PS;
	paging_pml4()[PML4_1G] = phys(pdpt_1g) | PTE_P | PTE_W;
	write_cr3(read_cr3());
	return (uint64_t)PML4_1G << 39;
}
