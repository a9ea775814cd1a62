/* frames.c: the long-mode part's frames (a pool in .bss) and its 4-level page tables built from them (SDM vol. 3A, 4.5). */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

#define POOL_FRAMES 192
#define ENTRIES     512

static uint8_t pool[POOL_FRAMES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static void *free_list[POOL_FRAMES];
static unsigned free_count;
static bool pool_ready;

/* The user-mode pages' tables, outside the pool: every phase sees them. */
static uint64_t user_pdpt[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t user_pd[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t user_pt[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static word_t user_scratch[PAGE_SIZE / sizeof(word_t)] __attribute__((aligned(PAGE_SIZE)));

/* Frees in reverse, so that the first frames handed out are the lowest. */
static void pool_init(void)
{
	for (unsigned i = 0; i < POOL_FRAMES; i++)
		free_list[i] = pool[POOL_FRAMES - 1 - i];
	free_count = POOL_FRAMES;
	pool_ready = true;
}

void *frame_alloc(void)
{
	if (!pool_ready)
		pool_init();
	if (!free_count)
		check_fatal("frames", "the pool is exhausted");
	void *f = free_list[--free_count];
	memset(f, 0, PAGE_SIZE);
	return f;
}

void frame_free(void *frame)
{
	free_list[free_count++] = frame;
}

unsigned frames_free(void)
{
	if (!pool_ready)
		pool_init();
	return free_count;
}

static unsigned index_at(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

struct walk map_page(uint64_t *root, uint64_t va, uint64_t pa, uint64_t flags, unsigned leaf)
{
	struct walk w = { { NULL, NULL, NULL, NULL, NULL } };
	uint64_t *table = root;

	for (unsigned level = 4; level > leaf; level--) {
		uint64_t *e = &table[index_at(va, level)];

		if (!(*e & PTE_P))
			*e = phys(frame_alloc()) | PTE_P | PTE_W | PTE_U;
		w.e[level] = e;
		table = table_at(*e);
	}
	w.e[leaf] = &table[index_at(va, leaf)];
	*w.e[leaf] = pa | flags | (leaf > 1 ? PTE_PS : 0);
	return w;
}

uint64_t *base_root(void)
{
	uint64_t *root = paging_pml4();

	if (!(root[PML4_SLOT_USER] & PTE_P)) {
		user_pt[0] = phys(user_page) | PTE_P | PTE_U;
		user_pt[1] = phys(user_scratch) | PTE_P | PTE_W | PTE_U;
		user_pd[0] = phys(user_pt) | PTE_P | PTE_W | PTE_U;
		user_pdpt[0] = phys(user_pd) | PTE_P | PTE_W | PTE_U;
		root[PML4_SLOT_USER] = phys(user_pdpt) | PTE_P | PTE_W | PTE_U;
		user_setup(USER_CODE, USER_SCRATCH, user_scratch);
	}
	return root;
}

/* Frees the tables under a PDPT (level 3) or a page directory (level 2):
 * the entries that point at tables, not those that map pages. */
static void free_tables_below(uint64_t *table, unsigned level)
{
	for (unsigned i = 0; i < ENTRIES; i++) {
		uint64_t e = table[i];

		if (!(e & PTE_P) || (e & PTE_PS))
			continue;
		if (level > 2)
			free_tables_below(table_at(e), level - 1);
		frame_free(table_at(e));
	}
}

void unmap_slot(uint64_t *root, unsigned slot)
{
	uint64_t e = root[slot];

	root[slot] = 0;
	if (!(e & PTE_P))
		return;
	free_tables_below(table_at(e), 3);
	frame_free(table_at(e));
}

uint64_t *new_root(void)
{
	uint64_t *base = base_root(), *root = frame_alloc();

	root[0] = base[0];
	root[PML4_SLOT_USER] = base[PML4_SLOT_USER];
	return root;
}

void free_root(uint64_t *root)
{
	for (unsigned slot = 1; slot < ENTRIES; slot++)
		if (slot != PML4_SLOT_USER)
			unmap_slot(root, slot);
	frame_free(root);
}
