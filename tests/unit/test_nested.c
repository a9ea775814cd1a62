/* test_nested.c: unit tests of the second-level table builder (vmm/mmu/nested.c) in both formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/mmu/nested.h"

#define MAX_TABLES 256

/* Table pages come from a pool; "machine addresses" are pool indices << 12 plus a base. */
struct pool {
	uint64_t pages[MAX_TABLES][512];
	bool used[MAX_TABLES];
	unsigned live, allocs;
	unsigned fail_after; /* 0: never fail */
};

#define POOL_BASE 0x100000000ull

static err_t pool_alloc(void *ctx, uint64_t *pa)
{
	struct pool *p = ctx;
	if (p->fail_after && p->allocs + 1 >= p->fail_after)
		return ERR_NOMEM;
	for (unsigned i = 0; i < MAX_TABLES; i++) {
		if (!p->used[i]) {
			p->used[i] = true;
			memset(p->pages[i], 0, sizeof(p->pages[i]));
			p->live++;
			p->allocs++;
			*pa = POOL_BASE + ((uint64_t)i << 12);
			return ERR_OK;
		}
	}
	return ERR_NOMEM;
}

static void pool_free(void *ctx, uint64_t pa)
{
	struct pool *p = ctx;
	unsigned i = (unsigned)((pa - POOL_BASE) >> 12);
	assert_true(i < MAX_TABLES && p->used[i]);
	p->used[i] = false;
	p->live--;
}

static uint64_t *pool_ptr(void *ctx, uint64_t pa)
{
	struct pool *p = ctx;
	return p->pages[(pa - POOL_BASE) >> 12];
}

static const struct nested_format ept = { "EPT", 0x7, 0x7 | (6 << 3), 0x7, true, true };
static const struct nested_format npt = { "NPT", 0x7, 0x7, 0x1, true, true };
static const struct nested_format small_only = { "EPT", 0x7, 0x37, 0x7, false, false };

static struct pool *new_pool(void)
{
	struct pool *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	return p;
}

static void setup(struct nested *n, struct pool *p, const struct nested_format *f)
{
	struct nested_mm mm = { p, pool_alloc, pool_free, pool_ptr };
	assert_int_equal(nested_init(n, f, &mm), ERR_OK);
}

static void check_translation(const struct nested *n, uint64_t gpa, uint64_t hpa, unsigned level)
{
	uint64_t got;
	unsigned l;
	assert_true(nested_translate(n, gpa, &got, &l));
	assert_int_equal(got, hpa);
	assert_int_equal(l, level);
}

static void aligned_gigabyte_uses_one_1g_leaf(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &npt);
	assert_int_equal(nested_map(&n, 1ull << 30, 5ull << 30, 1ull << 30, true), ERR_OK);
	assert_int_equal(n.leaves[3], 1);
	assert_int_equal(n.leaves[2], 0);
	assert_int_equal(n.leaves[1], 0);
	check_translation(&n, (1ull << 30) + 0x12345, (5ull << 30) + 0x12345, 3);
	assert_int_equal(n.tables, 2); /* PML4 and one PDPT */
	nested_destroy(&n);
	assert_int_equal(p->live, 0);
	free(p);
}

static void unaligned_range_mixes_4k_2m_and_1g_leaves(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &ept);
	/* gpa and hpa share alignment; [1G - 2M - 4K, 2G + 2M + 4K) */
	uint64_t gpa = (1ull << 30) - (2ull << 20) - 0x1000, len = (1ull << 30) + (4ull << 20) + 0x2000;
	assert_int_equal(nested_map(&n, gpa, gpa + (8ull << 30), len, true), ERR_OK);
	assert_int_equal(n.leaves[1], 2);
	assert_int_equal(n.leaves[2], 2);
	assert_int_equal(n.leaves[3], 1);
	for (uint64_t off = 0; off < len; off += 0x1000 * 97)
		check_translation(&n, gpa + off, gpa + off + (8ull << 30),
				  gpa + off < (1ull << 30) - (2ull << 20) ? 1 :
				  gpa + off < (1ull << 30) ? 2 :
				  gpa + off < (2ull << 30) ? 3 :
				  gpa + off < (2ull << 30) + (2ull << 20) ? 2 : 1);
	nested_destroy(&n);
	assert_int_equal(p->live, 0);
	free(p);
}

static void large_off_maps_everything_with_4k_leaves(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &ept);
	assert_int_equal(nested_map(&n, 0, 0x40000000, 4ull << 20, false), ERR_OK);
	assert_int_equal(n.leaves[1], 1024);
	assert_int_equal(n.leaves[2] + n.leaves[3], 0);
	check_translation(&n, 0x3ff000, 0x403ff000, 1);
	nested_destroy(&n);
	free(p);
}

static void cpu_without_large_leaves_gets_4k_leaves(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &small_only);
	assert_int_equal(nested_map(&n, 0, 0, 2ull << 20, true), ERR_OK);
	assert_int_equal(n.leaves[1], 512);
	assert_int_equal(n.leaves[2], 0);
	nested_destroy(&n);
	free(p);
}

static void leaf_bits_follow_the_format(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &ept);
	assert_int_equal(nested_map(&n, 2ull << 20, 4ull << 20, 2ull << 20, true), ERR_OK);
	uint64_t *pml4 = pool_ptr(p, n.root);
	assert_int_equal(pml4[0] & 0xfff, 0x7);
	uint64_t *pdpt = pool_ptr(p, pml4[0] & NESTED_ADDR_MASK);
	uint64_t *pd = pool_ptr(p, pdpt[0] & NESTED_ADDR_MASK);
	assert_int_equal(pd[1], (4ull << 20) | 0x7 | (6 << 3) | NESTED_LARGE);
	nested_destroy(&n);
	free(p);
}

static void mapping_twice_is_refused(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &npt);
	assert_int_equal(nested_map(&n, 0, 0, 2ull << 20, true), ERR_OK);
	assert_int_equal(nested_map(&n, 0x1000, 0x1000, 0x1000, true), ERR_INVAL);
	assert_int_equal(nested_map(&n, 4ull << 20, 0, 0x1000, true), ERR_OK);
	assert_int_equal(nested_map(&n, 4ull << 20, 0, 0x1000, true), ERR_INVAL);
	assert_int_equal(nested_map(&n, 0x800, 0, 0x1000, true), ERR_INVAL);
	nested_destroy(&n);
	assert_int_equal(p->live, 0);
	free(p);
}

static void unmapped_addresses_do_not_translate(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &npt);
	assert_int_equal(nested_map(&n, 0, 0, 0x1000, true), ERR_OK);
	uint64_t hpa;
	unsigned l;
	assert_false(nested_translate(&n, 0x1000, &hpa, &l));
	assert_false(nested_translate(&n, 1ull << 39, &hpa, &l));
	nested_destroy(&n);
	free(p);
}

static void table_allocation_failure_is_reported(void **state)
{
	(void)state;
	struct pool *p = new_pool();
	struct nested n;
	setup(&n, p, &npt);
	p->fail_after = 2;
	assert_int_equal(nested_map(&n, 0, 0, 0x1000, true), ERR_NOMEM);
	nested_destroy(&n);
	assert_int_equal(p->live, 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aligned_gigabyte_uses_one_1g_leaf),
		cmocka_unit_test(unaligned_range_mixes_4k_2m_and_1g_leaves),
		cmocka_unit_test(large_off_maps_everything_with_4k_leaves),
		cmocka_unit_test(cpu_without_large_leaves_gets_4k_leaves),
		cmocka_unit_test(leaf_bits_follow_the_format),
		cmocka_unit_test(mapping_twice_is_refused),
		cmocka_unit_test(unmapped_addresses_do_not_translate),
		cmocka_unit_test(table_allocation_failure_is_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
