/* test_gmem.c: unit tests of guest RAM backed by buddy blocks (vmm/gmem.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/gmem.h"

/* Machine memory is a host buffer; machine address = offset into it. */
#define MACHINE_PAGES 8192 /* 32 MiB */
static uint8_t *machine;
static struct buddy_page descs[MACHINE_PAGES];
static struct gmem_block blocks[1024];

static void *to_ptr(uint64_t hpa)
{
	assert_true(hpa < (uint64_t)MACHINE_PAGES * PAGE_SIZE);
	return machine + hpa;
}

static void new_machine(struct buddy *b)
{
	struct buddy_range z = { 0, MACHINE_PAGES };
	assert_int_equal(buddy_init(b, descs, MACHINE_PAGES, &z, 1), ERR_OK);
	assert_int_equal(buddy_release(b, 0, MACHINE_PAGES), ERR_OK);
	memset(machine, 0xa5, (size_t)MACHINE_PAGES * PAGE_SIZE);
}

static int setup(void **state)
{
	(void)state;
	machine = malloc((size_t)MACHINE_PAGES * PAGE_SIZE);
	return machine ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(machine);
	return 0;
}

static void ram_uses_the_largest_aligned_blocks(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	/* 6 MiB + 12 KiB: 4M + 2M + 8K + 4K */
	uint64_t size = (6ull << 20) + 0x3000;
	assert_int_equal(gmem_create(&g, &b, 9, size, BUDDY_MAX_ORDER, blocks, 1024, to_ptr), ERR_OK);
	assert_int_equal(g.nblocks, 4);
	assert_int_equal(g.blocks[0].order, 10);
	assert_int_equal(g.blocks[1].order, 9);
	assert_int_equal(g.blocks[2].order, 1);
	assert_int_equal(g.blocks[3].order, 0);
	for (unsigned i = 0; i < g.nblocks; i++) {
		/* guest and machine addresses share the block's alignment */
		uint64_t align = PAGE_SIZE << g.blocks[i].order;
		assert_int_equal(g.blocks[i].gpa % align, 0);
		assert_int_equal(g.blocks[i].hpa % align, 0);
	}
	assert_int_equal(b.owner_pages[9], size / PAGE_SIZE);
	gmem_destroy(&g);
	assert_int_equal(b.owner_pages[9], 0);
	assert_int_equal(buddy_check(&b), ERR_OK);
}

static void new_ram_reads_as_zero(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	assert_int_equal(gmem_create(&g, &b, 9, 1 << 20, BUDDY_MAX_ORDER, blocks, 1024, to_ptr), ERR_OK);
	uint8_t buf[4096];
	for (uint64_t gpa = 0; gpa < (1 << 20); gpa += sizeof(buf)) {
		assert_int_equal(gmem_read(&g, gpa, buf, sizeof(buf)), ERR_OK);
		for (unsigned i = 0; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0);
	}
	gmem_destroy(&g);
}

static void writes_cross_block_boundaries(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	/* Fragment machine memory so RAM needs several small blocks. */
	uint64_t pfn, keep[64];
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(buddy_alloc(&b, 0, 3, &keep[i]), ERR_OK);
	assert_int_equal(gmem_create(&g, &b, 9, 0x5000, 0, blocks, 1024, to_ptr), ERR_OK);
	assert_int_equal(g.nblocks, 5);
	char msg[0x3000];
	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (char)(i * 7);
	assert_int_equal(gmem_write(&g, 0x1800, msg, sizeof(msg)), ERR_OK);
	char back[sizeof(msg)];
	assert_int_equal(gmem_read(&g, 0x1800, back, sizeof(back)), ERR_OK);
	assert_memory_equal(msg, back, sizeof(msg));
	uint64_t hpa, run;
	assert_int_equal(gmem_translate(&g, 0x2010, &hpa, &run), ERR_OK);
	assert_int_equal(run, 0x1000 - 0x10);
	assert_int_equal(((uint8_t *)to_ptr(hpa))[0], (uint8_t)((0x2010 - 0x1800) * 7));
	gmem_destroy(&g);
	(void)pfn;
}

static void accesses_outside_ram_are_refused(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	assert_int_equal(gmem_create(&g, &b, 9, 0x4000, BUDDY_MAX_ORDER, blocks, 1024, to_ptr), ERR_OK);
	uint8_t x = 1;
	assert_int_equal(gmem_write(&g, 0x4000, &x, 1), ERR_INVAL);
	assert_int_equal(gmem_write(&g, 0x3fff, &x, 2), ERR_INVAL);
	assert_int_equal(gmem_write(&g, ~0ull, &x, 2), ERR_INVAL);
	assert_int_equal(gmem_write(&g, 0x3fff, &x, 1), ERR_OK);
	uint64_t hpa, run;
	assert_int_equal(gmem_translate(&g, 0x4000, &hpa, &run), ERR_INVAL);
	gmem_destroy(&g);
}

static void exhaustion_returns_everything_and_nomem(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	uint64_t before = b.owner_pages[OWNER_FREE];
	assert_int_equal(gmem_create(&g, &b, 9, (uint64_t)(MACHINE_PAGES + 1) * PAGE_SIZE,
				     BUDDY_MAX_ORDER, blocks, 1024, to_ptr), ERR_NOMEM);
	assert_int_equal(b.owner_pages[OWNER_FREE], before);
	assert_int_equal(b.owner_pages[9], 0);
	/* A block list too short for a fragmented layout is also "no memory". */
	assert_int_equal(gmem_create(&g, &b, 9, 0x7000, 0, blocks, 3, to_ptr), ERR_NOMEM);
	assert_int_equal(b.owner_pages[9], 0);
}

static void bad_sizes_are_invalid(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	assert_int_equal(gmem_create(&g, &b, 9, 0, 0, blocks, 1024, to_ptr), ERR_INVAL);
	assert_int_equal(gmem_create(&g, &b, 9, 0x1800, 0, blocks, 1024, to_ptr), ERR_INVAL);
}

static void cmpxchg_writes_only_over_the_expected_value(void **state)
{
	(void)state;
	struct buddy b;
	struct gmem g;
	new_machine(&b);
	assert_int_equal(gmem_create(&g, &b, 9, 0x4000, BUDDY_MAX_ORDER, blocks, 1024, to_ptr), ERR_OK);
	uint64_t v = 0x1122334455667788ull, now = 0;
	bool swapped = true;
	assert_int_equal(gmem_write(&g, 0x100, &v, 8), ERR_OK);
	assert_int_equal(gmem_cmpxchg(&g, 0x100, 8, 0x1, 0x99, &swapped), ERR_OK);
	assert_false(swapped);
	assert_int_equal(gmem_read(&g, 0x100, &now, 8), ERR_OK);
	assert_int_equal(now, v);
	assert_int_equal(gmem_cmpxchg(&g, 0x100, 4, 0x55667788, 0xaabbccdd, &swapped), ERR_OK);
	assert_true(swapped);
	assert_int_equal(gmem_read(&g, 0x100, &now, 8), ERR_OK);
	assert_int_equal(now, 0x11223344aabbccddull);
	assert_int_equal(gmem_cmpxchg(&g, 0x4000, 8, 0, 1, &swapped), ERR_INVAL);
	assert_false(swapped);
	assert_int_equal(gmem_cmpxchg(&g, 0x100, 9, 0, 1, &swapped), ERR_INVAL);
	assert_int_equal(gmem_cmpxchg(&g, 0x100, 0, 0, 1, &swapped), ERR_INVAL);
	gmem_destroy(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ram_uses_the_largest_aligned_blocks),
		cmocka_unit_test(new_ram_reads_as_zero),
		cmocka_unit_test(writes_cross_block_boundaries),
		cmocka_unit_test(accesses_outside_ram_are_refused),
		cmocka_unit_test(exhaustion_returns_everything_and_nomem),
		cmocka_unit_test(bad_sizes_are_invalid),
		cmocka_unit_test(cmpxchg_writes_only_over_the_expected_value),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
