/* stack.c: the hypervisor's stacks and the questions asked of them (guard hits, bounds). */
#include "arch/x86/stack.h"

struct kstack kstacks[KSTACK_COUNT] __attribute__((section(".bss.stacks")));

/* entry.asm loads the boot stack pointer from here. */
const uintptr_t bsp_stack_top = (uintptr_t)&kstacks[KSTACK_BSP] + sizeof(struct kstack);

static const char *const names[KSTACK_COUNT] = {
	[KSTACK_BSP] = "boot CPU",
	[KSTACK_DF]  = "double-fault IST",
	[KSTACK_NMI] = "NMI IST",
	[KSTACK_MC]  = "machine-check IST",
};

uintptr_t kstack_top(enum kstack_id id)
{
	return (uintptr_t)&kstacks[id] + sizeof(struct kstack);
}

const char *kstack_name(enum kstack_id id)
{
	return id < KSTACK_COUNT ? names[id] : "unknown";
}

enum kstack_id kstack_guard_hit(uintptr_t addr)
{
	for (unsigned i = 0; i < KSTACK_COUNT; i++) {
		uintptr_t g = (uintptr_t)kstacks[i].guard;
		if (addr >= g && addr < g + KSTACK_GUARD)
			return (enum kstack_id)i;
	}
	return KSTACK_COUNT;
}

int kstack_contains(uintptr_t addr, uintptr_t len)
{
	for (unsigned i = 0; i < KSTACK_COUNT; i++) {
		uintptr_t lo = (uintptr_t)kstacks[i].stack;
		uintptr_t hi = lo + KSTACK_SIZE;
		if (addr >= lo && addr <= hi && len <= hi - addr)
			return 1;
	}
	return 0;
}
