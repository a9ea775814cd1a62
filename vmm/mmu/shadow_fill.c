/* shadow_fill.c: the shadow MMU's operations: mode and CR3 changes, #PF fills, guest page-table writes, INVLPG. */
#include "vmm/archcheck.h"
#include "vmm/mmu/shadow_internal.h"

/* The paging bits of CR0, CR4 and EFER, as 64-bit masks (SDM vol. 3A 2.5; vmm/archcheck.h). */
#define CR0_PE    ((uint64_t)ARCH_CR0_PE)
#define CR0_WP    ((uint64_t)ARCH_CR0_WP)
#define CR0_PG    ((uint64_t)ARCH_CR0_PG)
#define CR4_PSE   ((uint64_t)ARCH_CR4_PSE)
#define CR4_PAE   ((uint64_t)ARCH_CR4_PAE)
#define CR4_PGE   ((uint64_t)ARCH_CR4_PGE)
#define CR4_LA57  ((uint64_t)ARCH_CR4_LA57)
#define CR4_PCIDE ((uint64_t)ARCH_CR4_PCIDE)
#define CR4_SMEP  ((uint64_t)ARCH_CR4_SMEP)
#define CR4_SMAP  ((uint64_t)ARCH_CR4_SMAP)
#define EFER_LME  ((uint64_t)ARCH_EFER_LME)
#define EFER_LMA  ((uint64_t)ARCH_EFER_LMA)
#define EFER_NXE  ((uint64_t)ARCH_EFER_NXE)

#define CR3_NOFLUSH (1ull << 63)   /* with CR4.PCIDE: keep the PCID's translations (SDM 4.10.4.1) */
#define CR3_PCID    0xfffull
#define PAE_CR3_MASK 0xffffffe0ull /* PAE: CR3 bits 31:5 locate the PDPT (SDM 4.4.1) */
#define FRAME32_MASK 0xfffff000ull

#define FLOOD_LIMIT 3   /* writes to a table page without a walk through it before it is unshadowed (KVM's) */
#define FAULT_PAGES 4   /* new pages one fill needs at most: 4-level PDPT, PD, PT (or direct PD, PT) */
#define ROOT_PAGES  5   /* a PAE root and its four PDs */

static uint64_t guest_frame_mask(const struct shadow *s)
{
	unsigned m = s->cfg.maxphyaddr;
	m = m < 32 ? 32 : m > 52 ? 52 : m;
	return (~0ull >> (64 - m)) & ~(SIZE_4K - 1);
}

/* ---- modes and roles ---- */

static enum smode smode_of(const struct shadow_mode_state *m)
{
	if (!m->pg)
		return SM_OFF;
	if (!m->pae)
		return SM_32BIT;
	return m->lma ? SM_4LEVEL : SM_PAE;
}

/* The role bits a mode gives every page: only those that change what an entry is. */
static uint32_t mode_role(const struct shadow_mode_state *m)
{
	enum smode sm = smode_of(m);
	uint32_t r = (uint32_t)sm << ROLE_MODE_SHIFT;
	if (sm == SM_OFF)
		return r;
	if (m->wp)
		r |= ROLE_WP;
	else
		r |= (m->smep ? ROLE_SMEP : 0) | (m->smap ? ROLE_SMAP : 0);
	if (sm == SM_32BIT)
		r |= m->pse ? ROLE_PSE : 0;
	else
		r |= m->nxe ? ROLE_NXE : 0;
	return r;
}

void role_walk_mode(const struct shadow *s, uint32_t role, struct ptwalk_mode *m)
{
	enum smode sm = role_mode(role);
	*m = (struct ptwalk_mode){
		.pg = sm != SM_OFF, .pae = sm >= SM_PAE, .lma = sm == SM_4LEVEL,
		.wp = (role & ROLE_WP) != 0, .smep = (role & ROLE_SMEP) != 0,
		.smap = (role & ROLE_SMAP) != 0, .nxe = (role & ROLE_NXE) != 0,
		.pse = (role & ROLE_PSE) != 0,
		.maxphyaddr = s->cfg.maxphyaddr, .gbpages = s->cfg.gbpages,
	};
}

void shadow_current_walk_mode(const struct shadow *s, struct ptwalk_mode *m)
{
	const struct shadow_mode_state *g = &s->mode;
	*m = (struct ptwalk_mode){
		.pg = g->pg, .wp = g->wp, .pse = g->pse, .pae = g->pae, .pge = g->pge,
		.smep = g->smep, .smap = g->smap, .nxe = g->nxe, .lma = g->lma, .cr3 = g->cr3,
		.maxphyaddr = s->cfg.maxphyaddr, .gbpages = s->cfg.gbpages,
	};
	for (unsigned j = 0; j < 4; j++)
		m->pdpte[j] = g->pdpte[j];
}

uint32_t shadow_entry_rights(uint32_t role_mode_bits, uint32_t acc, uint64_t e)
{
	uint32_t r = acc & ROLE_ACC_NX;
	if ((acc & ROLE_ACC_U) && (e & PTE_U))
		r |= ROLE_ACC_U;
	if ((acc & ROLE_ACC_W) && (e & PTE_W))
		r |= ROLE_ACC_W;
	if ((role_mode_bits & ROLE_NXE) && (e & PTE_NX))
		r |= ROLE_ACC_NX;
	return r;
}

uint32_t shadow_leaf_attrs(uint64_t e, unsigned level)
{
	uint32_t a = 0;
	a |= (e & PTE_G) ? ROLE_G : 0;
	a |= (e & PTE_PWT) ? ROLE_PWT : 0;
	a |= (e & PTE_PCD) ? ROLE_PCD : 0;
	a |= (e & (level == 1 ? PTE_PAT_4K : PTE_PAT_LARGE)) ? ROLE_PAT : 0;
	a |= (e & PTE_D) ? ROLE_DIRTY : 0;
	return a;
}

static unsigned shadow_index(uint64_t la, unsigned level)
{
	return (unsigned)((la >> (12 + 9 * (level - 1))) & (ENTRIES - 1));
}

/*
 * The shadow leaf for a page with rights acc and attributes attrs (role
 * bits) at level.  The normal view grants what the guest grants, W only
 * once the guest leaf is dirty and never to a protected page; CR0.WP = 0
 * lets supervisor writes through read-only pages, so a supervisor-only page
 * is writable then.  The other view is for a supervisor write to a
 * read-only user page under CR0.WP = 0 (KVM's trick, mmu.rst "Emulating
 * cr0.wp"): a writable supervisor page, not executable with SMEP, until a
 * user access asks for the normal view again.
 */
uint64_t shadow_leaf(uint32_t role, uint32_t acc, uint32_t attrs, uint64_t ma, unsigned level,
		     bool prot, bool wp_view)
{
	bool dirty = (attrs & ROLE_DIRTY) != 0, wp = (role & ROLE_WP) != 0;
	bool user = (acc & ROLE_ACC_U) != 0, write = (acc & ROLE_ACC_W) != 0;
	bool nx = (acc & ROLE_ACC_NX) != 0;
	uint64_t e = ma | PTE_P | PTE_A | PTE_D;
	if (wp_view) {
		user = false;
		write = true;
		nx = nx || (role & ROLE_SMEP);
	} else if (!wp && !user) {
		write = true;
	}
	if (write && dirty && !prot)
		e |= PTE_W;
	e |= user ? PTE_U : 0;
	e |= nx ? PTE_NX : 0;
	e |= (attrs & ROLE_G) ? PTE_G : 0;
	e |= (attrs & ROLE_PWT) ? PTE_PWT : 0;
	e |= (attrs & ROLE_PCD) ? PTE_PCD : 0;
	if (level == 1)
		e |= (attrs & ROLE_PAT) ? PTE_PAT_4K : 0;
	else
		e |= PTE_PS | ((attrs & ROLE_PAT) ? PTE_PAT_LARGE : 0);
	return e;
}

/* Whether the wp_view of shadow_leaf may stand for a page with these rights under role. */
bool shadow_wp_view_allowed(uint32_t role, uint32_t acc)
{
	return role_mode(role) != SM_OFF && !(role & (ROLE_WP | ROLE_SMAP)) && (acc & ROLE_ACC_U) &&
	       !(acc & ROLE_ACC_W);
}

/* ---- roots ---- */

bool root_child_of(const struct shadow *s, const struct sp *root, unsigned j, uint64_t *gfn,
		   uint32_t *role)
{
	uint32_t base = (root->role & ROLE_MODE_BITS) | 2 | ROLE_ACC_ALL;
	switch (role_mode(root->role)) {
	case SM_PAE: {
		uint64_t pdpte = sp_root_key(s, root)[j];
		if (!(pdpte & PTE_P))
			return false;
		*gfn = (pdpte & guest_frame_mask(s)) >> 12;
		*role = base;
		return true;
	}
	case SM_32BIT:
		*gfn = root->gfn;
		*role = base | j << ROLE_QUAD_SHIFT;
		return true;
	default: /* paging off: an identity map of RAM, a direct PD per GiB */
		*gfn = (uint64_t)j << 18;
		*role = base | ROLE_DIRECT | ROLE_DIRTY;
		return true;
	}
}

/* The page PDPTE j of a PAE-format root points to (*out NULL: none), linked and pinned. */
static err_t root_child(struct shadow *s, struct sp *root, unsigned j, struct sp **out)
{
	uint64_t gfn;
	uint32_t role;
	*out = NULL;
	if (!root_child_of(s, root, j, &gfn, &role)) {
		entry_zap(s, root, j);
		return ERR_OK;
	}
	struct sp *child;
	bool created;
	err_t err = sp_get(s, gfn, role, NULL, &child, &created);
	if (err != ERR_OK)
		return err;
	entry_link(s, root, j, child, PDPTE_BITS);
	child->pinned = root->pinned;
	*out = child;
	return ERR_OK;
}

static void set_pinned(struct shadow *s, struct sp *root, uint8_t pinned)
{
	root->pinned = pinned;
	if (!(root->role & ROLE_ROOT))
		return;
	uint64_t *t = sp_table(s, root);
	for (unsigned j = 0; j < 4; j++) {
		struct sp *child = (t[j] & PTE_P) ? sp_by_ma(s, t[j] & PTE_ADDR_MASK) : NULL;
		if (child)
			child->pinned = pinned;
	}
}

static void read_regs(const struct shadow_regs *r, struct shadow_mode_state *m)
{
	*m = (struct shadow_mode_state){
		.valid = true,
		.pg = (r->cr0 & CR0_PG) != 0, .wp = (r->cr0 & CR0_WP) != 0,
		.pse = (r->cr4 & CR4_PSE) != 0, .pae = (r->cr4 & CR4_PAE) != 0,
		.pge = (r->cr4 & CR4_PGE) != 0, .smep = (r->cr4 & CR4_SMEP) != 0,
		.smap = (r->cr4 & CR4_SMAP) != 0, .pcide = (r->cr4 & CR4_PCIDE) != 0,
		.nxe = (r->efer & EFER_NXE) != 0, .lma = (r->efer & EFER_LMA) != 0,
		.cr3 = r->cr3 & ~CR3_NOFLUSH,
	};
	for (unsigned j = 0; j < 4; j++)
		m->pdpte[j] = r->pdpte[j];
}

static bool paging_bits_differ(const struct shadow_mode_state *a, const struct shadow_mode_state *b)
{
	return a->pg != b->pg || a->pae != b->pae || a->lma != b->lma || a->wp != b->wp ||
	       a->pse != b->pse || a->pge != b->pge || a->smep != b->smep || a->smap != b->smap ||
	       a->nxe != b->nxe || a->pcide != b->pcide;
}

err_t shadow_set_mode(struct shadow *s, const struct shadow_regs *regs, struct shadow_root *out)
{
	struct shadow_mode_state m;
	read_regs(regs, &m);
	enum smode sm = smode_of(&m);
	*out = (struct shadow_root){ 0 };
	if (sm == SM_4LEVEL && (regs->cr4 & CR4_LA57))
		return ERR_UNSUPPORTED;
	s->op++;

	uint32_t mode_bits = mode_role(&m);
	uint32_t role = mode_bits | ROLE_ACC_ALL;
	uint64_t gfn = 0;
	const uint64_t *key = NULL;
	uint64_t pae_key[4] = { 0 };
	switch (sm) {
	case SM_4LEVEL:
		role |= 4;
		gfn = (m.cr3 & guest_frame_mask(s)) >> 12;
		break;
	case SM_PAE:
		role |= 3 | ROLE_ROOT;
		gfn = (m.cr3 & PAE_CR3_MASK) >> 5;
		for (unsigned j = 0; j < 4; j++)
			pae_key[j] = (m.pdpte[j] & PTE_P) ? m.pdpte[j] : 0;
		key = pae_key;
		break;
	case SM_32BIT:
		role |= 3 | ROLE_ROOT;
		gfn = (m.cr3 & FRAME32_MASK) >> 12;
		break;
	case SM_OFF:
		role |= 3 | ROLE_ROOT;
		break;
	}

	bool changed = !s->mode.valid || paging_bits_differ(&s->mode, &m);
	if (s->root) {
		set_pinned(s, sp_at(s, s->root), 0);
		s->root = 0;
	}
	s->mode = m;
	s->role_mode = mode_bits;
	if (!sp_reserve(s, ROOT_PAGES))
		return ERR_NOMEM;
	struct sp *root;
	bool created;
	err_t err = sp_get(s, gfn, role, key, &root, &created);
	if (err != ERR_OK)
		return err;
	s->stats.cr3_switches++;
	if (created)
		s->stats.root_misses++;
	else
		s->stats.root_hits++;
	root->pinned = 1;
	root->flood = 0;
	if (root->role & ROLE_ROOT) {
		/* The CPU loads the four PDPTEs with CR3 (at VM entry): fill them now, and keep them. */
		for (unsigned j = 0; j < 4; j++) {
			struct sp *child;
			err = root_child(s, root, j, &child);
			if (err != ERR_OK) {
				root->pinned = 0;
				return err;
			}
		}
	}
	s->root = sp_index(s, root);

	if (changed)
		flush_need(s, SHADOW_FLUSH_ALL);
	else if (regs->cr3_load && !(m.pcide && (regs->cr3 & CR3_NOFLUSH)))
		flush_need(s, SHADOW_FLUSH_NONGLOBAL);

	out->cr3 = root->ma | (m.pcide && sm == SM_4LEVEL ? m.cr3 & CR3_PCID : 0);
	out->cr0 = regs->cr0 | CR0_PG | CR0_PE | CR0_WP;
	out->cr4 = (regs->cr4 | CR4_PAE) & ~(CR4_PSE | CR4_LA57);
	if (sm == SM_OFF)
		out->cr4 &= ~(CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PCIDE);
	out->efer = (regs->efer | EFER_NXE) & ~(EFER_LME | EFER_LMA);
	if (sm == SM_4LEVEL)
		out->efer |= EFER_LME | EFER_LMA;
	out->long_mode = sm == SM_4LEVEL;
	out->flush = flush_take(s);
	return ERR_OK;
}

/* ---- #PF ---- */

struct fill {
	uint64_t la;
	const struct ptwalk_access *a;
	bool guest_large;        /* the leaf is a guest large page (counted) */
	bool changed;            /* an entry was written: not spurious */
	bool stale;              /* ... over a present one, which the TLB may hold for la */
	struct shadow_fault *out;
};

/* Whether one host leaf may map guest-physical [base, base + size): one aligned machine run, no shadowed table in it. */
static bool large_ok(const struct shadow *s, uint64_t base, uint64_t size)
{
	uint64_t ma, contiguous;
	if (!s->cfg.large || (size == SIZE_1G && !s->cfg.gbpages))
		return false;
	if (s->env.translate(s->env.ctx, base, &ma, &contiguous) != ERR_OK)
		return false;
	return contiguous >= size && !(ma & (size - 1)) && !range_protected(s, base >> 12, size >> 12);
}

/*
 * Writes the leaf for gpa into sp (at level) or, where no host leaf of
 * that size can map it, into direct pages below: acc and attrs are the
 * guest page's rights and attributes.
 */
static void fill_leaf(struct shadow *s, struct fill *f, struct sp *sp, uint32_t acc, uint32_t attrs,
		      uint64_t gpa)
{
	uint64_t ma, contiguous;
	if (s->env.translate(s->env.ctx, gpa & ~(SIZE_4K - 1), &ma, &contiguous) != ERR_OK) {
		f->out->status = SHADOW_NOT_RAM;
		f->out->gpa = gpa;
		return;
	}
	for (;;) {
		unsigned level = role_level(sp->role), i = shadow_index(f->la, level);
		uint64_t size = role_entry_size(sp->role), base = gpa & ~(size - 1);
		if (level == 1 || large_ok(s, base, size)) {
			if (s->env.translate(s->env.ctx, base, &ma, &contiguous) != ERR_OK)
				break;
			bool prot = level == 1 ? gfn_protected(s, base >> 12) : false;
			bool wp_view = false;
			if (f->a->kind == PTWALK_WRITE) {
				uint64_t normal = shadow_leaf(sp->role, acc, attrs, ma, level, prot, false);
				if (prot) {
					f->out->status = SHADOW_PT_WRITE;
				} else if (!(normal & PTE_W)) {
					/* Allowed only by CR0.WP = 0: SMAP would need the normal view. */
					if (shadow_wp_view_allowed(sp->role, acc))
						wp_view = true;
					else
						f->out->status = SHADOW_PT_WRITE;
				}
			}
			uint64_t e = shadow_leaf(sp->role, acc, attrs, ma, level, prot, wp_view);
			bool was_present = (sp_table(s, sp)[i] & PTE_P) != 0;
			if (entry_set_leaf(s, sp, i, e, base >> 12)) {
				f->changed = true;
				f->stale = f->stale || was_present;
				s->stats.fills++;
				if (level > 1 && f->guest_large && !was_present)
					s->stats.large_mapped++;
			}
			if (f->out->status == SHADOW_PT_WRITE)
				f->out->gpa = gpa;
			return;
		}
		struct sp *child;
		bool created;
		uint32_t role = (sp->role & ROLE_MODE_BITS) | ROLE_DIRECT | (level - 1) | acc | attrs;
		err_t err = sp_get(s, base >> 12, role, NULL, &child, &created);
		if (err != ERR_OK) {
			f->out->status = SHADOW_ERROR;
			f->out->err = err;
			return;
		}
		if (created && f->guest_large)
			s->stats.large_split++;
		if (entry_link(s, sp, i, child, SHADOW_TABLE_BITS))
			f->changed = true;
		sp = child;
	}
	f->out->status = SHADOW_NOT_RAM;
	f->out->gpa = gpa;
}

/* The root's page for la (PAE format: the PD its PDPTE holds). */
static struct sp *fill_root(struct shadow *s, struct fill *f)
{
	struct sp *sp = sp_at(s, s->root);
	sp_touch(s, sp);
	if (!(sp->role & ROLE_ROOT))
		return sp;
	unsigned j = (unsigned)(f->la >> 30) & 3;
	uint64_t e = sp_table(s, sp)[j];
	struct sp *child = (e & PTE_P) ? sp_by_ma(s, e & PTE_ADDR_MASK) : NULL;
	if (!child) {
		err_t err = root_child(s, sp, j, &child);
		if (err != ERR_OK || !child) {
			f->out->status = SHADOW_ERROR;
			f->out->err = err != ERR_OK ? err : ERR_INVAL;
			return NULL;
		}
		f->changed = true;
	}
	sp_touch(s, child);
	child->flood = 0;
	return child;
}

/* Builds the shadow path for la from the guest walk r. */
static void fill_walk(struct shadow *s, struct fill *f, const struct ptwalk_result *r)
{
	struct sp *sp = fill_root(s, f);
	if (!sp)
		return;
	uint32_t acc = ROLE_ACC_ALL;
	unsigned glevel = role_level(sp->role) == 4 ? 4 : 2; /* PAE PDPTEs carry no rights */
	for (;; glevel--) {
		uint64_t e = r->entry[glevel].val;
		unsigned level = role_level(sp->role);
		uint32_t eacc = shadow_entry_rights(s->role_mode, acc, e);
		sp->flood = 0;
		if (glevel == r->last_level) {
			f->guest_large = glevel > 1;
			uint64_t gpa = r->gpa;
			fill_leaf(s, f, sp, eacc, shadow_leaf_attrs(e, glevel), gpa);
			return;
		}
		uint64_t child_gfn = r->entry[glevel - 1].gpa >> 12;
		uint32_t quad = role_mode(s->role_mode) == SM_32BIT && level == 2 ? (uint32_t)(f->la >> 21) & 1 : 0;
		uint32_t role = s->role_mode | (level - 1) | quad << ROLE_QUAD_SHIFT | eacc;
		struct sp *child;
		bool created;
		err_t err = sp_get(s, child_gfn, role, NULL, &child, &created);
		if (err != ERR_OK) {
			f->out->status = SHADOW_ERROR;
			f->out->err = err;
			return;
		}
		if (entry_link(s, sp, shadow_index(f->la, level), child, SHADOW_TABLE_BITS))
			f->changed = true;
		sp = child;
		acc = eacc;
	}
}

/* Paging off: linear = guest-physical, every right (SDM 4.1.1). */
static void fill_off(struct shadow *s, struct fill *f)
{
	struct sp *sp = fill_root(s, f);
	if (sp)
		fill_leaf(s, f, sp, ROLE_ACC_ALL, ROLE_DIRTY, f->la);
}

void shadow_page_fault(struct shadow *s, uint64_t la, uint32_t error_code, unsigned cpl, bool ac,
		       struct shadow_fault *out)
{
	*out = (struct shadow_fault){ .status = SHADOW_FIXED };
	s->op++;
	if (!s->root) {
		out->status = SHADOW_ERROR;
		out->err = ERR_INVAL;
		return;
	}
	enum smode sm = role_mode(s->role_mode);
	if (sm != SM_4LEVEL)
		la &= 0xffffffffull;
	struct ptwalk_access a = {
		.kind = (error_code & PF_ERR_W) ? PTWALK_WRITE :
			(error_code & PF_ERR_ID) ? PTWALK_FETCH : PTWALK_READ,
		.cpl3 = cpl == 3,
		/* At CPL 3 a supervisor-mode access can only be an implicit one (GDT, IDT, TSS). */
		.implicit = cpl == 3 && !(error_code & PF_ERR_U),
		.ac = ac,
	};
	struct fill f = { .la = la, .a = &a, .out = out };
	if (!sp_reserve(s, FAULT_PAGES)) {
		out->status = SHADOW_ERROR;
		out->err = ERR_NOMEM;
		return;
	}
	if (sm == SM_OFF) {
		fill_off(s, &f);
	} else {
		struct ptwalk_mode m;
		struct ptwalk_ops ops = { s->env.ctx, s->env.read, s->env.update };
		struct ptwalk_result r;
		shadow_current_walk_mode(s, &m);
		switch (ptwalk(&m, &ops, la, &a, &r)) {
		case PTWALK_OK:
			fill_walk(s, &f, &r);
			break;
		case PTWALK_FAULT:
			out->status = SHADOW_GUEST_FAULT;
			out->error_code = r.error_code;
			break;
		case PTWALK_NOT_RAM:
			out->status = SHADOW_NOT_RAM;
			out->gpa = r.gpa;
			out->table = true;
			break;
		case PTWALK_RETRY:
			f.changed = true;
			break;
		}
	}

	if (out->status == SHADOW_FIXED && !f.changed) {
		/*
		 * Nothing was missing: a stale TLB entry, which flushing la
		 * removes.  The same fault again means the CPU refused what the
		 * walk allowed, which only an implicit supervisor access at
		 * CPL < 3 under SMAP can do (the exit does not say implicit):
		 * the guest gets the CPU's own verdict.
		 */
		if (s->spurious && s->spurious_la == la && s->spurious_ec == error_code) {
			out->status = SHADOW_GUEST_FAULT;
			out->error_code = error_code;
			s->spurious = false;
		} else {
			s->spurious = true;
			s->spurious_la = la;
			s->spurious_ec = error_code;
			s->stats.faults_spurious++;
			flush_need(s, SHADOW_FLUSH_LA);
		}
	} else {
		s->spurious = false;
	}
	switch (out->status) {
	case SHADOW_FIXED:      s->stats.faults_fixed++; break;
	case SHADOW_GUEST_FAULT: s->stats.faults_guest++; break;
	case SHADOW_PT_WRITE:   s->stats.faults_pt_write++; break;
	case SHADOW_NOT_RAM:    s->stats.faults_not_ram++; break;
	case SHADOW_ERROR:      break;
	}
	if (f.stale)
		flush_need(s, SHADOW_FLUSH_LA);
	out->flush = flush_take(s);
}

/* ---- guest page-table writes ---- */

/* Zaps the entries of sp built from guest entries overlapping [lo, hi) of its page; how many were present. */
static unsigned zap_written(struct shadow *s, struct sp *sp, uint64_t lo, uint64_t hi)
{
	uint64_t table = sp->gfn << 12;
	unsigned esize = role_mode(sp->role) == SM_32BIT ? 4 : 8, zapped = 0;
	uint64_t *t = sp_table(s, sp);
	for (uint64_t g = (lo - table) / esize; g <= (hi - 1 - table) / esize; g++) {
		unsigned first, count = 1;
		if (esize == 8) {
			first = (unsigned)g;
		} else if (role_level(sp->role) == 2) {
			if (g / 256 != role_quad(sp->role))
				continue;
			first = 2 * (unsigned)(g % 256);
			count = 2;
		} else {
			if (g / 512 != role_quad(sp->role))
				continue;
			first = (unsigned)(g % 512);
		}
		for (unsigned i = first; i < first + count; i++) {
			if (t[i] & PTE_P) {
				entry_zap(s, sp, i);
				zapped++;
			}
		}
	}
	return zapped;
}

enum shadow_flush shadow_pt_written(struct shadow *s, uint64_t gpa, uint64_t len)
{
	s->op++;
	if (!len || !s->meta_pages)
		return SHADOW_FLUSH_NONE;
	bool counted = false;
	for (uint64_t frame = gpa >> 12; frame <= (gpa + len - 1) >> 12; frame++) {
		uint64_t lo = frame << 12 > gpa ? frame << 12 : gpa;
		uint64_t hi = (frame + 1) << 12 < gpa + len ? (frame + 1) << 12 : gpa + len;
		struct sp *sp = sp_next_of_gfn(s, frame, NULL);
		while (sp) {
			struct sp *next = sp_next_of_gfn(s, frame, sp);
			if (role_protects(sp->role)) {
				if (!counted)
					s->stats.pt_writes++;
				counted = true;
				if (++sp->flood >= FLOOD_LIMIT && !sp->pinned) {
					sp_zap(s, sp);
					if (!gfn_protected(s, frame))
						s->stats.unprotected++;
				} else {
					unsigned n = zap_written(s, sp, lo, hi);
					s->stats.pt_zaps += n;
					if (n)
						flush_need(s, SHADOW_FLUSH_ALL);
				}
			}
			sp = next;
		}
	}
	return flush_take(s);
}

bool shadow_unprotect(struct shadow *s, uint64_t gpa, enum shadow_flush *flush)
{
	uint64_t gfn = gpa >> 12;
	s->op++;
	bool was = gfn_protected(s, gfn);
	struct sp *sp = sp_next_of_gfn(s, gfn, NULL);
	while (sp) {
		struct sp *next = sp_next_of_gfn(s, gfn, sp);
		if (role_protects(sp->role) && !sp->pinned)
			sp_zap(s, sp);
		sp = next;
	}
	bool now = gfn_protected(s, gfn);
	if (was && !now)
		s->stats.unprotected++;
	*flush = flush_take(s);
	return !now;
}

/* ---- TLB flushes ---- */

/*
 * The shadows never lag guest memory, so an INVLPG changes none of them: the
 * hardware drops la.  (Zapping la's shadow leaf would be wrong: the same
 * entry may serve other addresses, whose TLB entries nothing would flush
 * when the guest later edits it.)
 */
enum shadow_flush shadow_invlpg(struct shadow *s, uint64_t la)
{
	(void)la;
	s->op++;
	s->stats.invlpgs++;
	flush_need(s, SHADOW_FLUSH_LA);
	return flush_take(s);
}

enum shadow_flush shadow_flush_all(struct shadow *s)
{
	s->op++;
	flush_need(s, SHADOW_FLUSH_ALL);
	return flush_take(s);
}

enum shadow_flush shadow_reset(struct shadow *s)
{
	s->op++;
	for (uint32_t idx = 1; idx <= s->cfg.max_pages && s->meta_pages; idx++) {
		struct sp *sp = sp_at(s, idx);
		if (!sp->used)
			continue;
		if (!sp->pinned)
			sp_zap(s, sp);
		else if (!(sp->role & ROLE_ROOT))
			sp_clear(s, sp);
	}
	flush_need(s, SHADOW_FLUSH_ALL);
	return flush_take(s);
}
