/* archcheck.c: the checks MOV to CR0/CR4 and WRMSR make, per the Intel SDM and AMD APM, for the CPU a VM is shown. */
#include "vmm/archcheck.h"
#include "vmm/cpuid_bits.h"

/* A CR4 bit and the feature that makes it exist (SDM vol. 3A, 2.5, "CR4"). */
struct cr4_feature {
	uint64_t bit;
	unsigned word;   /* index into the words of struct cpuid_view, below */
	uint32_t mask;   /* any of these bits shown makes the CR4 bit exist */
};

enum { W_L1_ECX, W_L1_EDX, W_L7_EBX, W_L7_ECX, W_L7_EDX, W_X1_ECX, W_X1_EDX };

static const struct cr4_feature cr4_features[] = {
	{ ARCH_CR4_VME,        W_L1_EDX, F1D_VME },
	{ ARCH_CR4_PVI,        W_L1_EDX, F1D_VME },
	{ ARCH_CR4_TSD,        W_L1_EDX, F1D_TSC },
	{ ARCH_CR4_DE,         W_L1_EDX, F1D_DE },
	{ ARCH_CR4_PSE,        W_L1_EDX, F1D_PSE },
	{ ARCH_CR4_PAE,        W_L1_EDX, F1D_PAE },
	{ ARCH_CR4_MCE,        W_L1_EDX, F1D_MCE },
	{ ARCH_CR4_PGE,        W_L1_EDX, F1D_PGE },
	{ ARCH_CR4_PCE,        W_L1_EDX, F1D_MSR },   /* RDPMC exists on every CPU with MSRs */
	{ ARCH_CR4_OSFXSR,     W_L1_EDX, F1D_FXSR },
	{ ARCH_CR4_OSXMMEXCPT, W_L1_EDX, F1D_SSE },
	{ ARCH_CR4_UMIP,       W_L7_ECX, F7C_UMIP },
	{ ARCH_CR4_LA57,       W_L7_ECX, F7C_LA57 },
	{ ARCH_CR4_VMXE,       W_L1_ECX, F1C_VMX },
	{ ARCH_CR4_SMXE,       W_L1_ECX, F1C_SMX },
	{ ARCH_CR4_FSGSBASE,   W_L7_EBX, F7B_FSGSBASE },
	{ ARCH_CR4_PCIDE,      W_L1_ECX, F1C_PCID },
	{ ARCH_CR4_OSXSAVE,    W_L1_ECX, F1C_XSAVE },
	{ ARCH_CR4_KL,         W_L7_ECX, F7C_KL },
	{ ARCH_CR4_SMEP,       W_L7_EBX, F7B_SMEP },
	{ ARCH_CR4_SMAP,       W_L7_EBX, F7B_SMAP },
	{ ARCH_CR4_PKE,        W_L7_ECX, F7C_PKU },
	{ ARCH_CR4_CET,        W_L7_ECX, F7C_CET_SS },
	{ ARCH_CR4_CET,        W_L7_EDX, F7D_CET_IBT },
	{ ARCH_CR4_PKS,        W_L7_ECX, F7C_PKS },
};

static uint32_t view_word(const struct cpuid_view *f, unsigned w)
{
	switch (w) {
	case W_L1_ECX: return f->l1_ecx;
	case W_L1_EDX: return f->l1_edx;
	case W_L7_EBX: return f->l7_ebx;
	case W_L7_ECX: return f->l7_ecx;
	case W_L7_EDX: return f->l7_edx;
	case W_X1_ECX: return f->x1_ecx;
	default:       return f->x1_edx;
	}
}

uint64_t arch_cr4_allowed(const struct cpuid_view *f)
{
	uint64_t allowed = 0;
	for (unsigned i = 0; i < sizeof(cr4_features) / sizeof(cr4_features[0]); i++)
		if (view_word(f, cr4_features[i].word) & cr4_features[i].mask)
			allowed |= cr4_features[i].bit;
	return allowed;
}

uint64_t arch_efer_allowed(const struct cpuid_view *f)
{
	uint64_t allowed = 0;
	if (f->x1_edx & FX1D_SYSCALL)
		allowed |= ARCH_EFER_SCE;
	if (f->x1_edx & FX1D_LM)
		allowed |= ARCH_EFER_LME | ARCH_EFER_LMA;
	if (f->x1_edx & FX1D_NX)
		allowed |= ARCH_EFER_NXE;
	return allowed;
}

static bool long_mode_active(const struct cr_state *s)
{
	return s->efer & ARCH_EFER_LMA;
}

static bool in_64bit_mode(const struct cr_state *s)
{
	return long_mode_active(s) && s->cs_l;
}

/* PAE paging (not 4-level): CR0.PG, CR4.PAE, EFER.LME clear (SDM 4.1.1). */
static bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & ARCH_CR0_PG) && (cr4 & ARCH_CR4_PAE) && !(efer & ARCH_EFER_LME);
}

static struct arch_write gp(void)
{
	return (struct arch_write){ .gp = true };
}

/*
 * MOV to CR0: #GP(0) for bits 63:32, PG without PE, NW without CD, PG set
 * with EFER.LME and no CR4.PAE, PG cleared in 64-bit mode or with CR4.PCIDE.
 * Reserved bits of 31:0 are ignored and ET is fixed to 1 (SDM 2.5, P6 and later).
 */
struct arch_write arch_check_cr0(const struct cr_state *s, uint64_t val)
{
	if (val >> 32)
		return gp();
	if ((val & ARCH_CR0_PG) && !(val & ARCH_CR0_PE))
		return gp();
	if ((val & ARCH_CR0_NW) && !(val & ARCH_CR0_CD))
		return gp();
	bool pg_on = !(s->cr0 & ARCH_CR0_PG) && (val & ARCH_CR0_PG);
	bool pg_off = (s->cr0 & ARCH_CR0_PG) && !(val & ARCH_CR0_PG);
	if (pg_on && (s->efer & ARCH_EFER_LME) && !(s->cr4 & ARCH_CR4_PAE))
		return gp();
	if (pg_off && (in_64bit_mode(s) || (s->cr4 & ARCH_CR4_PCIDE)))
		return gp();

	uint64_t value = (val & ARCH_CR0_DEFINED) | ARCH_CR0_ET;
	uint64_t changed = value ^ s->cr0;
	struct arch_write w = { .value = value };
	/* Paging and caching changes invalidate every translation (SDM 4.10.4.1); with
	 * paging off there are none to invalidate. */
	w.flush_tlb = (s->cr0 & ARCH_CR0_PG) &&
		      (changed & (ARCH_CR0_PG | ARCH_CR0_WP | ARCH_CR0_CD | ARCH_CR0_NW));
	w.load_pdptes = pae_paging(value, s->cr4, s->efer) &&
			(changed & (ARCH_CR0_PG | ARCH_CR0_CD | ARCH_CR0_NW));
	return w;
}

/*
 * MOV to CR4: #GP(0) for a bit whose feature the VM is not shown or that is
 * reserved, for clearing PAE or changing LA57 in IA-32e mode, and for setting
 * PCIDE outside IA-32e mode or with CR3[11:0] not zero (SDM 4.10.1).
 */
struct arch_write arch_check_cr4(const struct guest_cpu *g, const struct cr_state *s, uint64_t val)
{
	if (val & ~g->cr4_allowed)
		return gp();
	uint64_t changed = val ^ s->cr4;
	if (long_mode_active(s) && ((changed & ARCH_CR4_LA57) || !(val & ARCH_CR4_PAE)))
		return gp();
	if ((changed & ARCH_CR4_PCIDE) && (val & ARCH_CR4_PCIDE) &&
	    (!long_mode_active(s) || (s->cr3 & 0xfff)))
		return gp();
	if ((val & ARCH_CR4_CET) && !(s->cr0 & ARCH_CR0_WP))
		return gp();

	struct arch_write w = { .value = val };
	const uint64_t paging_bits = ARCH_CR4_PGE | ARCH_CR4_PAE | ARCH_CR4_PSE | ARCH_CR4_SMEP |
				     ARCH_CR4_SMAP | ARCH_CR4_PKE | ARCH_CR4_LA57;
	w.flush_tlb = (s->cr0 & ARCH_CR0_PG) &&
		      ((changed & paging_bits) || ((changed & ARCH_CR4_PCIDE) && !(val & ARCH_CR4_PCIDE)));
	w.load_pdptes = pae_paging(s->cr0, val, s->efer) &&
			(changed & (ARCH_CR4_PAE | ARCH_CR4_PGE | ARCH_CR4_PSE | ARCH_CR4_SMEP));
	return w;
}

/*
 * WRMSR IA32_EFER: #GP(0) for a bit whose feature is not shown (SVME, FFXSR
 * and the other AMD extras are hidden) and for changing LME while paging is
 * on (SDM vol. 3A 10.8.5; APM 14.6.1).  LMA is the CPU's: a write keeps it.
 */
struct arch_write arch_check_efer(const struct guest_cpu *g, const struct cr_state *s, uint64_t val)
{
	if (val & ~g->efer_allowed)
		return gp();
	if ((s->cr0 & ARCH_CR0_PG) && ((val ^ s->efer) & ARCH_EFER_LME))
		return gp();
	uint64_t value = (val & ~(uint64_t)ARCH_EFER_LMA) | (s->efer & ARCH_EFER_LMA);
	/* NXE changes what a translation permits. */
	struct arch_write w = { .value = value,
				.flush_tlb = (s->cr0 & ARCH_CR0_PG) && ((value ^ s->efer) & ARCH_EFER_NXE) };
	return w;
}

static uint64_t above_phys_bits(unsigned phys_bits)
{
	return phys_bits >= 64 ? 0 : ~0ull << phys_bits;
}

/* Memory types 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), 7 (UC-); 2, 3 and 8+ are reserved. */
bool arch_pat_valid(uint64_t val)
{
	for (unsigned i = 0; i < 8; i++) {
		uint64_t type = (val >> (8 * i)) & 0xff;
		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

bool arch_mtrr_def_type_valid(uint64_t val)
{
	const uint64_t defined = 0xffull | (1ull << 10) | (1ull << 11);
	uint64_t type = val & 0xff;
	if (val & ~defined)
		return false;
	return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

/* Bits 7:0 and 9 are reserved, EXTD without x2APIC, and address bits from MAXPHYADDR up. */
struct arch_write arch_check_apic_base(const struct guest_cpu *g, uint64_t old, uint64_t val)
{
	uint64_t reserved = 0x2ffull | above_phys_bits(g->phys_bits);
	if (!g->x2apic)
		reserved |= ARCH_APIC_BASE_EXTD;
	if (val & reserved)
		return gp();
	/* x2APIC mode needs the APIC enabled, and is left only by disabling it (SDM 10.12.5, figure 10-27). */
	if ((val & ARCH_APIC_BASE_EXTD) && !(val & ARCH_APIC_BASE_EN))
		return gp();
	if ((old & ARCH_APIC_BASE_EXTD) && (val & ARCH_APIC_BASE_EN) && !(val & ARCH_APIC_BASE_EXTD))
		return gp();
	if (!(old & ARCH_APIC_BASE_EN) && (val & ARCH_APIC_BASE_EXTD))
		return gp();
	return (struct arch_write){ .value = (val & ~ARCH_APIC_BASE_BSP) | (old & ARCH_APIC_BASE_BSP) };
}

/*
 * IA32_MISC_ENABLE: fast strings (0) and limit CPUID maxval (22) are the
 * guest's; BTS and PEBS unavailable (11, 12) are read-only; the thermal,
 * SpeedStep, MONITOR and XD-disable controls do not exist on this model,
 * so setting them, or any reserved bit, is a #GP.
 */
struct arch_write arch_check_misc_enable(uint64_t old, uint64_t val)
{
	const uint64_t writable = (1ull << 0) | ARCH_MISC_ENABLE_LIMIT_CPUID;
	const uint64_t read_only = (1ull << 11) | (1ull << 12);
	if (val & ~(writable | read_only))
		return gp();
	return (struct arch_write){ .value = (val & writable) | (old & read_only) };
}

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT, EXC_DOUBLE_FAULT };

/* #DE, #TS, #NP, #SS and #GP are contributory; #PF and #DF classes of their own; the rest benign. */
static enum exc_class exc_class(unsigned vector)
{
	switch (vector) {
	case 0: case 10: case 11: case 12: case 13:
		return EXC_CONTRIBUTORY;
	case 14:
		return EXC_PAGE_FAULT;
	case 8:
		return EXC_DOUBLE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

enum arch_combined arch_combine_exceptions(bool first_exception, unsigned first, unsigned second)
{
	enum exc_class a = first_exception ? exc_class(first) : EXC_BENIGN, b = exc_class(second);
	bool serious = b == EXC_CONTRIBUTORY || b == EXC_PAGE_FAULT;
	if (a == EXC_DOUBLE_FAULT && serious)
		return ARCH_SHUTDOWN;
	if ((a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) || (a == EXC_PAGE_FAULT && serious))
		return ARCH_DOUBLE_FAULT;
	return ARCH_SERIAL;
}
