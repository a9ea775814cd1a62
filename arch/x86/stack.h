/* stack.h: the hypervisor's own stacks, each with an unmapped guard page below it. */
#ifndef ARCH_X86_STACK_H
#define ARCH_X86_STACK_H

#include <stdint.h>

#define KSTACK_GUARD 4096
#define KSTACK_SIZE  (16 * 1024)

enum kstack_id {
	KSTACK_BSP, /* the boot CPU's kernel stack */
	KSTACK_DF,  /* IST1: double fault, so a stack overflow can still be reported */
	KSTACK_NMI, /* IST2: NMI can arrive on any stack */
	KSTACK_MC,  /* IST3: machine check */
	KSTACK_COUNT
};

struct kstack {
	uint8_t guard[KSTACK_GUARD]; /* left unmapped: overflowing into it faults */
	uint8_t stack[KSTACK_SIZE];
} __attribute__((aligned(4096)));

extern struct kstack kstacks[KSTACK_COUNT];

uintptr_t kstack_top(enum kstack_id id);
const char *kstack_name(enum kstack_id id);
/* The stack whose guard page holds addr, or KSTACK_COUNT. */
enum kstack_id kstack_guard_hit(uintptr_t addr);
/* True when [addr, addr + len) lies inside one stack's usable part. */
int kstack_contains(uintptr_t addr, uintptr_t len);

#endif
