/* desc.h: the long-mode descriptor-table formats the test guests build (Intel SDM vol. 3A, 3.5.1 and 6.14.1). */
#ifndef GUESTS_COMMON_DESC_H
#define GUESTS_COMMON_DESC_H

#include <stdint.h>

#define SEL_CODE64     0x08 /* entry.asm's GDT */
#define SEL_DATA64     0x10
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

/* A 64-bit IDT gate descriptor. */
struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gates are 16 bytes");

/* The operand of LGDT, LIDT, SGDT and SIDT in 64-bit mode. */
struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* A present DPL-0 interrupt gate to handler in entry.asm's code segment. */
static inline struct idt_gate idt_gate_to(uint64_t handler)
{
	return (struct idt_gate){
		.offset_low = (uint16_t)handler,
		.selector = SEL_CODE64,
		.type = GATE_INTERRUPT,
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_high = (uint32_t)(handler >> 32),
	};
}

#endif
