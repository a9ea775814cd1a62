/* shadow.c: the shadow MMU's pages: headers, lists, hashes, write protection, zapping and reclaim. */
#include "lib/string.h"
#include "vmm/mmu/shadow_internal.h"

#define HASH_MULT 0x9e3779b97f4a7c15ull

unsigned shadow_default_pages(uint64_t ram)
{
	uint64_t pages = ram / SIZE_4K / 64;
	if (pages < 256)
		return 256;
	return pages > SHADOW_MAX_PAGES ? SHADOW_MAX_PAGES : (unsigned)pages;
}

/* ---- bookkeeping pages ---- */

static struct shadow_meta_layout layout(const struct shadow *s)
{
	unsigned hdr = (s->cfg.max_pages + 1 + SP_PER_PAGE - 1) / SP_PER_PAGE;
	return (struct shadow_meta_layout){ hdr, hdr, hdr + 1, hdr + 2, s->rmap_buckets / RMAP_PER_PAGE };
}

/* Reverse-map buckets: about one per four shadow pages' worth of leaves, at least 2048. */
static uint32_t rmap_buckets_for(unsigned max_pages)
{
	uint32_t b = 2048;
	while (b < max_pages * 4u)
		b <<= 1;
	return b;
}

struct sp *sp_at(const struct shadow *s, uint32_t idx)
{
	return (struct sp *)s->meta[idx / SP_PER_PAGE] + idx % SP_PER_PAGE;
}

uint32_t sp_index(const struct shadow *s, const struct sp *sp)
{
	(void)s;
	return sp->idx;
}

uint64_t *sp_table(const struct shadow *s, const struct sp *sp)
{
	return s->env.page_ptr(s->env.ctx, sp->ma);
}

struct sp_links *sp_links(const struct shadow *s, const struct sp *sp)
{
	return s->env.page_ptr(s->env.ctx, sp->links_ma);
}

static uint32_t *gfn_buckets(const struct shadow *s)
{
	return s->meta[layout(s).gfn_page];
}

static uint32_t *ma_buckets(const struct shadow *s)
{
	return s->meta[layout(s).ma_page];
}

static unsigned hash_gfn(uint64_t gfn)
{
	return (unsigned)((gfn * HASH_MULT) >> 54) & (GFN_BUCKETS - 1);
}

static unsigned hash_ma(uint64_t ma)
{
	return (unsigned)(((ma >> 12) * HASH_MULT) >> 54) & (MA_BUCKETS - 1);
}

static unsigned hash_rmap(const struct shadow *s, uint64_t rgfn, unsigned level)
{
	return (unsigned)(((rgfn ^ ((uint64_t)level << 58)) * HASH_MULT) >> 32) & (s->rmap_buckets - 1);
}

uint32_t sp_in_use(const struct shadow *s)
{
	return s->cfg.max_pages - s->nfree;
}

/* ---- lists: circular, doubly linked through the companion pages ---- */

static uint32_t *link(const struct shadow *s, uint32_t n, bool next)
{
	if (n & NODE_RMAP) {
		uint32_t b = n & ~NODE_RMAP;
		uint32_t *page = s->meta[layout(s).rmap_page + b / RMAP_PER_PAGE];
		return &page[(b % RMAP_PER_PAGE) * 2 + (next ? 0 : 1)];
	}
	if (n & NODE_SP) {
		struct sp *sp = sp_at(s, n & ~NODE_SP);
		return next ? &sp->par_next : &sp->par_prev;
	}
	struct sp_links *l = sp_links(s, sp_at(s, node_idx(n)));
	return next ? &l->next[node_entry(n)] : &l->prev[node_entry(n)];
}

static void list_init(struct shadow *s, uint32_t sentinel)
{
	*link(s, sentinel, true) = sentinel;
	*link(s, sentinel, false) = sentinel;
}

static void list_add(struct shadow *s, uint32_t sentinel, uint32_t n)
{
	uint32_t first = *link(s, sentinel, true);
	*link(s, n, true) = first;
	*link(s, n, false) = sentinel;
	*link(s, first, false) = n;
	*link(s, sentinel, true) = n;
}

static void list_del(struct shadow *s, uint32_t n)
{
	uint32_t prev = *link(s, n, false), next = *link(s, n, true);
	*link(s, prev, true) = next;
	*link(s, next, false) = prev;
	*link(s, n, true) = 0;
	*link(s, n, false) = 0;
}

uint32_t node_next_of(const struct shadow *s, uint32_t n)
{
	return *link(s, n, true);
}

/*
 * The reverse-map bucket of a writable leaf of sp mapping rgfn: keyed by
 * the first frame of the leaf's page and the leaf's level.
 */
static uint32_t rmap_bucket(const struct shadow *s, uint64_t rgfn, unsigned level)
{
	uint64_t frames = 1ull << (9 * (level - 1));
	return NODE_RMAP | hash_rmap(s, rgfn & ~(frames - 1), level);
}

static uint32_t rmap_sentinel(const struct shadow *s, uint64_t rgfn, const struct sp *sp)
{
	return rmap_bucket(s, rgfn, role_level(sp->role));
}

/* Whether entry i of sp is on the reverse-map list for rgfn. */
bool rmap_contains(const struct shadow *s, const struct sp *sp, unsigned i, uint64_t rgfn)
{
	uint32_t sent = rmap_sentinel(s, rgfn, sp), want = node_of(sp_index(s, sp), i);
	for (uint32_t n = *link(s, sent, true); n != sent; n = *link(s, n, true))
		if (n == want)
			return true;
	return false;
}

/* ---- flushes ---- */

void flush_need(struct shadow *s, enum shadow_flush f)
{
	enum shadow_flush p = s->pending;
	if (p == f || f == SHADOW_FLUSH_NONE)
		return;
	if (p == SHADOW_FLUSH_NONE)
		s->pending = f;
	else if ((p == SHADOW_FLUSH_LA && f == SHADOW_FLUSH_NONGLOBAL) ||
		 (p == SHADOW_FLUSH_NONGLOBAL && f == SHADOW_FLUSH_LA))
		s->pending = SHADOW_FLUSH_ALL;
	else if (f > p)
		s->pending = f;
}

enum shadow_flush flush_take(struct shadow *s)
{
	enum shadow_flush f = s->pending;
	s->pending = SHADOW_FLUSH_NONE;
	if (f == SHADOW_FLUSH_LA)
		s->stats.flush_la++;
	else if (f == SHADOW_FLUSH_NONGLOBAL)
		s->stats.flush_nonglobal++;
	else if (f == SHADOW_FLUSH_ALL)
		s->stats.flush_all++;
	return f;
}

/* ---- roles and entries ---- */

uint64_t role_entry_size(uint32_t role)
{
	return 1ull << (12 + 9 * (role_level(role) - 1));
}

unsigned guest_entry_of(const struct sp *sp, unsigned i, uint64_t *gpa)
{
	if (!role_protects(sp->role))
		return 0;
	uint64_t table = sp->gfn << 12;
	if (role_mode(sp->role) != SM_32BIT) {
		*gpa = table + 8ull * i;
		return 8;
	}
	/* 32-bit guests: a shadow PD is a quarter of a guest PD (two entries per 4 MiB PDE), a PT half a guest PT. */
	if (role_level(sp->role) == 2)
		*gpa = table + 4ull * (256 * role_quad(sp->role) + i / 2);
	else
		*gpa = table + 4ull * (512 * role_quad(sp->role) + i);
	return 4;
}

bool entry_is_leaf(const struct sp *sp, uint64_t e)
{
	if (sp->role & ROLE_ROOT)
		return false;
	return role_level(sp->role) == 1 || (e & PTE_PS);
}

static uint64_t leaf_frame(const struct sp *sp, uint64_t e)
{
	return e & PTE_ADDR_MASK & ~(role_entry_size(sp->role) - 1);
}

/*
 * Entry updates.  entry_zap asks for no flush: its callers do, for what
 * they know (guest memory changed, rights shrink, a table page goes).
 */
void entry_zap(struct shadow *s, struct sp *sp, unsigned i)
{
	uint64_t *t = sp_table(s, sp);
	if (!(t[i] & PTE_P))
		return;
	uint32_t n = node_of(sp_index(s, sp), i);
	if (*link(s, n, true))
		list_del(s, n);
	t[i] = 0;
}

bool entry_link(struct shadow *s, struct sp *sp, unsigned i, struct sp *child, uint64_t bits)
{
	uint64_t *t = sp_table(s, sp);
	if (t[i] == (child->ma | bits))
		return false;
	if (t[i] & PTE_P) {
		entry_zap(s, sp, i);
		flush_need(s, SHADOW_FLUSH_ALL);
	}
	t[i] = child->ma | bits;
	list_add(s, NODE_SP | sp_index(s, child), node_of(sp_index(s, sp), i));
	return true;
}

/* Whether the leaf new grants all that the leaf old did, to the same page with the same attributes. */
static bool leaf_upgrade(uint64_t old, uint64_t new)
{
	const uint64_t same = PTE_ADDR_MASK | PTE_PS | PTE_G | PTE_PWT | PTE_PCD | PTE_PAT_4K | PTE_U;
	if ((old ^ new) & same)
		return false;
	return !((old & PTE_W) && !(new & PTE_W)) && !((new & PTE_NX) && !(old & PTE_NX));
}

bool entry_set_leaf(struct shadow *s, struct sp *sp, unsigned i, uint64_t val, uint64_t rgfn)
{
	uint64_t *t = sp_table(s, sp);
	uint64_t old = t[i];
	if (old == val)
		return false;
	if (old & PTE_P) {
		if (!entry_is_leaf(sp, old) || !leaf_upgrade(old, val))
			flush_need(s, SHADOW_FLUSH_ALL);
		entry_zap(s, sp, i);
	}
	t[i] = val;
	if (val & PTE_W)
		list_add(s, rmap_sentinel(s, rgfn, sp), node_of(sp_index(s, sp), i));
	return true;
}

/* ---- hashes ---- */

uint64_t *sp_root_key(const struct shadow *s, const struct sp *sp)
{
	return (uint64_t *)&sp_links(s, sp)->next[ROOT_KEY_SLOT];
}

static bool key_matches(const struct shadow *s, const struct sp *sp, const uint64_t *key)
{
	if (!(sp->role & ROLE_ROOT) || role_mode(sp->role) != SM_PAE)
		return true;
	return memcmp(sp_root_key(s, sp), key, 4 * sizeof(uint64_t)) == 0;
}

struct sp *sp_next_of_gfn(const struct shadow *s, uint64_t gfn, const struct sp *prev)
{
	uint32_t idx = prev ? prev->gfn_next : gfn_buckets(s)[hash_gfn(gfn)];
	for (; idx; idx = sp_at(s, idx)->gfn_next) {
		struct sp *sp = sp_at(s, idx);
		if (sp->gfn == gfn)
			return sp;
	}
	return NULL;
}

struct sp *sp_find(const struct shadow *s, uint64_t gfn, uint32_t role, const uint64_t *key)
{
	for (struct sp *sp = sp_next_of_gfn(s, gfn, NULL); sp; sp = sp_next_of_gfn(s, gfn, sp))
		if (sp->role == role && key_matches(s, sp, key))
			return sp;
	return NULL;
}

struct sp *sp_by_ma(const struct shadow *s, uint64_t ma)
{
	for (uint32_t idx = ma_buckets(s)[hash_ma(ma)]; idx; idx = sp_at(s, idx)->ma_next)
		if (sp_at(s, idx)->ma == ma)
			return sp_at(s, idx);
	return NULL;
}

bool gfn_protected(const struct shadow *s, uint64_t gfn)
{
	for (struct sp *sp = sp_next_of_gfn(s, gfn, NULL); sp; sp = sp_next_of_gfn(s, gfn, sp))
		if (role_protects(sp->role))
			return true;
	return false;
}

bool range_protected(const struct shadow *s, uint64_t gfn, uint64_t frames)
{
	if (frames <= 64) {
		for (uint64_t f = 0; f < frames; f++)
			if (gfn_protected(s, gfn + f))
				return true;
		return false;
	}
	for (uint32_t idx = 1; idx <= s->cfg.max_pages; idx++) {
		const struct sp *sp = sp_at(s, idx);
		if (sp->used && role_protects(sp->role) && sp->gfn - gfn < frames)
			return true;
	}
	return false;
}

static void unhash(struct shadow *s, struct sp *sp, uint32_t idx)
{
	uint32_t *p = &gfn_buckets(s)[hash_gfn(sp->gfn)];
	while (*p != idx)
		p = &sp_at(s, *p)->gfn_next;
	*p = sp->gfn_next;
	p = &ma_buckets(s)[hash_ma(sp->ma)];
	while (*p != idx)
		p = &sp_at(s, *p)->ma_next;
	*p = sp->ma_next;
}

/* ---- LRU ---- */

static void lru_del(struct shadow *s, struct sp *sp)
{
	sp_at(s, sp->lru_prev)->lru_next = sp->lru_next;
	sp_at(s, sp->lru_next)->lru_prev = sp->lru_prev;
}

static void lru_add_head(struct shadow *s, struct sp *sp, uint32_t idx)
{
	struct sp *head = sp_at(s, 0);
	sp->lru_prev = 0;
	sp->lru_next = head->lru_next;
	sp_at(s, head->lru_next)->lru_prev = idx;
	head->lru_next = idx;
}

void sp_touch(struct shadow *s, struct sp *sp)
{
	sp->op = s->op;
	if (sp_at(s, 0)->lru_next == sp_index(s, sp))
		return;
	lru_del(s, sp);
	lru_add_head(s, sp, sp_index(s, sp));
}

/* ---- write protection ---- */

/*
 * gfn has just become a shadowed table: no shadow leaf may let the CPU write
 * it any more.  4 KiB leaves lose W; writable large leaves over it are
 * zapped, so the next fill splits them around it.
 */
static void write_protect(struct shadow *s, uint64_t gfn)
{
	uint64_t ma, contiguous;
	if (s->env.translate(s->env.ctx, gfn << 12, &ma, &contiguous) != ERR_OK)
		return;
	for (unsigned level = 1; level <= 3; level++) {
		uint64_t frames = 1ull << (9 * (level - 1));
		uint32_t sent = rmap_bucket(s, gfn, level);
		uint32_t n = *link(s, sent, true);
		while (n != sent) {
			uint32_t next = *link(s, n, true);
			struct sp *sp = sp_at(s, node_idx(n));
			unsigned i = node_entry(n);
			uint64_t e = sp_table(s, sp)[i];
			uint64_t frame = leaf_frame(sp, e);
			if (role_level(sp->role) == level && ma - frame < (frames << 12)) {
				if (level == 1)
					entry_set_leaf(s, sp, i, e & ~PTE_W, gfn);
				else
					entry_zap(s, sp, i);
				flush_need(s, SHADOW_FLUSH_ALL);
				s->stats.write_protects++;
			}
			n = next;
		}
	}
}

/* ---- allocation, zapping, reclaim ---- */

static void free_header(struct shadow *s, struct sp *sp, uint32_t idx)
{
	*sp = (struct sp){ .lru_next = s->free_head };
	s->free_head = idx;
	s->nfree++;
}

/* Clears every entry of sp, unlinking each from its list; sp stays. */
void sp_clear(struct shadow *s, struct sp *sp)
{
	uint64_t *t = sp_table(s, sp);
	for (unsigned i = 0; i < ENTRIES; i++)
		if (t[i] & PTE_P)
			entry_zap(s, sp, i);
}

void sp_zap(struct shadow *s, struct sp *sp)
{
	uint32_t idx = sp_index(s, sp);
	uint32_t sent = NODE_SP | idx;
	sp_clear(s, sp);
	while (sp->par_next != sent) {
		uint32_t n = sp->par_next;
		struct sp *parent = sp_at(s, node_idx(n));
		entry_zap(s, parent, node_entry(n));
	}
	unhash(s, sp, idx);
	lru_del(s, sp);
	s->env.free_page(s->env.ctx, sp->ma);
	s->env.free_page(s->env.ctx, sp->links_ma);
	free_header(s, sp, idx);
	s->stats.pages--;
	/* The page may still be in paging-structure caches, of other PCIDs too. */
	flush_need(s, SHADOW_FLUSH_ALL);
}

/* Zaps the least recently used page not pinned and not used by the operation in progress. */
static bool reclaim_one(struct shadow *s)
{
	for (uint32_t idx = sp_at(s, 0)->lru_prev; idx; idx = sp_at(s, idx)->lru_prev) {
		struct sp *sp = sp_at(s, idx);
		if (!sp->pinned && sp->op != s->op) {
			sp_zap(s, sp);
			s->stats.reclaimed++;
			return true;
		}
	}
	return false;
}

bool sp_reserve(struct shadow *s, unsigned n)
{
	while (s->nfree < n)
		if (!reclaim_one(s))
			return false;
	return true;
}

static err_t alloc_pages(struct shadow *s, bool below_4g, uint64_t *table, uint64_t *links)
{
	for (unsigned tries = 0;; tries++) {
		err_t err = s->env.alloc_page(s->env.ctx, below_4g, table);
		if (err == ERR_OK) {
			err = s->env.alloc_page(s->env.ctx, false, links);
			if (err == ERR_OK)
				return ERR_OK;
			s->env.free_page(s->env.ctx, *table);
		}
		/* The machine is short of pages: give back some of ours. */
		if (tries == 4 || !reclaim_one(s))
			return err;
	}
}

err_t sp_get(struct shadow *s, uint64_t gfn, uint32_t role, const uint64_t *key, struct sp **out,
	     bool *created)
{
	struct sp *sp = sp_find(s, gfn, role, key);
	*created = false;
	if (sp) {
		sp_touch(s, sp);
		*out = sp;
		return ERR_OK;
	}
	if (!s->nfree && !reclaim_one(s))
		return ERR_NOMEM;
	uint64_t table, links;
	bool pae_root = (role & ROLE_ROOT) != 0;
	err_t err = alloc_pages(s, pae_root, &table, &links);
	if (err != ERR_OK)
		return err;
	if (!s->nfree) {
		s->env.free_page(s->env.ctx, table);
		s->env.free_page(s->env.ctx, links);
		return ERR_NOMEM;
	}
	bool was_protected = role_protects(role) && gfn_protected(s, gfn);
	uint32_t idx = s->free_head;
	sp = sp_at(s, idx);
	s->free_head = sp->lru_next;
	s->nfree--;
	*sp = (struct sp){ .ma = table, .links_ma = links, .gfn = gfn, .role = role, .idx = (uint16_t)idx,
			   .used = 1, .op = s->op };
	uint32_t *gb = &gfn_buckets(s)[hash_gfn(gfn)];
	sp->gfn_next = *gb;
	*gb = idx;
	uint32_t *mb = &ma_buckets(s)[hash_ma(table)];
	sp->ma_next = *mb;
	*mb = idx;
	lru_add_head(s, sp, idx);
	list_init(s, NODE_SP | idx);
	if (key)
		memcpy(sp_root_key(s, sp), key, 4 * sizeof(uint64_t));
	if (++s->stats.pages > s->stats.peak)
		s->stats.peak = s->stats.pages;
	if (role_protects(role) && !was_protected)
		write_protect(s, gfn);
	*created = true;
	*out = sp;
	return ERR_OK;
}

/* ---- life cycle ---- */

err_t shadow_init(struct shadow *s, const struct shadow_env *env, const struct shadow_config *cfg)
{
	*s = (struct shadow){ .env = *env, .cfg = *cfg };
	if (cfg->max_pages < SHADOW_MIN_PAGES || cfg->max_pages > SHADOW_MAX_PAGES)
		return ERR_INVAL;
	s->rmap_buckets = rmap_buckets_for(cfg->max_pages);
	struct shadow_meta_layout l = layout(s);
	unsigned total = l.rmap_page + l.rmap_pages;
	if (total > SHADOW_META_PAGES)
		return ERR_INVAL;
	for (unsigned p = 0; p < total; p++) {
		err_t err = env->alloc_page(env->ctx, false, &s->meta_ma[p]);
		if (err != ERR_OK) {
			shadow_destroy(s);
			return err;
		}
		s->meta[p] = env->page_ptr(env->ctx, s->meta_ma[p]);
		s->meta_pages = p + 1;
		memset(s->meta[p], 0, SIZE_4K);
	}
	for (uint32_t idx = s->cfg.max_pages; idx >= 1; idx--)
		free_header(s, sp_at(s, idx), idx);
	for (uint32_t b = 0; b < s->rmap_buckets; b++)
		list_init(s, NODE_RMAP | b);
	return ERR_OK;
}

void shadow_destroy(struct shadow *s)
{
	if (s->meta_pages > layout(s).hdr_pages) {
		for (uint32_t idx = 1; idx <= s->cfg.max_pages; idx++) {
			struct sp *sp = sp_at(s, idx);
			if (sp->used) {
				s->env.free_page(s->env.ctx, sp->ma);
				s->env.free_page(s->env.ctx, sp->links_ma);
			}
		}
	}
	for (unsigned p = 0; p < s->meta_pages; p++)
		s->env.free_page(s->env.ctx, s->meta_ma[p]);
	s->meta_pages = 0;
	s->root = 0;
	s->stats.pages = 0;
	s->mode.valid = false;
}
