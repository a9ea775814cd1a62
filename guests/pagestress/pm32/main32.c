/* main32.c: the paging-stress guest's 32-bit part: its GDT (with ring-3 segments), TSS and IDT, its frames, then the 32-bit and PAE phases. */
#include "guests/pagestress/pm32/pm32.h"
#include "arch/x86/cpu.h"

#define FRAMES32          24
#define IDT32_VECTORS     (VEC_USER_DONE + 1)
#define ACCESS_INTGATE32  0x8e /* present, DPL 0, 32-bit interrupt gate */
#define ACCESS_USERGATE32 0xee /* present, DPL 3: INT n from CPL 3 may use it */

/* Flat 4 GiB segments (SDM vol. 3A, 3.4.5): code and data, DPL 0 and 3. */
#define CODE32_FLAT  0x00cf9a000000ffffull
#define DATA32_FLAT  0x00cf92000000ffffull
#define UCODE32_FLAT 0x00cffa000000ffffull
#define UDATA32_FLAT 0x00cff2000000ffffull

struct descriptor_pointer32 {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* A 32-bit TSS (SDM vol. 3A, 8.2.1): only SS0:ESP0 is used, for INT 0x81
 * and faults from CPL 3. */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
};
_Static_assert(sizeof(struct tss32) == 0x68, "a 32-bit TSS is 104 bytes");

static uint64_t gdt[GDT32_ENTRIES] __attribute__((aligned(8)));
static uint64_t idt[IDT32_VECTORS] __attribute__((aligned(8)));
static struct tss32 tss;
static uint8_t ring0_stack[PAGE_SIZE] __attribute__((aligned(16)));
static uint8_t frames[FRAMES32][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned frames_used;
static struct {
	uint32_t cr0, cr4;
	uint64_t efer;
} saved;

static void restore(void);

/* The part cannot go on: back to entry.asm with paging off; long mode says FAIL. */
static __attribute__((noreturn)) void give_up(void)
{
	restore();
	pm32_bail(report_failures() | EARLY_FATAL);
}

void *frame32(void)
{
	if (frames_used == FRAMES32) {
		report("pm32: out of frames");
		give_up();
	}
	uint8_t *f = frames[frames_used++];
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		f[i] = 0;
	return f;
}

void frames32_reset(void)
{
	frames_used = 0;
}

void set_wp32(bool on)
{
	wr_cr0(on ? rd_cr0() | CR0_WP_BIT : rd_cr0() & ~CR0_WP_BIT);
}

static uint64_t gate(uint32_t offset, uint8_t access)
{
	return (uint64_t)(offset & 0xffff) | ((uint64_t)SEL32_CODE << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)(offset >> 16) << 48);
}

static void tables_init(void)
{
	uint32_t base = phys32(&tss), limit = sizeof(tss) - 1;

	gdt[SEL32_CODE / 8] = CODE32_FLAT;
	gdt[SEL32_DATA / 8] = DATA32_FLAT;
	gdt[SEL32_UCODE / 8] = UCODE32_FLAT;
	gdt[SEL32_UDATA / 8] = UDATA32_FLAT;
	/* Type 9: available 32-bit TSS; present, DPL 0, byte granularity. */
	gdt[SEL32_TSS / 8] = (uint64_t)limit | ((uint64_t)(base & 0xffffff) << 16) |
			     (0x89ull << 40) | ((uint64_t)(base >> 24) << 56);
	tss.ss0 = SEL32_DATA;
	tss.esp0 = phys32(ring0_stack + sizeof(ring0_stack));
	tss.iomap = sizeof(tss); /* no I/O bitmap */
	for (unsigned v = 0; v < IDT32_VECTORS; v++)
		idt[v] = gate(trap_stubs32[v], ACCESS_INTGATE32);
	idt[VEC_USER_DONE] = gate(trap_stubs32[VEC_USER_DONE], ACCESS_USERGATE32);

	struct descriptor_pointer32 gdtr = { sizeof(gdt) - 1, phys32(gdt) };
	struct descriptor_pointer32 idtr = { sizeof(idt) - 1, phys32(idt) };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%ss\n\t"
			 "mov %2, %%fs\n\tmov %2, %%gs\n\t"
			 "lidt %3\n\t"
			 "ltr %w4"
			 : : "m"(gdtr), "i"(SEL32_CODE), "r"(SEL32_DATA), "m"(idtr), "r"(SEL32_TSS)
			 : "memory");
}

/* Paging off, CR4 and EFER as entry.asm left them: what it expects back. */
static void restore(void)
{
	wr_cr0(saved.cr0);
	wr_cr4(saved.cr4);
	wrmsr(MSR_EFER, saved.efer);
}

/* An exception outside probe(): the phase cannot go on; long mode says FAIL. */
void pm32_unexpected(const struct trap_record *t);
void pm32_unexpected(const struct trap_record *t)
{
	char name[16];

	report("unexpected %s in 32-bit code at EIP %#x, error code %#x, CR2 %#x",
	       vector_name((int)t->vector, name), (unsigned)t->rip, (unsigned)t->error,
	       (unsigned)t->cr2);
	give_up();
}

uint32_t pm32_main(uint32_t magic, uint32_t info);
uint32_t pm32_main(uint32_t magic, uint32_t info)
{
	static struct boot_info boot;

	console_init("pagestress");
	report("x86 paging stress guest");
	if (bootinfo_parse(magic, info, &boot))
		return 0; /* the long-mode part says what is wrong */
	report("booted by %s, command line \"%s\"", boot.protocol, boot.cmdline);
	if (!has(F_PSE) || !has(F_PAE)) {
		report("pm32: the CPU shows no PSE or no PAE; cannot go on");
		return EARLY_FATAL;
	}
	saved.cr0 = rd_cr0();
	saved.cr4 = rd_cr4();
	saved.efer = rdmsr(MSR_EFER);
	accept_qemu_quirks(harness_option(&boot) == HARNESS_QEMU);
	tables_init();
	phase_paging32();
	restore();
	report_qemu_quirks("paging32");
	frames32_reset();
	phase_pae();
	restore();
	report_qemu_quirks("pae");
	return report_failures();
}
