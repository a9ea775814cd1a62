/* ksyms.c: address-to-function lookup over the generated, address-sorted symbol table. */
#include <stddef.h>
#include "lib/ksyms.h"

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	uint32_t lo = 0, hi = ksym_count;

	/* Binary search for the last symbol starting at or below addr. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ksym_table[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ksym *s = &ksym_table[lo - 1];
	/* Past a sized symbol's end the address belongs to no known function. */
	if (s->size && addr - s->addr >= s->size)
		return NULL;
	*offset = addr - s->addr;
	return &ksym_names[s->name];
}
