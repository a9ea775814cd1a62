/* selftest.c: deliberate hypervisor faults, each of which must end in a full exception report. */
#include "arch/x86/selftest.h"
#include "arch/x86/stack.h"
#include "drivers/console.h"
#include "lib/string.h"

/* A write to the unmapped guard page under the boot stack: #PF, not present. */
static void fault_page(void)
{
	volatile uint8_t *guard = kstacks[KSTACK_BSP].guard;
	guard[64] = 0x5a;
}

/* Runs the stack pointer into its guard page: the #PF cannot be delivered on
 * that stack, so the CPU raises #DF, which runs on its own IST stack. */
static void fault_stack_overflow(void)
{
	uintptr_t bottom = (uintptr_t)kstacks[KSTACK_BSP].stack;
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "pushq $0\n\t"
			 "pushq $0"
			 :
			 : "r"(bottom + 8)
			 : "memory");
}

static void fault_invalid_opcode(void)
{
	__asm__ volatile("ud2");
}

/* A non-canonical address: #GP with error code 0. */
static void fault_general_protection(void)
{
	volatile uint64_t *p = (volatile uint64_t *)0x8000000000000000ull;
	(void)*p;
}

static const struct {
	const char *name;
	void (*run)(void);
	const char *what;
} tests[] = {
	{ "fault", fault_page, "write to the boot stack's guard page" },
	{ "stack", fault_stack_overflow, "overflow the boot stack" },
	{ "ud", fault_invalid_opcode, "execute ud2" },
	{ "gp", fault_general_protection, "read a non-canonical address" },
};

void selftest_run(const char *name)
{
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(name, tests[i].name))
			continue;
		kprintf("selftest: %s: %s; an exception report must follow\n", name, tests[i].what);
		tests[i].run();
		kprintf("selftest: %s: no exception happened\n", name);
		return;
	}
	log_error("selftest: unknown test '%s' (fault, stack, ud, gp, badentry, shadowaudit)\n", name);
}
