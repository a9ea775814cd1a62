/* stats.h: per-VM statistics, each declared where it is counted and printed by one routine. */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdint.h>

/*
 * VM_STAT(name, "description") declares a counter next to the code that
 * counts it (like bhyve's VMM_STAT); the descriptors gather in one linker
 * section, get their indices at boot, and stats_print() lists them all.
 */
struct vm_stat_desc {
	const char *desc;
	unsigned index;
};

#define VM_STATS_MAX 64

#define VM_STAT(name, text)                                                    \
	struct vm_stat_desc name __attribute__((section(".vmstats"), used, aligned(8))) = { text, 0 }
#define VM_STAT_EXTERN(name) extern struct vm_stat_desc name

VM_STAT_EXTERN(stat_tlb_flush_all);
VM_STAT_EXTERN(stat_tlb_flush_tag);
VM_STAT_EXTERN(stat_tlb_flush_addr);

struct vm;

/* Numbers the declared statistics; once, before the first VM. */
void stats_init(void);
void stat_add(struct vm *vm, const struct vm_stat_desc *s, uint64_t n);
static inline void stat_inc(struct vm *vm, const struct vm_stat_desc *s)
{
	stat_add(vm, s, 1);
}
uint64_t stat_get(const struct vm *vm, const struct vm_stat_desc *s);
/* Prints every non-zero statistic and the exits by reason of vm. */
void stats_print(struct vm *vm);

#endif
