/* test_shadow.c: unit tests of the shadow MMU (vmm/mmu/shadow*.c): a CPU running on the shadows, checked against the guest walker. */

/*
 * The model: guest RAM with contents (and zero RAM, and holes), machine
 * pages behind it in aligned, misaligned and scattered runs, a pool of
 * machine pages for the shadow tables, and a CPU that walks the shadows in
 * 4-level or PAE paging with a TLB that keeps entries until told to flush.
 * Every access is compared with mm/ptwalk.c on the guest's own tables:
 * machine address, exact #PF error code, and the A/D flags left in guest
 * memory; the audit runs after every batch, and the TLB is checked against
 * the guest's tables as it goes.  SHADOW_COVERAGE=1 prints what each random
 * run covered, SHADOW_TRACE=1 every access, SHADOW_SOAK=N (SHADOW_SEED=S)
 * runs N more seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mm/pte.h"
#include "mm/ptwalk.h"
#include "vmm/archcheck.h"
#include "vmm/mmu/shadow.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PAGE 4096ull

#define CR0_PE    ((uint64_t)ARCH_CR0_PE)
#define CR0_WP    ((uint64_t)ARCH_CR0_WP)
#define CR0_PG    ((uint64_t)ARCH_CR0_PG)
#define CR4_PSE   ((uint64_t)ARCH_CR4_PSE)
#define CR4_PAE   ((uint64_t)ARCH_CR4_PAE)
#define CR4_PGE   ((uint64_t)ARCH_CR4_PGE)
#define CR4_PCIDE ((uint64_t)ARCH_CR4_PCIDE)
#define CR4_SMEP  ((uint64_t)ARCH_CR4_SMEP)
#define CR4_SMAP  ((uint64_t)ARCH_CR4_SMAP)
#define EFER_LME  ((uint64_t)ARCH_EFER_LME)
#define EFER_LMA  ((uint64_t)ARCH_EFER_LMA)
#define EFER_NXE  ((uint64_t)ARCH_EFER_NXE)
#define PTE_PAT_LARGE (1ull << 12)

#define ULL(x) ((unsigned long long)(x))

/* ---- random numbers ---- */

static uint64_t rng = 1;

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

static uint64_t pick(uint64_t n)
{
	return rnd() % n;
}

/* ---- guest RAM and its machine pages ---- */

/*
 * Guest-physical [0, 16 MiB) is RAM with contents, but for a hole at
 * [12, 13) MiB; [1, 2) GiB is RAM that reads as zeros (big enough for
 * 1 GiB pages).  The machine pages behind it come in runs chosen so that
 * every kind of large-page backing occurs: aligned, contiguous but
 * misaligned, and page by page scattered.
 */
#define RAM_A    (16 * MiB)
#define HOLE_LO  (12 * MiB)
#define HOLE_HI  (13 * MiB)
#define RAM_B    GiB
#define RAM_B_END (2 * GiB)
#define NOT_RAM_GPA (0x30000000ull)

struct chunk {
	uint64_t gpa, len, ma;
	bool scatter;
};

static const struct chunk chunks[] = {
	{ 0, 2 * MiB, 0x100000000ull, false },        /* 2 MiB aligned */
	{ 2 * MiB, 2 * MiB, 0x200001000ull, false },  /* contiguous, misaligned */
	{ 4 * MiB, 4 * MiB, 0x300000000ull, true },   /* page by page, scattered */
	{ 8 * MiB, 4 * MiB, 0x400200000ull, false },  /* aligned */
	{ 13 * MiB, 3 * MiB, 0x500100000ull, false }, /* [14, 16) MiB aligned */
	{ GiB, GiB, 0x4000000000ull, false },         /* 1 GiB aligned */
};
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static const struct chunk *chunk_of(uint64_t gpa)
{
	for (unsigned i = 0; i < NCHUNKS; i++)
		if (gpa >= chunks[i].gpa && gpa - chunks[i].gpa < chunks[i].len)
			return &chunks[i];
	return NULL;
}

static bool ram_translate(uint64_t gpa, uint64_t *ma, uint64_t *contiguous)
{
	const struct chunk *c = chunk_of(gpa);
	if (!c)
		return false;
	uint64_t off = (gpa & ~(PAGE - 1)) - c->gpa;
	if (c->scatter) {
		uint64_t pages = c->len / PAGE;
		*ma = c->ma + ((off / PAGE) * 7919 % pages) * PAGE;
		*contiguous = PAGE;
	} else {
		*ma = c->ma + off;
		*contiguous = c->len - off;
	}
	return true;
}

/* ---- the machine's spare pages: shadow tables come from here ---- */

#define POOL_PAGES 4096
#define POOL_LOW   256                /* pages below 4 GiB */
#define POOL_LOW_MA  0xc0000000ull
#define POOL_HIGH_MA 0x8000000000ull  /* pages 2 apart, so nothing can assume neighbours */

struct pool {
	uint8_t (*pages)[PAGE];
	bool used[POOL_PAGES];
	unsigned live, allocs, low_allocs;
	unsigned fail_in;                 /* fail the n-th allocation from now (0: never) */
};

static uint64_t pool_ma(unsigned i)
{
	return i < POOL_LOW ? POOL_LOW_MA + i * PAGE : POOL_HIGH_MA + (uint64_t)(i - POOL_LOW) * 2 * PAGE;
}

static int pool_index(uint64_t ma)
{
	if (ma >= POOL_LOW_MA && ma < POOL_LOW_MA + POOL_LOW * PAGE && !(ma & (PAGE - 1)))
		return (int)((ma - POOL_LOW_MA) / PAGE);
	if (ma >= POOL_HIGH_MA && !((ma - POOL_HIGH_MA) & (2 * PAGE - 1))) {
		uint64_t i = (ma - POOL_HIGH_MA) / (2 * PAGE) + POOL_LOW;
		if (i < POOL_PAGES)
			return (int)i;
	}
	return -1;
}

/* ---- the world: guest memory, its registers, the shadow MMU and a CPU ---- */

#define TLB_SIZE 512
#define MAX_TABLES 400
#define MAX_LOG 16

struct tlbe {
	bool valid;
	uint16_t pcid;
	uint64_t la, ma;   /* 4 KiB pages */
	bool user, write, exec;
};

struct gtable {
	uint64_t gpa;
	unsigned level;    /* PAE level 3: a PDPT */
	enum ptwalk_paging paging;
};

struct world {
	uint8_t *ram;                 /* [0, RAM_A) */
	struct pool pool;
	struct shadow sh;
	struct shadow_config cfg;
	enum ptwalk_paging paging;    /* the guest's tables are built for this mode */
	uint64_t cr0, cr4, efer, cr3; /* the guest's registers */
	struct ptwalk_mode gm;        /* ... as the reference walker takes them */
	struct shadow_root real;      /* what the CPU runs on */
	struct tlbe tlb[TLB_SIZE];
	struct { uint64_t gpa, old, val; } log[MAX_LOG];
	unsigned nlog;
	bool is_table[RAM_A / PAGE];
	struct gtable tables[MAX_TABLES];
	unsigned ntables;
	struct { uint64_t cr3; enum ptwalk_paging paging; } as[16]; /* the address spaces */
	unsigned nas;
	unsigned faults;              /* #PF exits the CPU took */
	uint64_t emulated_gpa;        /* the last PT_WRITE emulated (~0: none) */
};

static struct world *W;

static uint8_t *ram_at(struct world *w, uint64_t gpa, unsigned size)
{
	if (gpa + size > RAM_A || (gpa + size > HOLE_LO && gpa < HOLE_HI))
		return NULL;
	return w->ram + gpa;
}

static uint64_t get(struct world *w, uint64_t gpa, unsigned size)
{
	uint8_t *p = ram_at(w, gpa, size);
	uint64_t v = 0;
	if (p)
		memcpy(&v, p, size);
	return v;
}

static void put(struct world *w, uint64_t gpa, unsigned size, uint64_t v)
{
	uint8_t *p = ram_at(w, gpa, size);
	assert_non_null(p);
	memcpy(p, &v, size);
}

static err_t env_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct world *w = ctx;
	assert_true(size == 4 || size == 8);
	assert_int_equal(gpa % size, 0);
	if (gpa >= RAM_B && gpa < RAM_B_END) {
		*val = 0;
		return ERR_OK;
	}
	if (!ram_at(w, gpa, size))
		return ERR_INVAL;
	*val = get(w, gpa, size);
	return ERR_OK;
}

static err_t env_update(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val, uint64_t new_val,
			bool *swapped)
{
	struct world *w = ctx;
	if (!ram_at(w, gpa, size))
		return ERR_INVAL;
	*swapped = get(w, gpa, size) == old_val;
	if (*swapped) {
		put(w, gpa, size, new_val);
		assert_true(w->nlog < MAX_LOG);
		w->log[w->nlog].gpa = gpa;
		w->log[w->nlog].old = old_val;
		w->log[w->nlog].val = new_val;
		w->nlog++;
	}
	return ERR_OK;
}

static err_t env_translate(void *ctx, uint64_t gpa, uint64_t *ma, uint64_t *contiguous)
{
	(void)ctx;
	assert_int_equal(gpa % PAGE, 0);
	return ram_translate(gpa, ma, contiguous) ? ERR_OK : ERR_INVAL;
}

static err_t env_alloc(void *ctx, bool below_4g, uint64_t *ma)
{
	struct world *w = ctx;
	struct pool *p = &w->pool;
	if (p->fail_in && --p->fail_in == 0)
		return ERR_NOMEM;
	unsigned lo = below_4g ? 0 : POOL_LOW, n = below_4g ? POOL_LOW : POOL_PAGES - POOL_LOW;
	unsigned start = (unsigned)pick(n);
	for (unsigned k = 0; k < n; k++) {
		unsigned i = lo + (start + k) % n;
		if (!p->used[i]) {
			p->used[i] = true;
			memset(p->pages[i], 0, PAGE);
			p->live++;
			p->allocs++;
			p->low_allocs += below_4g;
			*ma = pool_ma(i);
			return ERR_OK;
		}
	}
	return ERR_NOMEM;
}

static void env_free(void *ctx, uint64_t ma)
{
	struct world *w = ctx;
	int i = pool_index(ma);
	assert_true(i >= 0 && w->pool.used[i]);
	w->pool.used[i] = false;
	memset(w->pool.pages[i], 0xa5, PAGE); /* a page used after its free shows */
	w->pool.live--;
}

static void *env_ptr(void *ctx, uint64_t ma)
{
	struct world *w = ctx;
	int i = pool_index(ma);
	assert_true(i >= 0 && w->pool.used[i]);
	return w->pool.pages[i];
}

static struct shadow_env env_of(struct world *w)
{
	return (struct shadow_env){ w, env_read, env_update, env_translate, env_alloc, env_free, env_ptr };
}

/* A world with random contents in RAM (a page read as a table is junk) and no shadows yet. */
static struct world *world_new(uint64_t seed)
{
	rng = seed ? seed : 1;
	struct world *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->ram = malloc(RAM_A);
	w->pool.pages = malloc((size_t)POOL_PAGES * PAGE);
	assert_non_null(w->ram);
	assert_non_null(w->pool.pages);
	for (uint64_t p = 0; p < RAM_A / PAGE; p++) {
		if (!chance(30))
			continue;
		for (uint64_t i = 0; i < PAGE / 8; i++) {
			uint64_t v = rnd();
			memcpy(w->ram + p * PAGE + i * 8, &v, 8);
		}
	}
	w->cfg = (struct shadow_config){ .max_pages = 1024, .large = true, .gbpages = true, .maxphyaddr = 40 };
	w->emulated_gpa = ~0ull;
	W = w;
	return w;
}

static void world_start(struct world *w)
{
	struct shadow_env env = env_of(w);
	assert_int_equal(shadow_init(&w->sh, &env, &w->cfg), ERR_OK);
}

/* Checks the audit and frees every page; all of the pool must come back. */
static void world_end(struct world *w)
{
	char msg[256];
	if (!shadow_audit(&w->sh, msg, sizeof(msg)))
		fail_msg("audit at the end: %s", msg);
	shadow_destroy(&w->sh);
	assert_int_equal(w->pool.live, 0);
	free(w->ram);
	free(w->pool.pages);
	free(w);
	W = NULL;
}

static void audit(struct world *w, const char *when)
{
	char msg[256];
	if (!shadow_audit(&w->sh, msg, sizeof(msg)))
		fail_msg("audit %s: %s", when, msg);
}

/* ---- the CPU's TLB: 4 KiB entries tagged by PCID; nothing is dropped but by a flush or eviction ---- */

static uint16_t cur_pcid(const struct world *w)
{
	return (w->real.cr4 & CR4_PCIDE) ? (uint16_t)(w->real.cr3 & 0xfff) : 0;
}

static struct tlbe *tlb_slot(struct world *w, uint64_t la, uint16_t pcid)
{
	return &w->tlb[(((la >> 12) ^ ((uint64_t)pcid << 40)) * 0x9e3779b97f4a7c15ull >> 40) % TLB_SIZE];
}

static void apply_flush(struct world *w, enum shadow_flush f, uint64_t la)
{
	switch (f) {
	case SHADOW_FLUSH_NONE:
		break;
	case SHADOW_FLUSH_LA:
		for (unsigned i = 0; i < TLB_SIZE; i++)
			if (w->tlb[i].la == (la & ~(PAGE - 1)))
				w->tlb[i].valid = false;
		break;
	case SHADOW_FLUSH_NONGLOBAL: /* the model keeps no global entries */
	case SHADOW_FLUSH_ALL:
		memset(w->tlb, 0, sizeof(w->tlb));
		break;
	}
}

/* ---- accesses ---- */

struct acc {
	enum ptwalk_kind kind;
	bool cpl3, implicit, ac;
};

static bool supervisor(const struct acc *a)
{
	return !a->cpl3 || (a->implicit && a->kind != PTWALK_FETCH);
}

/* SDM 4.6.1 with the real control bits: CR0.WP = 1 always (checked), SMEP and SMAP as set_mode said. */
static bool hw_allowed(const struct world *w, const struct acc *a, bool user, bool write, bool exec)
{
	bool sup = supervisor(a);
	bool smep = (w->real.cr4 & CR4_SMEP) != 0, smap = (w->real.cr4 & CR4_SMAP) != 0;
	bool smap_blocks = sup && user && smap && (a->implicit || !a->ac);
	assert_true(w->real.cr0 & CR0_WP);
	switch (a->kind) {
	case PTWALK_FETCH:
		if (!exec)
			return false;
		return sup ? !(user && smep) : user;
	case PTWALK_WRITE:
		return sup ? !smap_blocks && write : user && write;
	case PTWALK_READ:
		break;
	}
	return sup ? !smap_blocks : user;
}

/* The error code the CPU reports: EFER.NXE is on, so fetches always say I/D. */
static uint32_t hw_error(const struct acc *a, bool present)
{
	return (present ? PF_ERR_P : 0) | (a->kind == PTWALK_WRITE ? PF_ERR_W : 0) |
	       (supervisor(a) ? 0 : PF_ERR_U) | (a->kind == PTWALK_FETCH ? PF_ERR_ID : 0);
}

static uint64_t *hw_table(struct world *w, uint64_t ma)
{
	int i = pool_index(ma);
	if (i < 0 || !w->pool.used[i])
		fail_msg("the CPU walks machine page %#llx, which holds no shadow table", ULL(ma));
	return (uint64_t *)w->pool.pages[i];
}

/*
 * Walks the shadow tables as the CPU does, in 4-level or PAE paging: the
 * machine address and rights of la, or false and the #PF error code.  A shadow
 * entry with a reserved bit, without A (or D in a leaf), or pointing outside
 * the pool fails the test: the CPU would write or refuse it.
 */
static bool hw_walk(struct world *w, uint64_t la, const struct acc *a, struct tlbe *out, uint32_t *ec)
{
	bool user = true, write = true, exec = true;
	uint64_t table, e = 0, size = 0;
	unsigned level;
	if (w->real.long_mode) {
		assert_true(w->real.efer & EFER_LMA);
		table = w->real.cr3 & PTE_ADDR_MASK;
		level = 4;
	} else {
		assert_true(w->real.cr3 < 4 * GiB && (w->real.cr4 & CR4_PAE));
		la &= 0xffffffffull;
		e = hw_table(w, w->real.cr3 & ~0xfffull)[(la >> 30) & 3];
		if (!(e & PTE_P))
			return *ec = hw_error(a, false), false;
		if (e & (0x6ull | 0x1e0ull | 0xfff0000000000000ull))
			fail_msg("PDPTE %#llx for la %#llx has reserved bits", ULL(e), ULL(la));
		table = e & PTE_ADDR_MASK;
		level = 2;
	}
	for (;; level--) {
		e = hw_table(w, table)[(la >> (12 + 9 * (level - 1))) & 511];
		if (!(e & PTE_P))
			return *ec = hw_error(a, false), false;
		bool leaf = level == 1 || (e & PTE_PS);
		uint64_t rsvd = w->real.long_mode ? 0x000f000000000000ull : 0x7ff0000000000000ull;
		if (level == 4 || (level == 3 && !w->real.long_mode))
			rsvd |= PTE_PS;
		if (leaf && level == 3)
			rsvd |= 0x3fffe000ull;
		if (leaf && level == 2)
			rsvd |= 0x1fe000ull;
		if (e & rsvd)
			fail_msg("shadow entry %#llx (level %u, la %#llx) has reserved bits", ULL(e), level, ULL(la));
		if (!(e & PTE_A) || (leaf && !(e & PTE_D)))
			fail_msg("shadow entry %#llx (level %u, la %#llx) lacks A or D", ULL(e), level, ULL(la));
		user = user && (e & PTE_U);
		write = write && (e & PTE_W);
		exec = exec && !(e & PTE_NX);
		if (leaf) {
			size = 1ull << (12 + 9 * (level - 1));
			break;
		}
		table = e & PTE_ADDR_MASK;
	}
	if (!hw_allowed(w, a, user, write, exec))
		return *ec = hw_error(a, true), false;
	uint64_t frame = e & PTE_ADDR_MASK & ~(size - 1);
	*out = (struct tlbe){ true, cur_pcid(w), la & ~(PAGE - 1), frame + (la & (size - 1) & ~(PAGE - 1)),
			      user, write, exec };
	return true;
}

/* Prints the shadow path of la, for a failure's context. */
static void dump_path(struct world *w, uint64_t la)
{
	uint64_t table = w->real.cr3 & PTE_ADDR_MASK;
	unsigned level = 4;
	fprintf(stderr, "shadow path of la %#llx (cr3 %#llx, %s):\n", ULL(la), ULL(w->real.cr3),
		w->real.long_mode ? "4-level" : "PAE");
	if (!w->real.long_mode) {
		uint64_t e = hw_table(w, table & ~0xfffull)[(la >> 30) & 3];
		fprintf(stderr, "  PDPTE %#llx\n", ULL(e));
		if (!(e & PTE_P))
			return;
		table = e & PTE_ADDR_MASK;
		level = 2;
	}
	for (;; level--) {
		int i = pool_index(table);
		if (i < 0 || !w->pool.used[i]) {
			fprintf(stderr, "  table %#llx not in the pool\n", ULL(table));
			return;
		}
		uint64_t e = ((uint64_t *)w->pool.pages[i])[(la >> (12 + 9 * (level - 1))) & 511];
		fprintf(stderr, "  level %u table %#llx entry %#llx\n", level, ULL(table), ULL(e));
		if (!(e & PTE_P) || level == 1 || (e & PTE_PS))
			return;
		table = e & PTE_ADDR_MASK;
	}
}

enum outcome_kind { OUT_OK, OUT_FAULT, OUT_NOT_RAM };

struct outcome {
	enum outcome_kind kind;
	uint64_t ma;           /* OK */
	uint32_t error_code;   /* FAULT */
	uint64_t gpa;          /* NOT_RAM */
	bool table;
	bool emulated;         /* OK by emulating a PT_WRITE */
};

static unsigned entry_size(const struct world *w)
{
	return w->paging == PTWALK_32BIT ? 4 : 8;
}

static struct ptwalk_ops ram_ops(struct world *w)
{
	return (struct ptwalk_ops){ w, env_read, env_update };
}

static void report_written(struct world *w, uint64_t gpa, uint64_t len)
{
	enum shadow_flush f = shadow_pt_written(&w->sh, gpa, len);
	apply_flush(w, f, 0);
}

/* A random edit of the entry at gpa, as a guest making, changing or tearing down a mapping would. */
static uint64_t mutate(struct world *w, uint64_t old);

/*
 * The caller's side of PT_WRITE: emulate the instruction (walk the guest's
 * tables, setting A/D as the CPU does, then write), then report the write.
 */
static void emulate_write(struct world *w, uint64_t la, const struct acc *a, uint64_t gpa,
			  struct outcome *out)
{
	struct ptwalk_ops ops = ram_ops(w);
	struct ptwalk_access pa = { a->kind, a->cpl3, a->implicit, a->ac, false };
	struct ptwalk_result r;
	assert_int_equal(a->kind, PTWALK_WRITE);
	enum ptwalk_status st = ptwalk(&w->gm, &ops, la, &pa, &r);
	if (st == PTWALK_FAULT && a->implicit) {
		/* The emulator knows what the exit did not: an implicit access, which SMAP refuses. */
		*out = (struct outcome){ .kind = OUT_FAULT, .error_code = r.error_code };
		return;
	}
	if (st != PTWALK_OK || r.gpa != gpa)
		fail_msg("PT_WRITE at la %#llx gpa %#llx: the emulator's walk gives %d gpa %#llx", ULL(la), ULL(gpa),
			 r.status, ULL(r.gpa));
	unsigned size = entry_size(w);
	uint64_t at = gpa & ~(uint64_t)(size - 1);
	if (ram_at(w, at, size)) {
		uint64_t v = get(w, at, size);
		if (w->is_table[at / PAGE] && chance(40))
			v = mutate(w, v);
		put(w, at, size, v);
		w->emulated_gpa = at;
	}
	report_written(w, at, size);
	uint64_t ma, contiguous;
	assert_true(ram_translate(gpa & ~(PAGE - 1), &ma, &contiguous));
	*out = (struct outcome){ .kind = OUT_OK, .ma = ma, .emulated = true };
}

/* One access by the CPU: TLB, walk of the shadows, #PF exits to the shadow MMU until it completes or faults. */
static struct outcome cpu_access(struct world *w, uint64_t la, const struct acc *a)
{
	struct outcome out = { 0 };
	for (unsigned tries = 0; tries < 8; tries++) {
		uint16_t pcid = cur_pcid(w);
		struct tlbe *t = tlb_slot(w, la & ~(PAGE - 1), pcid);
		uint32_t ec;
		if (t->valid && t->pcid == pcid && t->la == (la & ~(PAGE - 1))) {
			if (hw_allowed(w, a, t->user, t->write, t->exec)) {
				out.kind = OUT_OK;
				out.ma = t->ma;
				return out;
			}
			ec = hw_error(a, true);
		} else {
			struct tlbe fresh;
			if (hw_walk(w, la, a, &fresh, &ec)) {
				*t = fresh;
				out.kind = OUT_OK;
				out.ma = fresh.ma;
				return out;
			}
		}
		struct shadow_fault f;
		w->faults++;
		shadow_page_fault(&w->sh, la, ec, a->cpl3 ? 3 : 0, a->ac, &f);
		apply_flush(w, f.flush, la);
		switch (f.status) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_GUEST_FAULT:
			out.kind = OUT_FAULT;
			out.error_code = f.error_code;
			return out;
		case SHADOW_PT_WRITE:
			emulate_write(w, la, a, f.gpa, &out);
			return out;
		case SHADOW_NOT_RAM:
			if (a->implicit && !a->cpl3 && !f.table) {
				/* As for PT_WRITE: what handles the access walks again, knowing it is implicit. */
				struct ptwalk_ops ops = ram_ops(w);
				struct ptwalk_access pa = { a->kind, false, true, a->ac, true };
				struct ptwalk_result r;
				if (ptwalk(&w->gm, &ops, la, &pa, &r) == PTWALK_FAULT) {
					out.kind = OUT_FAULT;
					out.error_code = r.error_code;
					return out;
				}
			}
			out.kind = OUT_NOT_RAM;
			out.gpa = f.gpa;
			out.table = f.table;
			return out;
		case SHADOW_ERROR:
			fail_msg("la %#llx: shadow error %d", ULL(la), f.err);
		}
	}
	fail_msg("la %#llx: the CPU keeps faulting (kind %d cpl3 %d)", ULL(la), a->kind, a->cpl3);
	return out;
}

/*
 * One access, checked: the CPU's result on the shadows equals the guest
 * walker's on the guest's tables (machine address through the RAM map, or
 * the exact error code), and the guest's entries got exactly the A/D flags
 * the walker sets.  Returns the outcome.
 */
static struct outcome check_access(struct world *w, uint64_t la, const struct acc *a)
{
	struct ptwalk_result ref = { 0 };
	uint64_t gpa;
	struct ptwalk_access pa = { a->kind, a->cpl3, a->implicit, a->ac, true };
	enum ptwalk_status want = PTWALK_OK;
	if (w->gm.pg) {
		struct ptwalk_ops ops = ram_ops(w);
		want = ptwalk(&w->gm, &ops, la, &pa, &ref);
		gpa = ref.gpa;
	} else {
		gpa = la & 0xffffffffull;
	}
	w->nlog = 0;
	w->emulated_gpa = ~0ull;
	struct outcome got = cpu_access(w, la, a);
	if (getenv("SHADOW_TRACE"))
		fprintf(stderr, "la %#llx kind %d: ref %d gpa %#llx ec %#x level %u entry %#llx; got %d\n", ULL(la), a->kind, want,
			ULL(gpa), ref.error_code, ref.last_level, ULL(ref.entry[ref.last_level].val), got.kind);
	const char *what = a->kind == PTWALK_WRITE ? "write" : a->kind == PTWALK_FETCH ? "fetch" : "read";
	switch (want) {
	case PTWALK_OK: {
		uint64_t ma, contiguous;
		if (!ram_translate(gpa & ~(PAGE - 1), &ma, &contiguous)) {
			if (got.kind != OUT_NOT_RAM || got.gpa != gpa || got.table)
				fail_msg("%s la %#llx: gpa %#llx is not RAM, got kind %d gpa %#llx", what, ULL(la),
					 ULL(gpa), got.kind, ULL(got.gpa));
		} else if (got.kind != OUT_OK || got.ma != ma) {
			dump_path(w, la);
			fail_msg("%s la %#llx (cpl3 %d ac %d implicit %d): guest gpa %#llx = machine %#llx, the CPU got kind %d ma %#llx error %#x",
				 what, ULL(la), a->cpl3, a->ac, a->implicit, ULL(gpa), ULL(ma), got.kind,
				 ULL(got.ma), got.error_code);
		}
		if (!w->gm.pg)
			break;
		for (unsigned level = ref.top_level; level >= ref.last_level; level--) {
			if (w->gm.pae && !w->gm.lma && level == 3)
				continue;
			uint64_t at = ref.entry[level].gpa;
			if (at == w->emulated_gpa)
				continue;
			uint64_t expect = ref.entry[level].val | PTE_A;
			/* A table that maps itself has one entry at several levels. */
			for (unsigned l = ref.top_level; l >= ref.last_level; l--)
				if (ref.entry[l].gpa == at && l == ref.last_level && a->kind == PTWALK_WRITE)
					expect |= PTE_D;
			uint64_t now = get(w, at, ref.entry_size);
			if (now != expect)
				fail_msg("%s la %#llx: guest entry at %#llx (level %u) is %#llx, the CPU would leave %#llx",
					 what, ULL(la), ULL(at), level, ULL(now), ULL(expect));
		}
		for (unsigned i = 0; i < w->nlog; i++) {
			bool on_path = false;
			for (unsigned level = ref.top_level; level >= ref.last_level; level--)
				on_path = on_path || ref.entry[level].gpa == w->log[i].gpa;
			if (!on_path)
				fail_msg("%s la %#llx: guest entry at %#llx changed, not on the walk", what, ULL(la),
					 ULL(w->log[i].gpa));
		}
		break;
	}
	case PTWALK_FAULT:
		if (got.kind != OUT_FAULT || got.error_code != ref.error_code)
			{
			dump_path(w, la);
			fail_msg("%s la %#llx (cpl3 %d ac %d implicit %d): the guest faults with %#x, the CPU got kind %d error %#x ma %#llx",
				 what, ULL(la), a->cpl3, a->ac, a->implicit, ref.error_code, got.kind,
				 got.error_code, ULL(got.ma));
		}
		/* An implicit supervisor access at CPL 0 is told apart only by faulting twice (see shadow_page_fault). */
		if (w->nlog && !(a->implicit && !a->cpl3))
			fail_msg("%s la %#llx faults, yet guest entry %#llx changed", what, ULL(la), ULL(w->log[0].gpa));
		break;
	case PTWALK_NOT_RAM:
		if (got.kind != OUT_NOT_RAM || got.gpa != ref.gpa || !got.table)
			fail_msg("%s la %#llx: the guest's entry at %#llx is not RAM, got kind %d gpa %#llx", what,
				 ULL(la), ULL(ref.gpa), got.kind, ULL(got.gpa));
		assert_int_equal(w->nlog, 0);
		break;
	case PTWALK_RETRY:
		fail();
	}
	return got;
}

/*
 * The promise behind every flush the shadow MMU asks for: whatever the TLB
 * still holds (for the current PCID) is what the guest's tables say now,
 * with no more rights, their A (and for a writable entry D) flags set.
 */
static void check_tlb(struct world *w, const char *when)
{
	uint16_t pcid = cur_pcid(w);
	for (unsigned i = 0; i < TLB_SIZE; i++) {
		const struct tlbe *t = &w->tlb[i];
		if (!t->valid || t->pcid != pcid)
			continue;
		uint64_t gpa = t->la & 0xffffffffull, ma, contiguous;
		bool user = true, write = true, exec = true;
		if (w->gm.pg) {
			struct ptwalk_ops ops = ram_ops(w);
			struct ptwalk_access pa = { PTWALK_READ, false, false, true, true };
			struct ptwalk_result r;
			if (ptwalk(&w->gm, &ops, t->la, &pa, &r) != PTWALK_OK)
				fail_msg("%s: the TLB holds la %#llx, which the guest no longer maps", when, ULL(t->la));
			for (unsigned l = r.top_level; l >= r.last_level; l--)
				if (!(w->gm.pae && !w->gm.lma && l == 3) && !(r.entry[l].val & PTE_A))
					fail_msg("%s: the TLB holds la %#llx, guest entry at %#llx not accessed", when,
						 ULL(t->la), ULL(r.entry[l].gpa));
			if (t->write && !(r.entry[r.last_level].val & PTE_D))
				fail_msg("%s: the TLB holds la %#llx writable, the guest page is clean", when, ULL(t->la));
			gpa = r.gpa;
			user = r.user;
			write = r.writable || (!w->gm.wp && !t->user);
			exec = r.executable;
		}
		if (!ram_translate(gpa & ~(PAGE - 1), &ma, &contiguous) || ma != t->ma)
			fail_msg("%s: the TLB holds la %#llx -> %#llx, the guest's page is at machine %#llx", when,
				 ULL(t->la), ULL(t->ma), ULL(ma));
		if ((t->user && !user) || (t->write && !write) || (t->exec && !exec))
			fail_msg("%s: the TLB holds la %#llx with rights %d%d%d, the guest gives %d%d%d", when,
				 ULL(t->la), t->user, t->write, t->exec, user, write, exec);
	}
}

/* ---- the guest's registers ---- */

static void guest_mode(struct world *w)
{
	w->gm = (struct ptwalk_mode){
		.pg = (w->cr0 & CR0_PG) != 0, .wp = (w->cr0 & CR0_WP) != 0,
		.pse = (w->cr4 & CR4_PSE) != 0, .pae = (w->cr4 & CR4_PAE) != 0,
		.pge = (w->cr4 & CR4_PGE) != 0, .smep = (w->cr4 & CR4_SMEP) != 0,
		.smap = (w->cr4 & CR4_SMAP) != 0, .nxe = (w->efer & EFER_NXE) != 0,
		.lma = (w->efer & EFER_LMA) != 0, .cr3 = w->cr3 & ~(1ull << 63),
		.maxphyaddr = w->cfg.maxphyaddr, .gbpages = w->cfg.gbpages,
	};
}

/* Loads the guest's registers into the shadow MMU (cr3_load: a MOV to CR3); false if the PDPTEs would #GP. */
static bool load(struct world *w, bool cr3_load)
{
	struct shadow_regs regs = { w->cr0, w->cr3, w->cr4, w->efer, { 0 }, cr3_load };
	uint64_t pdpte[4] = { 0 };
	guest_mode(w);
	if (w->gm.pg && w->gm.pae && !w->gm.lma) {
		for (unsigned j = 0; j < 4; j++) {
			pdpte[j] = get(w, (w->cr3 & 0xffffffe0ull) + 8 * j, 8);
			if (!ptwalk_pdpte_valid(pdpte[j], w->cfg.maxphyaddr))
				return false;
			regs.pdpte[j] = pdpte[j];
			w->gm.pdpte[j] = pdpte[j];
		}
	}
	err_t err = shadow_set_mode(&w->sh, &regs, &w->real);
	assert_int_equal(err, ERR_OK);
	apply_flush(w, w->real.flush, 0);
	return true;
}

/* Sets the guest up for its paging mode with the given extra bits (CR0.WP, CR4.SMEP/SMAP/PSE/PGE, EFER.NXE). */
static void set_regs(struct world *w, enum ptwalk_paging paging, bool wp, bool smep, bool smap, bool nxe,
		     bool pse, bool pge)
{
	w->paging = paging;
	w->cr0 = CR0_PE | (wp ? CR0_WP : 0) | (paging != PTWALK_OFF ? CR0_PG : 0);
	w->cr4 = (smep ? CR4_SMEP : 0) | (smap ? CR4_SMAP : 0) | (pse ? CR4_PSE : 0) | (pge ? CR4_PGE : 0);
	if (paging == PTWALK_PAE || paging == PTWALK_4LEVEL)
		w->cr4 |= CR4_PAE;
	w->efer = (nxe ? EFER_NXE : 0) | (paging == PTWALK_4LEVEL ? EFER_LME | EFER_LMA : 0);
}

/* ---- random guest page tables ---- */

static unsigned top_level(enum ptwalk_paging p)
{
	return p == PTWALK_32BIT ? 2 : p == PTWALK_PAE ? 3 : p == PTWALK_4LEVEL ? 4 : 0;
}

static unsigned table_entries(enum ptwalk_paging p)
{
	return p == PTWALK_32BIT ? 1024 : 512;
}

static unsigned esize_of(enum ptwalk_paging p)
{
	return p == PTWALK_32BIT ? 4 : 8;
}

static unsigned table_budget;    /* tables the generator may still make */

/* A fresh zeroed page of RAM for a table at level (in the current paging mode). */
static uint64_t new_table(struct world *w, unsigned level)
{
	for (;;) {
		uint64_t gpa = pick(RAM_A / PAGE) * PAGE;
		if (!ram_at(w, gpa, PAGE) || w->is_table[gpa / PAGE] || gpa < PAGE)
			continue;
		memset(w->ram + gpa, 0, PAGE);
		w->is_table[gpa / PAGE] = true;
		if (w->ntables < MAX_TABLES)
			w->tables[w->ntables++] = (struct gtable){ gpa, level, w->paging };
		if (table_budget)
			table_budget--;
		if (w->sh.meta_pages)
			report_written(w, gpa, PAGE); /* the guest zeroed it */
		return gpa;
	}
}

static uint64_t existing_table(struct world *w, unsigned level)
{
	for (unsigned tries = 0; tries < 20 && w->ntables; tries++) {
		const struct gtable *t = &w->tables[pick(w->ntables)];
		if (t->level == level && t->paging == w->paging)
			return t->gpa;
	}
	return 0;
}

/* A 4 KiB frame for a leaf: mostly RAM with contents, some zero RAM, page tables, and no RAM at all. */
static uint64_t random_frame(struct world *w)
{
	unsigned r = (unsigned)pick(100);
	if (r < 10 && w->ntables)
		return w->tables[pick(w->ntables)].gpa;
	if (r < 14)
		return NOT_RAM_GPA + pick(256) * PAGE;
	if (r < 26)
		return RAM_B + pick(GiB / PAGE) * PAGE;
	return pick(RAM_A / PAGE) * PAGE;
}

static uint64_t large_frame(uint64_t size)
{
	unsigned r = (unsigned)pick(100);
	if (r < 45 && size < GiB)
		return pick(RAM_A / size) * size;
	if (r < 90)
		return RAM_B + pick(GiB / size) * size;
	return size < GiB ? NOT_RAM_GPA + pick(8) * size : 3 * GiB;
}

/* One reserved bit for an entry at level of the current mode (SDM tables 4-4 to 4-20, MAXPHYADDR 40). */
static uint64_t reserved_bit(struct world *w, unsigned level, bool large)
{
	if (w->paging == PTWALK_32BIT)
		return large ? 1ull << 21 : 0;
	if (large && chance(50))
		return 1ull << (13 + pick(level == 2 ? 8 : 17));
	if (level == 4 && chance(30))
		return PTE_PS;
	return 1ull << (40 + pick(12));
}

static uint64_t gen_table(struct world *w, unsigned level, unsigned depth);

static uint64_t random_entry(struct world *w, unsigned level, unsigned depth)
{
	bool is32 = w->paging == PTWALK_32BIT;
	uint64_t mask32 = is32 ? 0xffffffffull : ~0ull;
	if (chance(8))
		return rnd() & ~PTE_P & mask32;
	if (w->paging == PTWALK_PAE && level == 3) {
		uint64_t pd = chance(30) ? existing_table(w, 2) : 0;
		if (!pd)
			pd = table_budget ? gen_table(w, 2, depth + 1) : random_frame(w);
		return pd | PTE_P | (chance(10) ? PTE_PWT | PTE_PCD : 0);
	}
	uint64_t e = PTE_P;
	e |= chance(75) ? PTE_W : 0;
	e |= chance(65) ? PTE_U : 0;
	e |= chance(65) ? PTE_A : 0;
	e |= chance(30) ? (rnd() & 0xe00) : 0; /* ignored bits 11:9 */
	if (!is32 && chance(8))
		e |= PTE_NX;
	bool can_large = level == 2 || (level == 3 && w->paging == PTWALK_4LEVEL);
	bool large = can_large && chance(20);
	if (level > 1 && !large && (!table_budget || depth > 4)) {
		uint64_t t = existing_table(w, level - 1);
		if (t)
			return t | e;
		large = can_large;
	}
	if (level == 1 || large) {
		if (level > 1 && !large)
			return random_frame(w) | e; /* no table to be had: a junk one */
		uint64_t size = level == 1 ? PAGE : is32 ? 4 * MiB : level == 2 ? 2 * MiB : GiB;
		uint64_t frame = level == 1 ? random_frame(w) : large_frame(size);
		e |= chance(55) ? PTE_D : 0;
		e |= chance(20) ? PTE_G : 0;
		e |= chance(8) ? PTE_PWT : 0;
		e |= chance(8) ? PTE_PCD : 0;
		if (chance(8))
			e |= level == 1 ? PTE_PS : PTE_PAT_LARGE; /* a PTE's bit 7 is PAT */
		if (level > 1)
			e |= PTE_PS;
		if (is32 && level == 2 && chance(4))
			e |= (1 + pick(3)) << 13; /* PSE-36: above 4 GiB, no RAM */
		e |= frame;
		if (chance(3))
			e |= reserved_bit(w, level, level > 1);
		return e & mask32;
	}
	uint64_t child = 0;
	unsigned r = (unsigned)pick(100);
	if (r < 25)
		child = existing_table(w, level - 1);
	else if (r < 29)
		child = pick(RAM_A / PAGE) * PAGE; /* junk as a table */
	else if (r < 31)
		child = NOT_RAM_GPA + pick(16) * PAGE;
	if (!child)
		child = gen_table(w, level - 1, depth + 1);
	e |= child;
	e |= chance(10) ? PTE_D : 0; /* ignored in a table entry */
	if (chance(3))
		e |= reserved_bit(w, level, false);
	return e & mask32;
}

/* Indices most tables use, so that random addresses hit entries in several tables. */
static unsigned hot_index(enum ptwalk_paging p)
{
	static const unsigned hot[] = { 0, 1, 2, 3, 7, 100, 255, 256, 300, 511 };
	if (chance(60))
		return hot[pick(sizeof(hot) / sizeof(hot[0]))] % table_entries(p);
	return (unsigned)pick(table_entries(p));
}

static uint64_t gen_table(struct world *w, unsigned level, unsigned depth)
{
	uint64_t t = new_table(w, level);
	unsigned n = 3 + (unsigned)pick(level == top_level(w->paging) ? 12 : 10);
	unsigned es = esize_of(w->paging);
	for (unsigned k = 0; k < n; k++) {
		unsigned idx = hot_index(w->paging);
		put(w, t + (uint64_t)idx * es, es, random_entry(w, level, depth));
		/* A PD often holds one PT twice (neighbouring slots): aliases of one shadow PT. */
		if (level == 2 && chance(40))
			put(w, t + (uint64_t)(idx ^ 1) * es, es, get(w, t + (uint64_t)idx * es, es));
	}
	return t;
}

/* n address spaces of the given mode; later ones share part of the first one's top table (a kernel half). */
static void gen_spaces(struct world *w, enum ptwalk_paging paging, unsigned n, unsigned budget)
{
	enum ptwalk_paging saved = w->paging;
	w->paging = paging;
	table_budget = budget;
	uint64_t first = 0;
	for (unsigned k = 0; k < n && w->nas < 16; k++) {
		uint64_t cr3;
		if (paging == PTWALK_PAE) {
			uint64_t page = new_table(w, 3);
			unsigned slot = (unsigned)pick(4);
			cr3 = page + 32 * slot;
			w->tables[w->ntables - 1].gpa = page;
			for (unsigned j = 0; j < 4; j++)
				put(w, cr3 + 8 * j, 8, chance(85) ? random_entry(w, 3, 0) : 0);
		} else {
			cr3 = gen_table(w, top_level(paging), 0);
			if (first) {
				unsigned ents = table_entries(paging), es = esize_of(paging);
				for (unsigned i = 0; i < ents; i++)
					if (chance(30))
						put(w, cr3 + i * es, es, get(w, first + i * es, es));
			} else {
				first = cr3;
			}
		}
		w->as[w->nas].cr3 = cr3;
		w->as[w->nas].paging = paging;
		w->nas++;
	}
	w->paging = saved;
}

/* Mostly (percent) the index of a present entry of the table at gpa, else any index. */
static unsigned present_index(struct world *w, uint64_t table, unsigned es, unsigned n, unsigned percent)
{
	unsigned found[1024], nfound = 0;
	if (chance(percent))
		for (unsigned i = 0; i < n; i++)
			if (get(w, table + (uint64_t)i * es, es) & PTE_P)
				found[nfound++] = i;
	return nfound ? found[pick(nfound)] : (unsigned)pick(n);
}

/* A linear address: mostly one that follows present entries of the tables at cr3, else anywhere. */
static uint64_t random_la(struct world *w)
{
	enum ptwalk_paging p = w->paging;
	uint64_t la = 0;
	if (p == PTWALK_OFF) {
		unsigned r = (unsigned)pick(100);
		if (r < 60)
			return pick(RAM_A);
		if (r < 80)
			return RAM_B + pick(GiB);
		return rnd() & 0xffffffffull;
	}
	unsigned bits = p == PTWALK_4LEVEL ? 48 : 32;
	if (chance(10))
		la = rnd() & ((1ull << bits) - 1);
	else {
		unsigned es = esize_of(p), width = p == PTWALK_32BIT ? 10 : 9;
		uint64_t table = w->gm.cr3 & ~0xfffull;
		unsigned level = top_level(p);
		if (p == PTWALK_PAE) {
			unsigned j = (unsigned)pick(4);
			la = (uint64_t)j << 30;
			if (!(w->gm.pdpte[j] & PTE_P)) {
				la |= pick(GiB);
				goto done;
			}
			table = w->gm.pdpte[j] & 0xffffffffff000ull;
			level = 2;
		}
		for (;; level--) {
			unsigned shift = p == PTWALK_32BIT ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
			unsigned idx = present_index(w, table, es, 1u << width, 92);
			la |= (uint64_t)idx << shift;
			uint64_t e = get(w, table + (uint64_t)idx * es, es);
			if (level == 1 || !(e & PTE_P) || (e & PTE_PS) || !ram_at(w, e & 0xffffff000ull, PAGE)) {
				la |= pick(1ull << shift);
				break;
			}
			table = e & (p == PTWALK_32BIT ? 0xfffff000ull : 0xffffffffff000ull);
		}
	}
done:
	if (p == PTWALK_4LEVEL && (la & (1ull << 47)))
		la |= 0xffff000000000000ull;
	return la;
}

static uint64_t mutate(struct world *w, uint64_t old)
{
	bool is32 = w->paging == PTWALK_32BIT;
	uint64_t v = old;
	unsigned r = (unsigned)pick(100);
	if (r < 15)
		v &= ~PTE_P;
	else if (r < 25)
		v ^= PTE_W;
	else if (r < 35)
		v ^= PTE_U;
	else if (r < 42 && !is32)
		v ^= PTE_NX;
	else if (r < 52)
		v &= ~PTE_A;
	else if (r < 60)
		v &= ~PTE_D;
	else if (r < 65)
		v ^= PTE_G;
	else if (r < 70)
		v = 0;
	else if (r < 74)
		v |= reserved_bit(w, 2, (v & PTE_PS) != 0);
	else if (r < 90)
		v = (v & ~(is32 ? 0xfffff000ull : 0xffffffffff000ull)) |
		    (chance(50) && w->ntables ? w->tables[pick(w->ntables)].gpa : random_frame(w));
	else if (r < 94)
		v ^= PTE_PS;
	else
		v = random_entry(w, 1, 9);
	return is32 ? v & 0xffffffffull : v;
}

/* The guest rewrites an entry of one of its tables (emulated, then reported), in one of the ways code does. */
static void random_edit(struct world *w)
{
	if (!w->ntables)
		return;
	const struct gtable *t = &w->tables[pick(w->ntables)];
	enum ptwalk_paging saved = w->paging;
	w->paging = t->paging;
	unsigned es = esize_of(t->paging), n = t->paging == PTWALK_PAE && t->level == 3 ? 4 : table_entries(t->paging);
	unsigned idx = present_index(w, t->gpa, es, n, 75);
	uint64_t at = t->gpa + (uint64_t)idx * es;
	uint64_t v = chance(20) ? random_entry(w, t->level, 3) : mutate(w, get(w, at, es));
	if (table_budget == 0)
		table_budget = 1;
	unsigned r = (unsigned)pick(100);
	if (es == 8 && r < 15) {
		/* two 4-byte halves, each emulated and reported on its own */
		put(w, at, 4, v & 0xffffffffull);
		report_written(w, at, 4);
		put(w, at + 4, 4, v >> 32);
		report_written(w, at + 4, 4);
	} else if (es == 8 && r < 20 && idx + 1 < n) {
		/* a misaligned 8-byte write: the high half of one entry, the low half of the next */
		uint64_t v2 = mutate(w, get(w, at + 8, 8));
		put(w, at + 4, 8, (v >> 32) | (v2 << 32));
		report_written(w, at + 4, 8);
	} else {
		put(w, at, es, v);
		report_written(w, at, es);
	}
	w->paging = saved;
}

static struct acc random_acc(void)
{
	unsigned r = (unsigned)pick(100);
	struct acc a = { r < 45 ? PTWALK_READ : r < 80 ? PTWALK_WRITE : PTWALK_FETCH, chance(50), false, chance(50) };
	a.implicit = a.kind != PTWALK_FETCH && chance(4);
	return a;
}

/* ---- coverage of a random run ---- */

struct coverage {
	unsigned ok, emulated, fault_np, fault_prot, fault_rsvd, not_ram, not_ram_table;
};

static void count(struct coverage *c, const struct outcome *o)
{
	switch (o->kind) {
	case OUT_OK:
		c->ok++;
		c->emulated += o->emulated;
		break;
	case OUT_FAULT:
		if (o->error_code & PF_ERR_RSVD)
			c->fault_rsvd++;
		else if (o->error_code & PF_ERR_P)
			c->fault_prot++;
		else
			c->fault_np++;
		break;
	case OUT_NOT_RAM:
		if (o->table)
			c->not_ram_table++;
		else
			c->not_ram++;
		break;
	}
}

/* Switches to a random address space of the current mode (a MOV to CR3, with a PCID and sometimes no-flush). */
static void switch_space(struct world *w)
{
	for (unsigned tries = 0; tries < 10 && w->nas; tries++) {
		unsigned k = (unsigned)pick(w->nas);
		if (w->as[k].paging != w->paging)
			continue;
		uint64_t old = w->cr3;
		struct ptwalk_mode gm = w->gm;
		w->cr3 = w->as[k].cr3;
		if (w->cr4 & CR4_PCIDE)
			w->cr3 |= (k + 1) | (chance(50) ? 1ull << 63 : 0);
		if (load(w, true))
			return;
		w->cr3 = old; /* the PDPTEs would #GP: the guest's load fails */
		w->gm = gm;
	}
}

/* Flips one of the paging bits that keep the mode (CR0.WP, CR4.SMEP/SMAP/PGE/PSE, EFER.NXE). */
static void toggle_bit(struct world *w)
{
	uint64_t cr0 = w->cr0, cr4 = w->cr4, efer = w->efer;
	switch (pick(6)) {
	case 0: w->cr0 ^= CR0_WP; break;
	case 1: w->cr4 ^= CR4_SMEP; break;
	case 2: w->cr4 ^= CR4_SMAP; break;
	case 3: if (!(w->cr4 & CR4_PCIDE)) w->cr4 ^= CR4_PGE; break;
	case 4: w->cr4 ^= CR4_PSE; break;
	default: if (w->paging != PTWALK_32BIT) w->efer ^= EFER_NXE; break;
	}
	struct ptwalk_mode gm = w->gm;
	if (!load(w, false)) {
		/* PAE: the PDPTEs this write reloads would #GP; nothing changes */
		w->cr0 = cr0, w->cr4 = cr4, w->efer = efer;
		w->gm = gm;
	}
}

struct run {
	enum ptwalk_paging paging;
	uint64_t seed;
	unsigned spaces, budget, batches, ops;
	unsigned max_pages;
	bool large, gbpages, pcid;
	unsigned toggles;            /* % of operations that flip a paging bit */
	bool modes;                  /* switch among every paging mode too */
	bool hot;                    /* work on a few addresses: accesses, edits of their walks, INVLPGs */
};

#define HOT 24
static uint64_t hot_la[HOT];

/* The gpa of the leaf entry the guest's walk of la ends at (0: none). */
static uint64_t leaf_entry(struct world *w, uint64_t la)
{
	struct ptwalk_ops ops = ram_ops(w);
	struct ptwalk_access pa = { PTWALK_READ, false, false, true, true };
	struct ptwalk_result r;
	if (!w->gm.pg || ptwalk(&w->gm, &ops, la, &pa, &r) != PTWALK_OK)
		return 0;
	return r.entry[r.last_level].gpa;
}

/*
 * Two addresses whose walks end at the same guest entry, through different
 * entries above (the neighbouring PD slot repeating a PT), where the
 * tables have such a pair; else two random addresses.
 */
static void hot_pair(struct world *w, uint64_t *pair)
{
	uint64_t pd_bit = w->paging == PTWALK_32BIT ? 1ull << 22 : 1ull << 21;
	for (unsigned tries = 0; tries < 400; tries++) {
		uint64_t la = random_la(w), e = leaf_entry(w, la);
		if (e && e == leaf_entry(w, la ^ pd_bit)) {
			pair[0] = la;
			pair[1] = la ^ pd_bit;
			return;
		}
	}
	pair[0] = random_la(w);
	pair[1] = random_la(w);
}

/* An address of the hot set, or any. */
static uint64_t some_la(struct world *w, const struct run *r)
{
	return r->hot && chance(85) ? hot_la[pick(HOT)] : random_la(w);
}

/* The guest edits an entry on the walk of a hot address (the leaf mostly). */
static void hot_edit(struct world *w)
{
	uint64_t la = hot_la[pick(HOT)];
	struct ptwalk_ops ops = ram_ops(w);
	struct ptwalk_access pa = { PTWALK_READ, false, false, true, true };
	struct ptwalk_result r;
	if (!w->gm.pg)
		return;
	enum ptwalk_status st = ptwalk(&w->gm, &ops, la, &pa, &r);
	if (st == PTWALK_NOT_RAM || !r.top_level)
		return;
	unsigned level = chance(60) ? r.last_level : r.last_level + (unsigned)pick(r.top_level - r.last_level + 1);
	if (w->gm.pae && !w->gm.lma && level == 3)
		level = 2;
	uint64_t at = r.entry[level].gpa;
	if (!ram_at(w, at, r.entry_size))
		return;
	uint64_t v = get(w, at, r.entry_size);
	uint64_t frame = w->paging == PTWALK_32BIT ? 0xfffff000ull : 0xffffffffff000ull;
	unsigned k = (unsigned)pick(100);
	if (level > 1 && k < 50)
		k += 50;                                   /* tables: rights and A, not addresses */
	if (k < 50 && (v & PTE_P))
		v = (v & ~frame) | ((v + (1 + pick(3)) * PAGE) & frame); /* a neighbouring page */
	else if (k < 65)
		v ^= PTE_W;
	else if (k < 75)
		v &= ~PTE_A;
	else if (k < 85)
		v &= ~PTE_D;
	else if (k < 92)
		v ^= PTE_U;
	else
		v = mutate(w, v);
	put(w, at, r.entry_size, v);
	report_written(w, at, r.entry_size);
}

/* Enters another paging mode with one of its address spaces (as a guest leaving and entering long mode would). */
static void switch_mode(struct world *w)
{
	static const enum ptwalk_paging modes[] = { PTWALK_OFF, PTWALK_32BIT, PTWALK_PAE, PTWALK_4LEVEL };
	enum ptwalk_paging p = modes[pick(4)];
	uint64_t cr0 = w->cr0, cr4 = w->cr4, efer = w->efer, cr3 = w->cr3;
	enum ptwalk_paging old = w->paging;
	struct ptwalk_mode gm = w->gm;
	set_regs(w, p, chance(70), chance(40), chance(40), chance(70), chance(70), chance(20));
	if (p == PTWALK_4LEVEL && chance(40))
		w->cr4 = (w->cr4 | CR4_PCIDE) & ~CR4_PGE;
	for (unsigned tries = 0; tries < 20 && p != PTWALK_OFF && w->nas; tries++) {
		unsigned k = (unsigned)pick(w->nas);
		if (w->as[k].paging == p) {
			w->cr3 = w->as[k].cr3 | ((w->cr4 & CR4_PCIDE) ? k + 1 : 0);
			break;
		}
	}
	if (!load(w, true)) {
		w->paging = old;
		w->cr0 = cr0, w->cr4 = cr4, w->efer = efer, w->cr3 = cr3;
		w->gm = gm;
	}
}

/* Hot runs: accesses, INVLPGs and edits of a few addresses, where a missed flush shows. */
static void hot_batch(struct world *w, const struct run *r, struct coverage *cov)
{
	for (unsigned k = 0; k < r->ops; k++) {
		unsigned op = (unsigned)pick(100);
		uint64_t la = hot_la[pick(HOT)];
		if (op < 60) {
			struct acc a = random_acc();
			if (chance(50))
				a = (struct acc){ PTWALK_READ, false, false, true }; /* one that mostly succeeds */
			struct outcome o = check_access(w, la, &a);
			count(cov, &o);
		} else if (op < 78) {
			apply_flush(w, shadow_invlpg(&w->sh, la), la);
		} else if (op < 95) {
			hot_edit(w);
		} else if (op < 98) {
			switch_space(w);
		} else {
			toggle_bit(w);
		}
		check_tlb(w, "hot run");
	}
}

static void random_batch(struct world *w, const struct run *r, struct coverage *cov)
{
	if (r->hot && chance(60)) {
		hot_batch(w, r, cov);
		return;
	}
	for (unsigned k = 0; k < r->ops; k++) {
		unsigned op = (unsigned)pick(1000);
		if (op < 620) {
			uint64_t la = some_la(w, r);
			struct acc a = random_acc();
			struct outcome o = check_access(w, la, &a);
			count(cov, &o);
		} else if (op < 780) {
			if (r->hot && chance(70))
				hot_edit(w);
			else
				random_edit(w);
		} else if (op < 860) {
			if (r->hot && !chance(20))
				continue;
			if (r->modes && chance(30))
				switch_mode(w);
			else
				switch_space(w);
		} else if (op < 910) {
			uint64_t la = some_la(w, r);
			apply_flush(w, shadow_invlpg(&w->sh, la), la);
		} else if (op < 910 + 10 * r->toggles) {
			toggle_bit(w);
		} else if (op < 975) {
			/* the guest writes a page-table page through some mapping of it, as data */
			if (w->ntables) {
				uint64_t gpa = w->tables[pick(w->ntables)].gpa;
				uint64_t at = gpa + pick(PAGE / 8) * 8;
				put(w, at, 8, get(w, at, 8));
				report_written(w, at, 8);
			}
		} else if (op < 985) {
			apply_flush(w, shadow_flush_all(&w->sh), 0);
		} else if (op < 997) {
			enum shadow_flush f;
			if (w->ntables) {
				shadow_unprotect(&w->sh, w->tables[pick(w->ntables)].gpa, &f);
				apply_flush(w, f, 0);
			}
		} else {
			apply_flush(w, shadow_reset(&w->sh), 0);
		}
		if (k % 16 == 0)
			check_tlb(w, "random run");
	}
}

static void run_random(const struct run *r)
{
	struct world *w = world_new(r->seed);
	struct coverage cov = { 0 };
	w->cfg.max_pages = r->max_pages;
	w->cfg.large = r->large;
	w->cfg.gbpages = r->gbpages;
	set_regs(w, r->paging, chance(70), chance(50), chance(50), chance(70), chance(70), false);
	if (r->pcid)
		w->cr4 |= CR4_PCIDE;
	gen_spaces(w, r->paging, r->spaces, r->budget);
	if (r->modes) {
		static const enum ptwalk_paging others[] = { PTWALK_32BIT, PTWALK_PAE, PTWALK_4LEVEL };
		for (unsigned i = 0; i < 3; i++)
			if (others[i] != r->paging)
				gen_spaces(w, others[i], r->spaces, r->budget);
	}
	world_start(w);
	w->cr3 = w->as[0].cr3;
	while (!load(w, true))
		w->cr3 = w->as[pick(w->nas)].cr3;
	for (unsigned i = 0; i < HOT; i += 2)
		hot_pair(w, &hot_la[i]);
	for (unsigned b = 0; b < r->batches; b++) {
		random_batch(w, r, &cov);
		char when[64];
		snprintf(when, sizeof(when), "after batch %u (seed %llu)", b, ULL(r->seed));
		audit(w, when);
	}
	const struct shadow_stats *st = &w->sh.stats;
	if (getenv("SHADOW_COVERAGE"))
		fprintf(stderr,
			"mode %d seed %llu: ok %u (emulated %u), faults np %u prot %u rsvd %u, not RAM %u (tables %u); "
			"fixed %llu spurious %llu guest %llu pt_write %llu, fills %llu, pt writes %llu zaps %llu, wprot %llu, "
			"cr3 %llu hit %llu miss %llu, pages %llu peak %llu reclaimed %llu, unprotected %llu, large %llu split %llu, "
			"flush la %llu ng %llu all %llu\n",
			r->paging, ULL(r->seed), cov.ok, cov.emulated, cov.fault_np, cov.fault_prot, cov.fault_rsvd,
			cov.not_ram, cov.not_ram_table, ULL(st->faults_fixed), ULL(st->faults_spurious),
			ULL(st->faults_guest), ULL(st->faults_pt_write), ULL(st->fills), ULL(st->pt_writes),
			ULL(st->pt_zaps), ULL(st->write_protects), ULL(st->cr3_switches), ULL(st->root_hits),
			ULL(st->root_misses), ULL(st->pages), ULL(st->peak), ULL(st->reclaimed), ULL(st->unprotected),
			ULL(st->large_mapped), ULL(st->large_split), ULL(st->flush_la), ULL(st->flush_nonglobal),
			ULL(st->flush_all));
	assert_true(cov.ok > 0 && st->fills > 0);
	if (r->paging != PTWALK_OFF) {
		assert_true(cov.fault_np > 0 && cov.fault_prot > 0 && st->pt_writes > 0 && st->root_hits > 0);
	}
	world_end(w);
}

/* ---- directed tests: hand-built tables ---- */

#define UP (PTE_P | PTE_W | PTE_U | PTE_A)   /* a permissive upper-level entry */

/* The gpa of the guest entry for la at level, making the tables above it with upper where missing. */
static uint64_t entry_gpa(struct world *w, uint64_t la, unsigned level, uint64_t upper)
{
	enum ptwalk_paging p = w->paging;
	unsigned es = esize_of(p), top = top_level(p);
	uint64_t table = w->cr3 & (p == PTWALK_PAE ? 0xffffffe0ull : ~0xfffull);
	if (p != PTWALK_4LEVEL)
		la &= 0xffffffffull;
	for (unsigned l = top;; l--) {
		unsigned idx = p == PTWALK_32BIT ? (unsigned)(la >> (l == 2 ? 22 : 12)) & 1023 :
			       p == PTWALK_PAE && l == 3 ? (unsigned)(la >> 30) & 3 :
			       (unsigned)(la >> (12 + 9 * (l - 1))) & 511;
		uint64_t at = table + (uint64_t)idx * es;
		if (l == level)
			return at;
		uint64_t e = get(w, at, es);
		if (!(e & PTE_P)) {
			uint64_t t = new_table(w, l - 1);
			e = t | (p == PTWALK_PAE && l == 3 ? PTE_P : upper);
			put(w, at, es, e);
			if (w->sh.meta_pages)
				report_written(w, at, es);
		}
		table = e & (p == PTWALK_32BIT ? 0xfffff000ull : 0xffffffffff000ull);
	}
}

/* Writes a guest entry as an emulated instruction would, reporting it once the shadows exist. */
static void gset(struct world *w, uint64_t at, uint64_t val)
{
	put(w, at, esize_of(w->paging), val);
	if (w->sh.meta_pages)
		report_written(w, at, esize_of(w->paging));
}

/* Maps la to gpa with a leaf at level (flags given, PS added above level 1). */
static void map(struct world *w, uint64_t la, uint64_t gpa, unsigned level, uint64_t flags)
{
	gset(w, entry_gpa(w, la, level, UP), gpa | flags | (level > 1 ? PTE_PS : 0));
}

/* Sets and clears bits of the guest entry for la at level. */
static void edit(struct world *w, uint64_t la, unsigned level, uint64_t set, uint64_t clear)
{
	uint64_t at = entry_gpa(w, la, level, UP);
	gset(w, at, (get(w, at, esize_of(w->paging)) | set) & ~clear);
}

/* A world in mode p with a fresh top-level table (CR3), not yet started. */
static struct world *directed(enum ptwalk_paging p, uint64_t cr0_extra, uint64_t cr4_extra, bool nxe)
{
	struct world *w = world_new(7);
	set_regs(w, p, false, false, false, nxe, false, false);
	w->cr0 |= cr0_extra;
	w->cr4 |= cr4_extra;
	if (p != PTWALK_OFF)
		w->cr3 = new_table(w, top_level(p));
	return w;
}

static void start(struct world *w)
{
	world_start(w);
	assert_true(load(w, true));
}

static struct outcome access_as(struct world *w, uint64_t la, enum ptwalk_kind kind, bool cpl3, bool ac)
{
	struct acc a = { kind, cpl3, false, ac };
	return check_access(w, la, &a);
}

static void expect_ok(struct world *w, uint64_t la, enum ptwalk_kind kind, bool cpl3)
{
	struct outcome o = access_as(w, la, kind, cpl3, false);
	assert_int_equal(o.kind, OUT_OK);
}

static void expect_fault(struct world *w, uint64_t la, enum ptwalk_kind kind, bool cpl3, bool ac, uint32_t ec)
{
	struct outcome o = access_as(w, la, kind, cpl3, ac);
	assert_int_equal(o.kind, OUT_FAULT);
	assert_int_equal(o.error_code, ec);
}

/* The level of the shadow leaf for la (0: none). */
static unsigned shadow_level(struct world *w, uint64_t la, uint64_t *leaf)
{
	uint64_t table = w->real.cr3 & PTE_ADDR_MASK;
	unsigned level = 4;
	if (!w->real.long_mode) {
		uint64_t e = hw_table(w, table & ~0xfffull)[(la >> 30) & 3];
		if (!(e & PTE_P))
			return 0;
		table = e & PTE_ADDR_MASK;
		level = 2;
	}
	for (;; level--) {
		uint64_t e = hw_table(w, table)[(la >> (12 + 9 * (level - 1))) & 511];
		if (!(e & PTE_P))
			return 0;
		if (level == 1 || (e & PTE_PS)) {
			*leaf = e;
			return level;
		}
		table = e & PTE_ADDR_MASK;
	}
}

#define LA1 0x0000123456789000ull
#define DATA 0x00805000ull   /* in the 8-12 MiB run */

static void fill_sets_accessed_and_translates(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_U);
	for (unsigned level = 2; level <= 4; level++) /* upper entries not accessed yet */
		edit(w, LA1, level, 0, PTE_A);
	start(w);
	expect_ok(w, LA1 + 0x123, PTWALK_READ, false);
	for (unsigned level = 1; level <= 4; level++)
		assert_true(get(w, entry_gpa(w, LA1, level, UP), 8) & PTE_A);
	assert_false(get(w, entry_gpa(w, LA1, 1, UP), 8) & PTE_D);
	unsigned faults = w->faults;
	expect_ok(w, LA1 + 0x456, PTWALK_READ, true);
	assert_int_equal(w->faults, faults); /* the TLB, no exit */
	assert_int_equal(w->sh.stats.fills, 1);
	world_end(w);
}

static void dirty_is_set_by_the_first_write_only(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A);
	start(w);
	uint64_t pte = entry_gpa(w, LA1, 1, UP), leaf;
	expect_ok(w, LA1, PTWALK_READ, false);
	assert_int_equal(shadow_level(w, LA1, &leaf), 1);
	assert_false(leaf & PTE_W); /* clean: read-only until written */
	assert_false(get(w, pte, 8) & PTE_D);
	expect_ok(w, LA1, PTWALK_WRITE, false);
	assert_true(get(w, pte, 8) & PTE_D);
	assert_int_equal(shadow_level(w, LA1, &leaf), 1);
	assert_true(leaf & PTE_W);
	unsigned faults = w->faults;
	expect_ok(w, LA1 + 8, PTWALK_WRITE, false);
	assert_int_equal(w->faults, faults);
	/* The guest cleans the page: the next write must dirty it again. */
	gset(w, pte, get(w, pte, 8) & ~PTE_D);
	expect_ok(w, LA1, PTWALK_READ, false);
	assert_false(get(w, pte, 8) & PTE_D);
	expect_ok(w, LA1, PTWALK_WRITE, false);
	assert_true(get(w, pte, 8) & PTE_D);
	world_end(w);
}

static void rights_are_combined_over_every_level(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	uint64_t la2 = LA1 + 0x200000, la3 = LA1 + 0x40000000;
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	map(w, la2, DATA + PAGE, 1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	map(w, la3, DATA + 2 * PAGE, 1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	edit(w, la2, 2, 0, PTE_W);     /* PDE read-only */
	edit(w, la3, 3, 0, PTE_U);     /* PDPTE supervisor */
	edit(w, LA1, 2, PTE_NX, 0);    /* PDE no-execute */
	start(w);
	expect_ok(w, LA1, PTWALK_WRITE, true);
	expect_fault(w, LA1, PTWALK_FETCH, true, false, PF_ERR_P | PF_ERR_U | PF_ERR_ID);
	expect_fault(w, la2, PTWALK_WRITE, false, false, PF_ERR_P | PF_ERR_W);
	expect_fault(w, la2, PTWALK_WRITE, true, false, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	expect_ok(w, la2, PTWALK_FETCH, true);
	expect_fault(w, la3, PTWALK_READ, true, false, PF_ERR_P | PF_ERR_U);
	expect_ok(w, la3, PTWALK_WRITE, false);
	expect_fault(w, LA1 + 0x1000, PTWALK_READ, true, false, PF_ERR_U);
	world_end(w);
}

static void cr0_wp_clear_lets_supervisor_writes_through(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, 0, CR4_SMEP, true); /* WP = 0 */
	uint64_t sup = LA1 + 0x1000;
	map(w, LA1, DATA, 1, PTE_P | PTE_U | PTE_A);          /* user, read-only */
	map(w, sup, DATA + PAGE, 1, PTE_P | PTE_A);            /* supervisor, read-only */
	start(w);
	expect_ok(w, LA1, PTWALK_WRITE, false);                /* the supervisor-write view */
	uint64_t leaf;
	assert_int_equal(shadow_level(w, LA1, &leaf), 1);
	assert_true((leaf & PTE_W) && !(leaf & PTE_U) && (leaf & PTE_NX)); /* SMEP: not executable either */
	expect_fault(w, LA1, PTWALK_FETCH, false, false, PF_ERR_P | PF_ERR_ID); /* SMEP on a user page */
	expect_ok(w, LA1, PTWALK_READ, true);                  /* back to the user view */
	assert_int_equal(shadow_level(w, LA1, &leaf), 1);
	assert_true(!(leaf & PTE_W) && (leaf & PTE_U));
	expect_fault(w, LA1, PTWALK_WRITE, true, false, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	expect_ok(w, LA1, PTWALK_WRITE, false);
	expect_ok(w, LA1, PTWALK_FETCH, true);
	expect_ok(w, sup, PTWALK_WRITE, false);
	expect_fault(w, sup, PTWALK_READ, true, false, PF_ERR_P | PF_ERR_U);
	/* WP back on: supervisor writes to read-only pages fault. */
	w->cr0 |= CR0_WP;
	assert_true(load(w, false));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_ALL);
	expect_fault(w, LA1, PTWALK_WRITE, false, false, PF_ERR_P | PF_ERR_W);
	expect_fault(w, sup, PTWALK_WRITE, false, false, PF_ERR_P | PF_ERR_W);
	world_end(w);
}

static void cr0_wp_clear_with_smap_is_emulated(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, 0, CR4_SMAP, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_U | PTE_A | PTE_D);
	start(w);
	expect_fault(w, LA1, PTWALK_WRITE, false, false, PF_ERR_P | PF_ERR_W); /* SMAP, AC = 0 */
	struct outcome o = access_as(w, LA1, PTWALK_WRITE, false, true);      /* AC = 1: allowed */
	assert_int_equal(o.kind, OUT_OK);
	assert_true(o.emulated); /* no shadow entry can say "supervisor may write, and SMAP still holds" */
	expect_ok(w, LA1, PTWALK_READ, true);
	world_end(w);
}

static void smep_smap_and_implicit_accesses(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, CR4_SMEP | CR4_SMAP, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	start(w);
	expect_fault(w, LA1, PTWALK_READ, false, false, PF_ERR_P);
	expect_ok(w, LA1, PTWALK_READ, true);
	struct outcome o = access_as(w, LA1, PTWALK_WRITE, false, true);
	assert_int_equal(o.kind, OUT_OK);
	expect_fault(w, LA1, PTWALK_FETCH, false, true, PF_ERR_P | PF_ERR_ID);
	struct acc implicit3 = { PTWALK_READ, true, true, true };   /* the CPU reads a descriptor at CPL 3 */
	o = check_access(w, LA1, &implicit3);
	assert_int_equal(o.kind, OUT_FAULT);
	assert_int_equal(o.error_code, PF_ERR_P);
	/* At CPL 0 the exit cannot tell an implicit access: it takes a second fault. */
	struct acc implicit0 = { PTWALK_READ, false, true, true };
	unsigned guest = (unsigned)w->sh.stats.faults_guest;
	o = check_access(w, LA1, &implicit0);
	assert_int_equal(o.kind, OUT_FAULT);
	assert_int_equal(o.error_code, PF_ERR_P);
	assert_int_equal(w->sh.stats.faults_guest, guest + 1);
	world_end(w);
}

static void reserved_bits_fault_with_rsvd(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, false);
	uint64_t la[6];
	for (unsigned i = 0; i < 6; i++)
		la[i] = LA1 + i * 0x40000000ull;
	map(w, la[0], DATA, 1, PTE_P | PTE_W | PTE_A | (1ull << 45));   /* above MAXPHYADDR */
	map(w, la[1], DATA, 1, PTE_P | PTE_W | PTE_A | PTE_NX);         /* XD without NXE */
	map(w, la[2], 0, 2, PTE_P | PTE_W | PTE_A | (1ull << 13));      /* 2 MiB leaf, address bit 13 */
	map(w, la[3], RAM_B, 3, PTE_P | PTE_W | PTE_A | (1ull << 20));  /* 1 GiB leaf, bit 20 */
	map(w, la[4], DATA, 1, PTE_P | PTE_W | PTE_A);
	edit(w, la[4], 3, 1ull << 51, 0);
	start(w);
	for (unsigned i = 0; i < 5; i++)
		expect_fault(w, la[i], PTWALK_READ, false, false, PF_ERR_P | PF_ERR_RSVD);
	expect_fault(w, la[0], PTWALK_WRITE, true, false, PF_ERR_P | PF_ERR_RSVD | PF_ERR_W | PF_ERR_U);
	/* NXE on: bit 63 is XD, not reserved. */
	w->efer |= EFER_NXE;
	assert_true(load(w, false));
	expect_ok(w, la[1], PTWALK_READ, false);
	expect_fault(w, la[1], PTWALK_FETCH, false, false, PF_ERR_P | PF_ERR_ID);
	world_end(w);
}

/* A table reached through the guest's own mappings: the recursive slot of the PML4. */
static void page_table_writes_trap_and_zap(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	uint64_t pte = entry_gpa(w, LA1, 1, UP);
	uint64_t alias = 0x0000700000000000ull;   /* maps the PT page itself */
	map(w, alias, pte & ~(PAGE - 1), 1, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, LA1, PTWALK_WRITE, false);
	uint64_t leaf;
	assert_int_equal(shadow_level(w, alias, &leaf), 0);
	struct outcome o = access_as(w, alias + (pte & (PAGE - 1)), PTWALK_READ, false, false);
	assert_int_equal(o.kind, OUT_OK);
	assert_int_equal(shadow_level(w, alias, &leaf), 1);
	assert_false(leaf & PTE_W); /* a shadowed table: read-only */
	/* The guest retargets LA1 through the alias: the write is emulated and LA1 follows. */
	unsigned pt_writes = (unsigned)w->sh.stats.pt_writes;
	o = access_as(w, alias + (pte & (PAGE - 1)), PTWALK_WRITE, false, false);
	assert_true(o.kind == OUT_OK && o.emulated);
	assert_true(w->sh.stats.pt_writes > pt_writes);
	gset(w, pte, (DATA + 3 * PAGE) | PTE_P | PTE_W | PTE_A | PTE_D);
	expect_ok(w, LA1, PTWALK_READ, false);
	uint64_t ma, contiguous;
	assert_true(ram_translate(DATA + 3 * PAGE, &ma, &contiguous));
	assert_int_equal(shadow_level(w, LA1, &leaf), 1);
	assert_int_equal(leaf & PTE_ADDR_MASK, ma);
	gset(w, pte, 0);
	expect_fault(w, LA1, PTWALK_READ, false, false, 0);
	world_end(w);
}

static void a_page_written_often_but_not_walked_is_unprotected(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	uint64_t pt = entry_gpa(w, LA1, 1, UP) & ~(PAGE - 1);
	uint64_t alias = 0x0000700000000000ull;
	map(w, alias, pt, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, LA1, PTWALK_READ, false);
	for (unsigned i = 0; i < 3; i++) { /* the guest reuses the page as data: writes, no walks */
		struct outcome o = access_as(w, alias + 0x800 + 8 * i, PTWALK_WRITE, false, false);
		assert_true(o.kind == OUT_OK);
	}
	assert_int_equal(w->sh.stats.unprotected, 1);
	struct outcome o = access_as(w, alias + 0x900, PTWALK_WRITE, false, false);
	assert_true(o.kind == OUT_OK && !o.emulated); /* straight through now */
	/* Used as a table again: shadowed, and protected, again. */
	expect_ok(w, LA1, PTWALK_READ, false);
	o = access_as(w, alias + 0x900, PTWALK_WRITE, false, false);
	assert_true(o.kind == OUT_OK && o.emulated);
	world_end(w);
}

static void cr3_switches_find_cached_shadows(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	uint64_t a = w->cr3, b = new_table(w, 4);
	for (unsigned i = 0; i < 8; i++)
		map(w, LA1 + i * PAGE, DATA + i * PAGE, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	w->cr3 = b;
	for (unsigned i = 0; i < 8; i++)
		map(w, LA1 + i * PAGE, DATA + (8 + i) * PAGE, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	w->cr3 = a;
	start(w);
	for (unsigned i = 0; i < 8; i++)
		expect_ok(w, LA1 + i * PAGE, PTWALK_READ, false);
	w->cr3 = b;
	assert_true(load(w, true));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_NONGLOBAL);
	for (unsigned i = 0; i < 8; i++)
		expect_ok(w, LA1 + i * PAGE, PTWALK_READ, false);
	unsigned faults = w->faults;
	for (unsigned round = 0; round < 3; round++) {
		w->cr3 = round & 1 ? b : a;
		assert_true(load(w, true));
		for (unsigned i = 0; i < 8; i++)
			expect_ok(w, LA1 + i * PAGE, PTWALK_READ, false);
	}
	assert_int_equal(w->faults, faults); /* the TLB was flushed, the shadows kept */
	assert_int_equal(w->sh.stats.root_misses, 2);
	assert_int_equal(w->sh.stats.root_hits, 3);
	world_end(w);
}

static void set_mode_gives_the_real_registers_and_flushes(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, CR4_PGE | CR4_SMEP, true);
	start(w);
	assert_int_equal(w->real.flush, SHADOW_FLUSH_ALL); /* the first mode */
	assert_true(w->real.long_mode);
	assert_int_equal(w->real.cr0 & (CR0_PG | CR0_PE | CR0_WP), CR0_PG | CR0_PE | CR0_WP);
	assert_int_equal(w->real.cr4 & (CR4_PAE | CR4_PGE | CR4_SMEP | CR4_PSE), CR4_PAE | CR4_PGE | CR4_SMEP);
	assert_int_equal(w->real.efer & (EFER_NXE | EFER_LME | EFER_LMA), EFER_NXE | EFER_LME | EFER_LMA);
	assert_true(load(w, true));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_NONGLOBAL); /* the same CR3 again still flushes */
	assert_true(load(w, false));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_NONE);
	w->cr4 ^= CR4_PGE;
	assert_true(load(w, false));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_ALL);
	w->cr4 = (w->cr4 | CR4_PCIDE) & ~CR4_PGE;
	assert_true(load(w, false));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_ALL);
	uint64_t root = w->real.cr3 & PTE_ADDR_MASK;
	w->cr3 |= 5 | (1ull << 63);
	assert_true(load(w, true));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_NONE); /* PCID no-flush */
	assert_int_equal(w->real.cr3, root | 5);
	assert_true(w->real.cr4 & CR4_PCIDE);
	w->cr3 &= ~(1ull << 63);
	assert_true(load(w, true));
	assert_int_equal(w->real.flush, SHADOW_FLUSH_NONGLOBAL);
	/* 32-bit paging runs on PAE shadows below 4 GiB; paging off too, without SMEP, SMAP or PGE. */
	w->cr4 &= ~CR4_PCIDE;
	set_regs(w, PTWALK_32BIT, true, true, true, true, true, true);
	w->cr3 = new_table(w, 2);
	assert_true(load(w, true));
	assert_false(w->real.long_mode);
	assert_true(w->real.cr3 < 4 * GiB);
	assert_int_equal(w->real.cr4 & (CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP), CR4_PAE | CR4_SMEP | CR4_SMAP);
	assert_int_equal(w->real.efer & (EFER_NXE | EFER_LME | EFER_LMA), EFER_NXE);
	set_regs(w, PTWALK_OFF, false, true, true, false, false, true);
	assert_true(load(w, false));
	assert_int_equal(w->real.cr0 & (CR0_PG | CR0_WP), CR0_PG | CR0_WP);
	assert_int_equal(w->real.cr4 & (CR4_PAE | CR4_SMEP | CR4_SMAP | CR4_PGE), CR4_PAE);
	/* 5-level paging is refused. */
	struct shadow_regs la57 = { CR0_PG | CR0_PE, w->cr3, CR4_PAE | (1ull << 12), EFER_LMA | EFER_LME, { 0 }, true };
	struct shadow_root out;
	assert_int_equal(shadow_set_mode(&w->sh, &la57, &out), ERR_UNSUPPORTED);
	world_end(w);
}

static void global_leaves_keep_g(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, CR4_PGE, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D | PTE_G);
	map(w, LA1 + PAGE, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, LA1, PTWALK_READ, false);
	expect_ok(w, LA1 + PAGE, PTWALK_READ, false);
	uint64_t leaf;
	shadow_level(w, LA1, &leaf);
	assert_true(leaf & PTE_G);  /* survives a CR3 load in the TLB, as the guest's would */
	shadow_level(w, LA1 + PAGE, &leaf);
	assert_false(leaf & PTE_G);
	world_end(w);
}

static void large_pages_shadowed_large_where_the_backing_allows(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	uint64_t la = 0x0000400000000000ull, leaf;
	map(w, la, 0, 2, PTE_P | PTE_W | PTE_A | PTE_D);                 /* aligned run */
	map(w, la + 2 * MiB, 2 * MiB, 2, PTE_P | PTE_W | PTE_A | PTE_D); /* contiguous, misaligned */
	map(w, la + 4 * MiB, 4 * MiB, 2, PTE_P | PTE_W | PTE_A | PTE_D); /* scattered */
	map(w, la + GiB, RAM_B, 3, PTE_P | PTE_W | PTE_A | PTE_D);       /* 1 GiB aligned */
	start(w);
	expect_ok(w, la + 0x1234, PTWALK_WRITE, false);
	assert_int_equal(shadow_level(w, la, &leaf), 2);
	expect_ok(w, la + 2 * MiB + 0x5000, PTWALK_READ, false);
	assert_int_equal(shadow_level(w, la + 2 * MiB + 0x5000, &leaf), 1);
	expect_ok(w, la + 4 * MiB + 0x7000, PTWALK_READ, false);
	assert_int_equal(shadow_level(w, la + 4 * MiB + 0x7000, &leaf), 1);
	expect_ok(w, la + GiB + 0x12345678, PTWALK_READ, false);
	assert_int_equal(shadow_level(w, la + GiB + 0x12345678, &leaf), 3);
	assert_int_equal(w->sh.stats.large_mapped, 2);
	assert_int_equal(w->sh.stats.large_split, 2);
	world_end(w);

	/* Without 1 GiB host pages a 1 GiB guest page gets 2 MiB leaves. */
	w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	w->cfg.gbpages = false;
	map(w, la, RAM_B, 2, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, la + 0x3456, PTWALK_READ, false);
	assert_int_equal(shadow_level(w, la + 0x3456, &leaf), 2);
	world_end(w);

	/* large=off: 4 KiB leaves only. */
	w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	w->cfg.large = false;
	map(w, la, 0, 2, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, la + 0x3456, PTWALK_READ, false);
	assert_int_equal(shadow_level(w, la + 0x3456, &leaf), 1);
	assert_int_equal(w->sh.stats.large_split, 1);
	world_end(w);

	/* 32-bit paging: a 4 MiB page is two 2 MiB shadow leaves. */
	w = directed(PTWALK_32BIT, CR0_WP, CR4_PSE, false);
	map(w, 0x40000000, 8 * MiB, 2, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, 0x40000000 + 0x1000, PTWALK_READ, false);
	expect_ok(w, 0x40000000 + 0x201000, PTWALK_WRITE, false);
	assert_int_equal(shadow_level(w, 0x40001000, &leaf), 2);
	assert_int_equal(shadow_level(w, 0x40201000, &leaf), 2);
	assert_int_equal(w->sh.stats.large_mapped, 2);
	world_end(w);
}

static void large_page_over_a_page_table_is_split_around_it(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	uint64_t la = 0x0000400000000000ull, leaf;
	map(w, la, 0, 2, PTE_P | PTE_W | PTE_A | PTE_D);  /* maps [0, 2 MiB), tables included */
	start(w);
	expect_ok(w, la + 0x100000, PTWALK_WRITE, false);
	assert_int_equal(shadow_level(w, la, &leaf), 2);
	assert_true(leaf & PTE_W);
	/* A table inside the run becomes shadowed: the writable large leaf goes. */
	uint64_t pt_gpa = 0x1f0000;
	memset(w->ram + pt_gpa, 0, PAGE);
	w->is_table[pt_gpa / PAGE] = true;
	gset(w, entry_gpa(w, LA1, 2, UP), pt_gpa | UP);
	gset(w, pt_gpa + 8 * ((LA1 >> 12) & 511), DATA | PTE_P | PTE_W | PTE_A | PTE_D);
	expect_ok(w, LA1, PTWALK_READ, false);
	assert_true(w->sh.stats.write_protects >= 1);
	struct outcome o = access_as(w, la + pt_gpa + 8, PTWALK_WRITE, false, false);
	assert_true(o.kind == OUT_OK && o.emulated);
	expect_ok(w, la + 0x100000, PTWALK_WRITE, false);
	assert_int_equal(shadow_level(w, la + 0x100000, &leaf), 1); /* split now */
	assert_true(leaf & PTE_W);
	world_end(w);
}

static void paging_off_maps_ram_and_nothing_else(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_OFF, 0, 0, false);
	start(w);
	uint64_t leaf;
	expect_ok(w, 0x1234, PTWALK_WRITE, true);
	assert_int_equal(shadow_level(w, 0x1234, &leaf), 2); /* [0, 2 MiB) is one aligned run */
	expect_ok(w, 4 * MiB + 0x5000, PTWALK_FETCH, false);
	assert_int_equal(shadow_level(w, 4 * MiB + 0x5000, &leaf), 1);
	struct outcome o = access_as(w, HOLE_LO + 0x10, PTWALK_READ, false, false);
	assert_true(o.kind == OUT_NOT_RAM && o.gpa == HOLE_LO + 0x10 && !o.table);
	o = access_as(w, 3 * GiB, PTWALK_WRITE, false, false);
	assert_int_equal(o.kind, OUT_NOT_RAM);
	assert_int_equal(shadow_level(w, 3 * GiB, &leaf), 0);
	world_end(w);
}

static void pae_walks_use_the_loaded_pdptes(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_PAE, CR0_WP, 0, true);
	uint64_t la = 0x80001000;
	map(w, la, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, la, PTWALK_READ, false);
	uint64_t pdpte_gpa = (w->cr3 & 0xffffffe0ull) + 16;
	/* The guest clears its PDPTE in memory: nothing changes until CR3 is loaded again. */
	put(w, pdpte_gpa, 8, 0);
	report_written(w, pdpte_gpa, 8);
	apply_flush(w, SHADOW_FLUSH_ALL, 0);
	expect_ok(w, la, PTWALK_READ, false);
	assert_true(load(w, true));
	expect_fault(w, la, PTWALK_READ, false, false, 0);
	world_end(w);
}

static void thirty_two_bit_tables_are_shadowed_in_quarters_and_halves(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_32BIT, CR0_WP, CR4_PSE, false);
	/* One guest PT maps 4 MiB: its two halves are two shadow PTs. */
	for (unsigned q = 0; q < 4; q++) {
		uint64_t la = (uint64_t)q << 30 | 0x00c00000;
		map(w, la + 0x1000, DATA + q * PAGE, 1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
		map(w, la + 0x201000, DATA + (4 + q) * PAGE, 1, PTE_P | PTE_A);
	}
	start(w);
	for (unsigned q = 0; q < 4; q++) {
		uint64_t la = (uint64_t)q << 30 | 0x00c00000;
		expect_ok(w, la + 0x1000, PTWALK_WRITE, true);
		expect_fault(w, la + 0x201000, PTWALK_WRITE, false, false, PF_ERR_P | PF_ERR_W);
		expect_ok(w, la + 0x201000, PTWALK_READ, false);
	}
	/* A PDE edit zaps both halves; the PT edit only its half. */
	uint64_t la = 0x40c00000;
	edit(w, la, 2, 0, PTE_U);
	expect_fault(w, la + 0x1000, PTWALK_READ, true, false, PF_ERR_P | PF_ERR_U);
	expect_ok(w, la + 0x201000, PTWALK_READ, false);
	world_end(w);
}

static void reclaim_stays_under_the_limit(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	w->cfg.max_pages = SHADOW_MIN_PAGES;
	for (unsigned i = 0; i < 40; i++)
		map(w, LA1 + i * 0x40000000ull, DATA + i * PAGE, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < 40; i++) {
			expect_ok(w, LA1 + i * 0x40000000ull, PTWALK_READ, false);
			assert_true(w->sh.stats.pages <= SHADOW_MIN_PAGES);
		}
	assert_true(w->sh.stats.reclaimed > 0);
	audit(w, "after reclaim");
	world_end(w);
}

static void invlpg_and_flushes(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	start(w);
	expect_ok(w, LA1, PTWALK_READ, false);
	uint64_t leaf;
	assert_int_equal(shadow_invlpg(&w->sh, LA1), SHADOW_FLUSH_LA);
	apply_flush(w, SHADOW_FLUSH_LA, LA1);
	assert_int_equal(shadow_level(w, LA1, &leaf), 1); /* the shadows were not behind: kept */
	unsigned faults = w->faults;
	expect_ok(w, LA1, PTWALK_READ, false);
	assert_int_equal(w->faults, faults);
	assert_int_equal(shadow_flush_all(&w->sh), SHADOW_FLUSH_ALL);
	assert_int_equal(shadow_reset(&w->sh), SHADOW_FLUSH_ALL);
	apply_flush(w, SHADOW_FLUSH_ALL, 0);
	assert_int_equal(shadow_level(w, LA1, &leaf), 0);
	assert_int_equal(w->sh.stats.pages, 1); /* the root alone */
	expect_ok(w, LA1, PTWALK_WRITE, false);
	world_end(w);
}

/* One guest PT linked from two PDEs: an INVLPG of one address must not let the other keep a stale translation. */
static void invlpg_of_an_alias_keeps_the_other_address_right(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	uint64_t la2 = LA1 + 0x200000;
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
	uint64_t pde = get(w, entry_gpa(w, LA1, 2, UP), 8);
	gset(w, entry_gpa(w, la2, 2, UP), pde);  /* the same PT */
	start(w);
	expect_ok(w, LA1, PTWALK_READ, false);
	expect_ok(w, la2, PTWALK_READ, false);
	apply_flush(w, shadow_invlpg(&w->sh, LA1), LA1);
	gset(w, entry_gpa(w, LA1, 1, UP), (DATA + PAGE) | PTE_P | PTE_W | PTE_A | PTE_D);
	expect_ok(w, la2, PTWALK_READ, false);  /* the new page, not a stale TLB entry */
	expect_ok(w, LA1, PTWALK_READ, false);
	world_end(w);
}

/*
 * A clean page seen through two PDEs sharing a PT: the first write upgrades
 * the shared shadow leaf and flushes its own address; the alias's stale
 * read-only TLB entry then faults once (spurious), is flushed and retried.
 */
static void a_spurious_fault_flushes_the_stale_entry(void **state)
{
	(void)state;
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	uint64_t la2 = LA1 + 0x200000;
	map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A);
	gset(w, entry_gpa(w, la2, 2, UP), get(w, entry_gpa(w, LA1, 2, UP), 8));
	start(w);
	expect_ok(w, LA1, PTWALK_READ, false);
	expect_ok(w, la2, PTWALK_READ, false);
	expect_ok(w, LA1, PTWALK_WRITE, false);
	unsigned spurious = (unsigned)w->sh.stats.faults_spurious;
	expect_ok(w, la2, PTWALK_WRITE, false);
	assert_int_equal(w->sh.stats.faults_spurious, spurious + 1);
	world_end(w);
}

static void init_checks_the_limit_and_allocation_failures_are_survived(void **state)
{
	(void)state;
	struct world *w = world_new(9);
	struct shadow_env env = env_of(w);
	struct shadow s;
	struct shadow_config bad = w->cfg;
	bad.max_pages = SHADOW_MIN_PAGES - 1;
	assert_int_equal(shadow_init(&s, &env, &bad), ERR_INVAL);
	bad.max_pages = SHADOW_MAX_PAGES + 1;
	assert_int_equal(shadow_init(&s, &env, &bad), ERR_INVAL);
	w->pool.fail_in = 3;
	assert_int_equal(shadow_init(&s, &env, &w->cfg), ERR_NOMEM);
	assert_int_equal(w->pool.live, 0);
	assert_int_equal(shadow_default_pages(16 * MiB), 256);
	assert_int_equal(shadow_default_pages(1 * GiB), 4096);
	assert_int_equal(shadow_default_pages(64 * GiB), SHADOW_MAX_PAGES);
	free(w->ram);
	free(w->pool.pages);
	free(w);

	/*
	 * The machine runs out of pages at each allocation of a fill in turn
	 * (three tables and their companions): an error or a fill from
	 * reclaimed pages, never one of the pages the fill is using.
	 */
	for (unsigned k = 1; k <= 7; k++) {
		w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
		map(w, LA1, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
		map(w, LA1 + GiB, DATA, 1, PTE_P | PTE_W | PTE_A | PTE_D);
		start(w);
		if (k > 4)
			expect_ok(w, LA1 + GiB, PTWALK_READ, false); /* older pages to reclaim */
		w->pool.fail_in = k;
		struct shadow_fault f;
		shadow_page_fault(&w->sh, LA1, 0, 0, false, &f);
		assert_true(f.status == SHADOW_FIXED || (f.status == SHADOW_ERROR && f.err == ERR_NOMEM));
		apply_flush(w, f.flush, LA1);
		w->pool.fail_in = 0;
		audit(w, "after a failed allocation");
		expect_ok(w, LA1, PTWALK_READ, false);
		expect_ok(w, LA1 + GiB, PTWALK_READ, false);
		world_end(w);
	}
}

/* Three pages read and written, audited clean: supervisor read-only, user writable, writable but clean. */
static struct world *audited_world(void)
{
	struct world *w = directed(PTWALK_4LEVEL, CR0_WP, 0, true);
	map(w, LA1, DATA, 1, PTE_P | PTE_A);
	map(w, LA1 + PAGE, DATA + PAGE, 1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	map(w, LA1 + 2 * PAGE, DATA + 2 * PAGE, 1, PTE_P | PTE_W | PTE_A);
	start(w);
	expect_ok(w, LA1, PTWALK_READ, false);
	expect_ok(w, LA1 + PAGE, PTWALK_WRITE, true);
	expect_ok(w, LA1 + 2 * PAGE, PTWALK_READ, false);
	audit(w, "before planting");
	return w;
}

/* The shadow leaf (4-level) for la, to plant bugs in. */
static uint64_t *leaf_of(struct world *w, uint64_t la, unsigned level)
{
	uint64_t table = w->real.cr3 & PTE_ADDR_MASK;
	for (unsigned l = 4; l > level; l--)
		table = hw_table(w, table)[(la >> (12 + 9 * (l - 1))) & 511] & PTE_ADDR_MASK;
	return &hw_table(w, table)[(la >> (12 + 9 * (level - 1))) & 511];
}

static void audit_catches_planted_bugs(void **state)
{
	(void)state;
	static const char *const plants[] = {
		"a read-only page made writable", "a supervisor page opened to user mode",
		"the wrong machine page", "a no-execute page left executable",
		"a writable leaf the reverse map does not know", "a guest entry changed behind the shadows",
		"an accessed flag cleared behind the shadows", "stray bits in a non-present entry",
		"a table entry to no shadow page", "a global bit the guest did not set",
		"a page table mapped writable", "an entry in the unused part of a root",
	};
	for (unsigned k = 0; k < sizeof(plants) / sizeof(plants[0]); k++) {
		struct world *w = audited_world();
		uint64_t *ro = leaf_of(w, LA1, 1), *rw = leaf_of(w, LA1 + PAGE, 1), *clean = leaf_of(w, LA1 + 2 * PAGE, 1);
		uint64_t pte = entry_gpa(w, LA1, 1, UP);
		uint64_t ma, contiguous;
		switch (k) {
		case 0: *ro |= PTE_W; break;
		case 1: *ro |= PTE_U; break;
		case 2: *rw += PAGE; break;
		case 3: put(w, pte, 8, get(w, pte, 8) | PTE_NX); break;
		case 4: /* the guest page is dirty now, so W is a right it has: only the bookkeeping is wrong */
			put(w, entry_gpa(w, LA1 + 2 * PAGE, 1, UP), 8, get(w, entry_gpa(w, LA1 + 2 * PAGE, 1, UP), 8) | PTE_D);
			*clean |= PTE_W;
			break;
		case 5: put(w, pte, 8, (DATA + 5 * PAGE) | PTE_P | PTE_A); break;
		case 6: put(w, pte, 8, get(w, pte, 8) & ~PTE_A); break;
		case 7: ro[7] = 0x1000; break;
		case 8: leaf_of(w, LA1, 2)[1] = 0x123456000ull | PTE_P | PTE_W | PTE_U | PTE_A; break;
		case 9: *rw |= PTE_G; break;
		case 10:
			assert_true(ram_translate(pte & ~(PAGE - 1), &ma, &contiguous));
			put(w, entry_gpa(w, LA1 + PAGE, 1, UP), 8, (pte & ~(PAGE - 1)) | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
			*rw = (*rw & ~PTE_ADDR_MASK) | ma;
			break;
		case 11:
			w->cr3 = new_table(w, 4);
			set_regs(w, PTWALK_PAE, true, false, false, true, false, false);
			put(w, w->cr3, 8, 0);
			assert_true(load(w, true));
			hw_table(w, w->real.cr3 & PTE_ADDR_MASK)[9] = 0x5000 | PTE_P;
			break;
		}
		char msg[256];
		if (shadow_audit(&w->sh, msg, sizeof(msg)))
			fail_msg("planted bug not found: %s", plants[k]);
		assert_true(msg[0] != '\0');
		if (getenv("SHADOW_COVERAGE"))
			fprintf(stderr, "planted %s: %s\n", plants[k], msg);
		if (k == 11)
			hw_table(w, w->real.cr3 & PTE_ADDR_MASK)[9] = 0;
		apply_flush(w, shadow_reset(&w->sh), 0);
		world_end(w); /* audits again: reset dropped the planted bug */
	}
}

static void random_4level_guests_match_the_walker(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 1, 2, 3, 42, 2024, 0x9e3779b97f4a7c15ull };
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = { PTWALK_4LEVEL, seeds[i], 4, 120, 20, 300, 1024, true, true, false, 3, false, false };
		run_random(&r);
	}
}

static void random_pae_guests_match_the_walker(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 5, 6, 7, 99, 4242, 0xdeadbeefull };
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = { PTWALK_PAE, seeds[i], 4, 100, 20, 300, 1024, true, true, false, 3, false, false };
		run_random(&r);
	}
}

static void random_32bit_guests_match_the_walker(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 8, 9, 10, 77, 31337, 0x123456789ull };
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = { PTWALK_32BIT, seeds[i], 4, 100, 20, 300, 1024, true, true, false, 3, false, false };
		run_random(&r);
	}
}

static void random_pcid_spaces_switched_without_flush_match_the_walker(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 21, 22, 23, 24 };
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = { PTWALK_4LEVEL, seeds[i], 6, 120, 20, 300, 1024, true, true, true, 2, false, false };
		run_random(&r);
	}
}

static void random_runs_under_tight_page_limits_reclaim_and_stay_right(void **state)
{
	(void)state;
	static const struct { enum ptwalk_paging p; uint64_t seed; unsigned pages; } runs[] = {
		{ PTWALK_4LEVEL, 31, 16 }, { PTWALK_4LEVEL, 32, 24 }, { PTWALK_4LEVEL, 33, 40 },
		{ PTWALK_PAE, 34, 16 }, { PTWALK_PAE, 35, 32 }, { PTWALK_32BIT, 36, 16 }, { PTWALK_32BIT, 37, 32 },
	};
	for (unsigned i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct run r = { runs[i].p, runs[i].seed, 5, 120, 15, 300, runs[i].pages, true, true, false, 3, false, false };
		run_random(&r);
	}
}

static void random_runs_without_large_host_pages_match_the_walker(void **state)
{
	(void)state;
	struct run a = { PTWALK_4LEVEL, 41, 4, 120, 10, 300, 1024, false, false, false, 3, false, false };
	struct run b = { PTWALK_4LEVEL, 42, 4, 120, 10, 300, 1024, true, false, false, 3, false, false };
	struct run c = { PTWALK_32BIT, 43, 4, 120, 10, 300, 1024, false, false, false, 3, false, false };
	run_random(&a);
	run_random(&b);
	run_random(&c);
}

static void random_switches_among_all_paging_modes_match_the_walker(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 51, 52, 53, 54, 55, 56 };
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = { PTWALK_4LEVEL, seeds[i], 3, 60, 20, 300, 1024, true, true, false, 3, true, false };
		run_random(&r);
	}
}

static void random_edits_and_invlpgs_of_hot_addresses_leave_no_stale_tlb(void **state)
{
	(void)state;
	static const struct { enum ptwalk_paging p; uint64_t seed; bool pcid; } runs[] = {
		{ PTWALK_4LEVEL, 61, false }, { PTWALK_4LEVEL, 62, true }, { PTWALK_4LEVEL, 63, false },
		{ PTWALK_PAE, 64, false }, { PTWALK_PAE, 65, false }, { PTWALK_32BIT, 66, false },
		{ PTWALK_32BIT, 67, false }, { PTWALK_4LEVEL, 68, true },
	};
	for (unsigned i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct run r = { runs[i].p, runs[i].seed, 3, 60, 20, 300, 1024, true, true, runs[i].pcid, 2, false, true };
		run_random(&r);
	}
}

static void random_paging_off_accesses_reach_ram_only(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 11, 12, 13 };
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = { PTWALK_OFF, seeds[i], 0, 0, 10, 300, 1024, true, true, false, 0, false, false };
		run_random(&r);
	}
}

/*
 * SHADOW_SOAK=N runs N more seeds of every random test (from SHADOW_SEED,
 * default 1000), for hunting rare bugs; the failing seed is in the message.
 */
static void more_random_seeds_with_shadow_soak(void **state)
{
	(void)state;
	const char *n = getenv("SHADOW_SOAK"), *first = getenv("SHADOW_SEED");
	unsigned count = n ? (unsigned)strtoul(n, NULL, 0) : 0;
	uint64_t seed = first ? strtoull(first, NULL, 0) : 1000;
	static const enum ptwalk_paging modes[] = { PTWALK_4LEVEL, PTWALK_PAE, PTWALK_32BIT, PTWALK_OFF };
	for (unsigned i = 0; i < count; i++, seed++) {
		enum ptwalk_paging p = modes[seed % 4];
		unsigned pages = seed % 3 == 0 ? 16 + (unsigned)(seed % 40) : 1024;
		struct run r = { p, seed, 4, 100, 10, 300, pages, seed % 5 != 0, seed % 7 != 0,
				 p == PTWALK_4LEVEL && seed % 2, 3, seed % 6 == 1, false };
		if (p == PTWALK_OFF)
			r.spaces = 0, r.budget = 0;
		run_random(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fill_sets_accessed_and_translates),
		cmocka_unit_test(dirty_is_set_by_the_first_write_only),
		cmocka_unit_test(rights_are_combined_over_every_level),
		cmocka_unit_test(cr0_wp_clear_lets_supervisor_writes_through),
		cmocka_unit_test(cr0_wp_clear_with_smap_is_emulated),
		cmocka_unit_test(smep_smap_and_implicit_accesses),
		cmocka_unit_test(reserved_bits_fault_with_rsvd),
		cmocka_unit_test(page_table_writes_trap_and_zap),
		cmocka_unit_test(a_page_written_often_but_not_walked_is_unprotected),
		cmocka_unit_test(cr3_switches_find_cached_shadows),
		cmocka_unit_test(set_mode_gives_the_real_registers_and_flushes),
		cmocka_unit_test(global_leaves_keep_g),
		cmocka_unit_test(large_pages_shadowed_large_where_the_backing_allows),
		cmocka_unit_test(large_page_over_a_page_table_is_split_around_it),
		cmocka_unit_test(paging_off_maps_ram_and_nothing_else),
		cmocka_unit_test(pae_walks_use_the_loaded_pdptes),
		cmocka_unit_test(thirty_two_bit_tables_are_shadowed_in_quarters_and_halves),
		cmocka_unit_test(reclaim_stays_under_the_limit),
		cmocka_unit_test(invlpg_and_flushes),
		cmocka_unit_test(invlpg_of_an_alias_keeps_the_other_address_right),
		cmocka_unit_test(a_spurious_fault_flushes_the_stale_entry),
		cmocka_unit_test(init_checks_the_limit_and_allocation_failures_are_survived),
		cmocka_unit_test(audit_catches_planted_bugs),
		cmocka_unit_test(random_4level_guests_match_the_walker),
		cmocka_unit_test(random_pae_guests_match_the_walker),
		cmocka_unit_test(random_32bit_guests_match_the_walker),
		cmocka_unit_test(random_paging_off_accesses_reach_ram_only),
		cmocka_unit_test(random_pcid_spaces_switched_without_flush_match_the_walker),
		cmocka_unit_test(random_runs_under_tight_page_limits_reclaim_and_stay_right),
		cmocka_unit_test(random_runs_without_large_host_pages_match_the_walker),
		cmocka_unit_test(random_switches_among_all_paging_modes_match_the_walker),
		cmocka_unit_test(random_edits_and_invlpgs_of_hot_addresses_leave_no_stale_tlb),
		cmocka_unit_test(more_random_seeds_with_shadow_soak),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
