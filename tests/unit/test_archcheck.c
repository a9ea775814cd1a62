/* test_archcheck.c: unit tests of the MOV-to-CR and WRMSR checks (vmm/archcheck.c) against cases taken from the SDM and APM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "vmm/archcheck.h"
#include "vmm/cpuid_bits.h"

#define PE  ARCH_CR0_PE
#define ET  ARCH_CR0_ET
#define NE  ARCH_CR0_NE
#define WP  ARCH_CR0_WP
#define NW  ARCH_CR0_NW
#define CD  ARCH_CR0_CD
#define PG  ARCH_CR0_PG
#define PAE ARCH_CR4_PAE
#define LME ARCH_EFER_LME
#define LMA ARCH_EFER_LMA
#define NXE ARCH_EFER_NXE
#define SCE ARCH_EFER_SCE

/* A CPU shown the usual features of a 64-bit machine, without XSAVE, PKU, LA57, VMX or SMX. */
static struct cpuid_view plain_view(void)
{
	return (struct cpuid_view){
		.l1_ecx = F1C_SSE3 | F1C_PCID,
		.l1_edx = F1D_FPU | F1D_VME | F1D_DE | F1D_PSE | F1D_TSC | F1D_MSR | F1D_PAE |
			  F1D_MCE | F1D_PGE | F1D_FXSR | F1D_SSE,
		.l7_ebx = F7B_FSGSBASE | F7B_SMEP | F7B_SMAP,
		.l7_ecx = F7C_UMIP,
		.x1_edx = FX1D_SYSCALL | FX1D_NX | FX1D_LM,
	};
}

static struct guest_cpu plain_cpu(void)
{
	struct cpuid_view v = plain_view();
	return (struct guest_cpu){ arch_cr4_allowed(&v), arch_efer_allowed(&v), 40, true, false };
}

/* States: flat protected mode with paging off; 64-bit long mode; compatibility mode. */
static const struct cr_state prot = { PE | ET | NE, 0, 0, 0, false };
static const struct cr_state long64 = { PE | ET | NE | PG | WP, 0x1000, PAE, LME | LMA | SCE, true };
static const struct cr_state compat = { PE | ET | NE | PG, 0x1000, PAE, LME | LMA, false };

struct cr_case {
	const char *what;     /* the manual's rule */
	const struct cr_state *s;
	uint64_t val;
	bool gp;
	uint64_t value;       /* when !gp */
};

static const struct cr_case cr0_cases[] = {
	{ "bits 63:32 set: #GP (SDM MOV CR, 64-bit mode exceptions)", &long64,
	  PE | ET | NE | PG | (1ull << 32), true, 0 },
	{ "PG without PE: #GP", &prot, ET | NE | PG, true, 0 },
	{ "NW without CD: #GP", &prot, PE | ET | NE | NW, true, 0 },
	{ "NW with CD is legal", &prot, PE | ET | NE | NW | CD, false, PE | ET | NE | NW | CD },
	{ "PG with EFER.LME and CR4.PAE clear: #GP (SDM 10.8.5)",
	  &(const struct cr_state){ PE | ET, 0, 0, LME, false }, PE | ET | PG, true, 0 },
	{ "PG with EFER.LME and CR4.PAE set enters IA-32e mode",
	  &(const struct cr_state){ PE | ET, 0, PAE, LME, false }, PE | ET | PG, false, PE | ET | PG },
	{ "clearing PG in 64-bit mode: #GP", &long64, PE | ET | NE | WP, true, 0 },
	{ "clearing PG in compatibility mode leaves IA-32e mode", &compat, PE | ET | NE, false,
	  PE | ET | NE },
	{ "clearing PG with CR4.PCIDE set: #GP (SDM 4.10.1)",
	  &(const struct cr_state){ PE | ET | PG, 0, PAE | ARCH_CR4_PCIDE, LME | LMA, false },
	  PE | ET, true, 0 },
	{ "reserved bits of 31:0 are ignored, ET reads 1", &prot, PE | (1u << 7) | (1u << 20), false,
	  PE | ET },
};

static const struct cr_case cr4_cases[] = {
	{ "a feature shown: PGE can be set", &long64, PAE | ARCH_CR4_PGE, false, PAE | ARCH_CR4_PGE },
	{ "OSXSAVE with XSAVE hidden: #GP", &long64, PAE | ARCH_CR4_OSXSAVE, true, 0 },
	{ "PKE with PKU hidden: #GP", &long64, PAE | ARCH_CR4_PKE, true, 0 },
	{ "VMXE with VMX hidden: #GP", &long64, PAE | ARCH_CR4_VMXE, true, 0 },
	{ "SMXE with SMX hidden: #GP", &long64, PAE | ARCH_CR4_SMXE, true, 0 },
	{ "LA57 with 5-level paging hidden: #GP", &prot, ARCH_CR4_LA57, true, 0 },
	{ "reserved bit 15: #GP", &prot, 1u << 15, true, 0 },
	{ "reserved bit 63: #GP", &long64, PAE | (1ull << 63), true, 0 },
	{ "clearing PAE in IA-32e mode: #GP", &long64, 0, true, 0 },
	{ "PCIDE with CR3[11:0] not zero: #GP",
	  &(const struct cr_state){ PE | PG, 0x1005, PAE, LME | LMA, true }, PAE | ARCH_CR4_PCIDE,
	  true, 0 },
	{ "PCIDE outside IA-32e mode: #GP", &prot, ARCH_CR4_PCIDE, true, 0 },
	{ "PCIDE in IA-32e mode with CR3[11:0] zero", &long64, PAE | ARCH_CR4_PCIDE, false,
	  PAE | ARCH_CR4_PCIDE },
	{ "UMIP shown: can be set", &long64, PAE | ARCH_CR4_UMIP, false, PAE | ARCH_CR4_UMIP },
};

static const struct cr_case efer_cases[] = {
	{ "LME changed while paging is on: #GP (SDM 10.8.5, APM 14.6.1)", &long64, SCE, true, 0 },
	{ "LME set with paging off", &prot, LME, false, LME },
	{ "NXE shown: can be set", &long64, LME | SCE | NXE, false, LME | LMA | SCE | NXE },
	{ "SVME (hidden SVM): #GP", &prot, ARCH_EFER_SVME, true, 0 },
	{ "FFXSR (hidden): #GP", &prot, ARCH_EFER_FFXSR, true, 0 },
	{ "reserved bit 1: #GP", &prot, 1u << 1, true, 0 },
	{ "LMA written clear in long mode: kept, as the CPU's", &long64, LME | SCE, false,
	  LME | LMA | SCE },
	{ "LMA written set outside long mode: ignored", &prot, LMA, false, 0 },
};

static void check_cases(const struct cr_case *c, size_t n, int which)
{
	struct guest_cpu g = plain_cpu();
	for (size_t i = 0; i < n; i++) {
		struct arch_write w = which == 0 ? arch_check_cr0(c[i].s, c[i].val)
				     : which == 4 ? arch_check_cr4(&g, c[i].s, c[i].val)
						  : arch_check_efer(&g, c[i].s, c[i].val);
		if (w.gp != c[i].gp || (!w.gp && w.value != c[i].value))
			fail_msg("%s: gp %d value %#llx, want gp %d value %#llx", c[i].what, w.gp,
				 (unsigned long long)w.value, c[i].gp, (unsigned long long)c[i].value);
	}
}

static void cr0_writes_follow_the_sdm(void **state)
{
	(void)state;
	check_cases(cr0_cases, sizeof(cr0_cases) / sizeof(cr0_cases[0]), 0);
}

static void cr4_writes_refuse_hidden_and_reserved_bits(void **state)
{
	(void)state;
	check_cases(cr4_cases, sizeof(cr4_cases) / sizeof(cr4_cases[0]), 4);
}

static void efer_writes_follow_the_sdm_and_apm(void **state)
{
	(void)state;
	check_cases(efer_cases, sizeof(efer_cases) / sizeof(efer_cases[0]), 8);
}

static void efer_bits_exist_only_with_their_cpuid_bits(void **state)
{
	(void)state;
	struct cpuid_view v = plain_view();
	v.x1_edx &= ~(uint32_t)FX1D_NX;
	struct guest_cpu g = plain_cpu();
	g.efer_allowed = arch_efer_allowed(&v);
	assert_true(arch_check_efer(&g, &prot, NXE).gp);
	v.x1_edx &= ~(uint32_t)(FX1D_SYSCALL | FX1D_LM);
	g.efer_allowed = arch_efer_allowed(&v);
	assert_true(arch_check_efer(&g, &prot, SCE).gp);
	assert_true(arch_check_efer(&g, &prot, LME).gp);
	assert_false(arch_check_efer(&g, &prot, 0).gp);
}

static void cr4_allowed_follows_cpuid(void **state)
{
	(void)state;
	struct cpuid_view v = { 0 };
	assert_int_equal(arch_cr4_allowed(&v), 0);
	v.l1_ecx = F1C_XSAVE;
	assert_int_equal(arch_cr4_allowed(&v), ARCH_CR4_OSXSAVE);
	v = (struct cpuid_view){ .l7_ecx = F7C_PKU };
	assert_int_equal(arch_cr4_allowed(&v), ARCH_CR4_PKE);
	v = (struct cpuid_view){ .l1_edx = F1D_VME };
	assert_int_equal(arch_cr4_allowed(&v), ARCH_CR4_VME | ARCH_CR4_PVI);
	/* Either CET flavour makes CR4.CET exist. */
	v = (struct cpuid_view){ .l7_edx = F7D_CET_IBT };
	assert_int_equal(arch_cr4_allowed(&v), ARCH_CR4_CET);
}

static void tlb_flushes_follow_sdm_4_10_4_1(void **state)
{
	(void)state;
	struct guest_cpu g = plain_cpu();
	assert_true(arch_check_cr4(&g, &long64, PAE | ARCH_CR4_PGE).flush_tlb);
	assert_false(arch_check_cr4(&g, &long64, PAE | ARCH_CR4_UMIP).flush_tlb);
	/* With paging off the TLB holds no translations to drop. */
	assert_false(arch_check_cr4(&g, &prot, PAE).flush_tlb);
	assert_true(arch_check_cr0(&long64, PE | ET | NE | PG).flush_tlb); /* WP cleared */
	assert_false(arch_check_cr0(&prot, PE | ET | NE | ARCH_CR0_TS).flush_tlb);
	assert_true(arch_check_efer(&g, &long64, LME | SCE | NXE).flush_tlb);
}

static void pae_pdptes_are_reloaded_when_paging_bits_change(void **state)
{
	(void)state;
	struct guest_cpu g = plain_cpu();
	const struct cr_state pae_off = { PE | ET, 0x2000, PAE, 0, false };
	const struct cr_state pae_on = { PE | ET | PG, 0x2000, PAE, 0, false };
	assert_true(arch_check_cr0(&pae_off, PE | ET | PG).load_pdptes);
	assert_true(arch_check_cr4(&g, &pae_on, PAE | ARCH_CR4_PGE).load_pdptes);
	assert_false(arch_check_cr4(&g, &pae_on, PAE | ARCH_CR4_UMIP).load_pdptes);
	/* IA-32e mode has no PDPTE registers. */
	assert_false(arch_check_cr4(&g, &long64, PAE | ARCH_CR4_PGE).load_pdptes);
}

static void pat_entries_must_be_valid_memory_types(void **state)
{
	(void)state;
	assert_true(arch_pat_valid(0x0007040600070406ull));   /* the reset value */
	assert_true(arch_pat_valid(0x0707070707070707ull));
	assert_true(arch_pat_valid(0x0101010101010101ull));   /* WC */
	assert_false(arch_pat_valid(0x0007040600070402ull));  /* 2 is reserved */
	assert_false(arch_pat_valid(0x0307040600070406ull));  /* 3 is reserved */
	assert_false(arch_pat_valid(0x0007040600070408ull));  /* bits 7:3 of an entry */
	assert_false(arch_pat_valid(0x8007040600070406ull));
}

static void mtrr_def_type_has_type_fe_and_e_only(void **state)
{
	(void)state;
	assert_true(arch_mtrr_def_type_valid(0));
	assert_true(arch_mtrr_def_type_valid(0xc06));   /* E, FE, WB */
	assert_true(arch_mtrr_def_type_valid(0x800));   /* E, UC */
	assert_false(arch_mtrr_def_type_valid(0x802));  /* type 2 reserved */
	assert_false(arch_mtrr_def_type_valid(0x807));  /* UC- is a PAT type only */
	assert_false(arch_mtrr_def_type_valid(0x106));  /* bit 8 reserved */
	assert_false(arch_mtrr_def_type_valid(1ull << 12));
}

static void apic_base_reserved_bits_fault_and_bsp_stays(void **state)
{
	(void)state;
	struct guest_cpu g = plain_cpu();
	const uint64_t base = 0xfee00000ull | ARCH_APIC_BASE_BSP;
	struct arch_write w = arch_check_apic_base(&g, base, 0xfee00000ull | ARCH_APIC_BASE_EN);
	assert_false(w.gp);
	assert_int_equal(w.value, base | ARCH_APIC_BASE_EN);  /* BSP is not the guest's */
	assert_true(arch_check_apic_base(&g, base, base | 1).gp);
	assert_true(arch_check_apic_base(&g, base, base | (1u << 9)).gp);
	assert_true(arch_check_apic_base(&g, base, base | ARCH_APIC_BASE_EXTD | ARCH_APIC_BASE_EN).gp);
	assert_true(arch_check_apic_base(&g, base, base | (1ull << 40)).gp); /* MAXPHYADDR 40 */
	g.x2apic = true;
	const uint64_t xapic = base | ARCH_APIC_BASE_EN, x2apic = xapic | ARCH_APIC_BASE_EXTD;
	assert_false(arch_check_apic_base(&g, xapic, x2apic).gp);
	assert_true(arch_check_apic_base(&g, xapic, base | ARCH_APIC_BASE_EXTD).gp);
	/* SDM figure 10-27: disabled to x2APIC and x2APIC to xAPIC are not transitions. */
	assert_true(arch_check_apic_base(&g, base, x2apic).gp);
	assert_true(arch_check_apic_base(&g, x2apic, xapic).gp);
	assert_false(arch_check_apic_base(&g, x2apic, base).gp);
}

static void misc_enable_lets_the_guest_change_only_its_bits(void **state)
{
	(void)state;
	const uint64_t reset = ARCH_MISC_ENABLE_RESET;
	struct arch_write w = arch_check_misc_enable(reset, reset | ARCH_MISC_ENABLE_LIMIT_CPUID);
	assert_false(w.gp);
	assert_int_equal(w.value, reset | ARCH_MISC_ENABLE_LIMIT_CPUID);
	w = arch_check_misc_enable(reset, 0);       /* read-only bits stay */
	assert_false(w.gp);
	assert_int_equal(w.value, reset & ~1ull);
	assert_true(arch_check_misc_enable(reset, reset | (1ull << 18)).gp); /* MONITOR FSM */
	assert_true(arch_check_misc_enable(reset, reset | (1ull << 34)).gp); /* XD disable */
	assert_true(arch_check_misc_enable(reset, reset | (1ull << 63)).gp);
}

/* SDM vol. 3A, table 6-5, every class pair, and interrupts counting as benign. */
static void exceptions_during_delivery_combine_as_table_6_5_says(void **state)
{
	(void)state;
	static const unsigned benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19 };
	static const unsigned contributory[] = { 0, 10, 11, 12, 13 };
	for (unsigned i = 0; i < sizeof(contributory) / sizeof(contributory[0]); i++) {
		unsigned c = contributory[i];
		for (unsigned j = 0; j < sizeof(contributory) / sizeof(contributory[0]); j++)
			assert_int_equal(arch_combine_exceptions(true, c, contributory[j]), ARCH_DOUBLE_FAULT);
		assert_int_equal(arch_combine_exceptions(true, c, 14), ARCH_SERIAL);
		assert_int_equal(arch_combine_exceptions(true, 14, c), ARCH_DOUBLE_FAULT);
		assert_int_equal(arch_combine_exceptions(true, 8, c), ARCH_SHUTDOWN);
		for (unsigned j = 0; j < sizeof(benign) / sizeof(benign[0]); j++) {
			assert_int_equal(arch_combine_exceptions(true, benign[j], c), ARCH_SERIAL);
			assert_int_equal(arch_combine_exceptions(true, c, benign[j]), ARCH_SERIAL);
		}
	}
	assert_int_equal(arch_combine_exceptions(true, 14, 14), ARCH_DOUBLE_FAULT);
	assert_int_equal(arch_combine_exceptions(true, 8, 14), ARCH_SHUTDOWN);
	assert_int_equal(arch_combine_exceptions(true, 8, 6), ARCH_SERIAL);
	assert_int_equal(arch_combine_exceptions(true, 3, 14), ARCH_SERIAL);
	/* An interrupt or INT n with vector 13 or 14 is not an exception. */
	assert_int_equal(arch_combine_exceptions(false, 13, 13), ARCH_SERIAL);
	assert_int_equal(arch_combine_exceptions(false, 14, 14), ARCH_SERIAL);
	assert_int_equal(arch_combine_exceptions(false, 8, 13), ARCH_SERIAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cr0_writes_follow_the_sdm),
		cmocka_unit_test(cr4_writes_refuse_hidden_and_reserved_bits),
		cmocka_unit_test(efer_writes_follow_the_sdm_and_apm),
		cmocka_unit_test(efer_bits_exist_only_with_their_cpuid_bits),
		cmocka_unit_test(cr4_allowed_follows_cpuid),
		cmocka_unit_test(tlb_flushes_follow_sdm_4_10_4_1),
		cmocka_unit_test(pae_pdptes_are_reloaded_when_paging_bits_change),
		cmocka_unit_test(pat_entries_must_be_valid_memory_types),
		cmocka_unit_test(mtrr_def_type_has_type_fe_and_e_only),
		cmocka_unit_test(apic_base_reserved_bits_fault_and_bsp_stays),
		cmocka_unit_test(misc_enable_lets_the_guest_change_only_its_bits),
		cmocka_unit_test(exceptions_during_delivery_combine_as_table_6_5_says),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
