/* crash.c: deliberate faults on request (crash=triple, crash=pf, crash=mmio), for testing how a hypervisor stops or serves a VM. */
#include "drivers/uart16550.h"
#include "guests/memtest/memtest.h"
#include "arch/x86/cpu.h"

#define SEL_CODE64      0x08 /* entry.asm's GDT */
#define VECTOR_PF       14
#define IDT_VECTORS     32   /* the exceptions; only #PF gets a handler */
#define GATE_INTERRUPT  0x8e /* present, DPL 0, 64-bit interrupt gate */

/* A 64-bit IDT gate descriptor (Intel SDM vol. 3A, 6.14.1). */
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

struct idtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct interrupt_frame;

static struct idt_gate idt[IDT_VECTORS];

static void load_idt(const void *base, uint16_t limit)
{
	struct idtr idtr = { .limit = limit, .base = (uint64_t)(uintptr_t)base };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* With no gate for #BP, then #GP, then #DF, the CPU gives up: shutdown. */
void crash_triple_fault(void)
{
	report("crash=triple: empty IDT, then int3");
	uart_flush();
	load_idt(NULL, 0);
	__asm__ volatile("int3");
	halt_forever();
}

__attribute__((interrupt)) static void page_fault(struct interrupt_frame *frame, uint64_t error)
{
	(void)frame;
	report("page fault at %#llx, error code %#llx", (unsigned long long)read_cr2(),
	       (unsigned long long)error);
	memtest_finish(false);
}

void crash_page_fault(uint64_t addr)
{
	uint64_t handler = (uint64_t)(uintptr_t)page_fault;

	idt[VECTOR_PF] = (struct idt_gate){
		.offset_low = (uint16_t)handler,
		.selector = SEL_CODE64,
		.type = GATE_INTERRUPT,
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_high = (uint32_t)(handler >> 32),
	};
	load_idt(idt, sizeof(idt) - 1);
	report("crash=pf: write to unmapped %#llx", (unsigned long long)addr);
	*(volatile uint64_t *)(uintptr_t)addr = 0;
	halt_forever();
}

/*
 * Writes where a PC has its local APIC (entry.asm maps the first 4 GiB).  A
 * machine with one takes the write; a VM without a device there must be
 * stopped by its hypervisor.
 */
void crash_mmio_write(void)
{
	volatile uint32_t *apic_id = (volatile uint32_t *)(uintptr_t)MMIO_PROBE_ADDRESS;
	report("crash=mmio: writing to %#x", MMIO_PROBE_ADDRESS);
	*apic_id = 0;
	report("crash=mmio: the write went through");
}
