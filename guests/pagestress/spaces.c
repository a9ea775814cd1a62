/* spaces.c: phase spaces: 16 address spaces mapping one window to frames of their own, switched by CR3; global pages (CR4.PGE) and PCIDs, checked only where the SDM guarantees the result (4.10.4). */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"

static const char P[] = "spaces";

#define SPACES      16
#define PAGES       2                         /* window pages per space */
#define ROUNDS      128
#define PCID_ROUNDS 64
#define GLOBAL_VA   (WINDOW + 8 * PAGE_SIZE)  /* the global page, in every space's page table */
#define CR3_NOFLUSH (1ull << 63)              /* with CR4.PCIDE: keep the PCID's entries */
#define CR3_PCID    0xfffull

static uint64_t *roots[SPACES];
static struct walk walks[SPACES][PAGES + 1]; /* the window pages, then the global page */
static word_t *frames[SPACES][PAGES];
static word_t *global_old, *global_new;
static word_t salt_of(unsigned space, unsigned page)
{
	return 100 + space * PAGES + page;
}

/* In the running space s: each window page reads its frame at an offset
 * that moves with the round; word 0 of page 0 counts the visits. */
static void visit(unsigned s, unsigned round, bool counting)
{
	uint64_t offset = 8 + (round * 8 % (PAGE_SIZE - 8));

	for (unsigned p = 0; p < PAGES; p++) {
		uint64_t va = WINDOW + p * PAGE_SIZE + offset;
		struct outcome o = try_read(va);
		if (o.vector >= 0 || o.value != pattern(phys(frames[s][p]) + offset, salt_of(s, p)))
			tally_error(o, "space %u page %u", s, p);
	}
	if (!counting)
		return;
	struct outcome o = try_read(WINDOW);
	word_t want = round ? (round - 1) * SPACES + s : pattern(phys(frames[s][0]), salt_of(s, 0));
	if (o.vector >= 0 || o.value != want)
		tally_error(o, "space %u round %u counter", s, round);
	(void)try_write(WINDOW, round * SPACES + s);
}

static uint64_t cr3_of(unsigned s, bool pcid, bool noflush)
{
	return phys(roots[s]) | (pcid ? s + 1 : 0) | (noflush ? CR3_NOFLUSH : 0);
}

static void build(void)
{
	for (unsigned s = 0; s < SPACES; s++) {
		roots[s] = new_root();
		for (unsigned p = 0; p < PAGES; p++) {
			frames[s][p] = frame_alloc();
			fill_frame(frames[s][p], salt_of(s, p));
			walks[s][p] = map_page(roots[s], WINDOW + p * PAGE_SIZE, phys(frames[s][p]),
					       PTE_P | PTE_W, 1);
		}
	}
}

static void round_robin(void)
{
	char what[112];

	for (unsigned r = 0; r < ROUNDS; r++)
		for (unsigned s = 0; s < SPACES; s++) {
			write_cr3(cr3_of(s, false, false));
			visit(s, r, true);
		}
	write_cr3(phys(base_root()));
	for (unsigned s = 0; s < SPACES; s++)
		if (frames[s][0][0] != (ROUNDS - 1) * SPACES + s)
			tally_error((struct outcome){ -1, 0, 0, frames[s][0][0] }, "space %u's counter in its frame", s);
	ksnprintf(what, sizeof(what), "%u CR3 switches among %u address spaces: every read sees its own space's frames",
		  ROUNDS * SPACES, SPACES);
	tally_verdict(P, what);

	/* Edited while another space runs: the CR3 load must not use the old entry. */
	word_t *moved = frame_alloc();
	fill_frame(moved, 99);
	write_cr3(cr3_of(5, false, false));
	visit(5, 0, false);
	write_cr3(cr3_of(0, false, false));
	*walks[5][1].e[1] = phys(moved) | PTE_P | PTE_W;
	write_cr3(cr3_of(5, false, false));
	expect_read(P, "a PTE edited while its space is not running is seen after the CR3 switch to it",
		    try_read(WINDOW + PAGE_SIZE + 64), pattern(phys(moved) + 64, 99));
	*walks[5][1].e[1] = phys(frames[5][1]) | PTE_P | PTE_W;
	write_cr3(phys(base_root()));
	frame_free(moved);
}

/* Reads the global page in every space: counts reads of the old frame in
 * *stale (when stale is given, either frame is right), errors otherwise. */
static void global_round(const word_t *want, unsigned *stale)
{
	for (unsigned s = 0; s < SPACES; s++) {
		write_cr3(cr3_of(s, false, false));
		struct outcome o = try_read(GLOBAL_VA + 128);
		bool is_want = o.vector < 0 && o.value == pattern(phys(want) + 128, 7);
		bool is_other = o.vector < 0 && o.value == pattern(phys(want == global_new ? global_old : global_new) + 128, 7);
		if (stale && is_other)
			(*stale)++;
		else if (!is_want)
			tally_error(o, "space %u, global page", s);
	}
}

static void set_global_frame(const word_t *frame)
{
	for (unsigned s = 0; s < SPACES; s++)
		*walks[s][PAGES].e[1] = phys(frame) | PTE_P | PTE_W | PTE_G;
}

/* CR4.PGE: a global page's entries may survive CR3 loads; INVLPG and a
 * CR4.PGE change remove them (4.10.2.4, 4.10.4.1). */
static void global_pages(void)
{
	unsigned stale = 0;

	if (!has(F_PGE)) {
		skipped(P, "global pages", "PGE not shown");
		return;
	}
	global_old = frame_alloc();
	global_new = frame_alloc();
	fill_frame(global_old, 7);
	fill_frame(global_new, 7);
	for (unsigned s = 0; s < SPACES; s++)
		walks[s][PAGES] = map_page(roots[s], GLOBAL_VA, phys(global_old), PTE_P | PTE_W | PTE_G, 1);
	set_cr4_bits(CR4_PGE_BIT, true);
	for (unsigned r = 0; r < 4; r++)
		global_round(global_old, NULL);
	tally_verdict(P, "a global page mapped alike in every space reads its frame across CR3 switches");

	set_global_frame(global_new);
	global_round(global_new, &stale);
	tally_verdict(P, "its PTEs changed: after CR3 switches it reads the old frame or the new one");
	report("env: %s: %u of %u reads after CR3 switches saw the old global frame", P, stale, SPACES);
	invlpg(GLOBAL_VA);
	global_round(global_new, NULL);
	tally_verdict(P, "after INVLPG it reads the new frame in every space");

	set_global_frame(global_old);
	stale = 0;
	global_round(global_old, &stale);
	report("env: %s: %u of %u reads after CR3 switches saw the old global frame (again)", P, stale,
	       SPACES);
	tally_verdict(P, "changed back: after CR3 switches it reads either frame");
	set_cr4_bits(CR4_PGE_BIT, false);
	set_cr4_bits(CR4_PGE_BIT, true);
	global_round(global_old, NULL);
	tally_verdict(P, "after CR4.PGE is cleared and set it reads the new frame in every space");
	set_cr4_bits(CR4_PGE_BIT, false);
	write_cr3(phys(base_root()));
	frame_free(global_old);
	frame_free(global_new);
}

struct invpcid_desc {
	uint64_t pcid, addr;
};

static void invpcid(uint64_t type, uint64_t pcid, uint64_t addr)
{
	struct invpcid_desc d = { pcid, addr };
	__asm__ volatile("invpcid %0, %1" : : "m"(d), "r"(type) : "memory");
}

#define EDITED_SALT 98
#define EDITED_AT   (WINDOW + PAGE_SIZE + 72)

/* Lets space s's window be cached under its PCID, then, from space 0,
 * points its second page at frame. */
static void edit_other_pcid(unsigned s, const word_t *frame)
{
	write_cr3(cr3_of(s, true, true));
	visit(s, 0, false);
	write_cr3(cr3_of(0, true, true));
	*walks[s][1].e[1] = phys(frame) | PTE_P | PTE_W;
}

/* Points it back at its own frame, and drops the PCID's entries. */
static void undo_edit(unsigned s)
{
	*walks[s][1].e[1] = phys(frames[s][1]) | PTE_P | PTE_W;
	write_cr3(cr3_of(s, true, false));
}

/* The edit, then INVPCID of this type, then a switch with bit 63 set: the
 * read must show the new frame. */
static void invpcid_edit_seen(const char *what, unsigned s, const word_t *frame, uint64_t type)
{
	edit_other_pcid(s, frame);
	invpcid(type, s + 1, WINDOW + PAGE_SIZE);
	write_cr3(cr3_of(s, true, true));
	expect_read(P, what, try_read(EDITED_AT), pattern(phys(frame) + 72, EDITED_SALT));
	undo_edit(s);
}

/* CR4.PCIDE: entries are tagged with the PCID in CR3[11:0]; a load with
 * bit 63 set keeps the new PCID's entries, one without it drops them
 * (4.10.1, 4.10.4.1).  Only what that guarantees is checked. */
static void pcids(void)
{
	char what[112];

	if (!has(F_PCID)) {
		skipped(P, "PCIDs", "PCID not shown");
		return;
	}
	set_cr4_bits(CR4_PCIDE_BIT, true);
	write_cr3(cr3_of(3, true, true));
	check_value(P, "with CR4.PCIDE, CR3 loaded with bit 63 set reads back without it, the PCID in bits 11:0",
		    read_cr3(), phys(roots[3]) | 4);

	for (unsigned s = 0; s < SPACES; s++) {
		write_cr3(cr3_of(s, true, false));
		visit(s, 0, false);
	}
	for (unsigned r = 0; r < PCID_ROUNDS; r++)
		for (unsigned s = 0; s < SPACES; s++) {
			write_cr3(cr3_of(s, true, true));
			visit(s, r + 1, false);
		}
	ksnprintf(what, sizeof(what), "%u switches among %u PCIDs with bit 63 set: every read sees its own space's frames",
		  PCID_ROUNDS * SPACES, SPACES);
	tally_verdict(P, what);

	word_t *edited = frame_alloc();
	fill_frame(edited, EDITED_SALT);
	edit_other_pcid(7, edited);
	write_cr3(cr3_of(7, true, true));
	struct outcome o = try_read(EDITED_AT);
	bool old = o.vector < 0 && o.value == pattern(phys(frames[7][1]) + 72, salt_of(7, 1));
	bool fresh_frame = o.vector < 0 && o.value == pattern(phys(edited) + 72, EDITED_SALT);
	char got[64];
	check_true(P, "a PTE edited under another PCID: a switch with bit 63 set reads the old frame or the new one",
		   old || fresh_frame, describe(o, got, sizeof(got)));
	report("env: %s: the switch with bit 63 set read the %s frame", P, old ? "old" : "new");
	write_cr3(cr3_of(7, true, false));
	expect_read(P, "and the switch to it without bit 63 reads the new frame", try_read(EDITED_AT),
		    pattern(phys(edited) + 72, EDITED_SALT));
	undo_edit(7);

	write_cr3(cr3_of(1, true, false));
	visit(1, 0, false);
	write_cr3(cr3_of(2, true, false));
	visit(2, 0, false);
	write_cr3(cr3_of(1, true, false));
	visit(1, 0, false);
	tally_verdict(P, "a switch to another PCID and back, both without bit 63, shows each space's frames");

	if (has(F_INVPCID)) {
		invpcid_edit_seen("after INVPCID (individual address) of its PCID a switch with bit 63 set reads the new frame",
			       9, edited, 0);
		invpcid_edit_seen("after INVPCID (single context) likewise", 10, edited, 1);
		invpcid_edit_seen("after INVPCID (all contexts, globals included) likewise", 11, edited, 2);
		invpcid_edit_seen("after INVPCID (all contexts but globals) likewise", 12, edited, 3);
	} else {
		skipped(P, "INVPCID", "not shown");
	}
	write_cr3(phys(base_root()));
	set_cr4_bits(CR4_PCIDE_BIT, false);
	frame_free(edited);
}

void phase_spaces(void)
{
	build();
	round_robin();
	global_pages();
	pcids();
	write_cr3(phys(base_root()));
	for (unsigned s = 0; s < SPACES; s++) {
		free_root(roots[s]);
		for (unsigned p = 0; p < PAGES; p++)
			frame_free(frames[s][p]);
	}
}
