/* idt.c: the interrupt descriptor table (Intel SDM vol. 3A, 6.14.1 "64-Bit Mode IDT"). */
#include <stdint.h>
#include "arch/x86/gdt.h"
#include "arch/x86/trap.h"

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

#define GATE_INTERRUPT_DPL0 0x8e /* present, DPL 0, 64-bit interrupt gate */

extern const uint64_t trap_stubs[256];
static struct idt_gate idt[256];

static void set_gate(unsigned vec, uint64_t handler, uint8_t ist)
{
	idt[vec] = (struct idt_gate){
		.offset_lo = (uint16_t)handler,
		.selector = GDT_KERNEL_CS,
		.ist = ist,
		.type_attr = GATE_INTERRUPT_DPL0,
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_hi = (uint32_t)(handler >> 32),
	};
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		set_gate(v, trap_stubs[v], 0);
	/* These may arrive with a bad or overflowed stack: give them known good ones. */
	set_gate(VEC_DF, trap_stubs[VEC_DF], IST_DF);
	set_gate(VEC_NMI, trap_stubs[VEC_NMI], IST_NMI);
	set_gate(VEC_MC, trap_stubs[VEC_MC], IST_MC);

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) r = { sizeof(idt) - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(r));
}

uintptr_t idt_base(void)
{
	return (uintptr_t)idt;
}
