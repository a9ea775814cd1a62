/* churn.c: phase churn: fork/exec-like churn: 4-level address spaces built, used and torn down again and again, their frames reused at other levels and as data. */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"

static const char P[] = "churn";

#define SPACES 200
#define PAGES  4

/* Where space n maps its pages: a PML4 slot, a PDPTE and a PDE that move. */
static uint64_t space_va(unsigned n)
{
	return SLOT(3 + n % 61) + (uint64_t)(n % 7) * GIB + (uint64_t)(n % 5) * PAGE_2M;
}

void phase_churn(void)
{
	unsigned before = frames_free(), faults = 0;
	char what[112];

	for (unsigned n = 0; n < SPACES; n++) {
		word_t *frames[PAGES];
		uint64_t va = space_va(n), offset = 8 + (n * 8) % (PAGE_SIZE - 8);
		uint64_t *root = new_root();

		/* Tables and data frames come from the pool interleaved, so each
		 * frame serves as either over the run. */
		for (unsigned p = 0; p < PAGES; p++) {
			frames[p] = frame_alloc();
			fill_frame(frames[p], n);
			(void)map_page(root, va + p * PAGE_SIZE, phys(frames[p]), PTE_P | PTE_W, 1);
		}
		bool large = n % 4 == 0;
		uint64_t large_va = va + PAGE_2M;
		if (large)
			(void)map_page(root, large_va, phys(frames[0]) & ~(PAGE_2M - 1), PTE_P | PTE_W, 2);

		write_cr3(phys(root));
		for (unsigned p = 0; p < PAGES; p++) {
			(void)tally_read(try_read(va + p * PAGE_SIZE + offset),
					 pattern(phys(frames[p]) + offset, n), "space page", n * PAGES + p);
			struct outcome o = try_write(va + p * PAGE_SIZE, n * PAGES + p);
			if (o.vector >= 0)
				tally_error(o, "write in space %u page %u", n, p);
		}
		if (large)
			(void)tally_read(try_read(large_va + (phys(frames[0]) & (PAGE_2M - 1)) + offset),
					 pattern(phys(frames[0]) + offset, n), "2 MiB page of space", n);
		struct outcome o = try_read(va + PAGES * PAGE_SIZE);
		faults += !(o.vector == VEC_PF && o.error == 0 && o.cr2 == va + PAGES * PAGE_SIZE);
		write_cr3(phys(base_root()));

		for (unsigned p = 0; p < PAGES; p++) {
			if (frames[p][0] != n * PAGES + p)
				tally_error((struct outcome){ -1, 0, 0, frames[p][0] }, "space %u page %u's frame", n, p);
			/* Freed in a turning order: the next space's tables are these pages. */
			frame_free(frames[(p + n) % PAGES]);
		}
		free_root(root);
	}
	ksnprintf(what, sizeof(what), "%u address spaces built, used and torn down: every read saw its frame, every write landed",
		  SPACES);
	tally_verdict(P, what);
	check_value(P, "and in each the page after its pages raised #PF(0): spaces that did not", faults, 0);
	check_value(P, "every frame went back to the pool: frames missing", before - frames_free(), 0);
}
