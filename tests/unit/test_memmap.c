/* test_memmap.c: unit tests of the memory-map range arithmetic (mm/memmap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "mm/memmap.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void usable_keeps_only_available_entries_page_aligned_inward(void **state)
{
	(void)state;
	struct mb2_mmap_entry e[] = {
		{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE },
		{ 0x9fc00, 0x400, MB2_MEM_RESERVED },
		{ 0xf0000, 0x10000, MB2_MEM_RESERVED },
		{ 0x100123, 0x7ee0000 - 0x123, MB2_MEM_AVAILABLE },
		{ 0x7fe0000, 0x20000, MB2_MEM_ACPI },
	};
	struct phys_range r[8];
	uint64_t lost;
	unsigned n = memmap_usable(e, 5, r, 8, &lost);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 0x9f000);
	assert_int_equal(r[1].start, 0x101000);
	assert_int_equal(r[1].end, 0x7fe0000);
	assert_int_equal(lost, 0);
}

static void usable_sorts_and_merges_touching_and_overlapping_entries(void **state)
{
	(void)state;
	struct mb2_mmap_entry e[] = {
		{ 4 * GiB, 2 * GiB, MB2_MEM_AVAILABLE },
		{ MiB, 100 * MiB, MB2_MEM_AVAILABLE },
		{ 101 * MiB, 27 * MiB, MB2_MEM_AVAILABLE },   /* touches the previous one */
		{ 5 * GiB, 2 * GiB, MB2_MEM_AVAILABLE },       /* overlaps the first */
	};
	struct phys_range r[8];
	uint64_t lost;
	unsigned n = memmap_usable(e, 4, r, 8, &lost);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].start, MiB);
	assert_int_equal(r[0].end, 128 * MiB);
	assert_int_equal(r[1].start, 4 * GiB);
	assert_int_equal(r[1].end, 7 * GiB);
}

static void usable_drops_empty_overflowing_and_subpage_entries(void **state)
{
	(void)state;
	struct mb2_mmap_entry e[] = {
		{ 0x1000, 0, MB2_MEM_AVAILABLE },
		{ 0xfffffffffffff000ull, 0x2000, MB2_MEM_AVAILABLE },
		{ 0x1001, 0xffe, MB2_MEM_AVAILABLE },
		{ 0x10000, 0x1000, MB2_MEM_AVAILABLE },
	};
	struct phys_range r[8];
	uint64_t lost;
	unsigned n = memmap_usable(e, 4, r, 8, &lost);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].start, 0x10000);
	assert_int_equal(r[0].end, 0x11000);
}

static void usable_counts_ram_that_does_not_fit_as_lost(void **state)
{
	(void)state;
	struct mb2_mmap_entry e[4];
	for (unsigned i = 0; i < 4; i++)
		e[i] = (struct mb2_mmap_entry){ i * 2 * MiB, MiB, MB2_MEM_AVAILABLE };
	struct phys_range r[3];
	uint64_t lost;
	unsigned n = memmap_usable(e, 4, r, 3, &lost);
	assert_int_equal(n, 3);
	assert_int_equal(lost, MiB);
}

static void subtract_removes_every_byte_of_every_hole(void **state)
{
	(void)state;
	struct phys_range r[] = { { 0, 100 }, { 200, 300 } };
	struct phys_range h[] = { { 250, 260 }, { 0, 10 }, { 90, 210 }, { 255, 270 } };
	struct phys_range out[8];
	unsigned n = ranges_subtract(r, 2, h, 4, out, 8);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].start, 10);
	assert_int_equal(out[0].end, 90);
	assert_int_equal(out[1].start, 210);
	assert_int_equal(out[1].end, 250);
	assert_int_equal(out[2].start, 270);
	assert_int_equal(out[2].end, 300);
}

static void subtract_reports_overflow_of_output(void **state)
{
	(void)state;
	struct phys_range r[] = { { 0, 100 } };
	struct phys_range h[] = { { 10, 20 }, { 30, 40 } };
	struct phys_range out[2];
	assert_int_equal(ranges_subtract(r, 1, h, 2, out, 2), 3);
}

static void find_gap_honours_alignment_size_and_limit(void **state)
{
	(void)state;
	struct phys_range r[] = { { 0x1000, 0x3000 }, { 0x5800, 0x20000 }, { 5 * GiB, 6 * GiB } };
	uint64_t s;
	assert_true(ranges_find_gap(r, 3, 0x2000, 0x1000, 4 * GiB, &s));
	assert_int_equal(s, 0x1000);
	assert_true(ranges_find_gap(r, 3, 0x4000, 0x1000, 4 * GiB, &s));
	assert_int_equal(s, 0x6000);
	assert_false(ranges_find_gap(r, 3, 0x20000, 0x1000, 4 * GiB, &s));
	assert_true(ranges_find_gap(r, 3, 0x20000, 0x1000, 8 * GiB, &s));
	assert_int_equal(s, 5 * GiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(usable_keeps_only_available_entries_page_aligned_inward),
		cmocka_unit_test(usable_sorts_and_merges_touching_and_overlapping_entries),
		cmocka_unit_test(usable_drops_empty_overflowing_and_subpage_entries),
		cmocka_unit_test(usable_counts_ram_that_does_not_fit_as_lost),
		cmocka_unit_test(subtract_removes_every_byte_of_every_hole),
		cmocka_unit_test(subtract_reports_overflow_of_output),
		cmocka_unit_test(find_gap_honours_alignment_size_and_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
