/* main.c: the paging-stress guest in long mode: its GDT (with ring-3 segments), TSS and IDT, then the long-mode phases after the 32-bit part's, and the verdict. */
#include "guests/pagestress/pagestress.h"
#include "arch/x86/cpu.h"
#include "guests/common/desc.h"

#define SEL_UDATA        (0x18 | 3) /* user.asm */
#define SEL_UCODE        (0x20 | 3)
#define SEL_TSS          0x28
#define GATE_USER        0xee       /* present, DPL 3, 64-bit interrupt gate */
#define CODE64_KERNEL    0x00af9a000000ffffull
#define DATA_KERNEL      0x00cf92000000ffffull
#define DATA_USER        0x00cff2000000ffffull
#define CODE64_USER      0x00affa000000ffffull

/* A 64-bit TSS (SDM vol. 3A, 8.7, figure 8-11): only RSP0 is used. */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 0x68, "a 64-bit TSS is 104 bytes");

static struct boot_info boot;
static uint64_t gdt[7] __attribute__((aligned(8)));
static struct idt_gate idt[256];
static struct tss64 tss;
static uint8_t ring0_stack[2 * PAGE_SIZE] __attribute__((aligned(16)));

static void cpu_tables_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;

	gdt[SEL_CODE64 / 8] = CODE64_KERNEL;
	gdt[SEL_DATA64 / 8] = DATA_KERNEL;
	gdt[SEL_UDATA / 8] = DATA_USER;
	gdt[SEL_UCODE / 8] = CODE64_USER;
	/* Type 9: available 64-bit TSS, present, DPL 0; 16 bytes (8.2.3). */
	gdt[SEL_TSS / 8] = limit | ((base & 0xffffff) << 16) | (0x89ull << 40) |
			   (((base >> 24) & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	tss.rsp[0] = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	tss.iomap = sizeof(tss);
	for (unsigned v = 0; v < 256; v++)
		idt[v] = idt_gate_to(trap_stubs[v]);
	idt[VEC_USER_DONE].type = GATE_USER;

	struct descriptor_pointer gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	struct descriptor_pointer idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%ss\n\t"
			 "lidt %3\n\t"
			 "ltr %w4"
			 : : "m"(gdtr), "i"(SEL_CODE64), "r"(SEL_DATA64), "m"(idtr), "r"(SEL_TSS)
			 : "rax", "memory");
}

void set_wp(bool on)
{
	write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
}

void set_cr4_bits(uint64_t bits, bool on)
{
	write_cr4(on ? read_cr4() | bits : read_cr4() & ~bits);
}

void set_nxe(bool on)
{
	uint64_t efer = rdmsr(MSR_EFER);
	wrmsr(MSR_EFER, on ? efer | EFER_NXE : efer & ~EFER_NXE);
}

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Runs a phase in the base address space and reports its time as an env
 * line: the tables it left in slots 1 and up are freed. */
static void run_phase(const char *name, void (*phase)(void))
{
	uint64_t *root = base_root(), start = tsc();

	phase();
	uint64_t ticks = tsc() - start;
	write_cr3((uint64_t)(uintptr_t)root);
	for (unsigned slot = 1; slot < 512; slot++)
		if (slot != PML4_SLOT_USER)
			unmap_slot(root, slot);
	write_cr3((uint64_t)(uintptr_t)root);
	report("env: %s took %llu TSC ticks", name, (unsigned long long)ticks);
	report_qemu_quirks(name);
}

void guest_main(uint32_t magic, uint32_t info, uint32_t early)
{
	console_init("pagestress");
	const char *problem = bootinfo_parse(magic, info, &boot);
	if (problem) {
		report("%s", problem);
		report("result FAIL");
		env_exit(1, HARNESS_NONE);
	}
	enum harness harness = harness_option(&boot);
	report_setup(env_under_hypervisor(), harness);
	accept_qemu_quirks(harness == HARNESS_QEMU);
	/* The 32-bit part printed the banner and its own results. */
	report_add_failures(early & EARLY_FAILURES);
	if (early & EARLY_FATAL)
		check_fatal("pm32", "the 32-bit part could not finish");

	uint64_t end;
	paging_init(&boot, &end);
	cpu_tables_init();
	(void)base_root();
	set_nxe(has(F_NX));
	set_wp(true);
	report("env: MAXPHYADDR %u, %u frames in the pool", maxphyaddr(), frames_free());
	run_phase("long", phase_long);
	run_phase("long (CPL 3)", phase_long_user);
	run_phase("spaces", phase_spaces);
	run_phase("edits", phase_edits);
	run_phase("reuse", phase_reuse);
	run_phase("churn", phase_churn);
	check_finish();
}
