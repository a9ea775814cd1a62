/* ptwalk.c: walks 32-bit, PAE, 4-level and 5-level guest page tables as the CPU does (SDM vol. 3A ch. 4). */
#include "mm/ptwalk.h"

/* Paging-structure entry bits shared by all modes (SDM 4.3, 4.4.2, 4.5: tables 4-4 to 4-20). */
#define E_P   (1ull << 0)
#define E_RW  (1ull << 1)
#define E_US  (1ull << 2)
#define E_A   (1ull << 5)
#define E_D   (1ull << 6)
#define E_PS  (1ull << 7)   /* a large leaf in a PDE or PDPTE */
#define E_G   (1ull << 8)
#define E_XD  (1ull << 63)  /* PAE and IA-32e paging only */
#define E_PKEY_SHIFT 59     /* 4-/5-level leaves: bits 62:59 with CR4.PKE */
#define E_PKEY_MASK  0xfu

#define SIZE_4K (1ull << 12)
#define SIZE_2M (1ull << 21)
#define SIZE_4M (1ull << 22)
#define SIZE_1G (1ull << 30)

#define LA32_MASK      0xffffffffull
#define FRAME32_MASK   0xfffff000ull  /* 32-bit paging: CR3, PDE and PTE address bits 31:12 */
#define PDE4M_LOW_MASK 0xffc00000ull  /* 32-bit paging: a 4 MiB page's address bits 31:22 */
#define PDE4M_HIGH_SHIFT 13           /* ... and bits (M-1):32 in PDE bits (M-20):13 (PSE-36) */
#define PAE_CR3_MASK   0xffffffe0ull  /* PAE: CR3 bits 31:5 locate the PDPT (SDM 4.4.1) */

#define MAXPHY_MIN 32
#define MAXPHY_MAX 52
#define PSE36_MAXPHY 40               /* 4 MiB pages reach 40 address bits at most (SDM 4.3) */
#define RACE_RETRIES 8                /* walks restarted after a lost A/D compare-and-exchange */

/* Bits hi:lo set; none when lo > hi. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	if (lo > hi)
		return 0;
	return (~0ull >> (63 - hi)) & ~((1ull << lo) - 1);
}

enum ptwalk_paging ptwalk_paging(const struct ptwalk_mode *m)
{
	if (!m->pg)
		return PTWALK_OFF;
	if (!m->pae)
		return PTWALK_32BIT;
	if (!m->lma)
		return PTWALK_PAE;
	return m->la57 ? PTWALK_5LEVEL : PTWALK_4LEVEL;
}

static unsigned clamp_maxphy(unsigned maxphyaddr)
{
	if (maxphyaddr < MAXPHY_MIN)
		return MAXPHY_MIN;
	return maxphyaddr > MAXPHY_MAX ? MAXPHY_MAX : maxphyaddr;
}

/* Address bits (M-1):12 of PAE and IA-32e entries. */
static uint64_t frame_mask(unsigned maxphy)
{
	return bits(maxphy - 1, 12);
}

/* PAE PDPTE reserved bits: 2:1, 8:5 and 63:M (SDM 4.4.1, table 4-8). */
static uint64_t pdpte_reserved(unsigned maxphy)
{
	return bits(2, 1) | bits(8, 5) | bits(63, maxphy);
}

bool ptwalk_pdpte_valid(uint64_t pdpte, unsigned maxphyaddr)
{
	return !(pdpte & E_P) || !(pdpte & pdpte_reserved(clamp_maxphy(maxphyaddr)));
}

struct walk {
	const struct ptwalk_mode *m;
	const struct ptwalk_ops *ops;
	const struct ptwalk_access *a;
	struct ptwalk_result *r;
	enum ptwalk_paging paging;
	unsigned maxphy;
};

/* 32-bit paging's M for 4 MiB pages: MAXPHYADDR, but no more than PSE-36 reaches. */
static unsigned pse36_maxphy(const struct walk *w)
{
	return w->maxphy < PSE36_MAXPHY ? w->maxphy : PSE36_MAXPHY;
}

/*
 * The bits of entry e at level that must be 0.  32-bit paging: only 4 MiB
 * PDEs have any, bits 21:(M-19) beyond PSE-36 (table 4-4).  PAE: bits 62:M
 * in PDEs/PTEs (tables 4-9 to 4-11).  IA-32e: bits 51:M (tables 4-15 to
 * 4-20); PS in a PML4E/PML5E, and in a PDPTE without 1 GiB pages.  XD is
 * reserved without EFER.NXE, and a large leaf's address bits below its size
 * (above PAT, bit 12) are reserved.
 */
static uint64_t reserved(const struct walk *w, unsigned level, uint64_t e)
{
	const struct ptwalk_mode *m = w->m;
	bool large = (e & E_PS) != 0;

	if (w->paging == PTWALK_32BIT)
		return level == 2 && large && m->pse ? bits(21, pse36_maxphy(w) - 19) : 0;
	if (w->paging == PTWALK_PAE && level == 3)
		return pdpte_reserved(w->maxphy);

	uint64_t rsvd = w->paging == PTWALK_PAE ? bits(62, w->maxphy) : bits(51, w->maxphy);
	if (!m->nxe)
		rsvd |= E_XD;
	if (level >= 4)
		rsvd |= E_PS;
	else if (level == 3 && large)
		rsvd |= m->gbpages ? bits(29, 13) : E_PS;
	else if (level == 2 && large)
		rsvd |= bits(20, 13);
	return rsvd;
}

/* Whether e, present and valid at level, maps the page itself. */
static bool is_leaf(const struct walk *w, unsigned level, uint64_t e)
{
	if (level == 1)
		return true;
	if (!(e & E_PS))
		return false;
	if (w->paging == PTWALK_32BIT)
		return level == 2 && w->m->pse;     /* without CR4.PSE bit 7 is ignored */
	return level == 2 || (level == 3 && w->paging != PTWALK_PAE);
}

/* Bit position of the linear-address field that indexes the table at level. */
static unsigned index_shift(const struct walk *w, unsigned level)
{
	if (w->paging == PTWALK_32BIT)
		return level == 2 ? 22 : 12;
	return 12 + 9 * (level - 1);
}

static unsigned index_at(const struct walk *w, uint64_t la, unsigned level)
{
	unsigned width = w->paging == PTWALK_32BIT ? 10 : 9;
	return (unsigned)((la >> index_shift(w, level)) & ((1u << width) - 1));
}

/* The physical address la reaches through leaf e at level, and the page size. */
static uint64_t leaf_address(const struct walk *w, uint64_t la, unsigned level, uint64_t e,
			     uint64_t *size)
{
	if (w->paging == PTWALK_32BIT) {
		if (level == 1) {
			*size = SIZE_4K;
			return (e & FRAME32_MASK) | (la & (SIZE_4K - 1));
		}
		uint64_t high = (e >> PDE4M_HIGH_SHIFT) & ((1ull << (pse36_maxphy(w) - 32)) - 1);
		*size = SIZE_4M;
		return (e & PDE4M_LOW_MASK) | (high << 32) | (la & (SIZE_4M - 1));
	}
	*size = level == 1 ? SIZE_4K : level == 2 ? SIZE_2M : SIZE_1G;
	return (e & frame_mask(w->maxphy) & ~(*size - 1)) | (la & (*size - 1));
}

/* Whether the access may use a page with these rights (SDM 4.6.1). */
static bool allowed(const struct ptwalk_mode *m, const struct ptwalk_access *a, bool supervisor,
		    const struct ptwalk_result *r)
{
	/* SMAP: supervisor data accesses to user pages need AC, and never pass when implicit. */
	bool smap_blocks = supervisor && r->user && m->smap && (a->implicit || !a->ac);

	switch (a->kind) {
	case PTWALK_FETCH:
		if (!r->executable)
			return false;
		return supervisor ? !(r->user && m->smep) : r->user;
	case PTWALK_WRITE:
		if (!supervisor)
			return r->user && r->writable;
		return !smap_blocks && (r->writable || !m->wp);
	case PTWALK_READ:
		break;
	}
	return supervisor ? !smap_blocks : r->user;
}

static enum ptwalk_status fault(struct walk *w, bool supervisor, uint32_t why)
{
	struct ptwalk_result *r = w->r;
	r->status = PTWALK_FAULT;
	r->error_code = why;
	if (w->a->kind == PTWALK_WRITE)
		r->error_code |= PF_ERR_W;
	if (!supervisor)
		r->error_code |= PF_ERR_U;
	/* I/D is reported only where fetches can fault: with SMEP, or with PAE/IA-32e and NXE (SDM 4.7). */
	if (w->a->kind == PTWALK_FETCH && (w->m->smep || (w->paging >= PTWALK_PAE && w->m->nxe)))
		r->error_code |= PF_ERR_ID;
	return PTWALK_FAULT;
}

static enum ptwalk_status not_ram(struct walk *w, uint64_t gpa, err_t err)
{
	w->r->status = PTWALK_NOT_RAM;
	w->r->gpa = gpa;
	w->r->err = err;
	return PTWALK_NOT_RAM;
}

/*
 * Sets A in every entry used, top down, and D in the leaf for a write (SDM
 * 4.8); PAE PDPTEs have neither.  *raced when an entry changed under us.
 */
static enum ptwalk_status set_accessed_dirty(struct walk *w, bool *raced)
{
	struct ptwalk_result *r = w->r;
	for (unsigned level = r->top_level; level >= r->last_level; level--) {
		if (w->paging == PTWALK_PAE && level == 3)
			continue;
		struct ptwalk_entry *e = &r->entry[level];
		uint64_t want = e->val | E_A;
		if (level == r->last_level && w->a->kind == PTWALK_WRITE)
			want |= E_D;
		if (want == e->val)
			continue;
		bool swapped = false;
		err_t err = w->ops->update(w->ops->ctx, e->gpa, r->entry_size, e->val, want, &swapped);
		if (err != ERR_OK)
			return not_ram(w, e->gpa, err);
		if (!swapped) {
			*raced = true;
			return PTWALK_RETRY;
		}
		e->val = want;
	}
	return PTWALK_OK;
}

static unsigned top_level(enum ptwalk_paging paging)
{
	switch (paging) {
	case PTWALK_OFF:    return 0;
	case PTWALK_32BIT:  return 2;
	case PTWALK_PAE:    return 3;
	case PTWALK_4LEVEL: return 4;
	case PTWALK_5LEVEL: return 5;
	}
	return 0;
}

static enum ptwalk_status walk_once(struct walk *w, uint64_t la, bool *raced)
{
	const struct ptwalk_mode *m = w->m;
	const struct ptwalk_access *a = w->a;
	struct ptwalk_result *r = w->r;
	/* Fetches are never implicit; an implicit access is a supervisor one at any CPL. */
	bool supervisor = !a->cpl3 || (a->implicit && a->kind != PTWALK_FETCH);

	*r = (struct ptwalk_result){ .writable = true, .user = true, .executable = true };
	if (w->paging == PTWALK_OFF) {
		r->status = PTWALK_OK;
		r->gpa = la & LA32_MASK;
		r->page_size = SIZE_4K;
		return PTWALK_OK;
	}
	if (w->paging <= PTWALK_PAE)
		la &= LA32_MASK;

	r->entry_size = w->paging == PTWALK_32BIT ? 4 : 8;
	r->top_level = top_level(w->paging);
	uint64_t table = w->paging == PTWALK_32BIT ? m->cr3 & FRAME32_MASK :
			 w->paging == PTWALK_PAE ? m->cr3 & PAE_CR3_MASK : m->cr3 & frame_mask(w->maxphy);
	bool nx_on = w->paging >= PTWALK_PAE && m->nxe;

	for (unsigned level = r->top_level;; level--) {
		uint64_t e;
		uint64_t gpa = table + (uint64_t)index_at(w, la, level) * r->entry_size;
		r->last_level = level;
		if (w->paging == PTWALK_PAE && level == 3) {
			/* The PDPTEs come from the PDPTE registers, not memory (SDM 4.4.1). */
			gpa = table + 8ull * ((la >> 30) & 3);
			e = m->pdpte[(la >> 30) & 3];
		} else {
			err_t err = w->ops->read(w->ops->ctx, gpa, r->entry_size, &e);
			if (err != ERR_OK)
				return not_ram(w, gpa, err);
		}
		r->entry[level] = (struct ptwalk_entry){ gpa, e };

		if (!(e & E_P))
			return fault(w, supervisor, 0);
		if (e & reserved(w, level, e))
			return fault(w, supervisor, PF_ERR_P | PF_ERR_RSVD);
		if (!(w->paging == PTWALK_PAE && level == 3)) {  /* PDPTEs carry no rights */
			r->writable = r->writable && (e & E_RW);
			r->user = r->user && (e & E_US);
		}
		if (nx_on && (e & E_XD))
			r->executable = false;

		if (is_leaf(w, level, e)) {
			r->gpa = leaf_address(w, la, level, e, &r->page_size);
			break;
		}
		table = w->paging == PTWALK_32BIT ? e & FRAME32_MASK : e & frame_mask(w->maxphy);
	}

	if (!allowed(m, a, supervisor, r))
		return fault(w, supervisor, PF_ERR_P);

	uint64_t leaf = r->entry[r->last_level].val;
	r->global = m->pge && (leaf & E_G);
	if (m->pke && w->paging >= PTWALK_4LEVEL)
		r->pkey = (unsigned)(leaf >> E_PKEY_SHIFT) & E_PKEY_MASK;
	if (!a->no_ad) {
		enum ptwalk_status s = set_accessed_dirty(w, raced);
		if (s != PTWALK_OK)
			return s;
	}
	r->status = PTWALK_OK;
	return PTWALK_OK;
}

enum ptwalk_status ptwalk(const struct ptwalk_mode *m, const struct ptwalk_ops *ops, uint64_t la,
			  const struct ptwalk_access *a, struct ptwalk_result *r)
{
	struct walk w = { m, ops, a, r, ptwalk_paging(m), clamp_maxphy(m->maxphyaddr) };
	for (unsigned i = 0; i < RACE_RETRIES; i++) {
		bool raced = false;
		enum ptwalk_status s = walk_once(&w, la, &raced);
		if (!raced)
			return s;
	}
	r->status = PTWALK_RETRY;
	return PTWALK_RETRY;
}
