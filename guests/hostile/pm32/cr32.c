/* cr32.c: attack cr before long mode, and CR4.LA57 for attack cpuid: MOV to CR0 and CR4 in 32-bit protected mode (SDM vol. 2B, MOV CR). */
#include "guests/hostile/pm32/pm32.h"
#include "arch/x86/cpu.h"

#define CR0_PE32   (1u << 0)
#define CR0_PG32   (1u << 31)
#define CR4_PSE32  (1u << 4)
#define CR4_PAE32  (1u << 5)
#define CR4_LA57_32 (1u << 12)

struct cr_write {
	uint32_t value, readback;
};

/*
 * Writes CR0 and, in the very next instruction, puts the old value back:
 * had the bad value been taken (PE clear: real-mode decoding), that
 * instruction's bytes mean the same in 16-bit code.
 */
static void do_cr0_roundtrip(void *p)
{
	struct cr_write *w = p;
	uint32_t old = rd_cr0();
	__asm__ volatile("mov %0, %%cr0\n\tmov %1, %%cr0" : : "r"(w->value), "r"(old) : "memory");
}

static void do_cr4_roundtrip(void *p)
{
	struct cr_write *w = p;
	uint32_t old = rd_cr4(), got;
	__asm__ volatile("mov %1, %%cr4\n\tmov %%cr4, %0\n\tmov %2, %%cr4"
			 : "=&r"(got) : "r"(w->value), "r"(old) : "memory");
	w->readback = got;
}

void cr32_attack(void)
{
	static const char A[] = "cr";
	uint32_t cr0 = rd_cr0(), cr3 = rd_cr3(), cr4 = rd_cr4();
	uint64_t efer = rdmsr(MSR_EFER);

	/* Identity tables, should an emulator turn paging on after all. */
	wr_cr4(cr4 | CR4_PSE32);
	wr_cr3((uint32_t)(uintptr_t)page_dir[0]);

	struct cr_write w = { (cr0 | CR0_PG32) & ~CR0_PE32, 0 };
	if (native_on(EMU_QEMU))
		skipped(A, "before long mode: MOV CR0 with PG set and PE clear raises #GP",
			"native qemu is lenient");
	else
		check_vector(A, "before long mode: MOV CR0 with PG set and PE clear raises #GP",
			     probe(do_cr0_roundtrip, &w), VEC_GP);

	/* SDM 10.8.5: IA-32e mode needs PAE before paging is turned on. */
	wrmsr(MSR_EFER, efer | EFER_LME);
	w.value = cr0 | CR0_PG32;
	int v = probe(do_cr0_roundtrip, &w);
	wrmsr(MSR_EFER, efer);
	check_vector_lenient(A, "before long mode: setting CR0.PG with EFER.LME set and CR4.PAE "
				"clear raises #GP", v, VEC_GP, EMU_QEMU);

	wr_cr3(cr3);
	wr_cr4(cr4);
	wr_cr0(cr0);
}

/* CR4.LA57 can change only outside IA-32e mode: here, with paging off. */
void la57_check(void)
{
	static const char A[] = "cpuid";
	struct cr_write w = { rd_cr4() | CR4_LA57_32, 0 };
	int v = probe(do_cr4_roundtrip, &w);

	if (has(F_LA57)) {
		check_vector(A, "LA57 (shown): CR4.LA57 can be set before long mode", v, VEC_NONE);
		if (v < 0)
			check_value(A, "LA57 (shown): CR4.LA57 reads back", w.readback & CR4_LA57_32,
				    CR4_LA57_32);
	} else {
		check_vector(A, "LA57 (hidden): setting CR4.LA57 before long mode raises #GP", v, VEC_GP);
		check_value(A, "LA57 (hidden): CR4.LA57 reads clear", rd_cr4() & CR4_LA57_32, 0);
	}
}
