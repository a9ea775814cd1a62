/* nested.h: second-level (guest-physical to machine) tables, one builder for EPT and NPT. */
#ifndef VMM_MMU_NESTED_H
#define VMM_MMU_NESTED_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/*
 * EPT (SDM vol. 3C, 29.3.2) and NPT (APM vol. 2, 15.25; plain long-mode
 * entries) share the 4-level shape, the address field and bit 7 as the
 * page-size bit; they differ only in the permission and type bits, which the
 * backend describes here.
 */
struct nested_format {
	const char *name;      /* "EPT" or "NPT" */
	uint64_t table_bits;   /* a non-leaf entry: all permissions */
	uint64_t leaf_bits;    /* a leaf: permissions and memory type */
	uint64_t present_mask; /* an entry with any of these bits is present */
	bool leaf_2m, leaf_1g; /* which large leaves the CPU walks (set at probe) */
};

#define NESTED_LARGE (1ull << 7)
#define NESTED_ADDR_MASK 0x000ffffffffff000ull

/* How the builder gets table pages: zeroed 4 KiB pages and a pointer to each. */
struct nested_mm {
	void *ctx;
	err_t (*alloc_table)(void *ctx, uint64_t *pa);
	void (*free_table)(void *ctx, uint64_t pa);
	uint64_t *(*table_ptr)(void *ctx, uint64_t pa);
};

struct nested {
	const struct nested_format *fmt;
	struct nested_mm mm;
	uint64_t root;        /* machine address of the top-level table */
	uint64_t leaves[4];   /* leaves mapped by level: [1] 4 KiB, [2] 2 MiB, [3] 1 GiB */
	uint64_t tables;      /* table pages in use */
};

err_t nested_init(struct nested *n, const struct nested_format *fmt, const struct nested_mm *mm);
/*
 * Maps guest-physical [gpa, gpa + len) to machine [hpa, ...), all 4 KiB
 * aligned, with the largest leaves alignment, the CPU and allow_large permit.
 * ERR_INVAL if any part is already mapped.
 */
err_t nested_map(struct nested *n, uint64_t gpa, uint64_t hpa, uint64_t len, bool allow_large);
/* Walks the tables as the CPU would: the machine address and leaf level of gpa. */
bool nested_translate(const struct nested *n, uint64_t gpa, uint64_t *hpa, unsigned *level);
/* Frees every table page. */
void nested_destroy(struct nested *n);

#endif
