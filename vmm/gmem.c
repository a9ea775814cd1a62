/* gmem.c: guest RAM as a sorted list of buddy blocks, and copies in and out of it. */
#include <stdbool.h>
#include "vmm/gmem.h"

/* Largest order whose block starts at gpa aligned and fits in left bytes. */
static unsigned fitting_order(uint64_t gpa, uint64_t left, unsigned max_order)
{
	unsigned order = 0;
	while (order < max_order) {
		uint64_t next = PAGE_SIZE << (order + 1);
		if ((gpa & (next - 1)) || next > left)
			break;
		order++;
	}
	return order;
}

err_t gmem_create(struct gmem *g, struct buddy *buddy, unsigned owner, uint64_t size,
		  unsigned max_order, struct gmem_block *blocks, unsigned cap,
		  void *(*hpa_to_ptr)(uint64_t hpa))
{
	*g = (struct gmem){ .size = size, .owner = owner, .buddy = buddy,
			    .hpa_to_ptr = hpa_to_ptr, .blocks = blocks, .cap = cap };
	if (size == 0 || (size & (PAGE_SIZE - 1)) || max_order > BUDDY_MAX_ORDER)
		return ERR_INVAL;
	uint64_t gpa = 0;
	while (gpa < size) {
		unsigned order = fitting_order(gpa, size - gpa, max_order);
		uint64_t pfn;
		/* Fall back to smaller blocks when no large one is free. */
		while (buddy_alloc(buddy, order, owner, &pfn) != ERR_OK) {
			if (order == 0) {
				gmem_destroy(g);
				return ERR_NOMEM;
			}
			order--;
		}
		if (g->nblocks == cap) {
			buddy_free(buddy, pfn, owner);
			gmem_destroy(g);
			return ERR_NOMEM;
		}
		g->blocks[g->nblocks++] = (struct gmem_block){ gpa, pfn << PAGE_SHIFT, order };
		g->blocks_by_order[order]++;
		gpa += PAGE_SIZE << order;
	}
	return gmem_zero(g, 0, size);
}

void gmem_destroy(struct gmem *g)
{
	for (unsigned i = 0; i < g->nblocks; i++)
		buddy_free(g->buddy, g->blocks[i].hpa >> PAGE_SHIFT, g->owner);
	g->nblocks = 0;
	for (unsigned o = 0; o < BUDDY_ORDERS; o++)
		g->blocks_by_order[o] = 0;
}

/* The block holding gpa, by binary search over the gpa-sorted list; NULL outside RAM. */
static const struct gmem_block *find_block(const struct gmem *g, uint64_t gpa)
{
	unsigned lo = 0, hi = g->nblocks;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct gmem_block *b = &g->blocks[mid];
		if (gpa < b->gpa)
			hi = mid;
		else if (gpa - b->gpa >= (PAGE_SIZE << b->order))
			lo = mid + 1;
		else
			return b;
	}
	return NULL;
}

err_t gmem_translate(const struct gmem *g, uint64_t gpa, uint64_t *hpa, uint64_t *contiguous)
{
	const struct gmem_block *b = find_block(g, gpa);
	if (!b)
		return ERR_INVAL;
	uint64_t off = gpa - b->gpa;
	*hpa = b->hpa + off;
	*contiguous = (PAGE_SIZE << b->order) - off;
	return ERR_OK;
}

enum copy_dir { COPY_IN, COPY_OUT, COPY_ZERO };

/* Walks [gpa, gpa + len) block by block; checks the whole range before touching it. */
static err_t copy(const struct gmem *g, uint64_t gpa, void *buf, uint64_t len, enum copy_dir dir)
{
	if (gpa > g->size || len > g->size - gpa)
		return ERR_INVAL;
	uint8_t *p = buf;
	while (len) {
		uint64_t hpa, run;
		if (gmem_translate(g, gpa, &hpa, &run) != ERR_OK)
			return ERR_INVAL;
		if (run > len)
			run = len;
		uint8_t *m = g->hpa_to_ptr(hpa);
		if (dir == COPY_ZERO && !((hpa | run) & 7)) {
			/* Whole new VMs are zeroed: eight bytes at a time. */
			uint64_t *q = (uint64_t *)(void *)m;
			for (uint64_t i = 0; i < run / 8; i++)
				q[i] = 0;
			gpa += run;
			len -= run;
			continue;
		}
		for (uint64_t i = 0; i < run; i++) {
			if (dir == COPY_IN)
				m[i] = p[i];
			else if (dir == COPY_OUT)
				p[i] = m[i];
			else
				m[i] = 0;
		}
		if (p)
			p += run;
		gpa += run;
		len -= run;
	}
	return ERR_OK;
}

err_t gmem_write(const struct gmem *g, uint64_t gpa, const void *src, uint64_t len)
{
	return copy(g, gpa, (void *)(uintptr_t)src, len, COPY_IN);
}

err_t gmem_read(const struct gmem *g, uint64_t gpa, void *dst, uint64_t len)
{
	return copy(g, gpa, dst, len, COPY_OUT);
}

err_t gmem_zero(const struct gmem *g, uint64_t gpa, uint64_t len)
{
	return copy(g, gpa, NULL, len, COPY_ZERO);
}

err_t gmem_cmpxchg(const struct gmem *g, uint64_t gpa, unsigned size, uint64_t old_val,
		   uint64_t new_val, bool *swapped)
{
	uint64_t now = 0;
	*swapped = false;
	if (size == 0 || size > sizeof(now))
		return ERR_INVAL;
	err_t err = gmem_read(g, gpa, &now, size);
	if (err != ERR_OK || now != old_val)
		return err;
	err = gmem_write(g, gpa, &new_val, size);
	*swapped = err == ERR_OK;
	return err;
}
