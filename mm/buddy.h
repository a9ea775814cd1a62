/* buddy.h: buddy allocator of machine pages, 4 KiB to 1 GiB blocks, with per-owner accounting. */
#ifndef MM_BUDDY_H
#define MM_BUDDY_H

#include <stdint.h>
#include <stddef.h>
#include "lib/error.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ull << PAGE_SHIFT)
#define BUDDY_MAX_ORDER 18              /* 4 KiB << 18 = 1 GiB */
#define BUDDY_ORDERS    (BUDDY_MAX_ORDER + 1)
#define BUDDY_MAX_ZONES 32
#define BUDDY_MAX_OWNERS 64
#define BUDDY_NONE    0xffffffffu       /* no descriptor: end of a free list */
#define BUDDY_MAX_PFN (1ull << 40)      /* 52-bit physical addresses; zones must end below */

enum buddy_owner {                     /* who holds a page */
	OWNER_FREE = 0,     /* in the allocator's free lists */
	OWNER_RESERVED = 1, /* never handed out: firmware, kernel image, modules, boot info */
	OWNER_HV = 2,       /* hypervisor data */
	OWNER_PGTABLE = 3,  /* page tables */
	OWNER_VM_FIRST = 8, /* VM n is OWNER_VM_FIRST + n, up to BUDDY_MAX_OWNERS - 1 */
};

/*
 * Every page is exactly one of these. Blocks (free or allocated) are described by their
 * head alone; reserved pages stand alone, one order-0 unit each, so any run of them can
 * be released without splitting anything.
 */
enum buddy_state {
	BUDDY_TAIL = 0,     /* inside a free or allocated block, not its first page */
	BUDDY_FREE = 1,     /* head of a free block, linked on free_head[order] */
	BUDDY_USED = 2,     /* head of an allocated block */
	BUDDY_RESERVED = 3, /* withheld from the allocator */
};

struct buddy_range { uint64_t base_pfn, npages; };

struct buddy_page {
	uint32_t next, prev; /* free-list links as descriptor indices, BUDDY_NONE at the ends */
	uint8_t order;       /* heads only */
	uint8_t state;       /* enum buddy_state */
	uint8_t owner;       /* heads and reserved pages: enum buddy_owner or a VM's owner */
	uint8_t pad;
};

struct buddy_zone { uint64_t base_pfn, npages, first /* index of its first descriptor */; };

struct buddy {
	struct buddy_page *pages;            /* descriptors of all zones, caller-provided storage */
	struct buddy_zone zones[BUDDY_MAX_ZONES];
	unsigned nzones;
	uint64_t npages;                     /* pages in all zones */
	uint32_t free_head[BUDDY_ORDERS];    /* free list per order (descriptor index, or BUDDY_NONE) */
	uint64_t free_blocks[BUDDY_ORDERS];  /* blocks on each free list */
	uint64_t owner_pages[BUDDY_MAX_OWNERS]; /* pages held by each owner; [OWNER_FREE] = free pages */
};

/* Bytes of descriptor storage for npages. */
size_t buddy_desc_bytes(uint64_t npages);

/*
 * Zones must be sorted by base_pfn, non-empty, non-overlapping and end below BUDDY_MAX_PFN;
 * every page starts OWNER_RESERVED. storage holds nstorage descriptors; ERR_INVAL when too
 * few, no or too many zones, unsorted/overlapping zones, or more than BUDDY_NONE - 1 pages.
 */
err_t buddy_init(struct buddy *b, struct buddy_page *storage, uint64_t nstorage,
                 const struct buddy_range *zones, unsigned nzones);

/*
 * Hands reserved pages [pfn, pfn+npages) to the allocator as maximal aligned blocks merged
 * with free neighbours. ERR_INVAL if any page is outside the zones, ERR_FOREIGN if any page
 * is not reserved. Linear in npages with a small constant; an empty range is ERR_OK.
 */
err_t buddy_release(struct buddy *b, uint64_t pfn, uint64_t npages);

/*
 * Takes free pages [pfn, pfn+npages) out of the allocator as OWNER_RESERVED, splitting the
 * blocks they lie in. ERR_INVAL if any page is outside the zones, ERR_FOREIGN if any is not free.
 */
err_t buddy_reserve(struct buddy *b, uint64_t pfn, uint64_t npages);

/*
 * Allocates a 2^order-page block aligned to its size for owner (OWNER_HV..BUDDY_MAX_OWNERS-1).
 * ERR_INVAL for order > BUDDY_MAX_ORDER or a bad owner, ERR_NOMEM when nothing fits.
 */
err_t buddy_alloc(struct buddy *b, unsigned order, unsigned owner, uint64_t *pfn);

/*
 * Frees the block starting at pfn, which owner must hold. On error nothing changes:
 * ERR_FOREIGN: pfn outside every zone, a reserved page, or a block held by another owner;
 * ERR_DOUBLE_FREE: pfn is in a free block (head or inside);
 * ERR_NOT_BLOCK: pfn is inside an allocated block but not its first page.
 */
err_t buddy_free(struct buddy *b, uint64_t pfn, unsigned owner);

/* Order and owner of the allocated block starting at pfn; errors as for buddy_free. */
err_t buddy_block(const struct buddy *b, uint64_t pfn, unsigned *order, unsigned *owner);

/* Full O(n) consistency check, for tests and debugging: ERR_OK or ERR_MALFORMED. */
err_t buddy_check(const struct buddy *b);

#endif
