/* test_ptwalk.c: unit tests of the guest page-table walker (mm/ptwalk.c), and random tables against a reference walker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mm/ptwalk.h"

/* ---- guest-physical memory: a few 4 KiB pages at chosen addresses ---- */

#define MAX_PAGES 48
#define PAGE 0x1000ull
#define MAX_LOG 16

struct mem {
	uint64_t base[MAX_PAGES];
	uint8_t data[MAX_PAGES][PAGE];
	unsigned n;
	uint64_t next;          /* where new_table puts the next page */
	unsigned updates;       /* successful compare-and-exchanges */
	unsigned races;         /* make this many updates fail (the entry changed meanwhile) */
	uint64_t race_val;      /* ... and what another writer stored there, if not 0 */
	uint64_t rom;           /* a page that reads but cannot be updated (0: none) */
	struct { uint64_t gpa, val; } log[MAX_LOG]; /* the updates, for the random test */
	unsigned nlog;
};

static struct mem *mem_new(void)
{
	struct mem *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->next = 0x100000;
	return m;
}

static uint8_t *mem_at(struct mem *m, uint64_t gpa, unsigned size)
{
	for (unsigned i = 0; i < m->n; i++)
		if (gpa >= m->base[i] && gpa + size <= m->base[i] + PAGE)
			return &m->data[i][gpa - m->base[i]];
	return NULL;
}

static void add_page(struct mem *m, uint64_t gpa)
{
	assert_true(m->n < MAX_PAGES);
	assert_null(mem_at(m, gpa, 1));
	m->base[m->n++] = gpa;
}

/* A fresh zeroed table page in RAM. */
static uint64_t new_table(struct mem *m)
{
	uint64_t gpa = m->next;
	m->next += PAGE;
	add_page(m, gpa);
	return gpa;
}

static uint64_t get(struct mem *m, uint64_t gpa, unsigned size)
{
	uint8_t *p = mem_at(m, gpa, size);
	assert_non_null(p);
	uint64_t v = 0;
	memcpy(&v, p, size);
	return v;
}

static void put(struct mem *m, uint64_t gpa, unsigned size, uint64_t v)
{
	uint8_t *p = mem_at(m, gpa, size);
	assert_non_null(p);
	memcpy(p, &v, size);
}

static err_t mem_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct mem *m = ctx;
	assert_true(size == 4 || size == 8);
	assert_int_equal(gpa % size, 0);
	if (!mem_at(m, gpa, size))
		return ERR_INVAL;
	*val = get(m, gpa, size);
	return ERR_OK;
}

static err_t mem_update(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val, uint64_t new_val,
			bool *swapped)
{
	struct mem *m = ctx;
	if (!mem_at(m, gpa, size) || (m->rom && gpa >= m->rom && gpa < m->rom + PAGE))
		return ERR_INVAL;
	if (m->races) {
		m->races--;
		if (m->race_val)
			put(m, gpa, size, m->race_val);
		*swapped = false;
		return ERR_OK;
	}
	*swapped = get(m, gpa, size) == old_val;
	if (*swapped) {
		put(m, gpa, size, new_val);
		m->updates++;
		assert_true(m->nlog < MAX_LOG);
		m->log[m->nlog].gpa = gpa;
		m->log[m->nlog].val = new_val;
		m->nlog++;
	}
	return ERR_OK;
}

static struct ptwalk_ops ops_for(struct mem *m)
{
	return (struct ptwalk_ops){ m, mem_read, mem_update };
}

/* ---- entry bits, spelled out here independently of the walker ---- */

#define P   0x1ull
#define RW  0x2ull
#define US  0x4ull
#define A   0x20ull
#define D   0x40ull
#define PS  0x80ull
#define G   0x100ull
#define XD  (1ull << 63)
#define UP  (P | RW | US)   /* a table entry granting everything */

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static const struct ptwalk_access rd = { PTWALK_READ, false, false, false, false };
static const struct ptwalk_access wr = { PTWALK_WRITE, false, false, false, false };
static const struct ptwalk_access ex = { PTWALK_FETCH, false, false, false, false };
static const struct ptwalk_access urd = { PTWALK_READ, true, false, false, false };
static const struct ptwalk_access uwr = { PTWALK_WRITE, true, false, false, false };
static const struct ptwalk_access uex = { PTWALK_FETCH, true, false, false, false };

static struct ptwalk_mode mode32(uint64_t cr3, bool pse)
{
	return (struct ptwalk_mode){ .pg = true, .wp = true, .pse = pse, .cr3 = cr3, .maxphyaddr = 40 };
}

static struct ptwalk_mode mode64(uint64_t cr3, bool la57)
{
	return (struct ptwalk_mode){ .pg = true, .wp = true, .pae = true, .lma = true, .nxe = true,
				     .la57 = la57, .cr3 = cr3, .maxphyaddr = 46, .gbpages = true };
}

/* PAE with the PDPT at cr3, whose entries are copied into the PDPTE registers. */
static struct ptwalk_mode mode_pae(struct mem *m, uint64_t cr3)
{
	struct ptwalk_mode md = { .pg = true, .wp = true, .pae = true, .nxe = true, .cr3 = cr3,
				  .maxphyaddr = 46 };
	for (unsigned i = 0; i < 4; i++)
		md.pdpte[i] = get(m, cr3 + 8 * i, 8);
	return md;
}

/*
 * Builds IA-32e (levels 4 or 5) or PAE (levels 3) tables so that la maps pa
 * with a leaf at level leaf; tables above get upper, the leaf leaf_flags.
 * Returns the leaf entry's address.
 */
static uint64_t map64(struct mem *m, uint64_t root, unsigned levels, uint64_t la, uint64_t pa,
		      unsigned leaf, uint64_t upper, uint64_t leaf_flags)
{
	uint64_t table = root;
	for (unsigned l = levels; l > leaf; l--) {
		uint64_t idx = levels == 3 && l == 3 ? (la >> 30) & 3 : (la >> (12 + 9 * (l - 1))) & 511;
		uint64_t e = get(m, table + idx * 8, 8);
		if (!(e & P)) {
			/* PAE PDPTEs allow only P among the flags tested here */
			e = new_table(m) | (levels == 3 && l == 3 ? P : upper);
			put(m, table + idx * 8, 8, e);
		}
		table = e & 0x000ffffffffff000ull;
	}
	uint64_t gpa = table + ((la >> (12 + 9 * (leaf - 1))) & 511) * 8;
	put(m, gpa, 8, pa | leaf_flags | (leaf > 1 ? PS : 0));
	return gpa;
}

/* 32-bit tables: la maps pa through a PDE (large: a 4 MiB page) or a PDE and a PTE. */
static uint64_t map32(struct mem *m, uint64_t cr3, uint64_t la, uint64_t pa, bool large,
		      uint32_t pde_flags, uint32_t pte_flags)
{
	uint64_t pde = cr3 + ((la >> 22) & 1023) * 4;
	if (large) {
		put(m, pde, 4, pa | pde_flags | PS);
		return pde;
	}
	uint64_t e = get(m, pde, 4);
	if (!(e & P)) {
		e = new_table(m) | pde_flags;
		put(m, pde, 4, e);
	}
	uint64_t pte = (e & 0xfffff000) + ((la >> 12) & 1023) * 4;
	put(m, pte, 4, pa | pte_flags);
	return pte;
}

static struct ptwalk_result walk(struct mem *m, const struct ptwalk_mode *md, uint64_t la,
				 const struct ptwalk_access *a)
{
	struct ptwalk_ops ops = ops_for(m);
	struct ptwalk_result r;
	memset(&r, 0xa5, sizeof(r));
	enum ptwalk_status s = ptwalk(md, &ops, la, a, &r);
	assert_int_equal(s, r.status);
	return r;
}

static void expect_ok(struct mem *m, const struct ptwalk_mode *md, uint64_t la,
		      const struct ptwalk_access *a, uint64_t gpa, uint64_t size)
{
	struct ptwalk_result r = walk(m, md, la, a);
	assert_int_equal(r.status, PTWALK_OK);
	assert_int_equal(r.gpa, gpa);
	assert_int_equal(r.page_size, size);
}

static void expect_fault(struct mem *m, const struct ptwalk_mode *md, uint64_t la,
			 const struct ptwalk_access *a, uint32_t error_code)
{
	struct ptwalk_result r = walk(m, md, la, a);
	assert_int_equal(r.status, PTWALK_FAULT);
	assert_int_equal(r.error_code, error_code);
}

/* ---- modes and page sizes ---- */

static void paging_off_maps_linear_to_physical(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	struct ptwalk_mode md = { .pg = false, .pae = true };
	struct ptwalk_result r = walk(m, &md, 0x123456789abull, &uwr);
	assert_int_equal(r.status, PTWALK_OK);
	assert_int_equal(r.gpa, 0x456789ab);
	assert_true(r.writable && r.user && r.executable);
	assert_int_equal(r.top_level, 0);
	free(m);
}

static void bit32_4k_page_translates_and_reports_its_entries(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t pte = map32(m, cr3, 0x00403123, 0x00abc000, false, P | RW | US, P | RW | US | G);
	struct ptwalk_mode md = mode32(cr3, true);
	md.pge = true;
	struct ptwalk_result r = walk(m, &md, 0x00403123, &urd);
	assert_int_equal(r.status, PTWALK_OK);
	assert_int_equal(r.gpa, 0x00abc123);
	assert_int_equal(r.page_size, 0x1000);
	assert_true(r.writable && r.user && r.executable && r.global);
	assert_int_equal(r.entry_size, 4);
	assert_int_equal(r.top_level, 2);
	assert_int_equal(r.last_level, 1);
	assert_int_equal(r.entry[2].gpa, cr3 + 4);
	assert_int_equal(r.entry[1].gpa, pte);
	assert_int_equal(r.entry[1].val, 0x00abc000 | P | RW | US | G | A);
	/* Bits above 31 of the linear address do not exist in 32-bit paging. */
	expect_ok(m, &md, 0xffff000000403123ull, &urd, 0x00abc123, 0x1000);
	free(m);
}

static void bit32_4m_page_uses_pse36_bits_up_to_maxphyaddr(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	/* PA bits 39:32 = 0x5a in PDE bits 20:13. */
	uint64_t pde = map32(m, cr3, 0x80000000, 0x01000000 | (0x5aull << 13), true, P | RW, 0);
	struct ptwalk_mode md = mode32(cr3, true);
	expect_ok(m, &md, 0x80234567, &rd, 0x5a00000000ull | 0x01234567, 4 * MiB);

	/* With MAXPHYADDR 36 only bits 16:13 carry address; 21:17 are reserved. */
	md.maxphyaddr = 36;
	expect_fault(m, &md, 0x80234567, &rd, PF_ERR_P | PF_ERR_RSVD);
	put(m, pde, 4, 0x01000000 | (0xaull << 13) | P | RW | PS);
	expect_ok(m, &md, 0x80234567, &rd, 0xa00000000ull | 0x01234567, 4 * MiB);
	/* Above 40 bits PSE-36 stops at 40: bit 21 stays reserved. */
	md.maxphyaddr = 52;
	put(m, pde, 4, 0x01000000 | (1ull << 21) | P | RW | PS);
	expect_fault(m, &md, 0x80234567, &wr, PF_ERR_P | PF_ERR_RSVD | PF_ERR_W);
	free(m);
}

static void bit32_ps_is_ignored_without_cr4_pse(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	map32(m, cr3, 0x00c05000, 0x7000, false, P | RW | PS, P | RW);
	struct ptwalk_mode md = mode32(cr3, false);
	expect_ok(m, &md, 0x00c05010, &wr, 0x7010, 0x1000);
	/* With PSE the same PDE is a 4 MiB page at its own address. */
	md.pse = true;
	struct ptwalk_result r = walk(m, &md, 0x00c05010, &rd);
	assert_int_equal(r.page_size, 4 * MiB);
	free(m);
}

static void bit32_has_no_execute_disable(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	map32(m, cr3, 0x1000, 0x2000, false, P | RW, P | RW);
	struct ptwalk_mode md = mode32(cr3, true);
	md.nxe = true;                        /* no XD bit to honour in 4-byte entries */
	expect_ok(m, &md, 0x1000, &ex, 0x2000, 0x1000);
	/* A fetch fault has I/D only with SMEP in 32-bit paging. */
	expect_fault(m, &md, 0x1000, &uex, PF_ERR_P | PF_ERR_U);
	expect_fault(m, &md, 0x400000, &ex, 0);
	md.smep = true;
	expect_fault(m, &md, 0x400000, &ex, PF_ERR_ID);
	free(m);
}

static void pae_4k_and_2m_pages_translate(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t pdpt = new_table(m) + 0x20;   /* 32-byte aligned, not page aligned */
	map64(m, pdpt, 3, 0xc0201000, 0x12345000ull, 1, UP, UP);
	map64(m, pdpt, 3, 0x40400000, 0x3400000000ull, 2, UP, P | RW);
	struct ptwalk_mode md = mode_pae(m, pdpt);
	expect_ok(m, &md, 0xc0201abc, &urd, 0x12345abc, 0x1000);
	expect_ok(m, &md, 0x40412345, &wr, 0x3400012345ull, 2 * MiB);
	struct ptwalk_result r = walk(m, &md, 0xc0201abc, &rd);
	assert_int_equal(r.top_level, 3);
	assert_int_equal(r.entry[3].gpa, pdpt + 24);
	assert_int_equal(r.entry_size, 8);
	/* A PDPTE not present faults like any entry. */
	expect_fault(m, &md, 0x00001000, &uwr, PF_ERR_W | PF_ERR_U);
	free(m);
}

static void pae_uses_the_loaded_pdptes_not_memory(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t pdpt = new_table(m);
	map64(m, pdpt, 3, 0x1000, 0x5000, 1, UP, UP);
	struct ptwalk_mode md = mode_pae(m, pdpt);
	uint64_t loaded = get(m, pdpt, 8);
	put(m, pdpt, 8, 0);                   /* changed after the CR3 load: not seen */
	expect_ok(m, &md, 0x1000, &rd, 0x5000, 0x1000);
	assert_int_equal(get(m, pdpt, 8), 0); /* and no accessed flag written there */
	md.pdpte[0] = 0;
	expect_fault(m, &md, 0x1000, &rd, 0);
	md.pdpte[0] = loaded;
	/* PDPTE bits 2:1 and 8:5 are reserved; so are 63:M (no XD in a PDPTE). */
	const uint64_t bad[] = { RW, US, A, D, PS, G, XD, 1ull << 46 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		md.pdpte[0] = loaded | bad[i];
		expect_fault(m, &md, 0x1000, &rd, PF_ERR_P | PF_ERR_RSVD);
		assert_false(ptwalk_pdpte_valid(md.pdpte[0], 46));
	}
	assert_true(ptwalk_pdpte_valid(loaded | (1ull << 45) | 0x18 | 0xe00, 46));
	assert_true(ptwalk_pdpte_valid(~P, 46));        /* not present: nothing checked */
	assert_false(ptwalk_pdpte_valid(P | (1ull << 40), 40));
	free(m);
}

static void pae_reserved_bits_by_level(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t pdpt = new_table(m);
	uint64_t pte = map64(m, pdpt, 3, 0x1000, 0x5000, 1, UP, UP);
	uint64_t pde = map64(m, pdpt, 3, 0x200000, 0x400000, 2, UP, UP);
	struct ptwalk_mode md = mode_pae(m, pdpt);
	/* Bits 62:M, unlike IA-32e paging where 62:52 are free. */
	put(m, pte, 8, 0x5000 | UP | (1ull << 55));
	expect_fault(m, &md, 0x1000, &rd, PF_ERR_P | PF_ERR_RSVD);
	put(m, pte, 8, 0x5000 | UP | (1ull << 46));
	expect_fault(m, &md, 0x1000, &rd, PF_ERR_P | PF_ERR_RSVD);
	md.maxphyaddr = 52;
	expect_ok(m, &md, 0x1000, &rd, (1ull << 46) | 0x5000, 0x1000);
	md.maxphyaddr = 46;
	put(m, pte, 8, 0x5000 | UP | XD);
	expect_ok(m, &md, 0x1000, &rd, 0x5000, 0x1000);
	md.nxe = false;                      /* XD reserved without NXE */
	expect_fault(m, &md, 0x1000, &rd, PF_ERR_P | PF_ERR_RSVD);
	md.nxe = true;
	/* A 2 MiB PDE: bits 20:13 reserved, bit 12 is PAT. */
	put(m, pde, 8, 0x400000 | UP | PS | (1ull << 13));
	expect_fault(m, &md, 0x200000, &rd, PF_ERR_P | PF_ERR_RSVD);
	put(m, pde, 8, 0x400000 | UP | PS | (1ull << 12));
	expect_ok(m, &md, 0x200000, &rd, 0x400000, 2 * MiB);
	free(m);
}

static void four_level_4k_2m_and_1g_pages_translate(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	map64(m, cr3, 4, 0x00007f1234567000ull, 0x0000123456789000ull, 1, UP, UP);
	map64(m, cr3, 4, 0xffff800040200000ull, 0x200000000ull, 2, UP, P | RW);
	map64(m, cr3, 4, 0x0000004080000000ull, 0x3c0000000ull, 3, UP, P);
	struct ptwalk_mode md = mode64(cr3 | 0xfff, false);  /* CR3 flag/PCID bits are no address */
	expect_ok(m, &md, 0x00007f1234567abcull, &urd, 0x0000123456789abcull, 0x1000);
	expect_ok(m, &md, 0xffff8000402fffffull, &wr, 0x2000fffffull, 2 * MiB);
	expect_ok(m, &md, 0x00000040bfffffffull, &rd, 0x3ffffffffull, GiB);
	struct ptwalk_result r = walk(m, &md, 0x00000040bfffffffull, &rd);
	assert_int_equal(r.top_level, 4);
	assert_int_equal(r.last_level, 3);
	assert_false(r.writable || r.user);
	free(m);
}

static void five_level_walks_a_pml5(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t la = 0x001e000000401000ull;          /* PML5 index 0x1e */
	map64(m, cr3, 5, la, 0x9000, 1, UP, UP);
	struct ptwalk_mode md = mode64(cr3, true);
	expect_ok(m, &md, la | 0x10, &uwr, 0x9010, 0x1000);
	struct ptwalk_result r = walk(m, &md, la, &rd);
	assert_int_equal(r.top_level, 5);
	assert_int_equal(r.entry[5].gpa, cr3 + 0x1e * 8);
	/* The same address under 4-level paging ignores bits 56:48. */
	md.la57 = false;
	expect_fault(m, &md, la, &rd, 0);
	/* PS is reserved in a PML5E. */
	put(m, cr3 + 0x1e * 8, 8, get(m, cr3 + 0x1e * 8, 8) | PS);
	md.la57 = true;
	expect_fault(m, &md, la, &rd, PF_ERR_P | PF_ERR_RSVD);
	free(m);
}

static void four_level_reserved_bits_by_level(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t la4k = 0x1000, la2m = 0x40000000ull + 0x200000, la1g = 0x80000000ull;
	uint64_t pte = map64(m, cr3, 4, la4k, 0x5000, 1, UP, UP);
	uint64_t pde2m = map64(m, cr3, 4, la2m, 0x600000, 2, UP, UP);
	uint64_t pdpte1g = map64(m, cr3, 4, la1g, 0x40000000ull, 3, UP, UP);
	uint64_t pml4e = cr3, pdpte = get(m, pml4e, 8) & ~0xfffull, pde = get(m, pdpte, 8) & ~0xfffull;
	struct ptwalk_mode md = mode64(cr3, false);
	const uint32_t rsvd = PF_ERR_P | PF_ERR_RSVD;

	struct { uint64_t gpa, bit; uint64_t la; bool bad; } cases[] = {
		{ pml4e, PS, la4k, true },                  /* PS in a PML4E */
		{ pml4e, 1ull << 46, la4k, true },          /* address bits above MAXPHYADDR 46 */
		{ pml4e, 1ull << 51, la4k, true },
		{ pml4e, 1ull << 52, la4k, false },         /* 62:52 ignored */
		{ pml4e, G, la4k, false },                  /* ignored in a non-leaf (Intel) */
		{ pdpte, 1ull << 50, la4k, true },
		{ pde, 1ull << 47, la4k, true },
		{ pde, D, la4k, false },                    /* ignored in a non-leaf */
		{ pte, 1ull << 46, la4k, true },
		{ pte, PS, la4k, false },                   /* PAT in a PTE */
		{ pte, 1ull << 62, la4k, false },           /* protection key bits: ignored without PKE */
		{ pde2m, 1ull << 13, la2m, true },          /* 2 MiB: 20:13 */
		{ pde2m, 1ull << 20, la2m, true },
		{ pde2m, 1ull << 12, la2m, false },         /* PAT */
		{ pdpte1g, 1ull << 13, la1g, true },        /* 1 GiB: 29:13 */
		{ pdpte1g, 1ull << 29, la1g, true },
		{ pdpte1g, 1ull << 12, la1g, false },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t old = get(m, cases[i].gpa, 8);
		put(m, cases[i].gpa, 8, old | cases[i].bit);
		struct ptwalk_result r = walk(m, &md, cases[i].la, &rd);
		if (cases[i].bad) {
			assert_int_equal(r.status, PTWALK_FAULT);
			assert_int_equal(r.error_code, rsvd);
		} else {
			assert_int_equal(r.status, PTWALK_OK);
		}
		put(m, cases[i].gpa, 8, old);
	}
	/* XD is reserved at every level without NXE; allowed with it. */
	uint64_t chain[] = { pml4e, pdpte, pde, pte };
	for (unsigned i = 0; i < 4; i++) {
		uint64_t old = get(m, chain[i], 8);
		put(m, chain[i], 8, old | XD);
		md.nxe = false;
		expect_fault(m, &md, la4k, &ex, rsvd);     /* no I/D: NXE and SMEP off */
		md.nxe = true;
		expect_fault(m, &md, la4k, &ex, PF_ERR_P | PF_ERR_ID);
		expect_ok(m, &md, la4k, &rd, 0x5000, 0x1000);
		put(m, chain[i], 8, old);
	}
	/* A 1 GiB leaf without 1 GiB page support: PS itself is reserved. */
	md.gbpages = false;
	expect_fault(m, &md, la1g, &rd, rsvd);
	/* Reserved bits make a fault with P set even for a not-allowed access. */
	expect_fault(m, &md, la1g, &uwr, rsvd | PF_ERR_W | PF_ERR_U);
	free(m);
}

static void not_present_entry_faults_at_its_level(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t pte = map64(m, cr3, 4, 0x1000, 0x5000, 1, UP, UP);
	struct ptwalk_mode md = mode64(cr3, false);
	/* Reserved bits are not checked in a not-present entry. */
	put(m, pte, 8, ~P);
	struct ptwalk_result r = walk(m, &md, 0x1000, &uwr);
	assert_int_equal(r.status, PTWALK_FAULT);
	assert_int_equal(r.error_code, PF_ERR_W | PF_ERR_U);
	assert_int_equal(r.last_level, 1);
	r = walk(m, &md, 0x8000000000ull, &rd);     /* PML4 index 1: empty */
	assert_int_equal(r.error_code, 0);
	assert_int_equal(r.last_level, 4);
	assert_int_equal(r.entry[4].gpa, cr3 + 8);
	free(m);
}

/* ---- access rights (SDM 4.6) ---- */

struct rights_case {
	uint64_t upper, leaf;       /* flags of the PDE and PTE (PML4E, PDPTE grant all) */
	bool wp, smep, smap, nxe;
	struct ptwalk_access a;
	int32_t want;               /* the #PF error code, or -1: allowed */
};

#define R_(kind, cpl3, implicit, ac) { PTWALK_##kind, cpl3, implicit, ac, false }

static const struct rights_case rights[] = {
	/* user accesses need U at every level, W for writes, whatever WP says */
	{ UP, UP, false, false, false, true, R_(READ, true, false, false), -1 },
	{ P | RW, UP, false, false, false, true, R_(READ, true, false, false), PF_ERR_P | PF_ERR_U },
	{ UP, P | RW, false, false, false, true, R_(READ, true, false, false), PF_ERR_P | PF_ERR_U },
	{ UP, P | US, false, false, false, true, R_(WRITE, true, false, false), PF_ERR_P | PF_ERR_W | PF_ERR_U },
	{ P | US, UP, false, false, false, true, R_(WRITE, true, false, false), PF_ERR_P | PF_ERR_W | PF_ERR_U },
	{ UP, UP, false, false, false, true, R_(WRITE, true, false, false), -1 },
	/* supervisor writes to read-only pages: allowed with WP = 0, user page or not */
	{ UP, P, false, false, false, true, R_(WRITE, false, false, false), -1 },
	{ UP, P | US, false, false, false, true, R_(WRITE, false, false, false), -1 },
	{ UP, P, true, false, false, true, R_(WRITE, false, false, false), PF_ERR_P | PF_ERR_W },
	{ P | US, UP, true, false, false, true, R_(WRITE, false, false, false), PF_ERR_P | PF_ERR_W },
	{ UP, UP, true, false, false, true, R_(WRITE, false, false, false), -1 },
	/* supervisor reads of user pages; SMAP blocks them unless AC (explicit only) */
	{ UP, UP, true, false, false, true, R_(READ, false, false, false), -1 },
	{ UP, UP, true, false, true, true, R_(READ, false, false, false), PF_ERR_P },
	{ UP, UP, true, false, true, true, R_(READ, false, false, true), -1 },
	{ UP, UP, true, false, true, true, R_(READ, false, true, true), PF_ERR_P },
	{ UP, P | RW, true, false, true, true, R_(READ, false, true, false), -1 },
	/* an implicit access at CPL 3 is a supervisor one: no U in the error code */
	{ UP, P | RW, true, false, false, true, R_(READ, true, true, false), -1 },
	{ UP, UP, true, false, true, true, R_(READ, true, true, true), PF_ERR_P },
	{ UP, UP, true, false, true, true, R_(WRITE, true, true, false), PF_ERR_P | PF_ERR_W },
	/* SMAP writes: AC lets explicit ones through, still subject to WP */
	{ UP, UP, true, false, true, true, R_(WRITE, false, false, true), -1 },
	{ UP, P | US, true, false, true, true, R_(WRITE, false, false, true), PF_ERR_P | PF_ERR_W },
	{ UP, P | US, false, false, true, true, R_(WRITE, false, false, true), -1 },
	{ UP, P | US, false, false, true, true, R_(WRITE, false, false, false), PF_ERR_P | PF_ERR_W },
	/* fetches: XD at any level with NXE; SMEP blocks supervisor fetches from user pages */
	{ UP | XD, UP, true, false, false, true, R_(FETCH, true, false, false), PF_ERR_P | PF_ERR_U | PF_ERR_ID },
	{ UP, UP | XD, true, false, false, true, R_(FETCH, false, false, false), PF_ERR_P | PF_ERR_ID },
	{ UP, UP | XD, true, false, false, true, R_(READ, true, false, false), -1 },
	{ UP, UP, true, false, false, true, R_(FETCH, false, false, false), -1 },
	{ UP, UP, true, true, false, true, R_(FETCH, false, false, false), PF_ERR_P | PF_ERR_ID },
	{ UP, UP, true, true, false, true, R_(FETCH, true, false, false), -1 },
	{ UP, P | RW, true, true, false, true, R_(FETCH, false, false, false), -1 },
	{ UP, P | RW, true, true, false, true, R_(FETCH, true, false, false), PF_ERR_P | PF_ERR_U | PF_ERR_ID },
	/* writable pages need not be readable-only: fetch ignores R/W */
	{ UP, P | US, true, false, false, true, R_(FETCH, true, false, false), -1 },
	/* "implicit" means nothing to a fetch: it is made at the CPL */
	{ UP, P | RW, true, false, false, true, R_(FETCH, true, true, false), PF_ERR_P | PF_ERR_U | PF_ERR_ID },
	/* SMAP does not touch fetches, SMEP does not touch data */
	{ UP, UP, true, false, true, true, R_(FETCH, false, false, false), -1 },
	{ UP, UP, true, true, false, true, R_(WRITE, false, false, false), -1 },
};

static void access_rights_follow_sdm_4_6(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(rights) / sizeof(rights[0]); i++) {
		const struct rights_case *c = &rights[i];
		struct mem *m = mem_new();
		uint64_t cr3 = new_table(m), pdpt = new_table(m), pd = new_table(m), pt = new_table(m);
		put(m, cr3, 8, pdpt | UP);
		put(m, pdpt, 8, pd | UP);
		put(m, pd, 8, pt | c->upper);
		put(m, pt, 8, 0x7000 | c->leaf);
		struct ptwalk_mode md = mode64(cr3, false);
		md.wp = c->wp;
		md.smep = c->smep;
		md.smap = c->smap;
		md.nxe = c->nxe;
		struct ptwalk_result r = walk(m, &md, 0x10, &c->a);
		if (c->want < 0) {
			if (r.status != PTWALK_OK)
				fail_msg("case %u: fault %#x, want allowed", i, r.error_code);
			assert_int_equal(r.gpa, 0x7010);
		} else {
			if (r.status != PTWALK_FAULT)
				fail_msg("case %u: allowed, want fault %#x", i, (unsigned)c->want);
			if (r.error_code != (uint32_t)c->want)
				fail_msg("case %u: error code %#x, want %#x", i, r.error_code, (unsigned)c->want);
		}
		free(m);
	}
}

static void rights_are_the_and_of_every_level(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	map64(m, cr3, 4, 0x1000, 0x5000, 1, P | RW | US, P | US | XD);
	struct ptwalk_mode md = mode64(cr3, false);
	struct ptwalk_result r = walk(m, &md, 0x1000, &urd);
	assert_int_equal(r.status, PTWALK_OK);
	assert_false(r.writable);
	assert_true(r.user);
	assert_false(r.executable);
	md.nxe = false;  /* XD now reserved */
	expect_fault(m, &md, 0x1000, &urd, PF_ERR_P | PF_ERR_RSVD | PF_ERR_U);
	free(m);
}

/* ---- accessed and dirty flags (SDM 4.8) ---- */

static void accessed_on_every_level_dirty_on_the_leaf_for_writes(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t pte = map64(m, cr3, 4, 0x1000, 0x5000, 1, UP, UP);
	uint64_t pdpt = get(m, cr3, 8) & ~0xfffull, pd = get(m, pdpt, 8) & ~0xfffull;
	struct ptwalk_mode md = mode64(cr3, false);
	expect_ok(m, &md, 0x1000, &rd, 0x5000, 0x1000);
	assert_int_equal(get(m, cr3, 8) & (A | D), A);
	assert_int_equal(get(m, pdpt, 8) & (A | D), A);
	assert_int_equal(get(m, pd, 8) & (A | D), A);
	assert_int_equal(get(m, pte, 8) & (A | D), A);
	assert_int_equal(m->updates, 4);
	expect_ok(m, &md, 0x1000, &rd, 0x5000, 0x1000);
	assert_int_equal(m->updates, 4);       /* nothing to write the second time */
	struct ptwalk_result r = walk(m, &md, 0x1000, &wr);
	assert_int_equal(get(m, pte, 8) & (A | D), A | D);
	assert_int_equal(get(m, pd, 8) & D, 0); /* D is the leaf's alone */
	assert_int_equal(r.entry[1].val, 0x5000 | UP | A | D);
	assert_int_equal(m->updates, 5);
	free(m);
}

static void dirty_goes_to_a_large_leaf(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t pde = map64(m, cr3, 4, 0x200000, 0x400000, 2, UP, UP);
	uint64_t pdpte = map64(m, cr3, 4, 0x40000000, 0x80000000ull, 3, UP, UP);
	struct ptwalk_mode md = mode64(cr3, false);
	expect_ok(m, &md, 0x200000, &wr, 0x400000, 2 * MiB);
	assert_int_equal(get(m, pde, 8) & (A | D), A | D);
	expect_ok(m, &md, 0x40000000, &wr, 0x80000000ull, GiB);
	assert_int_equal(get(m, pdpte, 8) & (A | D), A | D);
	/* 32-bit paging: 4-byte entries, a 4 MiB leaf */
	struct mem *m32 = mem_new();
	uint64_t cr3_32 = new_table(m32);
	uint64_t pde32 = map32(m32, cr3_32, 0x400000, 0x800000, true, P | RW, 0);
	uint64_t next = get(m32, cr3_32 + 8, 4);
	struct ptwalk_mode md32 = mode32(cr3_32, true);
	expect_ok(m32, &md32, 0x400000, &wr, 0x800000, 4 * MiB);
	assert_int_equal(get(m32, pde32, 4), 0x800000 | P | RW | PS | A | D);
	assert_int_equal(get(m32, cr3_32 + 8, 4), next);  /* 4-byte updates touch nothing beside */
	free(m32);
	free(m);
}

static void no_flags_are_set_on_a_fault_or_when_asked_not_to(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	map64(m, cr3, 4, 0x1000, 0x5000, 1, UP, P | RW);
	map64(m, cr3, 4, 0x3000, 0x6000, 1, UP, 0);
	map64(m, cr3, 4, 0x4000, 0x7000, 1, UP, UP | (1ull << 50));
	struct ptwalk_mode md = mode64(cr3, false);
	expect_fault(m, &md, 0x1000, &uwr, PF_ERR_P | PF_ERR_W | PF_ERR_U);  /* protection */
	expect_fault(m, &md, 0x3000, &rd, 0);                                 /* not present */
	expect_fault(m, &md, 0x4000, &rd, PF_ERR_P | PF_ERR_RSVD);           /* reserved */
	struct ptwalk_access look = wr;
	look.no_ad = true;
	expect_ok(m, &md, 0x1000, &look, 0x5000, 0x1000);
	assert_int_equal(m->updates, 0);
	free(m);
}

static void pae_and_32bit_set_flags_in_their_own_entries(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t pdpt = new_table(m);
	uint64_t pte = map64(m, pdpt, 3, 0x1000, 0x5000, 1, UP, UP);
	uint64_t pd = get(m, pdpt, 8) & ~0xfffull;
	struct ptwalk_mode md = mode_pae(m, pdpt);
	expect_ok(m, &md, 0x1000, &wr, 0x5000, 0x1000);
	assert_int_equal(get(m, pd, 8) & (A | D), A);
	assert_int_equal(get(m, pte, 8) & (A | D), A | D);
	assert_int_equal(get(m, pdpt, 8), md.pdpte[0]);  /* PDPTEs have no accessed flag */
	assert_int_equal(m->updates, 2);
	free(m);
}

/* ---- memory the walk cannot reach, and other writers ---- */

static void entry_outside_ram_is_reported_with_its_address(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	put(m, cr3, 8, 0x7ff000000ull | UP);       /* the PDPT is not RAM */
	struct ptwalk_mode md = mode64(cr3, false);
	struct ptwalk_result r = walk(m, &md, 0x40000000ull * 3 + 0x10, &rd);
	assert_int_equal(r.status, PTWALK_NOT_RAM);
	assert_int_equal(r.gpa, 0x7ff000000ull + 3 * 8);
	assert_int_equal(r.err, ERR_INVAL);
	assert_int_equal(r.last_level, 3);
	md.cr3 = 0x40000000ull;                     /* CR3 itself outside RAM */
	r = walk(m, &md, 0x10, &rd);
	assert_int_equal(r.status, PTWALK_NOT_RAM);
	assert_int_equal(r.gpa, 0x40000000ull);
	/* A 32-bit page table outside RAM */
	struct mem *m32 = mem_new();
	uint64_t cr3_32 = new_table(m32);
	put(m32, cr3_32, 4, 0xfee00000 | P);
	struct ptwalk_mode md32 = mode32(cr3_32, true);
	r = walk(m32, &md32, 0x3000, &rd);
	assert_int_equal(r.status, PTWALK_NOT_RAM);
	assert_int_equal(r.gpa, 0xfee00000 + 3 * 4);
	free(m32);
	free(m);
}

static void entry_that_cannot_be_updated_is_reported(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t pte = map64(m, cr3, 4, 0x1000, 0x5000, 1, UP, UP);
	m->rom = pte & ~0xfffull;
	struct ptwalk_mode md = mode64(cr3, false);
	struct ptwalk_result r = walk(m, &md, 0x1000, &rd);
	assert_int_equal(r.status, PTWALK_NOT_RAM);
	assert_int_equal(r.gpa, pte);
	free(m);
}

static void lost_update_restarts_the_walk(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	uint64_t pte = map64(m, cr3, 4, 0x1000, 0x5000, 1, UP, UP);
	struct ptwalk_mode md = mode64(cr3, false);
	/* Another vCPU remaps the page while we set A: the walk sees the new entry. */
	m->races = 1;
	m->race_val = 0x9000 | UP;
	put(m, cr3, 8, get(m, cr3, 8) | A);
	uint64_t pdpt = get(m, cr3, 8) & ~0xfffull, pd = get(m, pdpt, 8) & ~0xfffull;
	put(m, pdpt, 8, get(m, pdpt, 8) | A);
	put(m, pd, 8, get(m, pd, 8) | A);
	expect_ok(m, &md, 0x1000, &rd, 0x9000, 0x1000);
	assert_int_equal(get(m, pte, 8), 0x9000 | UP | A);
	/* ... or unmaps it: the retried walk faults. */
	put(m, pte, 8, 0x5000 | UP);
	m->races = 1;
	m->race_val = 0x5000 | RW;
	expect_fault(m, &md, 0x1000, &rd, 0);
	/* Losing every time ends in PTWALK_RETRY. */
	put(m, pte, 8, 0x5000 | UP);
	m->races = 1000;
	m->race_val = 0;
	struct ptwalk_result r = walk(m, &md, 0x1000, &rd);
	assert_int_equal(r.status, PTWALK_RETRY);
	free(m);
}

static void global_and_protection_key_are_reported(void **state)
{
	(void)state;
	struct mem *m = mem_new();
	uint64_t cr3 = new_table(m);
	map64(m, cr3, 4, 0x1000, 0x5000, 1, UP | G, UP | G | (0xbull << 59));
	struct ptwalk_mode md = mode64(cr3, false);
	struct ptwalk_result r = walk(m, &md, 0x1000, &rd);
	assert_false(r.global);               /* without CR4.PGE */
	assert_int_equal(r.pkey, 0);          /* without CR4.PKE */
	md.pge = md.pke = true;
	r = walk(m, &md, 0x1000, &urd);
	assert_true(r.global);
	assert_int_equal(r.pkey, 0xb);
	assert_int_equal(r.gpa, 0x5000);      /* key bits are no address bits */
	free(m);
}

/* ---- random tables against a reference walker ---- */

/*
 * The reference: one straight loop per walk, every rule written as the SDM
 * words it, reserved bits decided bit by bit.  It shares no code with the
 * walker.
 */
struct ref_result {
	enum ptwalk_status status;
	uint64_t gpa;
	uint32_t error_code;
	uint64_t page_size;
	bool writable, user, executable;
};

static bool ref_bit_reserved(const struct ptwalk_mode *md, unsigned level, bool ps, unsigned bit)
{
	unsigned M = md->maxphyaddr;
	if (!md->pae) {                                     /* 32-bit paging */
		unsigned m36 = M > 40 ? 40 : M;
		return level == 2 && ps && md->pse && bit >= m36 - 19 && bit <= 21;
	}
	if (!md->lma) {                                     /* PAE */
		if (level == 3)
			return bit == 1 || bit == 2 || (bit >= 5 && bit <= 8) || bit >= M;
		if (bit >= M && bit <= 62)
			return true;
		if (bit == 63)
			return !md->nxe;
		return level == 2 && ps && bit >= 13 && bit <= 20;
	}
	if (bit >= M && bit <= 51)                          /* IA-32e */
		return true;
	if (bit == 63)
		return !md->nxe;
	if (level >= 4)
		return bit == 7;
	if (level == 3 && ps)
		return md->gbpages ? bit >= 13 && bit <= 29 : bit == 7;
	if (level == 2 && ps)
		return bit >= 13 && bit <= 20;
	return false;
}

static struct ref_result ref_walk(struct mem *m, const struct ptwalk_mode *md, uint64_t la,
				  const struct ptwalk_access *a, unsigned *nlog, uint64_t *log_gpa,
				  uint64_t *log_val)
{
	struct ref_result r = { .writable = true, .user = true, .executable = true };
	bool user_mode = a->cpl3 && !(a->implicit && a->kind != PTWALK_FETCH);
	uint32_t ec = (a->kind == PTWALK_WRITE ? 2u : 0u) | (user_mode ? 4u : 0u);
	if (a->kind == PTWALK_FETCH && (md->smep || (md->pae && md->nxe)))
		ec |= 16;
	*nlog = 0;
	if (!md->pg) {
		r.status = PTWALK_OK;
		r.gpa = la & 0xffffffff;
		r.page_size = 4096;
		return r;
	}
	unsigned M = md->maxphyaddr;
	uint64_t addr_mask = ((1ull << M) - 1) & ~0xfffull;
	unsigned size = md->pae ? 8 : 4;
	unsigned level;
	uint64_t table;
	if (!md->pae) {
		level = 2;
		table = md->cr3 & 0xfffff000;
		la &= 0xffffffff;
	} else if (!md->lma) {
		level = 3;
		table = md->cr3 & 0xffffffe0;
		la &= 0xffffffff;
	} else {
		level = md->la57 ? 5 : 4;
		table = md->cr3 & addr_mask;
	}
	uint64_t used_gpa[6];
	unsigned nused = 0;
	uint64_t e = 0;
	for (;;) {
		uint64_t gpa;
		if (md->pae && !md->lma && level == 3) {
			gpa = 0;
			e = md->pdpte[(la >> 30) & 3];
		} else {
			unsigned shift = !md->pae ? (level == 2 ? 22 : 12) : 12 + 9 * (level - 1);
			uint64_t idx = (la >> shift) & (md->pae ? 511 : 1023);
			gpa = table + idx * size;
			uint8_t *p = mem_at(m, gpa, size);
			if (!p) {
				r.status = PTWALK_NOT_RAM;
				r.gpa = gpa;
				return r;
			}
			e = 0;
			memcpy(&e, p, size);
		}
		if (!(e & 1)) {
			r.status = PTWALK_FAULT;
			r.error_code = ec;
			return r;
		}
		bool ps = (e >> 7) & 1;
		for (unsigned bit = 0; bit < 64; bit++) {
			if (((e >> bit) & 1) && ref_bit_reserved(md, level, ps, bit)) {
				r.status = PTWALK_FAULT;
				r.error_code = ec | 1 | 8;
				return r;
			}
		}
		if (!(md->pae && !md->lma && level == 3)) {
			if (!(e & RW))
				r.writable = false;
			if (!(e & US))
				r.user = false;
			used_gpa[nused++] = gpa;
		}
		if (md->pae && md->nxe && (e >> 63))
			r.executable = false;
		bool leaf = level == 1 || (ps && level == 2 && (md->pae || md->pse)) ||
			    (ps && level == 3 && md->lma);
		if (leaf)
			break;
		table = md->pae ? e & addr_mask : e & 0xfffff000;
		level--;
	}
	if (!md->pae && level == 2) {
		unsigned m36 = M > 40 ? 40 : M;
		r.page_size = 4 * MiB;
		r.gpa = (e & 0xffc00000) | (la & 0x3fffff);
		for (unsigned b = 0; b < m36 - 32; b++)
			if ((e >> (13 + b)) & 1)
				r.gpa |= 1ull << (32 + b);
	} else if (!md->pae) {
		r.page_size = 4096;
		r.gpa = (e & 0xfffff000) | (la & 0xfff);
	} else {
		r.page_size = level == 1 ? 4096 : level == 2 ? 2 * MiB : GiB;
		r.gpa = (e & addr_mask & ~(r.page_size - 1)) | (la & (r.page_size - 1));
	}

	bool ok;
	bool smap_lets_through = !md->smap || (a->ac && !a->implicit);
	if (a->kind == PTWALK_READ)
		ok = user_mode ? r.user : (!r.user || smap_lets_through);
	else if (a->kind == PTWALK_WRITE)
		ok = user_mode ? r.user && r.writable :
		     !r.user ? (r.writable || !md->wp) :
		     smap_lets_through && (r.writable || !md->wp);
	else
		ok = r.executable && (user_mode ? r.user : !(r.user && md->smep));
	if (!ok) {
		r.status = PTWALK_FAULT;
		r.error_code = ec | 1;
		return r;
	}
	if (!a->no_ad) {
		/* Flags are ORed into memory as it is now: tables may alias each other. */
		for (unsigned i = 0; i < nused; i++) {
			uint64_t cur = 0, v;
			memcpy(&cur, mem_at(m, used_gpa[i], size), size);
			v = cur | A;
			if (i == nused - 1 && a->kind == PTWALK_WRITE)
				v |= D;
			if (v != cur) {
				memcpy(mem_at(m, used_gpa[i], size), &v, size);
				log_gpa[*nlog] = used_gpa[i];
				log_val[*nlog] = v;
				(*nlog)++;
			}
		}
	}
	r.status = PTWALK_OK;
	return r;
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static bool chance(unsigned percent)
{
	return rnd() % 100 < percent;
}

#define RAND_TABLES 12
#define RAND_BASE   0x10000ull
static const unsigned hot_index[] = { 0, 1, 2, 511 };  /* the entries random tables fill */

/* A random entry: mostly present, pointing at one of the tables, sometimes large or odd. */
static uint64_t random_entry(const struct ptwalk_mode *md, unsigned level, unsigned top)
{
	uint64_t e = rnd() & (P | RW | US | 0x18 | A | D | G | 0xe00);
	if (chance(88))
		e |= P;
	else if (chance(50))
		e &= ~P;
	bool large = level > 1 && level < 4 && chance(30);
	if (level >= 4 && chance(4))
		large = true;                       /* reserved PS in a PML4E/PML5E */
	if (md->pae && !md->lma && level == 3)
		large = chance(3);
	uint64_t addr;
	if (chance(6))
		addr = (rnd() & 0xfffff000ull) | (chance(50) ? 0x40000000ull : 0);  /* mostly not RAM */
	else
		addr = RAND_BASE + (rnd() % RAND_TABLES) * PAGE;
	if (large && chance(70))
		addr &= level == 2 ? ~0x1fffffull : ~0x3fffffffull;
	if (large && chance(15))
		addr |= 1ull << 12;                 /* PAT */
	e |= addr | (large ? PS : 0);
	if (md->pae) {
		if (chance(30))
			e |= XD;
		if (chance(5))
			e |= 1ull << (36 + rnd() % 27);  /* above some MAXPHYADDR, or ignored, or key */
		if (md->lma && chance(10))
			e |= (rnd() & 0xfull) << 59;
		if (!md->lma && level == 3 && chance(60))
			e &= ~(RW | US | A | D | G | XD);
	} else {
		if (large && chance(30))
			e |= (rnd() & 0x1ffull) << 13;  /* PSE-36 and reserved bit 21 */
		e &= 0xffffffffull;
	}
	(void)top;
	return e;
}

static void random_mode(struct ptwalk_mode *md, int kind)
{
	static const unsigned maxphy[] = { 32, 36, 39, 40, 46, 52 };
	*md = (struct ptwalk_mode){ .pg = true };
	md->wp = chance(70);
	md->pse = chance(80);
	md->pge = chance(50);
	md->smep = chance(40);
	md->smap = chance(40);
	md->pke = chance(30);
	md->nxe = chance(70);
	md->gbpages = chance(70);
	md->maxphyaddr = maxphy[rnd() % 6];
	md->pae = kind != 32;
	md->lma = kind >= 4;
	md->la57 = kind == 5;
	md->cr3 = RAND_BASE + (rnd() % RAND_TABLES) * PAGE + (kind == 3 ? (rnd() % 128) * 32 : 0);
	if (chance(20))
		md->cr3 |= rnd() & 0xfff & (kind == 3 ? 0x1f : 0xfff);
}

static uint64_t random_la(int kind)
{
	uint64_t la = rnd() & 0xfff;
	unsigned levels = kind == 32 ? 2 : kind == 3 ? 3 : (unsigned)kind;
	for (unsigned l = 1; l <= levels; l++) {
		uint64_t idx = hot_index[rnd() % 4];
		if (kind == 32) {
			idx &= 1023;
			la |= idx << (l == 2 ? 22 : 12);
		} else if (kind == 3 && l == 3) {
			la |= (idx & 3) << 30;
		} else {
			la |= idx << (12 + 9 * (l - 1));
		}
	}
	if (chance(10))
		la ^= rnd() & 0xfffff000ull;        /* somewhere else entirely */
	if (kind >= 4 && chance(50))
		la |= 0xfe00000000000000ull;        /* sign bits the walk does not look at */
	return la;
}

/* How often each outcome came up, so a change to the generator cannot hollow the test out. */
struct coverage {
	unsigned ok_by_level[6], not_present, reserved, protection, not_ram, dirty;
};

static void count(struct coverage *c, const struct ref_result *r, unsigned nlog)
{
	if (r->status == PTWALK_OK)
		c->ok_by_level[r->page_size == 4096 ? 1 : r->page_size == GiB ? 3 : 2]++;
	else if (r->status == PTWALK_NOT_RAM)
		c->not_ram++;
	else if (!(r->error_code & 1))
		c->not_present++;
	else if (r->error_code & 8)
		c->reserved++;
	else
		c->protection++;
	c->dirty += nlog;
}

static void run_random(int kind, uint64_t seed, unsigned tables, unsigned accesses)
{
	struct coverage cov = { 0 };
	rng = seed;
	struct mem *impl = mem_new(), *ref = mem_new();
	for (unsigned t = 0; t < tables; t++) {
		struct ptwalk_mode md;
		random_mode(&md, kind);
		impl->n = 0;
		for (unsigned i = 0; i < RAND_TABLES; i++)
			add_page(impl, RAND_BASE + i * PAGE);
		memset(impl->data, 0, sizeof(impl->data));
		unsigned size = kind == 32 ? 4 : 8;
		for (unsigned i = 0; i < RAND_TABLES; i++) {
			for (unsigned h = 0; h < 4; h++) {
				unsigned idx = hot_index[h] & (kind == 32 ? 1023 : 511);
				/* PAE: a table page at CR3 serves as PDPT at any 32-byte slot */
				unsigned level = 1 + (unsigned)(rnd() % (kind == 32 ? 2 : kind == 3 ? 3 : (unsigned)kind));
				put(impl, RAND_BASE + i * PAGE + idx * size, size,
				    random_entry(&md, level, 0));
			}
			if (kind == 3)
				for (unsigned j = 0; j < 4; j++)
					put(impl, (md.cr3 & 0xffffffe0) + j * 8, 8, random_entry(&md, 3, 3));
		}
		if (kind == 3)
			for (unsigned j = 0; j < 4; j++)
				md.pdpte[j] = get(impl, (md.cr3 & 0xffffffe0) + j * 8, 8);
		memcpy(ref, impl, sizeof(*ref));
		struct ptwalk_ops ops = ops_for(impl);

		for (unsigned k = 0; k < accesses; k++) {
			uint64_t la = random_la(kind);
			struct ptwalk_access a = { (enum ptwalk_kind)(rnd() % 3), chance(50), chance(20),
						   chance(50), chance(10) };
			uint64_t log_gpa[8], log_val[8];
			unsigned nlog;
			struct ref_result want = ref_walk(ref, &md, la, &a, &nlog, log_gpa, log_val);
			struct ptwalk_result got;
			impl->nlog = 0;
			ptwalk(&md, &ops, la, &a, &got);
			if (got.status != want.status)
				fail_msg("mode %d table %u access %u la %#llx: status %d, reference %d (error %#x / %#x)",
					 kind, t, k, (unsigned long long)la, got.status, want.status,
					 got.error_code, want.error_code);
			switch (want.status) {
			case PTWALK_OK:
				assert_int_equal(got.gpa, want.gpa);
				assert_int_equal(got.page_size, want.page_size);
				assert_int_equal(got.writable, want.writable);
				assert_int_equal(got.user, want.user);
				assert_int_equal(got.executable, want.executable);
				break;
			case PTWALK_FAULT:
				if (got.error_code != want.error_code)
					fail_msg("mode %d la %#llx: error %#x, reference %#x", kind,
						 (unsigned long long)la, got.error_code, want.error_code);
				break;
			case PTWALK_NOT_RAM:
				assert_int_equal(got.gpa, want.gpa);
				break;
			case PTWALK_RETRY:
				fail();
			}
			count(&cov, &want, nlog);
			assert_int_equal(impl->nlog, nlog);
			for (unsigned i = 0; i < nlog; i++) {
				assert_int_equal(impl->log[i].gpa, log_gpa[i]);
				assert_int_equal(impl->log[i].val, log_val[i]);
			}
		}
		assert_memory_equal(impl->data, ref->data, sizeof(impl->data));
	}
	free(impl);
	free(ref);
	if (getenv("PTWALK_COVERAGE"))
		fprintf(stderr, "mode %d: ok 4K %u, large %u/%u, not present %u, reserved %u, protection %u, not RAM %u, A/D writes %u\n",
			kind, cov.ok_by_level[1], cov.ok_by_level[2], cov.ok_by_level[3], cov.not_present,
			cov.reserved, cov.protection, cov.not_ram, cov.dirty);
	unsigned least = tables * accesses / 200;
	assert_true(cov.ok_by_level[1] > least && cov.ok_by_level[2] > least);
	assert_true(cov.not_present > least && cov.reserved > least && cov.protection > least);
	assert_true(cov.not_ram > least && cov.dirty > least);
	if (kind == 4 || kind == 5)
		assert_true(cov.ok_by_level[3] > least);
}

static void random_32bit_tables_match_the_reference(void **state)
{
	(void)state;
	run_random(32, 0x9e3779b97f4a7c15ull, 1000, 500);
}

static void random_pae_tables_match_the_reference(void **state)
{
	(void)state;
	run_random(3, 12345, 1000, 500);
}

static void random_4level_tables_match_the_reference(void **state)
{
	(void)state;
	run_random(4, 2024, 1000, 500);
}

static void random_5level_tables_match_the_reference(void **state)
{
	(void)state;
	run_random(5, 77777, 1000, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paging_off_maps_linear_to_physical),
		cmocka_unit_test(bit32_4k_page_translates_and_reports_its_entries),
		cmocka_unit_test(bit32_4m_page_uses_pse36_bits_up_to_maxphyaddr),
		cmocka_unit_test(bit32_ps_is_ignored_without_cr4_pse),
		cmocka_unit_test(bit32_has_no_execute_disable),
		cmocka_unit_test(pae_4k_and_2m_pages_translate),
		cmocka_unit_test(pae_uses_the_loaded_pdptes_not_memory),
		cmocka_unit_test(pae_reserved_bits_by_level),
		cmocka_unit_test(four_level_4k_2m_and_1g_pages_translate),
		cmocka_unit_test(five_level_walks_a_pml5),
		cmocka_unit_test(four_level_reserved_bits_by_level),
		cmocka_unit_test(not_present_entry_faults_at_its_level),
		cmocka_unit_test(access_rights_follow_sdm_4_6),
		cmocka_unit_test(rights_are_the_and_of_every_level),
		cmocka_unit_test(accessed_on_every_level_dirty_on_the_leaf_for_writes),
		cmocka_unit_test(dirty_goes_to_a_large_leaf),
		cmocka_unit_test(no_flags_are_set_on_a_fault_or_when_asked_not_to),
		cmocka_unit_test(pae_and_32bit_set_flags_in_their_own_entries),
		cmocka_unit_test(entry_outside_ram_is_reported_with_its_address),
		cmocka_unit_test(entry_that_cannot_be_updated_is_reported),
		cmocka_unit_test(lost_update_restarts_the_walk),
		cmocka_unit_test(global_and_protection_key_are_reported),
		cmocka_unit_test(random_32bit_tables_match_the_reference),
		cmocka_unit_test(random_pae_tables_match_the_reference),
		cmocka_unit_test(random_4level_tables_match_the_reference),
		cmocka_unit_test(random_5level_tables_match_the_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
