/* long_user.c: phase long, CPL 3 and supervisor access to user pages (SDM vol. 3A, 4.6): U/S at every level, WP, NX at CPL 3, SMEP and SMAP. */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"

static const char P[] = "long";

static const char *const entry_name[5] = { NULL, "PTE", "PDE", "PDPTE", "PML4E" };

static word_t *data;
static uint8_t *code;
static unsigned next_slot;

/* A page at the start of a PML4 slot of its own; its tables are P|W|U. */
static struct walk fresh(uint64_t *va, const void *frame, uint64_t flags)
{
	*va = SLOT(next_slot++);
	return map_page(base_root(), *va, phys(frame), flags, 1);
}

static word_t want_at(uint64_t offset)
{
	return pattern(phys(data) + offset, 31);
}

static void user_access(void)
{
	char what[96];
	uint64_t va;

	(void)fresh(&va, data, PTE_P | PTE_W | PTE_U);
	expect_read(P, "CPL 3 reads a user page", try_user(ACCESS_READ, va + 16, 0), want_at(16));
	expect_write(P, "CPL 3 writes a user page", try_user(ACCESS_WRITE, va + 24, 0x99), &data[3],
		     0x99);
	expect_read(P, "a supervisor read of a user page works", try_read(va + 16), want_at(16));

	(void)fresh(&va, data, PTE_P | PTE_W);
	expect_pf(P, "CPL 3 read of a supervisor page raises #PF(P|U)",
		  try_user(ACCESS_READ, va + 8, 0), va + 8, PF_P | PF_U);
	for (unsigned level = 2; level <= 4; level++) {
		struct walk w = fresh(&va, data, PTE_P | PTE_W | PTE_U);
		*w.e[level] &= ~PTE_U;
		ksnprintf(what, sizeof(what), "U/S clear in the %s only: a CPL 3 read raises #PF(P|U)",
			  entry_name[level]);
		expect_pf(P, what, try_user(ACCESS_READ, va + 8, 0), va + 8, PF_P | PF_U);
	}
	struct walk w = fresh(&va, data, PTE_P | PTE_W | PTE_U);
	*w.e[1] = 0;
	expect_pf(P, "CPL 3 read of a not-present page raises #PF(U)", try_user(ACCESS_READ, va, 0),
		  va, PF_U);
	if (maxphyaddr() < 52) {
		w = fresh(&va, data, PTE_P | PTE_W | PTE_U);
		*w.e[1] |= 1ull << maxphyaddr();
		expect_pf(P, "a bit above MAXPHYADDR in the PTE: a CPL 3 read raises #PF(P|U|RSVD)",
			  try_user(ACCESS_READ, va + 8, 0), va + 8, PF_P | PF_U | PF_RSVD);
	} else {
		skipped(P, "a bit above MAXPHYADDR in the PTE at CPL 3", "MAXPHYADDR is 52");
	}
	(void)fresh(&va, data, PTE_P | PTE_U);
	expect_pf(P, "CPL 3 write to a read-only user page raises #PF(P|W|U)",
		  try_user(ACCESS_WRITE, va + 8, 1), va + 8, PF_P | PF_W | PF_U);
	set_wp(false);
	expect_pf(P, "with CR0.WP clear too", try_user(ACCESS_WRITE, va + 8, 1), va + 8,
		  PF_P | PF_W | PF_U);
	expect_write(P, "with CR0.WP clear a supervisor write to a read-only user page works",
		     try_write(va + 40, 0x42), &data[5], 0x42);
	set_wp(true);
	expect_pf(P, "with CR0.WP set it raises #PF(P|W)", try_write(va + 40, 0x43), va + 40,
		  PF_P | PF_W);
}

static void user_fetch(void)
{
	uint64_t va;
	uint32_t id = has(F_NX) ? PF_ID : 0; /* I/D is reported with NXE or SMEP (4.7) */

	(void)fresh(&va, code, PTE_P | PTE_U);
	expect_done(P, "CPL 3 fetch from a user page runs", try_user(ACCESS_FETCH, va + FETCH_INT, 0));
	(void)fresh(&va, code, PTE_P);
	expect_pf(P, "CPL 3 fetch from a supervisor page raises #PF(P|U|I/D)",
		  try_user(ACCESS_FETCH, va + FETCH_INT, 0), va + FETCH_INT, PF_P | PF_U | id);
	if (!has(F_NX))
		return;
	(void)fresh(&va, code, PTE_P | PTE_U | PTE_XD);
	expect_pf(P, "CPL 3 fetch from an XD user page raises #PF(P|U|I/D)",
		  try_user(ACCESS_FETCH, va + FETCH_INT, 0), va + FETCH_INT, PF_P | PF_U | PF_ID);
}

/* CR4.SMEP: no supervisor fetch from a user-mode address, one with U/S set
 * in every entry of its walk (4.6.1). */
static void smep(void)
{
	uint64_t va, super;

	if (!has(F_SMEP)) {
		skipped(P, "SMEP", "not shown");
		return;
	}
	(void)fresh(&va, code, PTE_P | PTE_U);
	struct walk w = fresh(&super, code, PTE_P | PTE_U);
	*w.e[2] &= ~PTE_U;
	set_cr4_bits(CR4_SMEP_BIT, true);
	expect_pf(P, "with CR4.SMEP a supervisor fetch from a user page raises #PF(P|I/D)",
		  try_fetch(va + FETCH_RET), va + FETCH_RET, PF_P | PF_ID);
	expect_done(P, "with CR4.SMEP a fetch from a page with U/S clear only in its PDE runs",
		    try_fetch(super + FETCH_RET));
	expect_read(P, "with CR4.SMEP a supervisor read of a user page works", try_read(va + FETCH_RET),
		    *(word_t *)(code + FETCH_RET));
	set_cr4_bits(CR4_SMEP_BIT, false);
	expect_done(P, "with CR4.SMEP clear again the fetch from the user page runs",
		    try_fetch(va + FETCH_RET));
}

/* CR4.SMAP: no supervisor data access to a user-mode address unless
 * EFLAGS.AC is set (4.6.1). */
static void smap(void)
{
	uint64_t va, super;

	if (!has(F_SMAP)) {
		skipped(P, "SMAP", "not shown");
		return;
	}
	(void)fresh(&va, data, PTE_P | PTE_W | PTE_U);
	struct walk w = fresh(&super, data, PTE_P | PTE_W | PTE_U);
	*w.e[2] &= ~PTE_U;
	set_cr4_bits(CR4_SMAP_BIT, true);
	expect_pf(P, "with CR4.SMAP a supervisor read of a user page raises #PF(P)", try_read(va + 16),
		  va + 16, PF_P);
	expect_pf(P, "and a supervisor write raises #PF(P|W)", try_write(va + 16, 1), va + 16,
		  PF_P | PF_W);
	__asm__ volatile("stac" : : : "memory", "cc");
	struct outcome r = try_read(va + 16), wr = try_write(va + 56, 0x66);
	__asm__ volatile("clac" : : : "memory", "cc");
	expect_read(P, "with EFLAGS.AC set (STAC) the read works", r, want_at(16));
	expect_write(P, "and the write", wr, &data[7], 0x66);
	expect_pf(P, "after CLAC the read raises #PF(P) again", try_read(va + 16), va + 16, PF_P);
	expect_read(P, "with CR4.SMAP a read of a page with U/S clear only in its PDE works",
		    try_read(super + 16), want_at(16));
	set_cr4_bits(CR4_SMAP_BIT, false);
	expect_read(P, "with CR4.SMAP clear again the read of the user page works", try_read(va + 16),
		    want_at(16));
}

void phase_long_user(void)
{
	next_slot = 3;
	data = frame_alloc();
	fill_frame(data, 31);
	code = frame_alloc();
	fill_code_page(code);
	user_access();
	user_fetch();
	smep();
	smap();
	frame_free(data);
	frame_free(code);
}
