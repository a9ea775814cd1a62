/* stats.c: numbers the declared VM statistics and prints them. */
#include "drivers/console.h"
#include "vmm/vm.h"

extern struct vm_stat_desc __vmstats_start[], __vmstats_end[];

/* TLB flushes by kind; the backends count them where they ask the CPU for one. */
VM_STAT(stat_tlb_flush_all, "TLB flushes: whole TLB");
VM_STAT(stat_tlb_flush_tag, "TLB flushes: this VM's tag only");
VM_STAT(stat_tlb_flush_addr, "TLB flushes: one address of this VM's tag");

void stats_init(void)
{
	unsigned n = 0;
	for (struct vm_stat_desc *s = __vmstats_start; s < __vmstats_end; s++)
		s->index = n++;
	if (n > VM_STATS_MAX)
		panic("%u VM statistics declared, room for %u", n, VM_STATS_MAX);
}

void stat_add(struct vm *vm, const struct vm_stat_desc *s, uint64_t n)
{
	vm->stats[s->index] += n;
}

uint64_t stat_get(const struct vm *vm, const struct vm_stat_desc *s)
{
	return vm->stats[s->index];
}

void stats_print(struct vm *vm)
{
	kprintf("vm %s: statistics:\n", vm->cfg.name);
	if (vm->mmu)
		vm->mmu->sync_stats(vm);
	for (const struct vm_stat_desc *s = __vmstats_start; s < __vmstats_end; s++)
		if (vm->stats[s->index])
			kprintf("vm %s:   %-40s %llu\n", vm->cfg.name, s->desc,
				(unsigned long long)vm->stats[s->index]);
	for (unsigned r = 0; r < EXIT_COUNT; r++)
		if (vm->exits[r])
			kprintf("vm %s:   exits: %-33s %llu, %llu cycles\n", vm->cfg.name,
				exit_reason_name((enum exit_reason)r), (unsigned long long)vm->exits[r],
				(unsigned long long)vm->exit_cycles[r]);
	if (vm->mmu)
		vm->mmu->report(vm);
}
