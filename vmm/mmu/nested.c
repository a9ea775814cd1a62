/* nested.c: builds and walks EPT/NPT tables through the format the backend gives. */
#include "vmm/mmu/nested.h"

#define LEVELS  4
#define ENTRIES 512

static uint64_t level_size(unsigned level)
{
	return 1ull << (12 + 9 * (level - 1));
}

static unsigned index_at(uint64_t gpa, unsigned level)
{
	return (unsigned)((gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1));
}

static bool present(const struct nested *n, uint64_t e)
{
	return (e & n->fmt->present_mask) != 0;
}

err_t nested_init(struct nested *n, const struct nested_format *fmt, const struct nested_mm *mm)
{
	*n = (struct nested){ .fmt = fmt, .mm = *mm };
	err_t err = mm->alloc_table(mm->ctx, &n->root);
	if (err == ERR_OK)
		n->tables = 1;
	return err;
}

/* The largest leaf level usable for gpa/hpa with len bytes left. */
static unsigned leaf_level(const struct nested *n, uint64_t gpa, uint64_t hpa, uint64_t len,
			   bool allow_large)
{
	if (allow_large && n->fmt->leaf_1g && !((gpa | hpa) & (level_size(3) - 1)) &&
	    len >= level_size(3))
		return 3;
	if (allow_large && n->fmt->leaf_2m && !((gpa | hpa) & (level_size(2) - 1)) &&
	    len >= level_size(2))
		return 2;
	return 1;
}

err_t nested_map(struct nested *n, uint64_t gpa, uint64_t hpa, uint64_t len, bool allow_large)
{
	if ((gpa | hpa | len) & (level_size(1) - 1))
		return ERR_INVAL;
	while (len) {
		unsigned level = leaf_level(n, gpa, hpa, len, allow_large);
		uint64_t *table = n->mm.table_ptr(n->mm.ctx, n->root);
		for (unsigned l = LEVELS; l > level; l--) {
			uint64_t *e = &table[index_at(gpa, l)];
			if (!present(n, *e)) {
				uint64_t pa;
				err_t err = n->mm.alloc_table(n->mm.ctx, &pa);
				if (err != ERR_OK)
					return err;
				n->tables++;
				*e = pa | n->fmt->table_bits;
			} else if (*e & NESTED_LARGE) {
				return ERR_INVAL;
			}
			table = n->mm.table_ptr(n->mm.ctx, *e & NESTED_ADDR_MASK);
		}
		uint64_t *leaf = &table[index_at(gpa, level)];
		if (present(n, *leaf))
			return ERR_INVAL;
		*leaf = hpa | n->fmt->leaf_bits | (level > 1 ? NESTED_LARGE : 0);
		n->leaves[level]++;
		gpa += level_size(level);
		hpa += level_size(level);
		len -= level_size(level);
	}
	return ERR_OK;
}

bool nested_translate(const struct nested *n, uint64_t gpa, uint64_t *hpa, unsigned *level)
{
	uint64_t table_pa = n->root;
	for (unsigned l = LEVELS; l >= 1; l--) {
		uint64_t e = n->mm.table_ptr(n->mm.ctx, table_pa)[index_at(gpa, l)];
		if (!present(n, e))
			return false;
		if (l == 1 || (e & NESTED_LARGE)) {
			uint64_t size = level_size(l);
			*hpa = (e & NESTED_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1));
			*level = l;
			return true;
		}
		table_pa = e & NESTED_ADDR_MASK;
	}
	return false;
}

/* Frees the tables below the table at pa (at level), then the table itself. */
static void free_level(struct nested *n, uint64_t pa, unsigned level)
{
	/* Depth is bounded by LEVELS, so the recursion is too. */
	if (level > 1) {
		uint64_t *t = n->mm.table_ptr(n->mm.ctx, pa);
		for (unsigned i = 0; i < ENTRIES; i++)
			if (present(n, t[i]) && !(t[i] & NESTED_LARGE))
				free_level(n, t[i] & NESTED_ADDR_MASK, level - 1);
	}
	n->mm.free_table(n->mm.ctx, pa);
	n->tables--;
}

void nested_destroy(struct nested *n)
{
	if (n->tables)
		free_level(n, n->root, LEVELS);
	n->root = 0;
}
