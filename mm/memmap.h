/* memmap.h: pure range arithmetic over the firmware memory map (usable RAM, holes, gaps). */
#ifndef MM_MEMMAP_H
#define MM_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>
#include "boot/multiboot2.h"

/* Physical bytes [start, end). */
struct phys_range {
	uint64_t start, end;
};

/*
 * Usable RAM: available entries, shrunk inward to page boundaries, sorted and
 * merged where they touch or overlap.  Returns how many ranges were written;
 * *lost receives the bytes of usable RAM that did not fit in max ranges.
 */
unsigned memmap_usable(const struct mb2_mmap_entry *e, unsigned n, struct phys_range *out,
		       unsigned max, uint64_t *lost);

/* Sorts ranges by start (insertion sort: the lists are short). */
void ranges_sort(struct phys_range *r, unsigned n);

/*
 * out = ranges minus holes: every byte in a hole is removed.  ranges must be
 * sorted and disjoint; holes may be in any order and may overlap.  Returns the
 * count, or max + 1 when out is too small.
 */
unsigned ranges_subtract(const struct phys_range *ranges, unsigned nr,
			 const struct phys_range *holes, unsigned nh,
			 struct phys_range *out, unsigned max);

/* Lowest align-aligned start of size bytes inside one of ranges, ending at or below limit. */
bool ranges_find_gap(const struct phys_range *ranges, unsigned n, uint64_t size,
		     uint64_t align, uint64_t limit, uint64_t *start);

#endif
