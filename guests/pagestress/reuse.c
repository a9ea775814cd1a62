/* reuse.c: phase reuse: one frame used as a page table, freed, written as data, then used as a page directory, a PDPT and a PML4, each translation checked after each step. */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

static const char P[] = "reuse";

#define PAGES     8
#define TABLE_VA  WINDOW               /* step 1: 8 pages through the frame as a page table */
#define DATA_VA   (WINDOW + 1 * GIB)   /* the frame mapped as data */
#define PD_VA     (WINDOW + 2 * GIB)   /* the frame as a page directory (PDPTE 2 of slot 1) */
#define PDPT_SLOT 3                    /* the frame as a PDPT (PML4E 3) */
#define PML4_SLOT 4                    /* what the frame maps as a PML4 */
#define ENTRIES   512

static word_t *frames[PAGES];
static uint64_t *frame; /* the frame being reused */

static word_t want_at(unsigned f, uint64_t offset)
{
	return pattern(phys(frames[f]) + offset, 60 + f);
}

static uint64_t pte_of(unsigned f)
{
	return phys(frames[f]) | PTE_P | PTE_W;
}

/* Every page of the table region maps frame (i + shift) % PAGES. */
static void check_table_region(const char *what)
{
	for (unsigned i = 0; i < PAGES; i++) {
		uint64_t offset = 8 * (i + 1);
		(void)tally_read(try_read(TABLE_VA + i * PAGE_SIZE + offset), want_at(i, offset), "page", i);
	}
	tally_verdict(P, what);
}

static void check_faults(uint64_t va, unsigned pages, uint64_t stride, const char *what)
{
	for (unsigned i = 0; i < pages; i++) {
		struct outcome o = try_read(va + i * stride);
		if (o.vector != VEC_PF || o.error != 0 || o.cr2 != va + i * stride)
			tally_error(o, "page %u (want #PF(0))", i);
	}
	tally_verdict(P, what);
}

/* The words written while the frame is data look like present PTEs of
 * the test frames, in case a stale view of the old table were used. */
static uint64_t data_word(unsigned i)
{
	return i % 2 ? pte_of((i / 2 + 3) % PAGES) : pattern(phys(frame) + 8 * i, 61);
}

static void as_data(struct walk data_map, const char *what)
{
	*data_map.e[1] = phys(frame) | PTE_P | PTE_W;
	invlpg(DATA_VA);
	for (unsigned i = 0; i < ENTRIES; i++) {
		struct outcome o = try_write(DATA_VA + 8 * i, data_word(i));
		if (o.vector >= 0)
			tally_error(o, "write of word %u", i);
	}
	for (unsigned i = 0; i < ENTRIES; i++) {
		(void)tally_read(try_read(DATA_VA + 8 * i), data_word(i), "word", i);
		if (frame[i] != data_word(i))
			tally_error((struct outcome){ -1, 0, 0, frame[i] }, "word %u in the identity map", i);
	}
	tally_verdict(P, what);
	*data_map.e[1] = 0;
	invlpg(DATA_VA);
}

void phase_reuse(void)
{
	uint64_t *root = base_root();

	for (unsigned f = 0; f < PAGES; f++) {
		frames[f] = frame_alloc();
		fill_frame(frames[f], 60 + f);
	}
	struct walk table = map_page(root, TABLE_VA, phys(frames[0]), PTE_P | PTE_W, 1);
	struct walk data_map = map_page(root, DATA_VA, phys(frames[0]), PTE_P | PTE_W, 1);
	frame = table_at(*table.e[2]);
	for (unsigned i = 1; i < PAGES; i++)
		frame[i] = pte_of(i);
	check_table_region("a frame used as a page table: its 8 pages read their frames");

	/* Freed: unlinked from its PDE, every page flushed. */
	*table.e[2] = 0;
	for (unsigned i = 0; i < PAGES; i++)
		invlpg(TABLE_VA + i * PAGE_SIZE);
	check_faults(TABLE_VA, PAGES, PAGE_SIZE, "unlinked, then INVLPG: its 8 pages raise #PF(0)");

	as_data(data_map, "reused as data: 512 words written through a new mapping read back there and in the identity map");
	check_faults(TABLE_VA, PAGES, PAGE_SIZE, "and the old table's pages still raise #PF(0)");

	/* A page directory: a page table (frames 4 and 5) and a 2 MiB page (frame 6). */
	uint64_t *pt = frame_alloc(), *pdpt = table_at(root[1]);
	pt[0] = pte_of(4);
	pt[1] = pte_of(5);
	memset(frame, 0, PAGE_SIZE);
	frame[0] = phys(pt) | PTE_P | PTE_W | PTE_U;
	frame[1] = (phys(frames[6]) & ~(PAGE_2M - 1)) | PTE_P | PTE_W | PTE_PS;
	pdpt[(PD_VA >> 30) & (ENTRIES - 1)] = phys(frame) | PTE_P | PTE_W | PTE_U;
	write_cr3(read_cr3());
	uint64_t large = PD_VA + PAGE_2M + (phys(frames[6]) & (PAGE_2M - 1));
	(void)tally_read(try_read(PD_VA + 8), want_at(4, 8), "page table page", 0);
	(void)tally_read(try_read(PD_VA + PAGE_SIZE + 8), want_at(5, 8), "page table page", 1);
	(void)tally_read(try_read(large + 16), want_at(6, 16), "2 MiB page", 0);
	tally_verdict(P, "reused as a page directory: a page table and a 2 MiB page through it read their frames");
	pdpt[(PD_VA >> 30) & (ENTRIES - 1)] = 0;
	write_cr3(read_cr3());
	check_faults(PD_VA, 2, PAGE_2M, "unlinked, then MOV CR3: its region raises #PF(0)");

	/* A PDPT: a page directory of one page table (frame 7), and a 1 GiB page. */
	uint64_t *pd = frame_alloc();
	pt[0] = pte_of(7);
	pt[1] = 0;
	pd[0] = phys(pt) | PTE_P | PTE_W | PTE_U;
	memset(frame, 0, PAGE_SIZE);
	frame[0] = phys(pd) | PTE_P | PTE_W | PTE_U;
	if (has(F_PAGE1G))
		frame[1] = 0 | PTE_P | PTE_W | PTE_PS;
	root[PDPT_SLOT] = phys(frame) | PTE_P | PTE_W | PTE_U;
	write_cr3(read_cr3());
	(void)tally_read(try_read(SLOT(PDPT_SLOT) + 24), want_at(7, 24), "page table page", 0);
	if (has(F_PAGE1G))
		(void)tally_read(try_read(SLOT(PDPT_SLOT) + GIB + phys(frames[3]) + 24), want_at(3, 24),
				 "1 GiB page", 0);
	tally_verdict(P, "reused as a PDPT: a page directory and a 1 GiB page through it read their frames");
	root[PDPT_SLOT] = 0;
	write_cr3(read_cr3());
	check_faults(SLOT(PDPT_SLOT), 1, 0, "unlinked, then MOV CR3: its slot raises #PF(0)");

	/* A PML4 of its own: the identity map and the user pages, and a slot
	 * reaching frame 2 through the PDPT made of pd. */
	uint64_t *pdpt4 = frame_alloc();
	pt[0] = pte_of(2);
	pdpt4[0] = phys(pd) | PTE_P | PTE_W | PTE_U;
	memset(frame, 0, PAGE_SIZE);
	frame[0] = root[0];
	frame[PML4_SLOT_USER] = root[PML4_SLOT_USER];
	frame[PML4_SLOT] = phys(pdpt4) | PTE_P | PTE_W | PTE_U;
	write_cr3(phys(frame));
	(void)tally_read(try_read(SLOT(PML4_SLOT) + 32), want_at(2, 32), "page through the PML4", 0);
	struct outcome o = try_read(TABLE_VA);
	if (o.vector != VEC_PF || o.error != 0)
		tally_error(o, "slot 1 (want #PF(0))");
	write_cr3(phys(root));
	tally_verdict(P, "reused as a PML4: CR3 loaded with it, its translations read their frames");
	check_faults(SLOT(PML4_SLOT), 1, 0, "back on the old PML4: that slot raises #PF(0)");

	as_data(data_map, "and as data again: written and read back");
	frame_free(pdpt4);
	frame_free(pd);
	frame_free(pt);
	frame_free(frame);
	for (unsigned f = 0; f < PAGES; f++)
		frame_free(frames[f]);
}
