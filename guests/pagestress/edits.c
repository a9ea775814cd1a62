/* edits.c: phase edits: page-table entries changed under a running address space, and the invalidation each change needs (SDM vol. 3A, 4.10.4). */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"

static const char P[] = "edits";

#define FRAMES  8
#define EDITS   256
#define VA      WINDOW                   /* the edited page */
#define ALIAS   (WINDOW + 1 * GIB)       /* its page table, mapped as data */
#define TWIN_A  (WINDOW + 2 * PAGE_SIZE) /* two pages of one frame */
#define TWIN_B  (WINDOW + 3 * PAGE_SIZE)
#define SPLIT   (WINDOW + 2 * GIB)       /* 4 KiB pages, then one 2 MiB page, then 4 KiB again */

static word_t *frames[FRAMES];

static word_t want_at(unsigned f, uint64_t offset)
{
	return pattern(phys(frames[f]) + offset, 40 + f);
}

static uint64_t leaf(unsigned f, uint64_t flags)
{
	return phys(frames[f]) | flags;
}

/* Points the page at another frame EDITS times, each followed by INVLPG. */
static void remaps(uint64_t *pte)
{
	for (unsigned i = 0; i < EDITS; i++) {
		unsigned f = i % FRAMES;
		uint64_t offset = (i * 8) % PAGE_SIZE;

		*pte = leaf(f, PTE_P | PTE_W);
		invlpg(VA);
		(void)tally_read(try_read(VA + offset), want_at(f, offset), "edit", i);
	}
	tally_verdict(P, "256 PTE edits to 8 frames, each followed by INVLPG: every read sees the new frame");
}

static void rights(uint64_t *pte)
{
	*pte = 0;
	invlpg(VA);
	expect_pf(P, "unmapped, then INVLPG: a read raises #PF(0)", try_read(VA + 8), VA + 8, 0);

	/* A not-present entry is never cached, but the change may still raise
	 * one spurious #PF before an invalidation (4.10.4.3). */
	*pte = leaf(1, PTE_P | PTE_W);
	struct outcome o = try_read(VA + 8);
	bool spurious = o.vector == VEC_PF && o.error == 0 && o.cr2 == VA + 8;
	char got[64];
	check_true(P, "mapped again without INVLPG: the read sees the frame (or raises a spurious #PF)",
		   spurious || (o.vector < 0 && o.value == want_at(1, 8)), describe(o, got, sizeof(got)));
	report("env: %s: the read after mapping without INVLPG %s", P,
	       spurious ? "raised a spurious #PF" : "saw the frame");
	invlpg(VA);
	expect_read(P, "and after INVLPG it sees the frame", try_read(VA + 8), want_at(1, 8));

	*pte = leaf(1, PTE_P);
	invlpg(VA);
	expect_pf(P, "made read-only, then INVLPG: a write raises #PF(P|W)", try_write(VA + 16, 1),
		  VA + 16, PF_P | PF_W);
	*pte = leaf(1, PTE_P | PTE_W);
	invlpg(VA);
	expect_write(P, "made writable again, then INVLPG: the write works", try_write(VA + 16, 0x51),
		     &frames[1][2], 0x51);

	(void)try_read(VA);
	*pte = leaf(2, PTE_P | PTE_W);
	write_cr3(read_cr3());
	expect_read(P, "pointed at another frame without INVLPG, then MOV CR3: the read sees it",
		    try_read(VA + 24), want_at(2, 24));
}

/* The page's PDE pointed at another table; that table written through a
 * mapping of its own.  Returns the PTE now in use. */
static uint64_t *tables(struct walk w)
{
	uint64_t *old_pt = table_at(*w.e[2]), *pt = frame_alloc();

	pt[0] = leaf(3, PTE_P | PTE_W);
	(void)try_read(VA);
	*w.e[2] = phys(pt) | PTE_P | PTE_W | PTE_U;
	invlpg(VA);
	expect_read(P, "its PDE pointed at another page table, then INVLPG: the read sees that table's frame",
		    try_read(VA + 32), want_at(3, 32));
	frame_free(old_pt);

	(void)map_page(base_root(), ALIAS, phys(pt), PTE_P | PTE_W, 1);
	struct outcome o = try_write(ALIAS, leaf(4, PTE_P | PTE_W));
	invlpg(VA);
	expect_read(P, "its PTE written through another mapping of the table, then INVLPG: the read sees the new frame",
		    o.vector < 0 ? try_read(VA + 40) : o, want_at(4, 40));

	(void)map_page(base_root(), TWIN_A, phys(frames[5]), PTE_P | PTE_W, 1);
	(void)map_page(base_root(), TWIN_B, phys(frames[5]), PTE_P | PTE_W, 1);
	(void)try_read(TWIN_B + 48);
	o = try_write(TWIN_A + 48, 0x4242);
	expect_read(P, "two PTEs mapping one frame: a write through one is read through the other",
		    o.vector < 0 ? try_read(TWIN_B + 48) : o, 0x4242);
	return pt;
}

/* The same 2 MiB first mapped by a page table, then by one PDE, then by the
 * page table again; MOV CR3 flushes the other page size (4.10.2.3). */
static void page_sizes(void)
{
	uint64_t base = phys(frames[6]) & ~(PAGE_2M - 1);
	uint64_t off6 = phys(frames[6]) - base, off7 = phys(frames[7]) - base;
	bool same_2m = (phys(frames[7]) & ~(PAGE_2M - 1)) == base;
	struct walk w = map_page(base_root(), SPLIT + off6, phys(frames[6]), PTE_P | PTE_W, 1);
	uint64_t table = *w.e[2];

	if (same_2m)
		(void)map_page(base_root(), SPLIT + off7, phys(frames[7]), PTE_P | PTE_W, 1);
	(void)tally_read(try_read(SPLIT + off6 + 8), want_at(6, 8), "4 KiB page", 6);
	*w.e[2] = base | PTE_P | PTE_W | PTE_PS;
	write_cr3(read_cr3());
	(void)tally_read(try_read(SPLIT + off6 + 16), want_at(6, 16), "2 MiB page, frame", 6);
	if (same_2m)
		(void)tally_read(try_read(SPLIT + off7 + 16), want_at(7, 16), "2 MiB page, frame", 7);
	tally_verdict(P, "4 KiB pages replaced by a 2 MiB page, then MOV CR3: reads see the large page");
	*w.e[2] = table;
	write_cr3(read_cr3());
	(void)tally_read(try_read(SPLIT + off6 + 24), want_at(6, 24), "4 KiB page", 6);
	uint64_t unmapped = 0;
	while (unmapped == off6 || (same_2m && unmapped == off7))
		unmapped += PAGE_SIZE;
	expect_pf(P, "and back to the page table, then MOV CR3: its unmapped pages raise #PF(0) again",
		  try_read(SPLIT + unmapped), SPLIT + unmapped, 0);
	tally_verdict(P, "and its mapped page reads its frame");
}

void phase_edits(void)
{
	for (unsigned f = 0; f < FRAMES; f++) {
		frames[f] = frame_alloc();
		fill_frame(frames[f], 40 + f);
	}
	struct walk w = map_page(base_root(), VA, phys(frames[0]), PTE_P | PTE_W, 1);
	(void)try_read(VA);
	remaps(w.e[1]);
	rights(w.e[1]);
	(void)tables(w);
	page_sizes();
	for (unsigned f = 0; f < FRAMES; f++)
		frame_free(frames[f]);
}
