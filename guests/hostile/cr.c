/* cr.c: attack cr in long mode: MOV to CR0 and CR4 and WRMSR EFER fault or take effect as the SDM's MOV CR and WRMSR pages and CPUID say. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

static const char A[] = "cr";

enum cr4_kind {
	SHOWN_IF,  /* a feature bit: settable iff CPUID shows it */
	ALWAYS,    /* architectural since the first CPUs with CR4 */
	RESERVED,
	SPECIAL,   /* checked on its own below */
	NOT_SET,   /* shown: setting it would take the guest's own code away */
};

/* CR4 bits (Intel SDM vol. 3A, 2.5; AMD APM vol. 2, 3.1.3). */
static const struct {
	const char *name;
	enum cr4_kind kind;
	enum feature feature;
	enum feature or_feature; /* CET: either shadow stacks or IBT */
} cr4_bits[33] = {
	[0] = { "VME", SHOWN_IF, F_VME, F_VME },        [1] = { "PVI", SHOWN_IF, F_VME, F_VME },
	[2] = { "TSD", SHOWN_IF, F_TSC, F_TSC },        [3] = { "DE", SHOWN_IF, F_DE, F_DE },
	[4] = { "PSE", SHOWN_IF, F_PSE, F_PSE },        [5] = { "PAE", SPECIAL, F_PAE, F_PAE },
	[6] = { "MCE", SHOWN_IF, F_MCE, F_MCE },        [7] = { "PGE", SHOWN_IF, F_PGE, F_PGE },
	[8] = { "PCE", ALWAYS, F_COUNT, F_COUNT },      [9] = { "OSFXSR", SHOWN_IF, F_FXSR, F_FXSR },
	[10] = { "OSXMMEXCPT", SHOWN_IF, F_SSE, F_SSE }, [11] = { "UMIP", SHOWN_IF, F_UMIP, F_UMIP },
	[12] = { "LA57", SPECIAL, F_LA57, F_LA57 },     [13] = { "VMXE", SHOWN_IF, F_VMX, F_VMX },
	[14] = { "SMXE", SHOWN_IF, F_SMX, F_SMX },      [15] = { "bit 15", RESERVED, F_COUNT, F_COUNT },
	[16] = { "FSGSBASE", SHOWN_IF, F_FSGSBASE, F_FSGSBASE },
	[17] = { "PCIDE", SPECIAL, F_PCID, F_PCID },
	[18] = { "OSXSAVE", SHOWN_IF, F_XSAVE, F_XSAVE }, [19] = { "KL", SHOWN_IF, F_KL, F_KL },
	[20] = { "SMEP", SHOWN_IF, F_SMEP, F_SMEP },    [21] = { "SMAP", SHOWN_IF, F_SMAP, F_SMAP },
	[22] = { "PKE", SHOWN_IF, F_PKU, F_PKU },       [23] = { "CET", SHOWN_IF, F_CET_SS, F_CET_IBT },
	[24] = { "PKS", SHOWN_IF, F_PKS, F_PKS },       [25] = { "UINTR", SHOWN_IF, F_UINTR, F_UINTR },
	[26] = { "bit 26", RESERVED, F_COUNT, F_COUNT }, [27] = { "LASS", NOT_SET, F_LASS, F_LASS },
	[28] = { "LAM_SUP", SHOWN_IF, F_LAM, F_LAM },   [29] = { "bit 29", RESERVED, F_COUNT, F_COUNT },
	[30] = { "bit 30", RESERVED, F_COUNT, F_COUNT }, [31] = { "bit 31", RESERVED, F_COUNT, F_COUNT },
	[32] = { "FRED", NOT_SET, F_FRED, F_FRED },
};

void check_cr4_feature_bit(const char *attack, unsigned bit, const char *name, bool shown)
{
	uint64_t cr4 = read_cr4(), mask = 1ull << bit, back = 0;
	char what[80];

	/* QEMU 7.2's TCG answers a reserved CR4 bit with a broken SVM exit
	 * instead of #GP, and accepts VME and PVI while not showing them. */
	bool reserved = name[0] == 'b'; /* "bit N" */
	if (!shown) {
		ksnprintf(what, sizeof(what), reserved ? "CR4 %s (reserved) raises #GP and reads clear"
						       : "CR4.%s (hidden) raises #GP and reads clear", name);
		if (skipped_if_lenient(attack, what, EMU_QEMU))
			return;
	}
	int v = probe_cr4_roundtrip(cr4 | mask, &back);

	if (shown) {
		ksnprintf(what, sizeof(what), "CR4.%s (shown) can be set and reads back", name);
		if (v >= 0)
			check_vector(attack, what, v, VEC_NONE);
		else
			check_value(attack, what, back & mask, mask);
		return;
	}
	if (v != VEC_GP)
		check_vector(attack, what, v, VEC_GP);
	else
		check_value(attack, what, read_cr4() & mask, 0);
}

/* One line for a group of bits: how many misbehaved, and the first. */
static void count_check(const char *what, unsigned wrong, unsigned first, unsigned lenient)
{
	char detail[64];

	if (wrong && skipped_if_lenient(A, what, lenient))
		return;
	ksnprintf(detail, sizeof(detail), "%u bits did not, first bit %u", wrong, first);
	check_true(A, what, wrong == 0, detail);
}

static void cr4_reserved_high(void)
{
	static const char what[] = "CR4 bits 33-63 (reserved) each raise #GP and read clear";
	uint64_t cr4 = read_cr4(), back;
	unsigned wrong = 0, first = 0;

	if (skipped_if_lenient(A, what, EMU_QEMU))
		return;
	for (unsigned bit = 33; bit < 64; bit++) {
		if (probe_cr4_roundtrip(cr4 | (1ull << bit), &back) != VEC_GP ||
		    (read_cr4() & (1ull << bit))) {
			if (!wrong++)
				first = bit;
		}
	}
	count_check(what, wrong, first, 0);
}

static void pcide(void)
{
	uint64_t cr3 = read_cr3(), cr4 = read_cr4(), back;

	if (!has(F_PCID)) {
		check_cr4_feature_bit(A, 17, "PCIDE", false);
		return;
	}
	/* SDM MOV CR: setting PCIDE with CR3[11:0] != 0 is #GP. */
	write_cr3(cr3 | 1);
	int v = probe_cr4_roundtrip(cr4 | CR4_PCIDE, &back);
	write_cr3(cr3);
	check_vector(A, "setting CR4.PCIDE with CR3[11:0] = 1 raises #GP", v, VEC_GP);
	check_cr4_feature_bit(A, 17, "PCIDE", true);
}

static void cr4(void)
{
	/* CR4.CET can be set only while CR0.WP is set. */
	write_cr0(read_cr0() | CR0_WP);
	for (unsigned bit = 0; bit <= 32; bit++) {
		bool shown;

		switch (cr4_bits[bit].kind) {
		case SHOWN_IF:
			shown = has(cr4_bits[bit].feature) || has(cr4_bits[bit].or_feature);
			check_cr4_feature_bit(A, bit, cr4_bits[bit].name, shown);
			break;
		case ALWAYS:
			check_cr4_feature_bit(A, bit, cr4_bits[bit].name, true);
			break;
		case RESERVED:
			check_cr4_feature_bit(A, bit, cr4_bits[bit].name, false);
			break;
		case NOT_SET:
			if (has(cr4_bits[bit].feature))
				skipped(A, cr4_bits[bit].name, "shown: it would take away the guest's own code or IDT");
			else
				check_cr4_feature_bit(A, bit, cr4_bits[bit].name, false);
			break;
		case SPECIAL:
			break;
		}
	}
	cr4_reserved_high();
	pcide();
	uint64_t back;
	check_vector(A, "changing CR4.LA57 in long mode raises #GP",
		     probe_cr4_roundtrip(read_cr4() ^ CR4_LA57, &back), VEC_GP);
}

PROBE_ASM(do_xgetbv, "xgetbv" : : "c"(0) : "eax", "edx")

/* quirk: emulators that show the feature but refuse the bit natively. */
static void efer_bit(const char *name, unsigned bit, bool shown, unsigned quirk)
{
	uint64_t efer = rdmsr(MSR_EFER), mask = 1ull << bit, back = 0;
	char what[80];
	int v = probe_wrmsr(MSR_EFER, efer | mask);

	if (v < 0) {
		back = rdmsr(MSR_EFER);
		wrmsr(MSR_EFER, efer);
	}
	if (shown) {
		ksnprintf(what, sizeof(what), "EFER.%s (shown) can be set and reads back", name);
		if (v >= 0 && native_on(quirk))
			skipped(A, what, "the native emulator shows the feature but refuses the bit");
		else if (v >= 0)
			check_vector(A, what, v, VEC_NONE);
		else
			check_value(A, what, back & mask, mask);
	} else {
		ksnprintf(what, sizeof(what), "EFER.%s (hidden) raises #GP", name);
		check_vector_lenient(A, what, v, VEC_GP, EMU_QEMU);
	}
}

static void efer(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	unsigned wrong = 0, first = 0;

	/* Reserved on Intel and AMD alike (SDM vol. 4 IA32_EFER; APM vol. 2, 3.1.7).
	 * Bits 13 and 17-21 are features of some AMD CPUs: not tried. */
	for (unsigned bit = 1; bit < 64; bit++) {
		if (bit == 8 || (bit >= 10 && bit <= 15) || (bit >= 17 && bit <= 21 && bit != 19))
			continue;
		int v = probe_wrmsr(MSR_EFER, efer | (1ull << bit));
		if (v < 0)
			wrmsr(MSR_EFER, efer);
		if (v != VEC_GP && !wrong++)
			first = bit;
	}
	/* QEMU's TCG drops EFER bits it does not know instead of raising #GP. */
	count_check("EFER reserved bits 1-7, 9, 16, 19, 22-63 each raise #GP", wrong, first, EMU_QEMU);

	efer_bit("SCE", 0, has(F_SYSCALL), 0);
	efer_bit("NXE", 11, has(F_NX), 0);
	efer_bit("SVME", 12, has(F_SVM), 0);
	efer_bit("FFXSR", 14, has(F_FFXSR), 0);
	/* Bochs 2.7's ryzen shows TCE but has no EFER.TCE. */
	efer_bit("TCE", 15, has(F_TCE), EMU_BOCHS);
	check_vector(A, "WRMSR EFER keeping LME set runs", probe_wrmsr(MSR_EFER, efer), VEC_NONE);
	int v = probe_wrmsr(MSR_EFER, efer & ~EFER_LME);
	if (v < 0)
		wrmsr(MSR_EFER, efer);
	check_vector_lenient(A, "clearing EFER.LME while paging is on raises #GP", v, VEC_GP, EMU_QEMU);
}

void attack_cr(void)
{
	uint64_t cr0 = read_cr0();

	check_vector(A, "XGETBV with CR4.OSXSAVE clear raises #UD", probe(do_xgetbv, NULL), VEC_UD);
	cr4();
	efer();

	/* CR0 (SDM vol. 2B, MOV CR: "#GP(0)" conditions). */
	int v = probe_write_cr0((cr0 | CR0_NW) & ~CR0_CD);
	if (v < 0)
		write_cr0(cr0);
	check_vector_lenient(A, "MOV CR0 with NW set and CD clear raises #GP", v, VEC_GP, EMU_QEMU);
	v = probe_write_cr0(cr0 | (1ull << 32));
	if (v < 0)
		write_cr0(cr0);
	check_vector_lenient(A, "MOV CR0 with bit 32 set raises #GP", v, VEC_GP, EMU_QEMU);

	/* Last: an emulator that lets these through leaves long mode or paging
	 * under the guest's feet, so they are not tried where that is known. */
	if (native_on(EMU_QEMU)) {
		skipped(A, "clearing CR4.PAE in long mode raises #GP", "native qemu is lenient");
		skipped(A, "clearing CR0.PG in 64-bit mode raises #GP", "native qemu is lenient");
		return;
	}
	check_vector(A, "clearing CR4.PAE in long mode raises #GP",
		     probe_write_cr4(read_cr4() & ~CR4_PAE), VEC_GP);
	check_vector(A, "clearing CR0.PG in 64-bit mode raises #GP",
		     probe_write_cr0(cr0 & ~CR0_PG), VEC_GP);
}
