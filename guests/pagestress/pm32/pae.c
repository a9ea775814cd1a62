/* pae.c: phase pae: PAE paging in 32-bit mode (SDM vol. 3A, 4.4): 4 KiB and 2 MiB pages, A/D bits, NX with EFER.NXE, reserved bits, PDPTEs loaded at CR3 writes. */
#include "guests/pagestress/pm32/pm32.h"
#include "arch/x86/cpu.h"

static const char P[] = "pae";

#define PAGE_2M        (2u << 20)
#define PDE_2M_RSVD    (1ull << 13) /* bits 20:13 of a 2 MiB PDE are reserved (table 4-9) */
#define PDPT_ENTRIES   4

/* The window at 1 GiB (PDPTE 1): a page table of 4 KiB pages, and a PDE per
 * case that needs its own; PDPTE 2 is switched by the CR3 checks, PDPTE 3
 * is not present. */
enum {
	PG_SUPER = 0, PG_USER = 1, PG_ABSENT = 2, PG_RO = 3,
	PG_EXEC = 4,     /* the code page */
	PG_XD = 5,       /* the code page, XD */
	PG_RSVD = 6,     /* D3 with bit MAXPHYADDR set */
	PG_XD_DATA = 7,  /* D3, XD */
	PG_CODE = 8, PG_SCRATCH = 9,
};
#define WIN(i)      (WIN32_BASE + (uint32_t)(i) * PAGE_SIZE)
#define LARGE_2M    (WIN32_BASE + 1 * PAGE_2M)
#define ABSENT_PDE  (WIN32_BASE + 2 * PAGE_2M)
#define XD_PDE      (WIN32_BASE + 3 * PAGE_2M) /* XD in the PDE, the code page in its PTE */
#define XD_2M       (WIN32_BASE + 4 * PAGE_2M)
#define RSVD_2M     (WIN32_BASE + 5 * PAGE_2M)
#define SWITCHED    0x80000000u                /* PDPTE 2 */
#define ABSENT_PDPTE 0xc0000000u               /* PDPTE 3 */

static uint64_t *pdpt, *pd_win, *pt, *pd_a, *pd_b;
static word_t *data[4];
static uint8_t *code;
static uint64_t rsvd_bit;

static word_t want_at(const void *frame, unsigned offset, word_t salt)
{
	return pattern(phys32(frame) + offset, salt);
}

/* A page directory whose first entry maps the frame by a page table. */
static uint64_t *pd_mapping(const void *frame)
{
	uint64_t *pd = frame32(), *table = frame32();

	table[0] = phys32(frame) | PTE_P | PTE_W;
	pd[0] = phys32(table) | PTE_P | PTE_W;
	return pd;
}

static void build(void)
{
	pdpt = frame32();
	uint64_t *pd_identity = frame32();
	pd_win = frame32();
	pt = frame32();
	for (uint32_t i = 0; i < 512; i++)
		pd_identity[i] = (uint64_t)i * PAGE_2M | PTE_P | PTE_W | PTE_PS;
	for (unsigned i = 0; i < 4; i++) {
		data[i] = frame32();
		fill_frame(data[i], i + 11);
	}
	code = frame32();
	fill_code_page(code);
	word_t *scratch = frame32();

	unsigned m = maxphyaddr();
	rsvd_bit = m < 52 ? 1ull << m : 0;
	pt[PG_SUPER] = phys32(data[0]) | PTE_P | PTE_W;
	pt[PG_USER] = phys32(data[1]) | PTE_P | PTE_W | PTE_U;
	pt[PG_RO] = phys32(data[2]) | PTE_P;
	pt[PG_EXEC] = phys32(code) | PTE_P;
	pt[PG_XD] = phys32(code) | PTE_P | PTE_XD;
	pt[PG_RSVD] = phys32(data[3]) | PTE_P | PTE_W | rsvd_bit;
	pt[PG_XD_DATA] = phys32(data[3]) | PTE_P | PTE_W | PTE_XD;
	pt[PG_CODE] = phys32(user_page) | PTE_P | PTE_U;
	pt[PG_SCRATCH] = phys32(scratch) | PTE_P | PTE_W | PTE_U;
	user_setup(WIN(PG_CODE), WIN(PG_SCRATCH), scratch);

	uint64_t *xd_pt = frame32();
	xd_pt[0] = phys32(code) | PTE_P;
	pd_win[0] = phys32(pt) | PTE_P | PTE_W | PTE_U;
	pd_win[1] = (phys32(data[1]) & ~(PAGE_2M - 1)) | PTE_P | PTE_W | PTE_PS;
	pd_win[3] = phys32(xd_pt) | PTE_P | PTE_W | PTE_XD;
	pd_win[4] = (phys32(code) & ~(PAGE_2M - 1)) | PTE_P | PTE_W | PTE_PS | PTE_XD;
	pd_win[5] = (phys32(data[3]) & ~(PAGE_2M - 1)) | PTE_P | PTE_W | PTE_PS | PDE_2M_RSVD;
	pd_a = pd_mapping(data[0]);
	pd_b = pd_mapping(data[1]);

	/* PDPTEs have no R/W, U/S or A bits (table 4-8). */
	pdpt[0] = phys32(pd_identity) | PTE_P;
	pdpt[1] = phys32(pd_win) | PTE_P;
	pdpt[2] = phys32(pd_a) | PTE_P;
}

static word_t large_alias(const void *frame)
{
	return LARGE_2M + (phys32(frame) & (PAGE_2M - 1));
}

static void pages(void)
{
	expect_read(P, "a 4 KiB page reads its frame", try_read(WIN(PG_SUPER) + 16),
		    want_at(data[0], 16, 11));
	expect_write(P, "a write through a 4 KiB page reaches its frame",
		     try_write(WIN(PG_SUPER) + 32, 0x1234), &data[0][8], 0x1234);
	expect_read(P, "a 2 MiB page reads its frame", try_read(large_alias(data[1]) + 16),
		    want_at(data[1], 16, 12));
	expect_write(P, "a write through a 2 MiB page reaches its frame",
		     try_write(large_alias(data[1]) + 32, 0x5678), &data[1][8], 0x5678);
}

static void accessed_dirty(void)
{
	uint64_t *pde = &pd_win[0], *pte = &pt[PG_SUPER], *large = &pd_win[1];

	*pde &= ~(PTE_A | PTE_D);
	*pte &= ~(PTE_A | PTE_D);
	invlpg(WIN(PG_SUPER));
	(void)try_read(WIN(PG_SUPER));
	expect_ad(P, "a read sets A in the PDE and the PTE, D in neither",
		  (struct ad_want[]){ { "PDE", *pde, true, false }, { "PTE", *pte, true, false } }, 2);
	(void)try_write(WIN(PG_SUPER) + 8, 1);
	expect_ad(P, "a write then sets D in the PTE only",
		  (struct ad_want[]){ { "PDE", *pde, true, false }, { "PTE", *pte, true, true } }, 2);

	*large &= ~(PTE_A | PTE_D);
	invlpg(large_alias(data[1]));
	(void)try_read(large_alias(data[1]));
	expect_ad(P, "a read of a 2 MiB page sets A in its PDE, not D",
		  (struct ad_want[]){ { "PDE", *large, true, false } }, 1);
	(void)try_write(large_alias(data[1]) + 8, 1);
	expect_ad(P, "a write to a 2 MiB page sets D in its PDE",
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
	expect_pf(P, "a read where the PDPTE is not present raises #PF(0)",
		  try_read(ABSENT_PDPTE + 16), ABSENT_PDPTE + 16, 0);
	expect_pf(P, "with CR0.WP set a supervisor write to a read-only page raises #PF(P|W)",
		  try_write(WIN(PG_RO) + 16, 1), WIN(PG_RO) + 16, PF_P | PF_W);
	set_wp32(false);
	expect_write(P, "with CR0.WP clear it works", try_write(WIN(PG_RO) + 16, 0x77), &data[2][4],
		     0x77);
	set_wp32(true);
	expect_read(P, "CPL 3 reads a user page", try_user(ACCESS_READ, WIN(PG_USER) + 16, 0),
		    want_at(data[1], 16, 12));
	expect_pf(P, "CPL 3 read of a supervisor page raises #PF(P|U)",
		  try_user(ACCESS_READ, WIN(PG_SUPER) + 8, 0), WIN(PG_SUPER) + 8, PF_P | PF_U);
}

/* EFER.NXE: XD in any entry of the walk makes a fetch fault (4.6). */
static void execute_disable(void)
{
	if (!has(F_NX)) {
		skipped(P, "execute-disable", "NX not shown");
		return;
	}
	uint64_t efer = rdmsr(MSR_EFER);
	wrmsr(MSR_EFER, efer | EFER_NXE_BIT);
	wr_cr3(rd_cr3());
	expect_done(P, "with EFER.NXE a fetch from a page without XD runs",
		    try_fetch(WIN(PG_EXEC) + FETCH_RET));
	expect_pf(P, "XD in the PTE: a fetch raises #PF(P|I/D)", try_fetch(WIN(PG_XD) + FETCH_RET),
		  WIN(PG_XD) + FETCH_RET, PF_P | PF_ID);
	expect_pf(P, "XD in the PDE only: a fetch raises #PF(P|I/D)", try_fetch(XD_PDE + FETCH_RET),
		  XD_PDE + FETCH_RET, PF_P | PF_ID);
	word_t at = XD_2M + (phys32(code) & (PAGE_2M - 1)) + FETCH_RET;
	expect_pf(P, "XD in a 2 MiB PDE: a fetch raises #PF(P|I/D)", try_fetch(at), at,
		  PF_P | PF_ID);
	expect_read(P, "a read of an XD page works", try_read(WIN(PG_XD_DATA) + 16),
		    want_at(data[3], 16, 14));
	expect_pf(P, "a fetch from a not-present page raises #PF(I/D)", try_fetch(WIN(PG_ABSENT)),
		  WIN(PG_ABSENT), PF_ID);
	wrmsr(MSR_EFER, efer);
	wr_cr3(rd_cr3());
}

static void reserved(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	/* The TLB may keep translations made with NXE set: flush them. */
	wrmsr(MSR_EFER, efer & ~(uint64_t)EFER_NXE_BIT);
	wr_cr3(rd_cr3());
	expect_pf(P, "with EFER.NXE clear, XD in a PTE is reserved: a read raises #PF(P|RSVD)",
		  try_read(WIN(PG_XD_DATA) + 8), WIN(PG_XD_DATA) + 8, PF_P | PF_RSVD);
	expect_pf(P, "and XD in a PDE: a read raises #PF(P|RSVD)", try_read(XD_PDE + 8), XD_PDE + 8,
		  PF_P | PF_RSVD);
	wrmsr(MSR_EFER, efer);
	wr_cr3(rd_cr3());
	expect_pf(P, "bit 13 of a 2 MiB PDE is reserved: a read raises #PF(P|RSVD)",
		  try_read(RSVD_2M + 8), RSVD_2M + 8, PF_P | PF_RSVD);
	expect_pf(P, "and a write raises #PF(P|W|RSVD)", try_write(RSVD_2M + 16, 1), RSVD_2M + 16,
		  PF_P | PF_W | PF_RSVD);
	if (!rsvd_bit)
		skipped(P, "a PTE bit above MAXPHYADDR is reserved", "MAXPHYADDR is 52");
	else
		expect_pf(P, "a PTE bit above MAXPHYADDR is reserved: a read raises #PF(P|RSVD)",
			  try_read(WIN(PG_RSVD) + 8), WIN(PG_RSVD) + 8, PF_P | PF_RSVD);
}

/* The four PDPTEs are loaded from memory when CR3 is written (4.4.1). */
static void pdptes(void)
{
	expect_read(P, "PDPTE 2 maps its page directory", try_read(SWITCHED + 40),
		    want_at(data[0], 40, 11));
	pdpt[2] = phys32(pd_b) | PTE_P;
	wr_cr3(rd_cr3());
	expect_read(P, "a PDPTE changed in memory is used after the next CR3 write",
		    try_read(SWITCHED + 40), want_at(data[1], 40, 12));

	uint64_t *moved = pdpt + PDPT_ENTRIES; /* 32 bytes on: CR3 needs 32-byte alignment */
	for (unsigned i = 0; i < PDPT_ENTRIES; i++)
		moved[i] = pdpt[i];
	moved[2] = phys32(pd_a) | PTE_P;
	wr_cr3(phys32(moved));
	expect_read(P, "CR3 at a PDPT 32 bytes into its page: its PDPTEs are used",
		    try_read(SWITCHED + 40), want_at(data[0], 40, 11));
	wr_cr3(phys32(pdpt));
	expect_read(P, "and CR3 back at the first PDPT: its PDPTEs again", try_read(SWITCHED + 40),
		    want_at(data[1], 40, 12));
}

void phase_pae(void)
{
	build();
	wr_cr4(rd_cr4() | CR4_PAE_BIT);
	wr_cr3(phys32(pdpt));
	wr_cr0(rd_cr0() | (uint32_t)CR0_PG | CR0_WP_BIT);
	pages();
	accessed_dirty();
	faults();
	execute_disable();
	reserved();
	pdptes();
}
