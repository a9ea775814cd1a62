/* gdt.c: the 64-bit GDT and TSS (Intel SDM vol. 3A, 3.4.5 and 8.7 "Task Management in 64-bit Mode"). */
#include <stdint.h>
#include "arch/x86/gdt.h"
#include "arch/x86/stack.h"

/* 64-bit TSS layout, SDM vol. 3A, figure 8-11. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

struct gdtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Descriptor bits (SDM vol. 3A, 3.4.5): present, DPL 0, code/data, long mode. */
#define SEG_CODE64 0x00af9a000000ffffull
#define SEG_DATA   0x00cf92000000ffffull
#define TSS_TYPE_AVAILABLE 0x9ull
#define SEG_PRESENT (1ull << 47)

static struct tss tss;
/* null, code, data, then the 16-byte TSS descriptor */
static uint64_t gdt[5];

static void set_tss_descriptor(uint64_t *d, uintptr_t base, uint32_t limit)
{
	d[0] = (limit & 0xffffull) | ((base & 0xffffffull) << 16) | (TSS_TYPE_AVAILABLE << 40) |
	       SEG_PRESENT | (((uint64_t)limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xffull) << 56);
	d[1] = base >> 32;
}

void gdt_init(void)
{
	tss.ist[IST_DF - 1] = kstack_top(KSTACK_DF);
	tss.ist[IST_NMI - 1] = kstack_top(KSTACK_NMI);
	tss.ist[IST_MC - 1] = kstack_top(KSTACK_MC);
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */

	gdt[0] = 0;
	gdt[GDT_KERNEL_CS / 8] = SEG_CODE64;
	gdt[GDT_KERNEL_DS / 8] = SEG_DATA;
	set_tss_descriptor(&gdt[GDT_TSS / 8], (uintptr_t)&tss, sizeof(tss) - 1);

	struct gdtr r = { sizeof(gdt) - 1, (uintptr_t)gdt };
	__asm__ volatile(
		"lgdt %0\n\t"
		"mov %1, %%ds\n\t"
		"mov %1, %%es\n\t"
		"mov %1, %%ss\n\t"
		/* Reload CS with a far return to the next instruction. */
		"pushq %2\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"ltr %w3"
		:
		: "m"(r), "r"(GDT_KERNEL_DS), "i"(GDT_KERNEL_CS), "r"(GDT_TSS)
		: "rax", "memory");
}

uintptr_t gdt_base(void)
{
	return (uintptr_t)gdt;
}

uintptr_t tss_base(void)
{
	return (uintptr_t)&tss;
}
