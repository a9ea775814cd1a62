/* paging32.c: phase paging32: 32-bit paging (SDM vol. 3A, 4.3): 4 KiB and 4 MiB pages, CR0.WP, U/S at CPL 3, A/D bits, #PF error codes and CR2, edits. */
#include "guests/pagestress/pm32/pm32.h"

static const char P[] = "paging32";

#define PDE_INDEX(addr) ((addr) >> 22)
#define PDE_4M_RSVD     (1u << 21) /* reserved in every 4 MiB PDE (table 4-4) */

/* The window: one page table of 4 KiB pages at WIN32_BASE, and beside it a
 * PDE per case that needs its own. */
enum {
	PG_SUPER = 0,   /* D0, supervisor, writable */
	PG_USER = 1,    /* D1, user, writable */
	PG_ABSENT = 2,  /* not present */
	PG_RO = 3,      /* D2, supervisor, read-only */
	PG_USER_RO = 4, /* D3, user, read-only */
	PG_CODE = 8,    /* the user page (user_page), read-only */
	PG_SCRATCH = 9, /* where user reads store what they read */
	PG_EDIT = 10,   /* remapped by the edit checks */
};
#define WIN(i)       (WIN32_BASE + (uint32_t)(i) * PAGE_SIZE)
#define LARGE_4M     (WIN32_BASE + 1 * (4u << 20)) /* a 4 MiB page of physical 0-4 MiB */
#define ABSENT_PDE   (WIN32_BASE + 2 * (4u << 20))
#define RO_PDE       (WIN32_BASE + 3 * (4u << 20)) /* a table under a read-only PDE */
#define SUPER_PDE    (WIN32_BASE + 4 * (4u << 20)) /* a user PTE under a supervisor PDE */
#define RSVD_4M      (WIN32_BASE + 5 * (4u << 20)) /* a 4 MiB PDE with bit 21 set */

static uint32_t *pd, *pt;
static word_t *data[4];

static word_t want_at(const word_t *frame, unsigned offset, word_t salt)
{
	return pattern(phys32(frame) + offset, salt);
}

static void build(void)
{
	pd = frame32();
	pt = frame32();
	for (uint32_t i = 0; i < PDE_INDEX(WIN32_BASE); i++)
		pd[i] = (i << 22) | (uint32_t)(PTE_P | PTE_W | PTE_PS);
	pd[PDE_INDEX(WIN32_BASE)] = phys32(pt) | (uint32_t)(PTE_P | PTE_W | PTE_U);
	pd[PDE_INDEX(LARGE_4M)] = 0 | (uint32_t)(PTE_P | PTE_W | PTE_PS);

	uint32_t *ro_pt = frame32(), *super_pt = frame32();
	pd[PDE_INDEX(RO_PDE)] = phys32(ro_pt) | (uint32_t)(PTE_P | PTE_U);
	pd[PDE_INDEX(SUPER_PDE)] = phys32(super_pt) | (uint32_t)(PTE_P | PTE_W);
	pd[PDE_INDEX(RSVD_4M)] = 0 | (uint32_t)(PTE_P | PTE_W | PTE_PS) | PDE_4M_RSVD;

	for (unsigned i = 0; i < 4; i++) {
		data[i] = frame32();
		fill_frame(data[i], i + 1);
	}
	word_t *scratch = frame32();
	pt[PG_SUPER] = phys32(data[0]) | (uint32_t)(PTE_P | PTE_W);
	pt[PG_USER] = phys32(data[1]) | (uint32_t)(PTE_P | PTE_W | PTE_U);
	pt[PG_RO] = phys32(data[2]) | (uint32_t)PTE_P;
	pt[PG_USER_RO] = phys32(data[3]) | (uint32_t)(PTE_P | PTE_U);
	pt[PG_CODE] = phys32(user_page) | (uint32_t)(PTE_P | PTE_U);
	pt[PG_SCRATCH] = phys32(scratch) | (uint32_t)(PTE_P | PTE_W | PTE_U);
	ro_pt[0] = phys32(data[0]) | (uint32_t)(PTE_P | PTE_W | PTE_U);
	super_pt[0] = phys32(data[1]) | (uint32_t)(PTE_P | PTE_W | PTE_U);
	user_setup(WIN(PG_CODE), WIN(PG_SCRATCH), scratch);
}

static void pages(void)
{
	expect_read(P, "a 4 KiB page reads its frame", try_read(WIN(PG_SUPER) + 16),
		    want_at(data[0], 16, 1));
	expect_write(P, "a write through a 4 KiB page reaches its frame",
		     try_write(WIN(PG_SUPER) + 32, 0x1234), &data[0][8], 0x1234);
	uint32_t alias = LARGE_4M + phys32(data[1]);
	expect_read(P, "a 4 MiB page reads its frame", try_read(alias + 16), want_at(data[1], 16, 2));
	expect_write(P, "a write through a 4 MiB page reaches its frame", try_write(alias + 32, 0x5678),
		     &data[1][8], 0x5678);
}

static void accessed_dirty(void)
{
	uint32_t *pde = &pd[PDE_INDEX(WIN32_BASE)], *pte = &pt[PG_SUPER];

	*pde &= ~(uint32_t)(PTE_A | PTE_D);
	*pte &= ~(uint32_t)(PTE_A | PTE_D);
	invlpg(WIN(PG_SUPER));
	(void)try_read(WIN(PG_SUPER));
	expect_ad(P, "a read sets A in the PDE and the PTE, D in neither",
		  (struct ad_want[]){ { "PDE", *pde, true, false }, { "PTE", *pte, true, false } }, 2);
	(void)try_write(WIN(PG_SUPER) + 8, 1);
	expect_ad(P, "a write then sets D in the PTE only",
		  (struct ad_want[]){ { "PDE", *pde, true, false }, { "PTE", *pte, true, true } }, 2);

	uint32_t *large = &pd[PDE_INDEX(LARGE_4M)], alias = LARGE_4M + phys32(data[1]);
	*large &= ~(uint32_t)(PTE_A | PTE_D);
	invlpg(alias);
	(void)try_read(alias);
	expect_ad(P, "a read of a 4 MiB page sets A in its PDE, not D",
		  (struct ad_want[]){ { "PDE", *large, true, false } }, 1);
	(void)try_write(alias + 8, 1);
	expect_ad(P, "a write to a 4 MiB page sets D in its PDE",
		  (struct ad_want[]){ { "PDE", *large, true, true } }, 1);
}

static void faults(void)
{
	expect_pf(P, "a read of a not-present page raises #PF(0)", try_read(WIN(PG_ABSENT) + 4),
		  WIN(PG_ABSENT) + 4, 0);
	expect_pf(P, "a write to a not-present page raises #PF(W)", try_write(WIN(PG_ABSENT) + 8, 1),
		  WIN(PG_ABSENT) + 8, PF_W);
	expect_pf(P, "a read where the PDE is not present raises #PF(0)", try_read(ABSENT_PDE + 12),
		  ABSENT_PDE + 12, 0);

	set_wp32(false);
	expect_write(P, "with CR0.WP clear a supervisor write to a read-only page works",
		     try_write(WIN(PG_RO) + 16, 0x77), &data[2][4], 0x77);
	set_wp32(true);
	expect_pf(P, "with CR0.WP set it raises #PF(P|W)", try_write(WIN(PG_RO) + 16, 0x88),
		  WIN(PG_RO) + 16, PF_P | PF_W);
	expect_pf(P, "R/W clear in the PDE only: a supervisor write raises #PF(P|W)",
		  try_write(RO_PDE + 20, 1), RO_PDE + 20, PF_P | PF_W);
	expect_read(P, "a read of a read-only page works", try_read(WIN(PG_RO) + 16), 0x77);

	expect_pf(P, "bit 21 of a 4 MiB PDE is reserved: a read raises #PF(P|RSVD)",
		  try_read(RSVD_4M + 24), RSVD_4M + 24, PF_P | PF_RSVD);
	expect_pf(P, "and a write raises #PF(P|W|RSVD)", try_write(RSVD_4M + 28, 1), RSVD_4M + 28,
		  PF_P | PF_W | PF_RSVD);
}

static void user(void)
{
	expect_read(P, "CPL 3 reads a user page", try_user(ACCESS_READ, WIN(PG_USER) + 16, 0),
		    want_at(data[1], 16, 2));
	expect_write(P, "CPL 3 writes a user page", try_user(ACCESS_WRITE, WIN(PG_USER) + 40, 0x99),
		     &data[1][10], 0x99);
	expect_pf(P, "CPL 3 read of a supervisor page raises #PF(P|U)",
		  try_user(ACCESS_READ, WIN(PG_SUPER) + 8, 0), WIN(PG_SUPER) + 8, PF_P | PF_U);
	expect_pf(P, "U/S clear in the PDE only: a CPL 3 read raises #PF(P|U)",
		  try_user(ACCESS_READ, SUPER_PDE + 8, 0), SUPER_PDE + 8, PF_P | PF_U);
	expect_pf(P, "CPL 3 read of a not-present page raises #PF(U)",
		  try_user(ACCESS_READ, WIN(PG_ABSENT), 0), WIN(PG_ABSENT), PF_U);
	expect_pf(P, "CPL 3 write to a read-only user page raises #PF(P|W|U)",
		  try_user(ACCESS_WRITE, WIN(PG_USER_RO) + 4, 1), WIN(PG_USER_RO) + 4,
		  PF_P | PF_W | PF_U);
	set_wp32(false);
	expect_pf(P, "with CR0.WP clear too", try_user(ACCESS_WRITE, WIN(PG_USER_RO) + 4, 1),
		  WIN(PG_USER_RO) + 4, PF_P | PF_W | PF_U);
	expect_write(P, "with CR0.WP clear a supervisor write to a read-only user page works",
		     try_write(WIN(PG_USER_RO) + 12, 0x42), &data[3][3], 0x42);
	set_wp32(true);
	expect_pf(P, "with CR0.WP set it raises #PF(P|W)", try_write(WIN(PG_USER_RO) + 12, 0x43),
		  WIN(PG_USER_RO) + 12, PF_P | PF_W);
}

static void edits(void)
{
	pt[PG_EDIT] = phys32(data[0]) | (uint32_t)(PTE_P | PTE_W);
	(void)try_read(WIN(PG_EDIT));
	pt[PG_EDIT] = phys32(data[3]) | (uint32_t)(PTE_P | PTE_W);
	invlpg(WIN(PG_EDIT));
	expect_read(P, "a PTE pointed at another frame, then INVLPG: the read sees the new frame",
		    try_read(WIN(PG_EDIT) + 64), want_at(data[3], 64, 4));
	pt[PG_EDIT] = phys32(data[1]) | (uint32_t)(PTE_P | PTE_W);
	wr_cr3(rd_cr3());
	expect_read(P, "a PTE pointed at another frame, then MOV CR3: the read sees the new frame",
		    try_read(WIN(PG_EDIT) + 64), want_at(data[1], 64, 2));
}

void phase_paging32(void)
{
	build();
	wr_cr4((rd_cr4() | CR4_PSE_BIT) & ~CR4_PAE_BIT);
	wr_cr3(phys32(pd));
	wr_cr0(rd_cr0() | (uint32_t)CR0_PG | CR0_WP_BIT);
	pages();
	accessed_dirty();
	faults();
	user();
	edits();
}
