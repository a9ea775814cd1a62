/* shadow_internal.h: what the shadow MMU's files share: roles, page headers, entry lists (not for callers). */
#ifndef VMM_MMU_SHADOW_INTERNAL_H
#define VMM_MMU_SHADOW_INTERNAL_H

#include "mm/pte.h"
#include "mm/ptwalk.h"
#include "vmm/mmu/shadow.h"

/* Shadow entry bits beyond mm/pte.h (SDM 4.4.2, 4.5; tables 4-10, 4-11, 4-18 to 4-20). */
#define PTE_PAT_4K    (1ull << 7)   /* a PTE's PAT bit */
#define PTE_PAT_LARGE (1ull << 12)  /* a large leaf's PAT bit */
#define SHADOW_TABLE_BITS (PTE_P | PTE_W | PTE_U | PTE_A) /* a non-leaf entry: the rights are in the roles below */
#define PDPTE_BITS    PTE_P         /* a PAE PDPTE has no rights (bits 2:1 and 8:5 are reserved) */

#define SIZE_4K (1ull << 12)
#define SIZE_2M (1ull << 21)
#define SIZE_4M (1ull << 22)
#define SIZE_1G (1ull << 30)

/*
 * A shadow page's role: everything its entries depend on besides the guest
 * page it is built from (KVM's kvm_mmu_page_role).  Two guest walks that
 * reach one guest table with different inherited rights or under different
 * mode bits get different shadow pages; so a mode change finds none of the
 * old ones, which stay cached for a change back.
 */
enum smode { SM_OFF, SM_32BIT, SM_PAE, SM_4LEVEL };

#define ROLE_LEVEL       0x7u        /* 1 = PT ... 4 = PML4; 3 in the PAE format = the root PDPT */
#define ROLE_MODE_SHIFT  3           /* enum smode */
#define ROLE_MODE_MASK   (0x3u << ROLE_MODE_SHIFT)
#define ROLE_QUAD_SHIFT  5           /* 32-bit guests: which quarter of a guest PD, half of a guest PT */
#define ROLE_QUAD_MASK   (0x3u << ROLE_QUAD_SHIFT)
#define ROLE_DIRECT      (1u << 7)   /* maps a linear range of guest-physical memory, not a guest table */
#define ROLE_ACC_U       (1u << 8)   /* the entries above grant user access */
#define ROLE_ACC_W       (1u << 9)   /* ... and write */
#define ROLE_ACC_NX      (1u << 10)  /* ... one of them forbids fetches */
#define ROLE_WP          (1u << 11)  /* CR0.WP */
#define ROLE_SMEP        (1u << 12)  /* CR4.SMEP, kept only with CR0.WP = 0 (it changes nothing else) */
#define ROLE_SMAP        (1u << 13)  /* CR4.SMAP, likewise */
#define ROLE_NXE         (1u << 14)  /* EFER.NXE */
#define ROLE_PSE         (1u << 15)  /* CR4.PSE, 32-bit guests only */
#define ROLE_G           (1u << 16)  /* direct pages: the guest leaf's G, PWT, PCD, PAT and D bits */
#define ROLE_PWT         (1u << 17)
#define ROLE_PCD         (1u << 18)
#define ROLE_PAT         (1u << 19)
#define ROLE_ROOT        (1u << 20)  /* a PAE-format root PDPT */
#define ROLE_DIRTY       (1u << 21)  /* direct pages: the guest leaf is dirty */

#define ROLE_ACC_ALL     (ROLE_ACC_U | ROLE_ACC_W)
#define ROLE_ACC_MASK    (ROLE_ACC_U | ROLE_ACC_W | ROLE_ACC_NX)
#define ROLE_ATTR_MASK   (ROLE_G | ROLE_PWT | ROLE_PCD | ROLE_PAT | ROLE_DIRTY)
#define ROLE_MODE_BITS   (ROLE_MODE_MASK | ROLE_WP | ROLE_SMEP | ROLE_SMAP | ROLE_NXE | ROLE_PSE)

static inline unsigned role_level(uint32_t role) { return role & ROLE_LEVEL; }
static inline enum smode role_mode(uint32_t role)
{
	return (enum smode)((role & ROLE_MODE_MASK) >> ROLE_MODE_SHIFT);
}
static inline unsigned role_quad(uint32_t role) { return (role & ROLE_QUAD_MASK) >> ROLE_QUAD_SHIFT; }
/* Whether a page of this role was built from the guest page it names, which is then write-protected. */
static inline bool role_protects(uint32_t role) { return !(role & (ROLE_DIRECT | ROLE_ROOT)); }

/*
 * The header of one shadow page (index 1 ... max_pages; index 0 is the
 * sentinel of the LRU list).  Each table page has a companion page holding,
 * per entry, the links of the one list the entry is on: a non-leaf entry is
 * on its child's list of parents, a writable leaf on the reverse-map bucket
 * of the frame it maps.
 */
struct sp {
	uint64_t ma;                 /* the table */
	uint64_t links_ma;           /* its companion (struct sp_links) */
	uint64_t gfn;                /* guest table frame; direct: first frame mapped; PAE root: CR3 >> 5 */
	uint32_t role;
	uint32_t gfn_next, ma_next;  /* hash chains (0 ends them) */
	uint32_t lru_prev, lru_next; /* most recently used first; lru_next also chains free headers */
	uint32_t par_next, par_prev; /* sentinel of the list of entries pointing here */
	uint16_t idx;                /* its own index */
	uint16_t flood;              /* writes reported since the last walk through it */
	uint8_t pinned;              /* the current root, or a PD its PDPTEs hold: never zapped */
	uint8_t used;
	uint16_t unused_;
	uint32_t op;                 /* the operation that last used it (not reclaimed during it) */
};
_Static_assert(sizeof(struct sp) == 64, "64 headers per page");

#define SP_PER_PAGE 64u
#define ENTRIES 512u

struct sp_links {
	uint32_t next[ENTRIES], prev[ENTRIES];
};
_Static_assert(sizeof(struct sp_links) == 4096, "one companion page");

/* A PAE root's key (the PDPTEs it was built from) lives in companion slots a PDPT never uses. */
#define ROOT_KEY_SLOT 256u

/*
 * List nodes: (page index << 9 | entry) for entries; the sentinels of a
 * page's parent list and of the reverse-map buckets have tag bits.
 */
#define NODE_SP   (1u << 30)
#define NODE_RMAP (1u << 31)
static inline uint32_t node_of(uint32_t idx, unsigned i) { return idx << 9 | i; }
static inline uint32_t node_idx(uint32_t n) { return n >> 9; }
static inline unsigned node_entry(uint32_t n) { return n & (ENTRIES - 1); }

#define GFN_BUCKETS  1024u
#define MA_BUCKETS   1024u
#define RMAP_PER_PAGE 512u           /* reverse-map buckets (two links each) per page */

/* Bookkeeping pages: the headers, the two hashes, then the reverse map (rmap_pages). */
struct shadow_meta_layout {
	unsigned hdr_pages, gfn_page, ma_page, rmap_page, rmap_pages;
};

/* ---- shadow.c: pages, lists, hashes, protection, zapping ---- */
struct sp *sp_at(const struct shadow *s, uint32_t idx);
uint64_t *sp_table(const struct shadow *s, const struct sp *sp);
struct sp_links *sp_links(const struct shadow *s, const struct sp *sp);
uint32_t sp_index(const struct shadow *s, const struct sp *sp);
struct sp *sp_by_ma(const struct shadow *s, uint64_t ma);
struct sp *sp_find(const struct shadow *s, uint64_t gfn, uint32_t role, const uint64_t *key);
/* A PAE root's four PDPTEs. */
uint64_t *sp_root_key(const struct shadow *s, const struct sp *sp);
/* The first page with this gfn in its hash chain after prev (NULL: from the start). */
struct sp *sp_next_of_gfn(const struct shadow *s, uint64_t gfn, const struct sp *prev);
bool gfn_protected(const struct shadow *s, uint64_t gfn);
bool range_protected(const struct shadow *s, uint64_t gfn, uint64_t frames);
/* Makes room for n new pages (reclaiming the least recently used); false if it cannot. */
bool sp_reserve(struct shadow *s, unsigned n);
err_t sp_get(struct shadow *s, uint64_t gfn, uint32_t role, const uint64_t *key, struct sp **out,
	     bool *created);
void sp_touch(struct shadow *s, struct sp *sp);
void sp_zap(struct shadow *s, struct sp *sp);
void sp_clear(struct shadow *s, struct sp *sp);
/*
 * Entry i of sp: cleared (and unlinked from its list); asks for no flush.
 * The caller must: what the entry gave may sit in the TLB for every address
 * and PCID that ever reached it, so only FLUSH_ALL covers a dropped entry.
 */
void entry_zap(struct shadow *s, struct sp *sp, unsigned i);
/* Entry i of sp: now a pointer to child; whether it changed. */
bool entry_link(struct shadow *s, struct sp *sp, unsigned i, struct sp *child, uint64_t bits);
/* Entry i of sp: now the leaf val, mapping frame rgfn; whether it changed. */
bool entry_set_leaf(struct shadow *s, struct sp *sp, unsigned i, uint64_t val, uint64_t rgfn);
bool entry_is_leaf(const struct sp *sp, uint64_t e);
bool rmap_contains(const struct shadow *s, const struct sp *sp, unsigned i, uint64_t rgfn);
uint32_t node_next_of(const struct shadow *s, uint32_t n);
void flush_need(struct shadow *s, enum shadow_flush f);
enum shadow_flush flush_take(struct shadow *s);
/* Whether the shadow page count is under the limit; and the pages allocated. */
uint32_t sp_in_use(const struct shadow *s);

/* Size one entry of a page with this role maps. */
uint64_t role_entry_size(uint32_t role);
/* The guest entry the shadow entry i of sp was built from: its gpa and size (0: none, e.g. direct pages). */
unsigned guest_entry_of(const struct sp *sp, unsigned i, uint64_t *gpa);

/* ---- shadow_fill.c ---- */
/* The guest paging mode a page of this role shadows, for walks (cr3 and PDPTEs left 0). */
void role_walk_mode(const struct shadow *s, uint32_t role, struct ptwalk_mode *m);
/*
 * The shadow leaf at level for a guest page with rights acc and attributes
 * attrs (role bits), at machine address ma; prot: it holds a shadowed table;
 * wp_view: the supervisor-write view of CR0.WP = 0.
 */
uint64_t shadow_leaf(uint32_t role, uint32_t acc, uint32_t attrs, uint64_t ma, unsigned level,
		     bool prot, bool wp_view);
bool shadow_wp_view_allowed(uint32_t role, uint32_t acc);
/* acc narrowed by the rights of guest entry e (role_mode_bits: its page's mode bits). */
uint32_t shadow_entry_rights(uint32_t role_mode_bits, uint32_t acc, uint64_t e);
/* G, PWT, PCD, PAT and D of a guest leaf at level, as role bits. */
uint32_t shadow_leaf_attrs(uint64_t e, unsigned level);
/* The page PDPTE j of a PAE-format root must point to; false: none. */
bool root_child_of(const struct shadow *s, const struct sp *root, unsigned j, uint64_t *gfn,
		   uint32_t *role);
/* The guest's paging mode now, for walks. */
void shadow_current_walk_mode(const struct shadow *s, struct ptwalk_mode *m);

#endif
