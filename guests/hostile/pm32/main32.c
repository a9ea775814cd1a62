/* main32.c: the hostile guest's 32-bit part: its GDT, IDT and page directories, then the attacks that need protected mode. */
#include "drivers/uart16550.h"
#include "guests/hostile/pm32/pm32.h"
#include "arch/x86/cpu.h"
#include "vmm/hypercall_abi.h"

#define EARLY_FATAL       (1u << 31) /* main.c: the part could not finish */
#define IDT_LIMIT_VECTORS (TASK_GATE_VECTOR + 1)
#define ACCESS_INTGATE32  0x8e       /* present, DPL 0, 32-bit interrupt gate */
#define ACCESS_TASKGATE   0x85       /* present, DPL 0, task gate */
#define PDE_4M            0x83       /* present, writable, 4 MiB page */
#define CR4_PSE           (1u << 4)
#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT  0x8900

struct descriptor_pointer {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

struct options opt;
static struct boot_info boot;
static struct cpu_env cpu;
static bool gave_up;
uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static uint64_t idt[IDT_LIMIT_VECTORS] __attribute__((aligned(8)));
uint32_t page_dir[2][1024] __attribute__((aligned(4096)));

/* Flat 4 GiB segments (SDM vol. 3A, 3.4.5). */
#define CODE32_FLAT 0x00cf9a000000ffffull
#define DATA32_FLAT 0x00cf92000000ffffull

void set_tss_descriptor(unsigned selector, const struct tss32 *tss, uint32_t limit)
{
	uint32_t base = (uint32_t)(uintptr_t)tss;

	/* Type 9: available 32-bit TSS; present, DPL 0, byte granularity. */
	gdt[selector / 8] = (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
			    (0x89ull << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
			    ((uint64_t)(base >> 24) << 56);
}

static uint64_t gate(uint16_t selector, uint32_t offset, uint8_t access)
{
	return (uint64_t)(offset & 0xffff) | ((uint64_t)selector << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)(offset >> 16) << 48);
}

static void tables_init(void)
{
	gdt[SEL_CODE / 8] = CODE32_FLAT;
	gdt[SEL_DATA / 8] = DATA32_FLAT;
	gdt[SEL_DATA2 / 8] = DATA32_FLAT;
	for (unsigned v = 0; v < 32; v++)
		idt[v] = gate(SEL_CODE, trap_stubs32[v], ACCESS_INTGATE32);
	idt[TASK_GATE_VECTOR] = gate(SEL_TSS_INT, 0, ACCESS_TASKGATE);

	struct descriptor_pointer gdtr = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };
	struct descriptor_pointer idtr = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%ss\n\t"
			 "mov %2, %%fs\n\tmov %2, %%gs\n\t"
			 "lidt %3"
			 : : "m"(gdtr), "i"(SEL_CODE), "r"(SEL_DATA), "m"(idtr) : "memory");
}

void paging32_fill(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		page_dir[0][i] = page_dir[1][i] = (i << 22) | PDE_4M;
}

void pm32_exit(unsigned status)
{
	uart_flush();
	if (cpu.ours) {
		/* The hypercall ABI from 32-bit code: EAX = HC_EXIT, EBX = status. */
		if (cpu.intel)
			__asm__ volatile("vmcall" : : "a"(HC_EXIT), "b"(status) : "memory");
		else
			__asm__ volatile("vmmcall" : : "a"(HC_EXIT), "b"(status) : "memory");
	} else if (opt.harness == HARNESS_QEMU) {
		outb(QEMU_DEBUG_EXIT_PORT, (uint8_t)status);
	} else if (opt.harness == HARNESS_BOCHS) {
		for (const char *p = "Shutdown"; *p; p++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
	}
	for (;;)
		__asm__ volatile("cli; hlt");
}

void pm32_give_up(const char *attack, const char *why)
{
	report("%s: %s; cannot go on", attack, why);
	gave_up = true;
}

bool pm32_gave_up(void)
{
	return gave_up;
}

/* An exception outside probe(): nothing here can be trusted any more. */
void pm32_unexpected(const struct trap_record *t);
void pm32_unexpected(const struct trap_record *t)
{
	char name[16];

	report("unexpected %s in 32-bit code at EIP %#x, error code %#x",
	       vector_name((int)t->vector, name), (unsigned)t->rip, (unsigned)t->error);
	report("result FAIL");
	pm32_exit(1);
}

/*
 * walk=realmode: clears CR0.PE with paging off.  A hypervisor that cannot
 * run real mode (the shadow MMU) must stop the VM at the write; if the
 * write goes through, the 32-bit code after it runs as 16-bit code, and
 * whatever happens then, no result line follows.
 */
static void walk_realmode(void)
{
	report("walk=realmode: clearing CR0.PE");
	uart_flush();
	__asm__ volatile("mov %%cr0, %%eax\n\t"
			 "and $~1, %%eax\n\t"
			 "mov %%eax, %%cr0\n\t"
			 "cli\n\t"
			 "1: hlt\n\t"
			 "jmp 1b" : : : "eax", "memory");
}

uint32_t pm32_main(uint32_t magic, uint32_t info);
uint32_t pm32_main(uint32_t magic, uint32_t info)
{
	console_init("hostile");
	report("x86-64 hostile guest");
	if (bootinfo_parse(magic, info, &boot))
		return 0; /* the long-mode part says what is wrong */
	report("booted by %s, command line \"%s\"", boot.protocol, boot.cmdline);
	options_parse(&boot, &opt);
	cpu_env_probe(&cpu);
	report_setup(cpu.ours, opt.harness);
	if (opt.walk == WALK_REALMODE)
		walk_realmode();
	if (opt.bad || opt.walk != WALK_NONE)
		return 0;

	uint32_t cr4 = rd_cr4();
	tables_init();
	paging32_fill();
	if (opt.attack[ATTACK_TASK])
		task_attack();
	if (opt.attack[ATTACK_CR] && !gave_up)
		cr32_attack();
	if (opt.attack[ATTACK_CPUID] && !gave_up)
		la57_check();
	__asm__ volatile("clts");
	wr_cr4(cr4);
	return report_failures() | (gave_up ? EARLY_FATAL : 0);
}
