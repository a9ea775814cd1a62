/* test_buddy.c: unit tests of the buddy allocator, and a random run against a reference model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/error.h"
#include "mm/buddy.h"

static struct buddy B;
static struct buddy_page *P;

/* Builds B over the zones, every page reserved; the previous allocator's storage is dropped. */
static void make_reserved(const struct buddy_range *z, unsigned n)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += z[i].npages;
	free(P);
	P = malloc(buddy_desc_bytes(total));
	assert_non_null(P);
	assert_int_equal(buddy_init(&B, P, total, z, n), ERR_OK);
}

/* Builds B over the zones with every page released, as after a clean boot. */
static void make(const struct buddy_range *z, unsigned n)
{
	make_reserved(z, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(buddy_release(&B, z[i].base_pfn, z[i].npages), ERR_OK);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

/* Free blocks per order must be exactly want[0..BUDDY_MAX_ORDER]. */
static void expect_free_blocks(const uint64_t *want)
{
	for (unsigned k = 0; k < BUDDY_ORDERS; k++)
		assert_int_equal(B.free_blocks[k], want[k]);
}

/* Descriptor of pfn, for tests that look at or damage the allocator's state. */
static struct buddy_page *desc(uint64_t pfn)
{
	for (unsigned i = 0; i < B.nzones; i++)
		if (pfn >= B.zones[i].base_pfn && pfn < B.zones[i].base_pfn + B.zones[i].npages)
			return &P[B.zones[i].first + pfn - B.zones[i].base_pfn];
	fail_msg("pfn %llu outside the zones", (unsigned long long)pfn);
	return NULL;
}

struct snapshot { struct buddy b; struct buddy_page *pages; };

static void snap(struct snapshot *s)
{
	s->b = B;
	s->pages = malloc(buddy_desc_bytes(B.npages));
	assert_non_null(s->pages);
	memcpy(s->pages, P, buddy_desc_bytes(B.npages));
}

/* A failed call must leave the allocator bit for bit as it was. */
static void expect_unchanged(struct snapshot *s)
{
	assert_memory_equal(&s->b, &B, sizeof(B));
	assert_memory_equal(s->pages, P, buddy_desc_bytes(B.npages));
	free(s->pages);
}

static void init_rejects_bad_zone_lists(void **state)
{
	static struct buddy_page store[64];
	struct buddy_range unsorted[] = { { 32, 8 }, { 0, 8 } };
	struct buddy_range overlap[] = { { 0, 8 }, { 7, 8 } };
	struct buddy_range empty[] = { { 0, 8 }, { 16, 0 } };
	struct buddy_range big[] = { { 0, 65 } };
	struct buddy_range beyond[] = { { BUDDY_MAX_PFN - 4, 8 } };
	struct buddy_range many[BUDDY_MAX_ZONES + 1];
	struct buddy_range ok[] = { { 0, 8 }, { 8, 8 }, { 100, 48 } };
	struct buddy b;

	(void)state;
	for (unsigned i = 0; i <= BUDDY_MAX_ZONES; i++)
		many[i] = (struct buddy_range){ 2 * i, 1 };
	assert_int_equal(buddy_init(&b, store, 64, unsorted, 2), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, overlap, 2), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, empty, 2), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, big, 1), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, beyond, 1), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, many, BUDDY_MAX_ZONES + 1), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, many, BUDDY_MAX_ZONES), ERR_OK);
	assert_int_equal(buddy_init(&b, store, 64, ok, 0), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 63, ok, 3), ERR_INVAL);
	assert_int_equal(buddy_init(&b, store, 64, ok, 3), ERR_OK);
	assert_int_equal(b.npages, 64);
	assert_int_equal(b.zones[2].first, 16);
}

static void init_leaves_every_page_reserved(void **state)
{
	struct buddy_range z[] = { { 16, 16 }, { 64, 64 } };
	uint64_t pfn;

	(void)state;
	make_reserved(z, 2);
	assert_int_equal(B.owner_pages[OWNER_RESERVED], 80);
	assert_int_equal(B.owner_pages[OWNER_FREE], 0);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &pfn), ERR_NOMEM);
	assert_int_equal(buddy_free(&B, 16, OWNER_HV), ERR_FOREIGN);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void release_inserts_maximal_aligned_blocks(void **state)
{
	struct buddy_range z[] = { { 3, 61 } };
	uint64_t want[BUDDY_ORDERS] = { [0] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1 };

	(void)state;
	make(z, 1);
	expect_free_blocks(want);
	assert_int_equal(desc(32)->state, BUDDY_FREE);
	assert_int_equal(desc(32)->order, 5);
	assert_int_equal(desc(4)->order, 2);
	assert_int_equal(B.owner_pages[OWNER_FREE], 61);
	assert_int_equal(B.owner_pages[OWNER_RESERVED], 0);
}

static void release_merges_with_free_neighbours(void **state)
{
	struct buddy_range z[] = { { 0, 64 } };
	uint64_t want[BUDDY_ORDERS] = { [6] = 1 };

	(void)state;
	make_reserved(z, 1);
	assert_int_equal(buddy_release(&B, 0, 1), ERR_OK);
	assert_int_equal(buddy_release(&B, 33, 31), ERR_OK);
	assert_int_equal(buddy_release(&B, 1, 32), ERR_OK);
	expect_free_blocks(want);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void release_errors_change_nothing(void **state)
{
	struct buddy_range z[] = { { 0, 32 }, { 64, 32 } };
	struct snapshot s;

	(void)state;
	make_reserved(z, 2);
	assert_int_equal(buddy_release(&B, 8, 8), ERR_OK);
	snap(&s);
	assert_int_equal(buddy_release(&B, 30, 4), ERR_INVAL);
	assert_int_equal(buddy_release(&B, 40, 1), ERR_INVAL);
	assert_int_equal(buddy_release(&B, 90, 7), ERR_INVAL);
	assert_int_equal(buddy_release(&B, UINT64_MAX - 1, 4), ERR_INVAL);
	assert_int_equal(buddy_release(&B, 0, 9), ERR_FOREIGN);
	assert_int_equal(buddy_release(&B, 15, 2), ERR_FOREIGN);
	expect_unchanged(&s);
	assert_int_equal(buddy_release(&B, 0, 0), ERR_OK);
}

static void release_spans_adjacent_zones_without_merging_them(void **state)
{
	struct buddy_range z[] = { { 0, 8 }, { 8, 8 }, { 16, 16 } };
	uint64_t want[BUDDY_ORDERS] = { [3] = 2, [4] = 1 };
	uint64_t pfn;

	(void)state;
	make_reserved(z, 3);
	assert_int_equal(buddy_release(&B, 0, 32), ERR_OK);
	expect_free_blocks(want);
	assert_int_equal(buddy_alloc(&B, 5, OWNER_HV, &pfn), ERR_NOMEM);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void blocks_do_not_merge_across_zones(void **state)
{
	struct buddy_range z[] = { { 0, 8 }, { 8, 8 } };
	uint64_t want[BUDDY_ORDERS] = { [3] = 2 };
	uint64_t a, c;

	(void)state;
	make(z, 2);
	expect_free_blocks(want);
	assert_int_equal(buddy_alloc(&B, 4, OWNER_HV, &a), ERR_NOMEM);
	assert_int_equal(buddy_alloc(&B, 3, OWNER_HV, &a), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 3, OWNER_HV, &c), ERR_OK);
	assert_int_equal(a + c, 8);
	assert_int_equal(buddy_free(&B, a, OWNER_HV), ERR_OK);
	assert_int_equal(buddy_free(&B, c, OWNER_HV), ERR_OK);
	expect_free_blocks(want);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void alloc_returns_block_aligned_to_its_order(void **state)
{
	struct buddy_range z[] = { { 1, 4095 } };
	uint64_t pfn;

	(void)state;
	make(z, 1);
	for (unsigned k = 0; k <= 10; k++) {
		assert_int_equal(buddy_alloc(&B, k, OWNER_HV, &pfn), ERR_OK);
		assert_int_equal(pfn & ((1ull << k) - 1), 0);
		assert_true(pfn >= 1 && pfn + (1ull << k) <= 4096);
	}
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void alloc_splits_smallest_fitting_block(void **state)
{
	struct buddy_range z[] = { { 16, 16 }, { 64, 64 } };
	uint64_t want[BUDDY_ORDERS] = { [0] = 1, [1] = 1, [2] = 1, [3] = 1, [6] = 1 };
	uint64_t pfn;

	(void)state;
	make(z, 2);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &pfn), ERR_OK);
	assert_int_equal(pfn, 16);
	expect_free_blocks(want);
	assert_int_equal(buddy_alloc(&B, 5, OWNER_HV, &pfn), ERR_OK);
	assert_true(pfn == 64 || pfn == 96);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void alloc_rejects_bad_order_and_owner(void **state)
{
	struct buddy_range z[] = { { 0, 64 } };
	struct snapshot s;
	uint64_t pfn;

	(void)state;
	make(z, 1);
	snap(&s);
	assert_int_equal(buddy_alloc(&B, BUDDY_MAX_ORDER + 1, OWNER_HV, &pfn), ERR_INVAL);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_FREE, &pfn), ERR_INVAL);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_RESERVED, &pfn), ERR_INVAL);
	assert_int_equal(buddy_alloc(&B, 0, BUDDY_MAX_OWNERS, &pfn), ERR_INVAL);
	assert_int_equal(buddy_alloc(&B, 7, OWNER_HV, &pfn), ERR_NOMEM);
	expect_unchanged(&s);
	assert_int_equal(buddy_alloc(&B, 0, BUDDY_MAX_OWNERS - 1, &pfn), ERR_OK);
}

static void max_order_block_is_one_gib(void **state)
{
	struct buddy_range z[] = { { (1ull << 18) - 1, (1ull << 19) + 2 } };
	uint64_t want[BUDDY_ORDERS] = { [0] = 2, [18] = 2 };
	uint64_t a, c, d;

	(void)state;
	assert_int_equal(PAGE_SIZE << BUDDY_MAX_ORDER, 1ull << 30);
	make(z, 1);
	expect_free_blocks(want);
	assert_int_equal(buddy_alloc(&B, 18, OWNER_HV, &a), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 18, OWNER_HV, &c), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 18, OWNER_HV, &d), ERR_NOMEM);
	assert_int_equal(a % (1ull << 18), 0);
	assert_int_equal(a + c, 3ull << 18);
}

static void free_merges_buddies_back_to_max_order(void **state)
{
	enum { N = 1 << 19 };
	struct buddy_range z[] = { { 0, N } };
	uint64_t want[BUDDY_ORDERS] = { [18] = 2 };
	uint64_t *pfns = malloc(N / 8 * sizeof(*pfns));

	(void)state;
	make(z, 1);
	for (unsigned i = 0; i < N / 8; i++)
		assert_int_equal(buddy_alloc(&B, 3, OWNER_VM_FIRST, &pfns[i]), ERR_OK);
	assert_int_equal(B.owner_pages[OWNER_FREE], 0);
	/* Free in an order unlike the allocation order, so merges happen in both directions. */
	for (unsigned i = 0; i < N / 8; i++) {
		unsigned j = (i * 7919u) % (N / 8);
		assert_int_equal(buddy_free(&B, pfns[j], OWNER_VM_FIRST), ERR_OK);
	}
	expect_free_blocks(want);
	assert_int_equal(B.owner_pages[OWNER_FREE], N);
	assert_int_equal(buddy_check(&B), ERR_OK);
	free(pfns);
}

static void double_free_is_detected_and_changes_nothing(void **state)
{
	struct buddy_range z[] = { { 0, 64 } };
	struct snapshot s;
	uint64_t a, c;

	(void)state;
	make(z, 1);
	assert_int_equal(buddy_alloc(&B, 2, OWNER_HV, &a), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 2, OWNER_HV, &c), ERR_OK);
	assert_int_equal(buddy_free(&B, a, OWNER_HV), ERR_OK);
	snap(&s);
	assert_int_equal(buddy_free(&B, a, OWNER_HV), ERR_DOUBLE_FREE);
	assert_int_equal(buddy_free(&B, a + 3, OWNER_HV), ERR_DOUBLE_FREE);
	assert_int_equal(buddy_free(&B, 63, OWNER_HV), ERR_DOUBLE_FREE);
	assert_int_equal(buddy_free(&B, 32, OWNER_PGTABLE), ERR_DOUBLE_FREE);
	expect_unchanged(&s);
}

static void free_by_other_owner_is_foreign(void **state)
{
	struct buddy_range z[] = { { 0, 64 } };
	struct snapshot s;
	unsigned order, owner;
	uint64_t a;

	(void)state;
	make(z, 1);
	assert_int_equal(buddy_alloc(&B, 1, OWNER_VM_FIRST + 3, &a), ERR_OK);
	snap(&s);
	assert_int_equal(buddy_free(&B, a, OWNER_VM_FIRST + 4), ERR_FOREIGN);
	assert_int_equal(buddy_free(&B, a, OWNER_HV), ERR_FOREIGN);
	assert_int_equal(buddy_free(&B, a, 300), ERR_FOREIGN);
	expect_unchanged(&s);
	assert_int_equal(buddy_block(&B, a, &order, &owner), ERR_OK);
	assert_int_equal(order, 1);
	assert_int_equal(owner, OWNER_VM_FIRST + 3);
	assert_int_equal(buddy_free(&B, a, OWNER_VM_FIRST + 3), ERR_OK);
}

static void free_of_block_middle_is_not_block(void **state)
{
	struct buddy_range z[] = { { 5, 200 } };
	struct snapshot s;
	unsigned order, owner;
	uint64_t a;

	(void)state;
	make(z, 1);
	assert_int_equal(buddy_alloc(&B, 6, OWNER_PGTABLE, &a), ERR_OK);
	snap(&s);
	for (uint64_t p = a + 1; p < a + 64; p++) {
		assert_int_equal(buddy_free(&B, p, OWNER_PGTABLE), ERR_NOT_BLOCK);
		assert_int_equal(buddy_block(&B, p, &order, &owner), ERR_NOT_BLOCK);
	}
	expect_unchanged(&s);
}

static void free_of_reserved_page_is_foreign(void **state)
{
	struct buddy_range z[] = { { 0, 64 }, { 128, 64 } };
	struct snapshot s;

	(void)state;
	make_reserved(z, 2);
	assert_int_equal(buddy_release(&B, 0, 60), ERR_OK);
	snap(&s);
	assert_int_equal(buddy_free(&B, 60, OWNER_HV), ERR_FOREIGN);
	assert_int_equal(buddy_free(&B, 130, OWNER_HV), ERR_FOREIGN);
	assert_int_equal(buddy_free(&B, 64, OWNER_HV), ERR_FOREIGN);
	assert_int_equal(buddy_free(&B, 1ull << 39, OWNER_HV), ERR_FOREIGN);
	expect_unchanged(&s);
}

static void exhaustion_returns_nomem_then_recovers(void **state)
{
	struct buddy_range z[] = { { 3, 100 }, { 1000, 37 } };
	uint64_t pfn, got = 0, last = 0;
	unsigned char seen[1037] = { 0 };

	(void)state;
	make(z, 2);
	while (buddy_alloc(&B, 0, OWNER_HV, &pfn) == ERR_OK) {
		assert_true(pfn < sizeof(seen) && !seen[pfn]);
		seen[pfn] = 1;
		last = pfn;
		got++;
	}
	assert_int_equal(got, 137);
	assert_int_equal(B.owner_pages[OWNER_FREE], 0);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &pfn), ERR_NOMEM);
	assert_int_equal(buddy_free(&B, last, OWNER_HV), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &pfn), ERR_OK);
	assert_int_equal(pfn, last);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void fragmentation_large_alloc_fails_until_neighbours_freed(void **state)
{
	struct buddy_range z[] = { { 0, 16 } };
	uint64_t pfns[16], big;

	(void)state;
	make(z, 1);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &pfns[i]), ERR_OK);
	/* Keep every other page: half the memory is free, yet no two free pages are buddies. */
	for (unsigned i = 0; i < 16; i++)
		if (pfns[i] % 2)
			assert_int_equal(buddy_free(&B, pfns[i], OWNER_HV), ERR_OK);
	assert_int_equal(B.owner_pages[OWNER_FREE], 8);
	assert_int_equal(B.free_blocks[0], 8);
	assert_int_equal(buddy_alloc(&B, 1, OWNER_HV, &big), ERR_NOMEM);
	assert_int_equal(buddy_free(&B, 4, OWNER_HV), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 2, OWNER_HV, &big), ERR_NOMEM);
	assert_int_equal(buddy_free(&B, 6, OWNER_HV), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 2, OWNER_HV, &big), ERR_OK);
	assert_int_equal(big, 4);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void zone_with_unaligned_base_yields_aligned_blocks(void **state)
{
	struct buddy_range z[] = { { 3, 29 } };
	uint64_t pfn;

	(void)state;
	make(z, 1);
	assert_int_equal(buddy_alloc(&B, 4, OWNER_HV, &pfn), ERR_OK);
	assert_int_equal(pfn, 16);
	assert_int_equal(buddy_alloc(&B, 3, OWNER_HV, &pfn), ERR_OK);
	assert_int_equal(pfn, 8);
	assert_int_equal(buddy_alloc(&B, 2, OWNER_HV, &pfn), ERR_OK);
	assert_int_equal(pfn, 4);
	assert_int_equal(buddy_alloc(&B, 1, OWNER_HV, &pfn), ERR_NOMEM);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &pfn), ERR_OK);
	assert_int_equal(pfn, 3);
	assert_int_equal(B.owner_pages[OWNER_FREE], 0);
}

static void release_of_millions_of_pages_is_fast(void **state)
{
	enum { N = 1 << 22 };
	struct buddy_range z[] = { { 1, N - 1 }, { N + 5, N - 5 } };
	uint64_t want[BUDDY_ORDERS];
	struct timespec t0, t1;
	double secs;

	(void)state;
	for (unsigned k = 0; k < BUDDY_ORDERS; k++)
		want[k] = k < BUDDY_MAX_ORDER ? 2 : 2 * (N >> BUDDY_MAX_ORDER) - 2;
	want[2] = 1;
	make_reserved(z, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(buddy_release(&B, 1, N - 1), ERR_OK);
	assert_int_equal(buddy_release(&B, N + 5, N - 5), ERR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* A page-at-a-time free with merging costs ~20 probes per page; this is one pass. */
	assert_true(secs < 0.5);
	expect_free_blocks(want);
	assert_int_equal(B.owner_pages[OWNER_FREE], 2 * N - 6);
}

static void reserve_carves_pages_out_of_free_blocks(void **state)
{
	struct buddy_range z[] = { { 0, 64 } };
	uint64_t carved[BUDDY_ORDERS] = { [0] = 2, [2] = 1, [3] = 1, [4] = 1, [5] = 1 };
	uint64_t whole[BUDDY_ORDERS] = { [6] = 1 };
	struct snapshot s;

	(void)state;
	make(z, 1);
	assert_int_equal(buddy_reserve(&B, 5, 2), ERR_OK);
	expect_free_blocks(carved);
	assert_int_equal(desc(5)->state, BUDDY_RESERVED);
	assert_int_equal(desc(7)->state, BUDDY_FREE);
	assert_int_equal(B.owner_pages[OWNER_RESERVED], 2);
	assert_int_equal(B.owner_pages[OWNER_FREE], 62);
	assert_int_equal(buddy_check(&B), ERR_OK);
	snap(&s);
	assert_int_equal(buddy_reserve(&B, 4, 3), ERR_FOREIGN);
	assert_int_equal(buddy_reserve(&B, 60, 8), ERR_INVAL);
	expect_unchanged(&s);
	assert_int_equal(buddy_release(&B, 5, 2), ERR_OK);
	expect_free_blocks(whole);
	assert_int_equal(buddy_reserve(&B, 0, 64), ERR_OK);
	assert_int_equal(B.owner_pages[OWNER_RESERVED], 64);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void reserve_of_allocated_page_is_foreign(void **state)
{
	struct buddy_range z[] = { { 0, 32 }, { 32, 32 } };
	struct snapshot s;
	uint64_t a;

	(void)state;
	make(z, 2);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &a), ERR_OK);
	snap(&s);
	assert_int_equal(buddy_reserve(&B, 0, 64), ERR_FOREIGN);
	assert_int_equal(buddy_reserve(&B, a, 1), ERR_FOREIGN);
	expect_unchanged(&s);
	assert_int_equal(buddy_reserve(&B, a + 1, 63 - a), ERR_OK);
	assert_int_equal(B.owner_pages[OWNER_FREE], a);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

static void owner_accounting_tracks_each_owner(void **state)
{
	struct buddy_range z[] = { { 0, 1024 } };
	uint64_t a, c, d, e;

	(void)state;
	make_reserved(z, 1);
	assert_int_equal(buddy_release(&B, 0, 1000), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 3, OWNER_HV, &a), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_PGTABLE, &c), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 5, OWNER_VM_FIRST, &d), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 2, BUDDY_MAX_OWNERS - 1, &e), ERR_OK);
	assert_int_equal(B.owner_pages[OWNER_HV], 8);
	assert_int_equal(B.owner_pages[OWNER_PGTABLE], 1);
	assert_int_equal(B.owner_pages[OWNER_VM_FIRST], 32);
	assert_int_equal(B.owner_pages[BUDDY_MAX_OWNERS - 1], 4);
	assert_int_equal(B.owner_pages[OWNER_RESERVED], 24);
	assert_int_equal(B.owner_pages[OWNER_FREE], 1000 - 45);
	assert_int_equal(buddy_free(&B, d, OWNER_VM_FIRST), ERR_OK);
	assert_int_equal(B.owner_pages[OWNER_VM_FIRST], 0);
	assert_int_equal(B.owner_pages[OWNER_FREE], 1000 - 13);
	for (unsigned o = OWNER_VM_FIRST + 1; o < BUDDY_MAX_OWNERS - 1; o++)
		assert_int_equal(B.owner_pages[o], 0);
	assert_int_equal(buddy_check(&B), ERR_OK);
}

/* Puts an allocated order-0 page of OWNER_HV on its free list with all counts kept right. */
static void free_without_merging(uint64_t pfn)
{
	struct buddy_page *d = desc(pfn);
	uint32_t i = (uint32_t)(d - P);

	d->state = BUDDY_FREE;
	d->owner = OWNER_FREE;
	d->next = B.free_head[0];
	d->prev = BUDDY_NONE;
	if (d->next != BUDDY_NONE)
		P[d->next].prev = i;
	B.free_head[0] = i;
	B.free_blocks[0]++;
	B.owner_pages[OWNER_HV]--;
	B.owner_pages[OWNER_FREE]++;
}

static void check_detects_corruption(void **state)
{
	struct buddy_range z[] = { { 0, 64 } };
	uint64_t a, c;
	uint32_t link;

	(void)state;
	make(z, 1);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &a), ERR_OK);
	assert_int_equal(buddy_alloc(&B, 0, OWNER_HV, &c), ERR_OK);
	assert_int_equal(buddy_check(&B), ERR_OK);

	B.free_blocks[3]++;
	assert_int_equal(buddy_check(&B), ERR_MALFORMED);
	B.free_blocks[3]--;
	B.owner_pages[OWNER_HV]++;
	assert_int_equal(buddy_check(&B), ERR_MALFORMED);
	B.owner_pages[OWNER_HV]--;
	desc(a)->owner = OWNER_PGTABLE;
	assert_int_equal(buddy_check(&B), ERR_MALFORMED);
	desc(a)->owner = OWNER_HV;
	desc(9)->state = BUDDY_FREE;
	assert_int_equal(buddy_check(&B), ERR_MALFORMED);
	desc(9)->state = BUDDY_TAIL;
	link = desc(8)->next;
	desc(8)->next = 8;
	assert_int_equal(buddy_check(&B), ERR_MALFORMED);
	desc(8)->next = link;
	assert_int_equal(buddy_check(&B), ERR_OK);

	/* Freeing a and c behind the allocator's back, without merging, leaves two free buddies. */
	free_without_merging(a);
	assert_int_equal(buddy_check(&B), ERR_OK);
	free_without_merging(c);
	assert_int_equal(buddy_check(&B), ERR_MALFORMED);
}

/* The reference model: one byte per pfn of the space the random layouts use. */
enum { SPACE = 1 << 15, NOZONE = 0xff, STEPS = 6000, PHASE = 1000 };
static uint8_t m_own[SPACE];    /* owner of each page, NOZONE outside the zones */
static uint8_t m_zone[SPACE];   /* zone of each page: blocks never span two */
static uint32_t m_head[SPACE];  /* head pfn of the allocated block holding each page */
static uint64_t m_count[BUDDY_MAX_OWNERS];

struct live { uint64_t pfn; unsigned order, owner; };
static struct live lv[SPACE];
static unsigned nlive;

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* Random sorted zones, some adjacent, some at odd pfns, within SPACE. */
static unsigned random_layout(struct buddy_range *z)
{
	unsigned n = 1 + (unsigned)rnd(6);
	uint64_t at = rnd(40);

	for (unsigned i = 0; i < n; i++) {
		uint64_t len = 1 + rnd(rnd(4) ? 2500 : 6000);

		if (at + len > SPACE)
			return i;
		z[i] = (struct buddy_range){ at, len };
		at += len + (rnd(3) ? rnd(200) : 0);
	}
	return n;
}

static void model_set(uint64_t pfn, uint64_t n, unsigned owner)
{
	for (uint64_t p = pfn; p < pfn + n; p++) {
		m_count[m_own[p]]--;
		m_own[p] = (uint8_t)owner;
		m_count[owner]++;
		m_head[p] = (uint32_t)pfn;
	}
}

/* What buddy_free must answer, from the model alone. */
static err_t model_free_result(uint64_t pfn, unsigned owner)
{
	if (pfn >= SPACE || m_own[pfn] == NOZONE || m_own[pfn] == OWNER_RESERVED)
		return ERR_FOREIGN;
	if (m_own[pfn] == OWNER_FREE)
		return ERR_DOUBLE_FREE;
	if (m_head[pfn] != pfn)
		return ERR_NOT_BLOCK;
	return m_own[pfn] == owner ? ERR_OK : ERR_FOREIGN;
}

/* Whether some aligned 2^order run of free pages exists: the allocator must then find one. */
static bool model_fits(unsigned order)
{
	uint64_t n = 1ull << order;

	for (uint64_t p = 0; p + n <= SPACE; p += n) {
		uint64_t q = p;

		while (q < p + n && m_own[q] == OWNER_FREE && m_zone[q] == m_zone[p])
			q++;
		if (q == p + n)
			return true;
	}
	return false;
}

/* Expected answer of release (want == OWNER_RESERVED) or reserve (want == OWNER_FREE). */
static err_t model_range_result(uint64_t pfn, uint64_t n, unsigned want)
{
	err_t e = ERR_OK;

	for (uint64_t p = pfn; p < pfn + n; p++) {
		if (p >= SPACE || m_own[p] == NOZONE)
			return ERR_INVAL;
		if (m_own[p] != want)
			e = ERR_FOREIGN;
	}
	return e;
}

static void expect_model_counts(void)
{
	for (unsigned o = 0; o < BUDDY_MAX_OWNERS; o++)
		assert_int_equal(B.owner_pages[o], m_count[o]);
}

/* Frees a live block, now and then wrongly (middle, other owner); with bad, a random pfn. */
static void random_free(struct snapshot *s, bool bad)
{
	uint64_t pfn;
	unsigned owner;
	err_t want;

	if (nlive && !bad) {
		unsigned i = (unsigned)rnd(nlive);
		pfn = lv[i].pfn + (rnd(8) ? 0 : rnd(1ull << lv[i].order));
		owner = rnd(8) ? lv[i].owner : OWNER_HV + (unsigned)rnd(BUDDY_MAX_OWNERS - OWNER_HV);
	} else {
		const struct buddy_zone *z = &B.zones[rnd(B.nzones)];
		pfn = rnd(4) ? z->base_pfn + rnd(z->npages) : rnd(SPACE + 64);
		owner = (unsigned)rnd(BUDDY_MAX_OWNERS);
	}
	want = model_free_result(pfn, owner);
	if (want != ERR_OK)
		snap(s);
	assert_int_equal(buddy_free(&B, pfn, owner), want);
	if (want != ERR_OK) {
		expect_unchanged(s);
		return;
	}
	for (unsigned i = 0; i < nlive; i++)
		if (lv[i].pfn == pfn) {
			model_set(pfn, 1ull << lv[i].order, OWNER_FREE);
			lv[i] = lv[--nlive];
			return;
		}
	fail_msg("freed block %llu not in the live list", (unsigned long long)pfn);
}

static void random_alloc(void)
{
	unsigned order = (unsigned)rnd(rnd(8) ? 4 : 12);
	unsigned owner = OWNER_HV + (unsigned)rnd(BUDDY_MAX_OWNERS - OWNER_HV);
	uint64_t pfn, n = 1ull << order;
	err_t e = buddy_alloc(&B, order, owner, &pfn);

	if (e == ERR_NOMEM) {
		assert_false(model_fits(order));
		return;
	}
	assert_int_equal(e, ERR_OK);
	assert_int_equal(pfn % n, 0);
	assert_true(pfn + n <= SPACE);
	for (uint64_t p = pfn; p < pfn + n; p++)
		assert_int_equal(m_own[p], OWNER_FREE);
	model_set(pfn, n, owner);
	lv[nlive++] = (struct live){ pfn, order, owner };
}

static void random_range_op(struct snapshot *s)
{
	const struct buddy_zone *z = &B.zones[rnd(B.nzones)];
	uint64_t pfn = rnd(8) ? z->base_pfn + rnd(z->npages) : rnd(SPACE), n = 1 + rnd(rnd(4) ? 4 : 300);
	bool release = rnd(2);
	unsigned want_owner = release ? OWNER_RESERVED : OWNER_FREE;
	err_t want = model_range_result(pfn, n, want_owner);
	err_t got;

	if (want != ERR_OK)
		snap(s);
	got = release ? buddy_release(&B, pfn, n) : buddy_reserve(&B, pfn, n);
	assert_int_equal(got, want);
	if (want != ERR_OK)
		expect_unchanged(s);
	else
		model_set(pfn, n, release ? OWNER_FREE : OWNER_RESERVED);
}

/* After everything is given back, each zone must be exactly its maximal aligned blocks. */
static void expect_fully_merged(const struct buddy_range *z, unsigned nz)
{
	uint64_t want[BUDDY_ORDERS] = { 0 };

	for (unsigned i = 0; i < nz; i++) {
		uint64_t s = z[i].base_pfn, e = s + z[i].npages;

		while (s < e) {
			unsigned k = 0;

			while (k < BUDDY_MAX_ORDER && s % (2ull << k) == 0 && s + (2ull << k) <= e)
				k++;
			assert_int_equal(desc(s)->state, BUDDY_FREE);
			assert_int_equal(desc(s)->order, k);
			want[k]++;
			s += 1ull << k;
		}
	}
	expect_free_blocks(want);
}

static void random_sequences_match_reference_model(void **state)
{
	static const uint64_t seeds[] = { 1, 42, 0x9e3779b97f4a7c15ull, 2024, 77777, 123456789 };
	struct buddy_range z[8];
	struct snapshot s;

	(void)state;
	for (unsigned si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		unsigned nz;

		rng = seeds[si];
		nz = random_layout(z);
		memset(m_own, NOZONE, sizeof(m_own));
		memset(m_count, 0, sizeof(m_count));
		nlive = 0;
		make_reserved(z, nz);
		for (unsigned i = 0; i < nz; i++)
			for (uint64_t p = z[i].base_pfn; p < z[i].base_pfn + z[i].npages; p++) {
				m_own[p] = OWNER_RESERVED;
				m_zone[p] = (uint8_t)i;
			}
		m_count[OWNER_RESERVED] = B.npages;
		/* Release each zone in random pieces, leaving some reserved as firmware would. */
		for (unsigned i = 0; i < nz; i++)
			for (uint64_t p = z[i].base_pfn, e = p + z[i].npages; p < e; ) {
				uint64_t n = 1 + rnd(e - p < 700 ? e - p : 700);

				if (rnd(5)) {
					assert_int_equal(buddy_release(&B, p, n), ERR_OK);
					model_set(p, n, OWNER_FREE);
				}
				p += n;
			}
		expect_model_counts();
		assert_int_equal(buddy_check(&B), ERR_OK);

		for (unsigned step = 0; step < STEPS; step++) {
			/* Alternate filling and draining phases, to reach both exhaustion and merging. */
			uint64_t r = rnd(100), fill = (step / PHASE) % 2 ? 25 : 70;

			if (r < fill)
				random_alloc();
			else if (r < 90)
				random_free(&s, false);
			else if (r < 96)
				random_free(&s, true);
			else
				random_range_op(&s);
			expect_model_counts();
			if (step % 64 == 0) {
				assert_int_equal(buddy_check(&B), ERR_OK);
				if (nlive) {
					struct live *l = &lv[rnd(nlive)];
					unsigned order, owner;

					assert_int_equal(buddy_block(&B, l->pfn, &order, &owner), ERR_OK);
					assert_int_equal(order, l->order);
					assert_int_equal(owner, l->owner);
				}
			}
		}

		while (nlive) {
			assert_int_equal(buddy_free(&B, lv[nlive - 1].pfn, lv[nlive - 1].owner), ERR_OK);
			model_set(lv[nlive - 1].pfn, 1ull << lv[nlive - 1].order, OWNER_FREE);
			nlive--;
		}
		for (uint64_t p = 0; p < SPACE; p++)
			if (m_own[p] == OWNER_RESERVED) {
				assert_int_equal(buddy_release(&B, p, 1), ERR_OK);
				model_set(p, 1, OWNER_FREE);
			}
		expect_model_counts();
		assert_int_equal(B.owner_pages[OWNER_FREE], B.npages);
		assert_int_equal(buddy_check(&B), ERR_OK);
		expect_fully_merged(z, nz);
	}
}

static int teardown(void **state)
{
	(void)state;
	free(P);
	P = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_rejects_bad_zone_lists),
		cmocka_unit_test(init_leaves_every_page_reserved),
		cmocka_unit_test(release_inserts_maximal_aligned_blocks),
		cmocka_unit_test(release_merges_with_free_neighbours),
		cmocka_unit_test(release_errors_change_nothing),
		cmocka_unit_test(release_spans_adjacent_zones_without_merging_them),
		cmocka_unit_test(blocks_do_not_merge_across_zones),
		cmocka_unit_test(alloc_returns_block_aligned_to_its_order),
		cmocka_unit_test(alloc_splits_smallest_fitting_block),
		cmocka_unit_test(alloc_rejects_bad_order_and_owner),
		cmocka_unit_test(max_order_block_is_one_gib),
		cmocka_unit_test(free_merges_buddies_back_to_max_order),
		cmocka_unit_test(double_free_is_detected_and_changes_nothing),
		cmocka_unit_test(free_by_other_owner_is_foreign),
		cmocka_unit_test(free_of_block_middle_is_not_block),
		cmocka_unit_test(free_of_reserved_page_is_foreign),
		cmocka_unit_test(exhaustion_returns_nomem_then_recovers),
		cmocka_unit_test(fragmentation_large_alloc_fails_until_neighbours_freed),
		cmocka_unit_test(zone_with_unaligned_base_yields_aligned_blocks),
		cmocka_unit_test(release_of_millions_of_pages_is_fast),
		cmocka_unit_test(reserve_carves_pages_out_of_free_blocks),
		cmocka_unit_test(reserve_of_allocated_page_is_foreign),
		cmocka_unit_test(owner_accounting_tracks_each_owner),
		cmocka_unit_test(check_detects_corruption),
		cmocka_unit_test(random_sequences_match_reference_model),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
