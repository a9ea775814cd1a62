/* memmap.c: range arithmetic for turning the firmware memory map into allocator zones. */
#include "mm/memmap.h"

#define PAGE_MASK 0xfffull

void ranges_sort(struct phys_range *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct phys_range x = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].start > x.start) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
}

/* Merges sorted ranges that touch or overlap, in place; returns the new count. */
static unsigned ranges_merge(struct phys_range *r, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (k > 0 && r[i].start <= r[k - 1].end) {
			if (r[i].end > r[k - 1].end)
				r[k - 1].end = r[i].end;
		} else {
			r[k++] = r[i];
		}
	}
	return k;
}

unsigned memmap_usable(const struct mb2_mmap_entry *e, unsigned n, struct phys_range *out,
		       unsigned max, uint64_t *lost)
{
	unsigned k = 0;
	*lost = 0;
	/* Collect into out, merging as we go so that max bounds merged ranges, not entries. */
	for (unsigned i = 0; i < n; i++) {
		if (e[i].type != MB2_MEM_AVAILABLE || e[i].len == 0 || e[i].addr + e[i].len < e[i].addr)
			continue;
		uint64_t start = (e[i].addr + PAGE_MASK) & ~PAGE_MASK;
		uint64_t end = (e[i].addr + e[i].len) & ~PAGE_MASK;
		if (start < e[i].addr || end <= start) /* rounding overflowed or nothing left */
			continue;
		if (k == max) {
			k = ranges_merge(out, k);
			if (k == max) {
				*lost += end - start;
				continue;
			}
		}
		out[k++] = (struct phys_range){ start, end };
		ranges_sort(out, k);
	}
	return ranges_merge(out, k);
}

unsigned ranges_subtract(const struct phys_range *ranges, unsigned nr,
			 const struct phys_range *holes, unsigned nh,
			 struct phys_range *out, unsigned max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < nr; i++) {
		uint64_t pos = ranges[i].start;
		while (pos < ranges[i].end) {
			/* The hole that covers pos pushes it past the hole's end. */
			bool moved = false;
			for (unsigned h = 0; h < nh; h++) {
				if (holes[h].start <= pos && pos < holes[h].end) {
					pos = holes[h].end;
					moved = true;
				}
			}
			if (moved)
				continue;
			/* Otherwise the free piece runs to the nearest hole start after pos. */
			uint64_t end = ranges[i].end;
			for (unsigned h = 0; h < nh; h++)
				if (holes[h].start > pos && holes[h].start < end)
					end = holes[h].start;
			if (k == max)
				return max + 1;
			out[k++] = (struct phys_range){ pos, end };
			pos = end;
		}
	}
	return k;
}

bool ranges_find_gap(const struct phys_range *ranges, unsigned n, uint64_t size,
		     uint64_t align, uint64_t limit, uint64_t *start)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = (ranges[i].start + align - 1) & ~(align - 1);
		uint64_t end = ranges[i].end < limit ? ranges[i].end : limit;
		if (s >= ranges[i].start && s < end && end - s >= size) {
			*start = s;
			return true;
		}
	}
	return false;
}
