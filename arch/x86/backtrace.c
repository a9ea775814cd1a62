/* backtrace.c: walks the rbp chain (the image is built with -fno-omit-frame-pointer). */
#include "arch/x86/backtrace.h"
#include "arch/x86/stack.h"
#include "drivers/console.h"
#include "lib/ksyms.h"

#define BACKTRACE_MAX_FRAMES 32

void backtrace_print_addr(unsigned n, uint64_t addr)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		kprintf("  #%-2u %016llx  %s+%#llx\n", n, (unsigned long long)addr, name,
			(unsigned long long)off);
	else
		kprintf("  #%-2u %016llx  ?\n", n, (unsigned long long)addr);
}

void backtrace_print_chain(uintptr_t rbp, unsigned first)
{
	for (unsigned n = first; n < first + BACKTRACE_MAX_FRAMES && rbp; n++) {
		/* Follow only frames that lie on one of our stacks: a corrupt
		 * rbp must not turn the report into a second fault. */
		if ((rbp & 7) || !kstack_contains(rbp, 16)) {
			kprintf("  (frame pointer %#llx is not on a hypervisor stack; stopping)\n",
				(unsigned long long)rbp);
			return;
		}
		const uint64_t *frame = (const uint64_t *)rbp;
		if (!frame[1])
			return;
		backtrace_print_addr(n, frame[1]);
		if (frame[0] <= rbp) /* stacks grow down: callers' frames lie above */
			return;
		rbp = frame[0];
	}
}

void backtrace_print(uintptr_t rbp)
{
	kprintf("backtrace:\n");
	backtrace_print_chain(rbp, 0);
}
