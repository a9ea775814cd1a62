/* crash.c: deliberate faults on request (crash=triple, crash=pf, crash=mmio), for testing how a hypervisor stops or serves a VM. */
#include "drivers/uart16550.h"
#include "guests/memtest/memtest.h"
#include "arch/x86/cpu.h"
#include "guests/common/desc.h"

#define VECTOR_PF       14
#define IDT_VECTORS     32   /* the exceptions; only #PF gets a handler */

struct interrupt_frame;

static struct idt_gate idt[IDT_VECTORS];

static void load_idt(const void *base, uint16_t limit)
{
	struct descriptor_pointer idtr = { .limit = limit, .base = (uint64_t)(uintptr_t)base };

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
	idt[VECTOR_PF] = idt_gate_to((uint64_t)(uintptr_t)page_fault);
	load_idt(idt, sizeof(idt) - 1);
	report("crash=pf: write to unmapped %#llx", (unsigned long long)addr);
	*(volatile uint64_t *)(uintptr_t)addr = 0;
	halt_forever();
}

/*
 * Writes where a PC has its HPET (entry.asm maps the first 4 GiB).  A
 * machine with one takes the write; a VM without a device there must be
 * stopped by its hypervisor.
 */
void crash_mmio_write(void)
{
	volatile uint32_t *reg = (volatile uint32_t *)(uintptr_t)MMIO_PROBE_ADDRESS;
	report("crash=mmio: writing to %#x", MMIO_PROBE_ADDRESS);
	*reg = 0;
	report("crash=mmio: the write went through");
}
