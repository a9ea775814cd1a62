/* walk.c: the attacks that end the VM by design: page tables, a page and a GDT placed outside the guest's RAM. */
#include "drivers/uart16550.h"
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"
#include "guests/common/desc.h"

/* Guest-physical addresses where a VM with a few MiB of RAM has neither RAM nor a device. */
#define WALK_CR3_ADDR 0xf0000000ull
#define WALK_PTE_ADDR 0xe0000000ull
#define WALK_GDT_ADDR 0xd0000000ull

static volatile uint64_t sink;

/* CR3 names a PML4 outside RAM: the next fetch or access walks it. */
static void walk_cr3(void)
{
	report("walk=cr3: loading CR3 %#llx", WALK_CR3_ADDR);
	uart_flush();
	__asm__ volatile("mov %0, %%cr3\n\t"
			 "movq (%1), %%rax"
			 : : "r"(WALK_CR3_ADDR), "r"(&sink) : "rax", "memory");
}

/* A PTE of the guest's own tables maps a page outside RAM: read it. */
static void walk_pte(void)
{
	window_map(8, WALK_PTE_ADDR, PTE_P | PTE_W);
	report("walk=pte: reading linear %#llx, mapped to %#llx", (unsigned long long)window_addr(8),
	       WALK_PTE_ADDR);
	uart_flush();
	sink = *(volatile uint64_t *)(uintptr_t)window_addr(8);
}

static void reload_ds(void *p)
{
	(void)p;
	__asm__ volatile("mov %0, %%ds" : : "r"(SEL_DATA64) : "memory");
}

/* The GDT lies outside RAM (identity-mapped there): reloading DS reads it. */
static void walk_gdt(void)
{
	struct descriptor_pointer gdtr;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	paging_map_2m(WALK_GDT_ADDR);
	write_cr3(read_cr3());
	struct descriptor_pointer bad = { 0xff, WALK_GDT_ADDR };
	report("walk=gdt: LGDT base %#llx, then reloading DS", WALK_GDT_ADDR);
	uart_flush();
	__asm__ volatile("lgdt %0" : : "m"(bad));
	int v = probe(reload_ds, NULL);
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	if (v >= 0) {
		char name[16];
		report("walk=gdt: the reload raised %s in the guest", vector_name(v, name));
	}
}

void attack_walk(enum walk walk)
{
	static const char *const names[] = { [WALK_CR3] = "walk=cr3", [WALK_PTE] = "walk=pte",
					     [WALK_GDT] = "walk=gdt", [WALK_REALMODE] = "walk=realmode" };

	if (walk == WALK_CR3)
		walk_cr3();
	else if (walk == WALK_PTE)
		walk_pte();
	else if (walk == WALK_GDT)
		walk_gdt();
	/* walk=realmode ends in the 32-bit part: reaching here means it did not run. */
	/* Only if the access went through: it should have stopped the VM. */
	report("%s: survived", names[walk]);
	hostile_fatal(names[walk], "the VM was not stopped");
}
