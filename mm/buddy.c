/* buddy.c: buddy allocator of machine pages, with per-owner accounting and checked frees. */
#include <stdbool.h>
#include "mm/buddy.h"

/* One descriptor per 4 KiB page: at 12 bytes they cost 0.3% of memory. */
_Static_assert(sizeof(struct buddy_page) == 12, "buddy_page grew");

/* Pages in a block of order k. */
static inline uint64_t blk(unsigned k)
{
	return 1ull << k;
}

/* First pfn past zone z. */
static inline uint64_t zone_end(const struct buddy_zone *z)
{
	return z->base_pfn + z->npages;
}

/* Descriptor index of pfn, which must lie in z; init keeps all indices below BUDDY_NONE. */
static inline uint32_t idx(const struct buddy_zone *z, uint64_t pfn)
{
	return (uint32_t)(z->first + (pfn - z->base_pfn));
}

/*
 * Last zone whose base pfn (by_index: first descriptor) is at most key: zones are sorted
 * both ways, so one binary search serves pfn lookups and free-list indices alike.
 */
static const struct buddy_zone *zone_search(const struct buddy *b, uint64_t key, bool by_index)
{
	unsigned lo = 0, hi = b->nzones;

	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;

		if ((by_index ? b->zones[mid].first : b->zones[mid].base_pfn) <= key)
			lo = mid;
		else
			hi = mid;
	}
	return &b->zones[lo];
}

/* Zone holding pfn, or NULL. */
static const struct buddy_zone *zone_of(const struct buddy *b, uint64_t pfn)
{
	const struct buddy_zone *z = zone_search(b, pfn, false);

	return b->nzones && pfn >= z->base_pfn && pfn < zone_end(z) ? z : NULL;
}

/* Puts descriptor i on the free list of order k as a free head. */
static void push_free(struct buddy *b, uint32_t i, unsigned k)
{
	struct buddy_page *d = &b->pages[i];

	d->state = BUDDY_FREE;
	d->order = (uint8_t)k;
	d->owner = OWNER_FREE;
	d->prev = BUDDY_NONE;
	d->next = b->free_head[k];
	if (d->next != BUDDY_NONE)
		b->pages[d->next].prev = i;
	b->free_head[k] = i;
	b->free_blocks[k]++;
}

/* Takes free head i off its list in O(1); lists are doubly linked so merging can do this. */
static void unlink_free(struct buddy *b, uint32_t i)
{
	struct buddy_page *d = &b->pages[i];

	if (d->prev != BUDDY_NONE)
		b->pages[d->prev].next = d->next;
	else
		b->free_head[d->order] = d->next;
	if (d->next != BUDDY_NONE)
		b->pages[d->next].prev = d->prev;
	b->free_blocks[d->order]--;
}

/*
 * Makes the block [pfn, pfn + 2^k) of zone z free, merging it with free buddies as far as
 * they go, so no two free buddies ever coexist. Its tails must already be BUDDY_TAIL.
 * Buddies outside the zone are never looked at: blocks never span zones.
 */
static void insert_free(struct buddy *b, const struct buddy_zone *z, uint64_t pfn, unsigned k)
{
	while (k < BUDDY_MAX_ORDER) {
		uint64_t bud = pfn ^ blk(k);
		const struct buddy_page *d;

		if (bud < z->base_pfn || bud >= zone_end(z))
			break;
		d = &b->pages[idx(z, bud)];
		if (d->state != BUDDY_FREE || d->order != k)
			break;
		unlink_free(b, idx(z, bud));
		b->pages[idx(z, pfn | blk(k))].state = BUDDY_TAIL;
		pfn &= ~blk(k);
		k++;
	}
	push_free(b, idx(z, pfn), k);
}

/* Frees [s, e) of z as maximal aligned blocks; mark_tails when the pages were reserved. */
static void insert_range(struct buddy *b, const struct buddy_zone *z, uint64_t s, uint64_t e,
                         bool mark_tails)
{
	while (s < e) {
		unsigned k = 0;

		while (k < BUDDY_MAX_ORDER && !(s & blk(k)) && s + blk(k + 1) <= e)
			k++;
		if (mark_tails)
			for (uint64_t p = s + 1; p < s + blk(k); p++)
				b->pages[idx(z, p)].state = BUDDY_TAIL;
		insert_free(b, z, s, k);
		s += blk(k);
	}
}

/*
 * Finds the free or allocated block holding pfn. For a tail, the aligned candidates
 * pfn & ~(2^k - 1) below the true head are all inside its block, hence tails, so the first
 * candidate that is not a tail is the head: at most BUDDY_MAX_ORDER probes.
 * ERR_FOREIGN outside the zones or on a reserved page.
 */
static err_t find_block(const struct buddy *b, uint64_t pfn, const struct buddy_zone **zp,
                        uint64_t *head)
{
	const struct buddy_zone *z = zone_of(b, pfn);
	const struct buddy_page *d;

	if (!z)
		return ERR_FOREIGN;
	*zp = z;
	d = &b->pages[idx(z, pfn)];
	if (d->state == BUDDY_RESERVED)
		return ERR_FOREIGN;
	if (d->state != BUDDY_TAIL) {
		*head = pfn;
		return ERR_OK;
	}
	/* Only corrupt descriptors can make the probes miss or leave the zone. */
	for (unsigned k = 1; k <= BUDDY_MAX_ORDER; k++) {
		uint64_t h = pfn & ~(blk(k) - 1);

		if (h < z->base_pfn)
			break;
		d = &b->pages[idx(z, h)];
		if (d->state == BUDDY_TAIL)
			continue;
		if (d->state == BUDDY_RESERVED || h + blk(d->order) <= pfn)
			break;
		*head = h;
		return ERR_OK;
	}
	return ERR_MALFORMED;
}

/* Checks that zones, maybe several adjacent ones, cover [pfn, pfn+n); returns the first. */
static err_t cover(const struct buddy *b, uint64_t pfn, uint64_t n, const struct buddy_zone **zp)
{
	const struct buddy_zone *z = zone_of(b, pfn);
	uint64_t end = pfn + n;

	if (!z || end < pfn)
		return ERR_INVAL;
	*zp = z;
	while (end > zone_end(z)) {
		if (z + 1 == &b->zones[b->nzones] || z[1].base_pfn != zone_end(z))
			return ERR_INVAL;
		z++;
	}
	return ERR_OK;
}

/* Descriptors are allocated by the caller, before any allocator exists to provide them. */
size_t buddy_desc_bytes(uint64_t npages)
{
	return (size_t)npages * sizeof(struct buddy_page);
}

/* Sets up b over the zones with every page reserved; the boot code then releases usable memory. */
err_t buddy_init(struct buddy *b, struct buddy_page *storage, uint64_t nstorage,
                 const struct buddy_range *zones, unsigned nzones)
{
	uint64_t total = 0;

	if (!b || !storage || !zones || !nzones || nzones > BUDDY_MAX_ZONES)
		return ERR_INVAL;
	for (unsigned i = 0; i < nzones; i++) {
		const struct buddy_range *r = &zones[i];

		if (!r->npages || r->base_pfn >= BUDDY_MAX_PFN || r->npages > BUDDY_MAX_PFN - r->base_pfn)
			return ERR_INVAL;
		if (i && r->base_pfn < zones[i - 1].base_pfn + zones[i - 1].npages)
			return ERR_INVAL;
		total += r->npages;
		if (total > nstorage || total >= BUDDY_NONE)
			return ERR_INVAL;
	}

	b->pages = storage;
	b->nzones = nzones;
	b->npages = total;
	for (unsigned i = 0, first = 0; i < nzones; first += (unsigned)zones[i++].npages)
		b->zones[i] = (struct buddy_zone){ zones[i].base_pfn, zones[i].npages, first };
	for (unsigned k = 0; k < BUDDY_ORDERS; k++) {
		b->free_head[k] = BUDDY_NONE;
		b->free_blocks[k] = 0;
	}
	for (unsigned o = 0; o < BUDDY_MAX_OWNERS; o++)
		b->owner_pages[o] = 0;
	b->owner_pages[OWNER_RESERVED] = b->npages;
	for (uint64_t i = 0; i < b->npages; i++)
		storage[i] = (struct buddy_page){ BUDDY_NONE, BUDDY_NONE, 0, BUDDY_RESERVED,
		                                  OWNER_RESERVED, 0 };
	return ERR_OK;
}

/*
 * Validates the whole range first, so a bad memory map entry changes nothing; then one pass
 * labels the pages and inserts maximal blocks at O(log n) each, never merging page by page.
 */
err_t buddy_release(struct buddy *b, uint64_t pfn, uint64_t npages)
{
	const struct buddy_zone *z0, *z;
	uint64_t end = pfn + npages, p, e;
	err_t err;

	if (!npages)
		return ERR_OK;
	if ((err = cover(b, pfn, npages, &z0)) != ERR_OK)
		return err;
	for (z = z0, p = pfn; p < end; z++)
		for (e = end < zone_end(z) ? end : zone_end(z); p < e; p++)
			if (b->pages[idx(z, p)].state != BUDDY_RESERVED)
				return ERR_FOREIGN;
	for (z = z0, p = pfn; p < end; z++) {
		e = end < zone_end(z) ? end : zone_end(z);
		insert_range(b, z, p, e, true);
		p = e;
	}
	b->owner_pages[OWNER_RESERVED] -= npages;
	b->owner_pages[OWNER_FREE] += npages;
	return ERR_OK;
}

/*
 * Carves free pages out as reserved: each free block overlapping the range is unlinked, its
 * pages inside the range become reserved and the parts outside go back as smaller blocks.
 */
err_t buddy_reserve(struct buddy *b, uint64_t pfn, uint64_t npages)
{
	const struct buddy_zone *z;
	uint64_t end = pfn + npages, p, h;
	err_t err;

	if (!npages)
		return ERR_OK;
	if ((err = cover(b, pfn, npages, &z)) != ERR_OK)
		return err;
	for (p = pfn; p < end; p = h + blk(b->pages[idx(z, h)].order))
		if (find_block(b, p, &z, &h) != ERR_OK || b->pages[idx(z, h)].state != BUDDY_FREE)
			return ERR_FOREIGN;
	for (p = pfn; p < end; ) {
		uint64_t s, e, bend;

		(void)find_block(b, p, &z, &h);
		bend = h + blk(b->pages[idx(z, h)].order);
		unlink_free(b, idx(z, h));
		b->pages[idx(z, h)].state = BUDDY_TAIL;
		s = h > pfn ? h : pfn;
		e = bend < end ? bend : end;
		for (uint64_t q = s; q < e; q++) {
			struct buddy_page *d = &b->pages[idx(z, q)];

			d->state = BUDDY_RESERVED;
			d->order = 0;
			d->owner = OWNER_RESERVED;
		}
		insert_range(b, z, h, s, false);
		insert_range(b, z, e, bend, false);
		p = bend;
	}
	b->owner_pages[OWNER_FREE] -= npages;
	b->owner_pages[OWNER_RESERVED] += npages;
	return ERR_OK;
}

/* Takes the smallest free block that fits and splits it, freeing the upper halves. */
err_t buddy_alloc(struct buddy *b, unsigned order, unsigned owner, uint64_t *pfn)
{
	const struct buddy_zone *z;
	struct buddy_page *d;
	unsigned k = order;
	uint32_t i;
	uint64_t p;

	if (order > BUDDY_MAX_ORDER || owner < OWNER_HV || owner >= BUDDY_MAX_OWNERS || !pfn)
		return ERR_INVAL;
	while (k <= BUDDY_MAX_ORDER && b->free_head[k] == BUDDY_NONE)
		k++;
	if (k > BUDDY_MAX_ORDER)
		return ERR_NOMEM;
	i = b->free_head[k];
	unlink_free(b, i);
	z = zone_search(b, i, true);
	p = z->base_pfn + (i - z->first);
	while (k > order) {
		k--;
		push_free(b, idx(z, p + blk(k)), k);
	}
	d = &b->pages[i];
	d->state = BUDDY_USED;
	d->order = (uint8_t)order;
	d->owner = (uint8_t)owner;
	b->owner_pages[OWNER_FREE] -= blk(order);
	b->owner_pages[owner] += blk(order);
	*pfn = p;
	return ERR_OK;
}

/* Finds the allocated block headed by pfn, with a distinct error for each way it is not. */
static err_t used_head(const struct buddy *b, uint64_t pfn, const struct buddy_zone **zp,
                       const struct buddy_page **dp)
{
	uint64_t h;
	err_t err = find_block(b, pfn, zp, &h);

	if (err != ERR_OK)
		return err;
	*dp = &b->pages[idx(*zp, h)];
	if ((*dp)->state == BUDDY_FREE)
		return ERR_DOUBLE_FREE;
	if (h != pfn)
		return ERR_NOT_BLOCK;
	return ERR_OK;
}

/* Returns the block to the free lists after checking that owner really holds it. */
err_t buddy_free(struct buddy *b, uint64_t pfn, unsigned owner)
{
	const struct buddy_zone *z;
	const struct buddy_page *d;
	unsigned k;
	err_t err = used_head(b, pfn, &z, &d);

	if (err != ERR_OK)
		return err;
	if (d->owner != owner)
		return ERR_FOREIGN;
	k = d->order;
	b->owner_pages[owner] -= blk(k);
	b->owner_pages[OWNER_FREE] += blk(k);
	insert_free(b, z, pfn, k);
	return ERR_OK;
}

/* Lets callers (and tests) see who holds a block without freeing it. */
err_t buddy_block(const struct buddy *b, uint64_t pfn, unsigned *order, unsigned *owner)
{
	const struct buddy_zone *z;
	const struct buddy_page *d;
	err_t err = used_head(b, pfn, &z, &d);

	if (err != ERR_OK)
		return err;
	*order = d->order;
	*owner = d->owner;
	return ERR_OK;
}

/* Checks one head at pfn of zone z and counts it; false when it is malformed. */
static bool check_head(const struct buddy *b, const struct buddy_zone *z, uint64_t pfn,
                       uint64_t *owners, uint64_t *blocks)
{
	const struct buddy_page *d = &b->pages[idx(z, pfn)];
	unsigned k = d->order;

	if (d->state == BUDDY_RESERVED) {
		owners[OWNER_RESERVED]++;
		return d->owner == OWNER_RESERVED && k == 0;
	}
	if (d->state != BUDDY_FREE && d->state != BUDDY_USED)
		return false;
	if (k > BUDDY_MAX_ORDER || (pfn & (blk(k) - 1)) || blk(k) > zone_end(z) - pfn)
		return false;
	for (uint64_t p = pfn + 1; p < pfn + blk(k); p++)
		if (b->pages[idx(z, p)].state != BUDDY_TAIL)
			return false;
	if (d->state == BUDDY_USED) {
		if (d->owner < OWNER_HV || d->owner >= BUDDY_MAX_OWNERS)
			return false;
	} else {
		uint64_t bud = pfn ^ blk(k);

		if (d->owner != OWNER_FREE)
			return false;
		if (k < BUDDY_MAX_ORDER && bud >= z->base_pfn && bud < zone_end(z) &&
		    b->pages[idx(z, bud)].state == BUDDY_FREE && b->pages[idx(z, bud)].order == k)
			return false;
		blocks[k]++;
	}
	owners[d->owner] += blk(k);
	return true;
}

/*
 * Walks every zone block by block, then every free list, and compares what it counted
 * with the running totals: any corruption of links, labels or counts shows up here.
 */
err_t buddy_check(const struct buddy *b)
{
	uint64_t owners[BUDDY_MAX_OWNERS], blocks[BUDDY_ORDERS], total = 0;

	for (unsigned o = 0; o < BUDDY_MAX_OWNERS; o++)
		owners[o] = 0;
	for (unsigned k = 0; k < BUDDY_ORDERS; k++)
		blocks[k] = 0;
	for (unsigned i = 0; i < b->nzones; i++) {
		const struct buddy_zone *z = &b->zones[i];

		if (z->first != total)
			return ERR_MALFORMED;
		total += z->npages;
		for (uint64_t p = z->base_pfn; p < zone_end(z); ) {
			const struct buddy_page *d = &b->pages[idx(z, p)];

			if (!check_head(b, z, p, owners, blocks))
				return ERR_MALFORMED;
			p += d->state == BUDDY_RESERVED ? 1 : blk(d->order);
		}
	}
	if (total != b->npages)
		return ERR_MALFORMED;
	for (unsigned k = 0; k < BUDDY_ORDERS; k++) {
		uint32_t prev = BUDDY_NONE;
		uint64_t n = 0;

		/* A cycle would repeat forever, so bounding the walk by the count catches it. */
		for (uint32_t i = b->free_head[k]; i != BUDDY_NONE; i = b->pages[i].next) {
			if (i >= b->npages || n == blocks[k])
				return ERR_MALFORMED;
			if (b->pages[i].state != BUDDY_FREE || b->pages[i].order != k ||
			    b->pages[i].prev != prev)
				return ERR_MALFORMED;
			prev = i;
			n++;
		}
		if (n != blocks[k] || b->free_blocks[k] != blocks[k])
			return ERR_MALFORMED;
	}
	for (unsigned o = 0; o < BUDDY_MAX_OWNERS; o++)
		if (owners[o] != b->owner_pages[o])
			return ERR_MALFORMED;
	return ERR_OK;
}
