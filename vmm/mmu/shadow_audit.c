/* shadow_audit.c: checks every shadow entry against the guest's tables and RAM map, and the bookkeeping. */
#include <stdarg.h>
#include "lib/printf.h"
#include "vmm/mmu/shadow_internal.h"

struct audit {
	struct shadow *s;
	char *msg;
	size_t len;
	bool bad;
};

static bool fail(struct audit *a, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Records the first disagreement; false, so that checks can return it. */
static bool fail(struct audit *a, const char *fmt, ...)
{
	if (!a->bad && a->len) {
		va_list ap;
		va_start(ap, fmt);
		kvsnprintf(a->msg, a->len, fmt, ap);
		va_end(ap);
	}
	a->bad = true;
	return false;
}

#define ULL(x) ((unsigned long long)(x))

/* ---- one guest entry, decoded by the walker itself ---- */

/*
 * What guest entry e means at level under role.  Rather than repeat the
 * walker's rules (reserved bits, PSE, PSE-36, page sizes), the walker walks
 * a made-up path whose tables above level are permissive and whose entry at
 * level is e: it faults with RSVD at level when e is invalid, returns the
 * page when e is a leaf, and reads e's child table when e is a table.
 */
enum decoded_kind { DEC_ABSENT, DEC_RESERVED, DEC_TABLE, DEC_LEAF };

struct decoded {
	enum decoded_kind kind;
	uint64_t addr;  /* TABLE: the child table; LEAF: the guest-physical address of offset */
	uint64_t size;  /* LEAF: the page size */
};

#define SYNTH_TABLE 0x1000ull

struct synth {
	unsigned reads, target;
	uint64_t entry, child;
};

static err_t synth_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct synth *y = ctx;
	unsigned n = y->reads++;
	(void)size;
	if (n < y->target) {
		*val = SYNTH_TABLE | PTE_P | PTE_W | PTE_U | PTE_A;
	} else if (n == y->target) {
		*val = y->entry;
	} else {
		y->child = gpa;
		*val = 0;
	}
	return ERR_OK;
}

static err_t synth_update(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val, uint64_t new_val,
			  bool *swapped)
{
	(void)ctx, (void)gpa, (void)size, (void)old_val, (void)new_val;
	*swapped = false;
	return ERR_INVAL;
}

static void decode(const struct shadow *s, uint32_t role, unsigned level, uint64_t e, uint64_t offset,
		   struct decoded *d)
{
	struct ptwalk_mode m;
	role_walk_mode(s, role, &m);
	m.cr3 = SYNTH_TABLE;
	for (unsigned j = 0; j < 4; j++)
		m.pdpte[j] = SYNTH_TABLE | PTE_P;
	unsigned top = role_mode(role) == SM_4LEVEL ? 4 : 2; /* PAE PDPTEs are not read */
	struct synth y = { .target = top - level, .entry = e };
	struct ptwalk_ops ops = { &y, synth_read, synth_update };
	struct ptwalk_access acc = { .kind = PTWALK_READ, .ac = true, .no_ad = true };
	struct ptwalk_result r;
	enum ptwalk_status st = ptwalk(&m, &ops, offset, &acc, &r);
	*d = (struct decoded){ DEC_ABSENT, 0, 0 };
	if (st == PTWALK_OK) {
		*d = (struct decoded){ DEC_LEAF, r.gpa, r.page_size };
	} else if (st == PTWALK_FAULT && r.last_level == level) {
		d->kind = (r.error_code & PF_ERR_RSVD) ? DEC_RESERVED : DEC_ABSENT;
	} else if (st == PTWALK_FAULT && r.last_level + 1 == level) {
		d->kind = DEC_TABLE;
		d->addr = y.child & ~(SIZE_4K - 1);
	}
}

/* ---- one shadow page ---- */

/* The guest entry behind entry i of sp (a page built from a guest table), decoded; false after a failure. */
static bool guest_entry(struct audit *a, const struct sp *sp, unsigned i, uint64_t *ge, struct decoded *d)
{
	struct shadow *s = a->s;
	uint64_t gpa;
	unsigned size = guest_entry_of(sp, i, &gpa);
	unsigned level = role_level(sp->role);
	if (s->env.read(s->env.ctx, gpa, size, ge) != ERR_OK)
		return fail(a, "page %#llx (gfn %#llx level %u) entry %u: its guest entry at %#llx is not RAM",
			    ULL(sp->ma), ULL(sp->gfn), level, i, ULL(gpa));
	/* A 32-bit PDE maps 4 MiB: odd shadow PD entries are its upper half. */
	uint64_t offset = role_mode(sp->role) == SM_32BIT && level == 2 ? (i & 1) * SIZE_2M : 0;
	decode(s, sp->role, level, *ge, offset, d);
	if (d->kind == DEC_ABSENT || d->kind == DEC_RESERVED)
		return fail(a, "page %#llx (gfn %#llx level %u) entry %u is present, guest entry %#llx at %#llx is %s",
			    ULL(sp->ma), ULL(sp->gfn), level, i, ULL(*ge), ULL(gpa),
			    d->kind == DEC_ABSENT ? "not present" : "reserved");
	if (!(*ge & PTE_A))
		return fail(a, "page %#llx (gfn %#llx level %u) entry %u is present, guest entry %#llx at %#llx is not accessed",
			    ULL(sp->ma), ULL(sp->gfn), level, i, ULL(*ge), ULL(gpa));
	return true;
}

static bool on_list(const struct shadow *s, uint32_t sentinel, uint32_t node)
{
	for (uint32_t n = node_next_of(s, sentinel); n != sentinel; n = node_next_of(s, n))
		if (n == node)
			return true;
	return false;
}

/* A non-leaf entry: points to the page its guest entry (or its role) names, and is on that page's parent list. */
static bool check_link(struct audit *a, const struct sp *sp, unsigned i, uint64_t e)
{
	struct shadow *s = a->s;
	unsigned level = role_level(sp->role);
	struct sp *child = sp_by_ma(s, e & PTE_ADDR_MASK);
	if (!child)
		return fail(a, "page %#llx level %u entry %u: %#llx points to no shadow page", ULL(sp->ma), level,
			    i, ULL(e));
	uint64_t bits = (sp->role & ROLE_ROOT) ? PDPTE_BITS : SHADOW_TABLE_BITS;
	/* An AMD-style walk (QEMU's) sets the accessed flag in a PAE root's entries too. */
	if ((sp->role & ROLE_ROOT) && (e & PTE_A))
		e &= ~PTE_A;
	if (e != (child->ma | bits))
		return fail(a, "page %#llx level %u entry %u: %#llx, want %#llx", ULL(sp->ma), level, i, ULL(e),
			    ULL(child->ma | bits));
	if (!on_list(s, NODE_SP | sp_index(s, child), node_of(sp_index(s, sp), i)))
		return fail(a, "page %#llx entry %u: not on the parent list of %#llx", ULL(sp->ma), i,
			    ULL(child->ma));

	uint64_t gfn;
	uint32_t role;
	if (sp->role & ROLE_ROOT) {
		if (!root_child_of(s, sp, i, &gfn, &role))
			return fail(a, "root %#llx PDPTE %u is present, the guest's is not", ULL(sp->ma), i);
	} else if (sp->role & ROLE_DIRECT) {
		gfn = sp->gfn + i * (role_entry_size(sp->role) >> 12);
		role = (sp->role & ~ROLE_LEVEL) | (level - 1);
	} else {
		uint64_t ge;
		struct decoded d;
		if (!guest_entry(a, sp, i, &ge, &d))
			return false;
		uint32_t mode = sp->role & ROLE_MODE_BITS;
		uint32_t acc = shadow_entry_rights(mode, sp->role & ROLE_ACC_MASK, ge);
		if (d.kind == DEC_TABLE) {
			uint32_t quad = role_mode(sp->role) == SM_32BIT && level == 2 ? i & 1 : 0;
			gfn = d.addr >> 12;
			role = mode | (level - 1) | quad << ROLE_QUAD_SHIFT | acc;
		} else {
			gfn = (d.addr & ~(role_entry_size(sp->role) - 1)) >> 12;
			role = mode | ROLE_DIRECT | (level - 1) | acc | shadow_leaf_attrs(ge, level);
		}
	}
	/*
	 * A split page built while the guest leaf was clean stays read-only
	 * if something else (an emulated write's own walk) dirtied it since.
	 */
	if (child->gfn != gfn || (child->role != role && child->role != (role & ~(uint32_t)ROLE_DIRTY)))
		return fail(a, "page %#llx (gfn %#llx level %u) entry %u: child gfn %#llx role %#x, want gfn %#llx role %#x",
			    ULL(sp->ma), ULL(sp->gfn), level, i, ULL(child->gfn), child->role, ULL(gfn), role);
	return true;
}

/* A leaf: the machine page of the guest page its guest entry (or role) names, with no more rights. */
static bool check_leaf(struct audit *a, const struct sp *sp, unsigned i, uint64_t e)
{
	struct shadow *s = a->s;
	unsigned level = role_level(sp->role);
	uint64_t size = role_entry_size(sp->role), gpa;
	uint32_t acc, attrs;
	if (sp->role & ROLE_DIRECT) {
		gpa = (sp->gfn << 12) + i * size;
		acc = sp->role & ROLE_ACC_MASK;
		attrs = sp->role & ROLE_ATTR_MASK;
	} else {
		uint64_t ge;
		struct decoded d;
		if (!guest_entry(a, sp, i, &ge, &d))
			return false;
		if (d.kind != DEC_LEAF || d.size < size)
			return fail(a, "page %#llx (gfn %#llx level %u) entry %u: a leaf %#llx, the guest entry %#llx is a table",
				    ULL(sp->ma), ULL(sp->gfn), level, i, ULL(e), ULL(ge));
		gpa = d.addr;
		acc = shadow_entry_rights(sp->role & ROLE_MODE_BITS, sp->role & ROLE_ACC_MASK, ge);
		attrs = shadow_leaf_attrs(ge, level);
	}
	uint64_t ma, contiguous;
	if (s->env.translate(s->env.ctx, gpa, &ma, &contiguous) != ERR_OK)
		return fail(a, "page %#llx level %u entry %u: %#llx maps guest-physical %#llx, which is not RAM",
			    ULL(sp->ma), level, i, ULL(e), ULL(gpa));
	if (size > SIZE_4K && (contiguous < size || (ma & (size - 1))))
		return fail(a, "page %#llx level %u entry %u: large leaf %#llx over guest-physical %#llx, whose machine pages are not one aligned run",
			    ULL(sp->ma), level, i, ULL(e), ULL(gpa));
	bool prot = size == SIZE_4K ? gfn_protected(s, gpa >> 12) : range_protected(s, gpa >> 12, size >> 12);
	uint64_t normal = shadow_leaf(sp->role, acc, attrs, ma, level, prot, false);
	bool ok = e == normal || e == (normal & ~PTE_W);
	if (!ok && shadow_wp_view_allowed(sp->role, acc)) {
		uint64_t view = shadow_leaf(sp->role, acc, attrs, ma, level, prot, true);
		ok = e == view || e == (view & ~PTE_W);
	}
	if (!ok)
		return fail(a, "page %#llx (gfn %#llx level %u) entry %u: %#llx for guest-physical %#llx, want %#llx%s",
			    ULL(sp->ma), ULL(sp->gfn), level, i, ULL(e), ULL(gpa), ULL(normal),
			    prot ? " (a shadowed table: read-only)" : "");
	bool listed = sp_links(s, sp)->next[i] != 0;
	if ((e & PTE_W) && !rmap_contains(s, sp, i, gpa >> 12))
		return fail(a, "page %#llx entry %u: writable leaf for %#llx missing from the reverse map",
			    ULL(sp->ma), i, ULL(gpa));
	if (!(e & PTE_W) && listed)
		return fail(a, "page %#llx entry %u: read-only leaf on a list", ULL(sp->ma), i);
	return true;
}

static bool check_page(struct audit *a, const struct sp *sp)
{
	struct shadow *s = a->s;
	const uint64_t *t = sp_table(s, sp);
	const struct sp_links *links = sp_links(s, sp);
	unsigned n = (sp->role & ROLE_ROOT) ? 4 : ENTRIES;
	for (unsigned i = 0; i < ENTRIES; i++) {
		uint64_t e = t[i];
		if (i >= n) {
			if (e)
				return fail(a, "root %#llx entry %u: %#llx beyond the four PDPTEs", ULL(sp->ma), i, ULL(e));
			continue;
		}
		if (!(e & PTE_P)) {
			if (e)
				return fail(a, "page %#llx entry %u: not present but %#llx", ULL(sp->ma), i, ULL(e));
			if (links->next[i])
				return fail(a, "page %#llx entry %u: not present but on a list", ULL(sp->ma), i);
			continue;
		}
		if (!(entry_is_leaf(sp, e) ? check_leaf(a, sp, i, e) : check_link(a, sp, i, e)))
			return false;
	}
	/* Every entry on its parent list points here. */
	uint32_t sent = NODE_SP | sp_index(s, sp);
	for (uint32_t nd = node_next_of(s, sent); nd != sent; nd = node_next_of(s, nd)) {
		const struct sp *parent = sp_at(s, node_idx(nd));
		if (!parent->used || (sp_table(s, parent)[node_entry(nd)] & PTE_ADDR_MASK) != sp->ma)
			return fail(a, "page %#llx: parent list names %#llx entry %u, which points elsewhere",
				    ULL(sp->ma), ULL(parent->ma), node_entry(nd));
	}
	return true;
}

/* ---- each root, by linear address: the walker's verdict on every leaf ---- */

/* A leaf's PAT index (PAT, PCD, PWT: SDM 11.12.3); its PAT bit is bit 7 in a PTE, bit 12 in a large leaf. */
static uint64_t memory_type(uint64_t leaf, unsigned level)
{
	uint64_t pat = level == 1 ? PTE_PAT_4K : PTE_PAT_LARGE;
	return ((leaf & pat) ? 4 : 0) | ((leaf & PTE_PCD) ? 2 : 0) | ((leaf & PTE_PWT) ? 1 : 0);
}

struct path {
	struct ptwalk_mode m;
	bool off;
};

static bool check_path(struct audit *a, const struct path *p, uint64_t la, uint64_t e, uint64_t size,
		       bool user, bool write, bool exec)
{
	struct shadow *s = a->s;
	uint64_t gpa = la, g_type = 0;
	bool g_user = true, g_write = true, g_exec = true, g_global = false;
	if (!p->off) {
		struct ptwalk_ops ops = { s->env.ctx, s->env.read, synth_update };
		struct ptwalk_access acc = { .kind = PTWALK_READ, .ac = true, .no_ad = true };
		struct ptwalk_result r;
		if (ptwalk(&p->m, &ops, la, &acc, &r) != PTWALK_OK)
			return fail(a, "la %#llx: shadow leaf %#llx, the guest's walk %s (error code %#x)", ULL(la),
				    ULL(e), r.status == PTWALK_NOT_RAM ? "leaves RAM" : "faults", r.error_code);
		for (unsigned level = r.top_level; level >= r.last_level; level--)
			if (!(p->m.pae && !p->m.lma && level == 3) && !(r.entry[level].val & PTE_A))
				return fail(a, "la %#llx: shadowed, guest entry %#llx at %#llx not accessed", ULL(la),
					    ULL(r.entry[level].val), ULL(r.entry[level].gpa));
		if (write && !(r.entry[r.last_level].val & PTE_D))
			return fail(a, "la %#llx: writable shadow %#llx, guest leaf %#llx not dirty", ULL(la), ULL(e),
				    ULL(r.entry[r.last_level].val));
		gpa = r.gpa;
		g_user = r.user;
		g_write = r.writable;
		g_exec = r.executable;
		uint64_t leaf = r.entry[r.last_level].val;
		g_global = (leaf & PTE_G) != 0;
		g_type = memory_type(leaf, r.last_level);
	}
	uint64_t ma, contiguous;
	if (s->env.translate(s->env.ctx, gpa, &ma, &contiguous) != ERR_OK || (e & PTE_ADDR_MASK & ~(size - 1)) != ma)
		return fail(a, "la %#llx: shadow leaf %#llx, guest-physical %#llx is machine %#llx", ULL(la), ULL(e),
			    ULL(gpa), ULL(ma));
	if (user && !g_user)
		return fail(a, "la %#llx: shadow leaf %#llx lets user mode in, the guest does not", ULL(la), ULL(e));
	if (write && !g_write && (p->m.wp || user))
		return fail(a, "la %#llx: shadow leaf %#llx is writable, the guest's page is not", ULL(la), ULL(e));
	if (exec && !g_exec)
		return fail(a, "la %#llx: shadow leaf %#llx is executable, the guest's page is not", ULL(la), ULL(e));
	if (((e & PTE_G) != 0) != g_global)
		return fail(a, "la %#llx: shadow leaf %#llx, G differs from the guest leaf", ULL(la), ULL(e));
	if (memory_type(e, size == SIZE_4K ? 1 : 2) != g_type)
		return fail(a, "la %#llx: shadow leaf %#llx, PAT/PCD/PWT differ from the guest leaf", ULL(la), ULL(e));
	return true;
}

/* Every leaf under sp (covering la up), with the rights of the entries above; depth at most 4. */
static bool check_subtree(struct audit *a, const struct path *p, const struct sp *sp, uint64_t la,
			  bool user, bool write, bool exec)
{
	struct shadow *s = a->s;
	const uint64_t *t = sp_table(s, sp);
	bool root = (sp->role & ROLE_ROOT) != 0;
	uint64_t size = root ? SIZE_1G : role_entry_size(sp->role);
	for (unsigned i = 0; i < (root ? 4u : ENTRIES); i++) {
		uint64_t e = t[i];
		if (!(e & PTE_P))
			continue;
		uint64_t at = la + i * size;
		if (role_level(sp->role) == 4 && (at & (1ull << 47)))
			at |= 0xffff000000000000ull; /* canonical */
		bool u = user, w = write, x = exec;
		if (!root) {
			u = u && (e & PTE_U);
			w = w && (e & PTE_W);
			x = x && !(e & PTE_NX);
		}
		bool ok;
		if (entry_is_leaf(sp, e)) {
			ok = check_path(a, p, at, e, size, u, w, x);
		} else {
			const struct sp *child = sp_by_ma(s, e & PTE_ADDR_MASK);
			ok = child && check_subtree(a, p, child, at, u, w, x);
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool check_root(struct audit *a, const struct sp *root)
{
	struct shadow *s = a->s;
	struct path p = { .off = role_mode(root->role) == SM_OFF };
	role_walk_mode(s, root->role, &p.m);
	switch (role_mode(root->role)) {
	case SM_4LEVEL:
	case SM_32BIT:
		p.m.cr3 = root->gfn << 12;
		break;
	case SM_PAE:
		p.m.cr3 = root->gfn << 5;
		for (unsigned j = 0; j < 4; j++)
			p.m.pdpte[j] = sp_root_key(s, root)[j];
		break;
	case SM_OFF:
		break;
	}
	return check_subtree(a, &p, root, 0, true, true, true);
}

/* ---- bookkeeping ---- */

static bool check_books(struct audit *a)
{
	struct shadow *s = a->s;
	uint32_t used = 0, lru = 0;
	for (uint32_t idx = 1; idx <= s->cfg.max_pages; idx++) {
		const struct sp *sp = sp_at(s, idx);
		if (!sp->used)
			continue;
		used++;
		const uint64_t *key = (sp->role & ROLE_ROOT) && role_mode(sp->role) == SM_PAE ?
				      sp_root_key(s, sp) : NULL;
		if (sp->idx != idx || sp_by_ma(s, sp->ma) != sp || sp_find(s, sp->gfn, sp->role, key) != sp)
			return fail(a, "page %#llx (gfn %#llx role %#x): not found by its keys", ULL(sp->ma),
				    ULL(sp->gfn), sp->role);
		bool want_pin = false;
		if (s->root) {
			const struct sp *root = sp_at(s, s->root);
			want_pin = sp == root;
			for (unsigned j = 0; j < 4 && (root->role & ROLE_ROOT); j++)
				if ((sp_table(s, root)[j] & PTE_P) && (sp_table(s, root)[j] & PTE_ADDR_MASK) == sp->ma)
					want_pin = true;
		}
		if (sp->pinned != want_pin)
			return fail(a, "page %#llx: pinned %u", ULL(sp->ma), sp->pinned);
	}
	for (uint32_t idx = sp_at(s, 0)->lru_next; idx && lru <= used; idx = sp_at(s, idx)->lru_next, lru++)
		if (!sp_at(s, idx)->used)
			return fail(a, "LRU list holds unused page %u", idx);
	if (used != s->stats.pages || used != sp_in_use(s) || lru != used)
		return fail(a, "%u pages in use, %llu counted, %u on the LRU list, %u headers taken", used,
			    ULL(s->stats.pages), lru, sp_in_use(s));
	if (s->root) {
		const struct sp *root = sp_at(s, s->root);
		if (!root->used || (root->role & ROLE_MODE_BITS) != s->role_mode)
			return fail(a, "the current root %#llx has role %#x, the mode %#x", ULL(root->ma), root->role,
				    s->role_mode);
	}
	return true;
}

bool shadow_audit(struct shadow *s, char *msg, size_t len)
{
	struct audit a = { s, msg, len, false };
	if (len)
		msg[0] = '\0';
	if (!s->meta_pages || !check_books(&a))
		return !a.bad;
	for (uint32_t idx = 1; idx <= s->cfg.max_pages; idx++) {
		const struct sp *sp = sp_at(s, idx);
		if (sp->used && !check_page(&a, sp))
			return false;
	}
	/* The walker's verdict on every leaf the CPU can reach now; the other roots' entries
	 * were checked one by one above, and are walked again when they are current. */
	for (uint32_t idx = 1; idx <= s->cfg.max_pages; idx++) {
		const struct sp *sp = sp_at(s, idx);
		bool is_root = (sp->role & ROLE_ROOT) || (role_mode(sp->role) == SM_4LEVEL && role_level(sp->role) == 4);
		if (sp->used && is_root && (!s->root || idx == s->root) && !check_root(&a, sp))
			return false;
	}
	return true;
}

/* The first present leaf under sp, depth first; NULL when there is none. */
static uint64_t *first_leaf(struct shadow *s, struct sp *sp)
{
	uint64_t *t = sp_table(s, sp);
	unsigned n = (sp->role & ROLE_ROOT) ? 4 : ENTRIES;
	for (unsigned i = 0; i < n; i++) {
		if (!(t[i] & PTE_P))
			continue;
		if (entry_is_leaf(sp, t[i]))
			return &t[i];
		struct sp *child = sp_by_ma(s, t[i] & PTE_ADDR_MASK);
		uint64_t *leaf = child ? first_leaf(s, child) : NULL;
		if (leaf)
			return leaf;
	}
	return NULL;
}

bool shadow_selftest_corrupt(struct shadow *s)
{
	uint64_t *leaf = s->root ? first_leaf(s, sp_at(s, s->root)) : NULL;
	if (leaf)
		*leaf ^= PTE_PWT;
	return leaf != NULL;
}
