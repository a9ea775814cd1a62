/* cpuid.c: the CPUID a VM sees: the host's leaves, filtered through a list of what the VMM virtualizes, plus its own leaves. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "lib/string.h"
#include "vmm/cpuid_bits.h"
#include "vmm/hypercall_abi.h"
#include "vmm/vm.h"

VM_STAT(stat_cpuid, "CPUID instructions emulated");

#define HV_CPUID_MAX_LEAF 0x40000001u
#define EXT_BASE          0x80000000u

/*
 * Feature bits a VM may be shown when the host has them: each either works
 * in a guest as on bare metal (plain instructions, CR4-enabled features the
 * VMM checks), or is state the VMM switches per vCPU.  Everything else is
 * hidden: instructions with an intercept or enable bit then fault as on a
 * CPU without them (MONITOR/MWAIT(X), XSAVE and AVX via CR4.OSXSAVE, PKU via
 * CR4.PKE, VMX, SVM, ...); see the README's "What a guest sees".
 */
#define SHOW_L1_ECX (F1C_SSE3 | F1C_PCLMULQDQ | F1C_SSSE3 | F1C_CX16 | F1C_PCID | F1C_SSE41 | \
		     F1C_SSE42 | F1C_MOVBE | F1C_POPCNT | F1C_AES | F1C_RDRAND | \
		     F1C_TSC_DEADLINE)
#define SHOW_L1_EDX (F1D_FPU | F1D_VME | F1D_DE | F1D_PSE | F1D_TSC | F1D_MSR | F1D_PAE |      \
		     F1D_MCE | F1D_CX8 | F1D_SEP | F1D_MTRR | F1D_PGE | F1D_CMOV | F1D_PAT |     \
		     F1D_PSE36 | F1D_CLFSH | F1D_MMX | F1D_FXSR | F1D_SSE | F1D_SSE2 | F1D_SS)
#define SHOW_L7_EBX (F7B_FSGSBASE | F7B_BMI1 | F7B_HLE | F7B_FDP_EXCPTN | F7B_SMEP | F7B_BMI2 | \
		     F7B_ERMS | F7B_INVPCID | F7B_RTM | F7B_FPU_CSDS | F7B_RDSEED | F7B_ADX |    \
		     F7B_SMAP | F7B_CLFLUSHOPT | F7B_CLWB | F7B_SHA)
#define SHOW_L7_ECX (F7C_PREFETCHWT1 | F7C_UMIP | F7C_GFNI | F7C_RDPID | F7C_MOVDIRI |         \
		     F7C_MOVDIR64B)
#define SHOW_L7_EDX (F7D_FSRM)
/* AltMovCr8: SVM's LOCK MOV CR0 reaches V_TPR like MOV CR8 does. */
#define SHOW_X1_ECX (FX1C_LAHF | FX1C_ALTMOVCR8 | FX1C_ABM | FX1C_SSE4A | FX1C_MISALIGNSSE | \
		     FX1C_PREFETCHW)
#define SHOW_X1_EDX ((SHOW_L1_EDX & FX1D_LEAF1_MIRROR) | FX1D_SYSCALL | FX1D_NX | FX1D_MMXEXT | \
		     FX1D_PAGE1GB | FX1D_RDTSCP | FX1D_LM | FX1D_3DNOWEXT | FX1D_3DNOW)
#define SHOW_X8_EBX (FX8B_CLZERO | FX8B_WBNOINVD)

/* Leaves 4 and 0x80000008 describe the package: one vCPU is one core of one thread. */
#define LEAF4_SHARING_MASK 0xffffc000u   /* EAX 31:26 cores, 25:14 threads sharing */
#define LEAFX8_LINEAR_MASK 0x0000ff00u   /* EAX 15:8 linear address bits */
/* Basic leaves that depend on the vCPU's state or the subleaf (other_leaf()). */
#define SPECIAL_LEAVES     ((1u << 1) | (1u << 4) | (1u << 7))

static struct cpuid_regs host_leaf(uint32_t leaf, uint32_t max)
{
	if (leaf > max)
		return (struct cpuid_regs){ 0, 0, 0, 0 };
	return cpuid(leaf, 0);
}

/* A feature whose CR4 enable bit the backend cannot give the guest is hidden too. */
static void hide_unbacked_cr4(struct cpuid_view *f, uint64_t cr4_supported)
{
	if (!(cr4_supported & ARCH_CR4_PCIDE))
		f->l1_ecx &= ~F1C_PCID;
	if (!(cr4_supported & ARCH_CR4_FSGSBASE))
		f->l7_ebx &= ~F7B_FSGSBASE;
	if (!(cr4_supported & ARCH_CR4_SMEP))
		f->l7_ebx &= ~F7B_SMEP;
	if (!(cr4_supported & ARCH_CR4_SMAP))
		f->l7_ebx &= ~F7B_SMAP;
	if (!(cr4_supported & ARCH_CR4_UMIP))
		f->l7_ecx &= ~F7C_UMIP;
}

void vm_cpuid_init(struct vm *vm)
{
	struct vm_cpuid *c = &vm->cpuid;
	const struct backend_features *bf = backend->features;
	uint32_t host_max = cpuid(0, 0).eax;
	uint32_t host_ext = cpuid(EXT_BASE, 0).eax;
	memset(c, 0, sizeof(*c));

	c->max_basic = host_max < CPUID_BASIC_LEAVES - 1 ? host_max : CPUID_BASIC_LEAVES - 1;
	c->max_ext = host_ext < EXT_BASE + CPUID_EXT_LEAVES - 1 ? host_ext : EXT_BASE + CPUID_EXT_LEAVES - 1;
	c->intel = !strcmp(cpu.vendor, "GenuineIntel");

	struct cpuid_regs *b = c->basic, *x = c->ext;
	b[0] = cpuid(0, 0);
	b[0].eax = c->max_basic;
	b[1] = host_leaf(1, host_max);
	b[2] = host_leaf(2, host_max);
	b[7] = host_leaf(7, host_max);
	b[0x15] = host_leaf(0x15, host_max);
	b[0x16] = host_leaf(0x16, host_max);
	for (uint32_t i = 0; i < CPUID_EXT_LEAVES; i++)
		x[i] = host_leaf(EXT_BASE + i, host_ext);
	x[0].eax = c->max_ext;

	struct cpuid_view *f = &c->view;
	f->l1_ecx = b[1].ecx & SHOW_L1_ECX;
	f->l1_edx = b[1].edx & SHOW_L1_EDX;
	f->l7_ebx = b[7].ebx & SHOW_L7_EBX;
	f->l7_ecx = b[7].ecx & SHOW_L7_ECX;
	f->l7_edx = b[7].edx & SHOW_L7_EDX;
	f->x1_ecx = x[1].ecx & SHOW_X1_ECX;
	f->x1_edx = x[1].edx & SHOW_X1_EDX;
	if (!bf->rdtscp) {
		f->x1_edx &= ~FX1D_RDTSCP;
		f->l7_ecx &= ~F7C_RDPID;
	}
	if (!bf->invpcid)
		f->l7_ebx &= ~F7B_INVPCID;
	hide_unbacked_cr4(f, bf->cr4_supported);
	/* The local APIC is all the VMM's (vmm/dev/lapic.c): x2APIC on every host. */
	f->l1_ecx |= F1C_X2APIC;

	/* Leaf 1 EBX: APIC ID 31:24 is the vCPU's, one logical processor (no HTT). */
	b[1].ebx = (b[1].ebx & 0xffffu) | (1u << 16) | ((uint32_t)vm->vcpu.id << 24);
	b[1].ecx = f->l1_ecx | F1C_HYPERVISOR;
	b[1].edx = f->l1_edx;
	b[7] = (struct cpuid_regs){ 0, f->l7_ebx, f->l7_ecx, f->l7_edx };
	x[1].ecx = f->x1_ecx;
	x[1].edx = f->x1_edx;
	x[7] = (struct cpuid_regs){ 0, 0, 0, x[7].edx & FX7D_INVARIANT_TSC };
	/* Physical address bits as the host's; linear 48: LA57 is not shown. */
	x[8].eax = (x[8].eax & ~LEAFX8_LINEAR_MASK) | (48u << 8);
	x[8].ebx &= SHOW_X8_EBX;
	x[8].ecx = 0;
	x[8].edx = 0;

	c->guest.cr4_allowed = arch_cr4_allowed(f) & bf->cr4_supported;
	c->guest.efer_allowed = arch_efer_allowed(f);
	c->guest.phys_bits = cpu.phys_bits;
	c->guest.intel = c->intel;
	c->guest.x2apic = true;
	vm_cpuid_limit(vm, false);
}

void vm_cpuid_limit(struct vm *vm, bool limit)
{
	struct vm_cpuid *c = &vm->cpuid;
	/* IA32_MISC_ENABLE.LIMIT_CPUID caps the basic leaves at 2 (SDM vol. 4, table 2-2). */
	c->cur_max_basic = limit && c->max_basic > 2 ? 2 : c->max_basic;
	c->basic[0].eax = c->cur_max_basic;
}

/* Leaves outside the table, and the few that depend on the subleaf or the vCPU's state. */
static struct cpuid_regs other_leaf(struct vm *vm, uint32_t leaf, uint32_t sub)
{
	const struct vm_cpuid *c = &vm->cpuid;
	if (leaf == HV_CPUID_LEAF_SIGNATURE)
		/* "hvmicrovisor" in EBX, ECX, EDX (vmm/hypercall_abi.h). */
		return (struct cpuid_regs){ HV_CPUID_MAX_LEAF, 0x696d7668, 0x766f7263, 0x726f7369 };
	if ((leaf & 0xf0000000u) == 0x40000000u)
		return (struct cpuid_regs){ 0, 0, 0, 0 };
	if (leaf >= EXT_BASE && leaf <= c->max_ext)
		return c->ext[leaf - EXT_BASE];
	if (leaf > c->cur_max_basic) {
		/* Beyond the last leaf: Intel repeats the last basic leaf, AMD gives zeros. */
		if (!c->intel)
			return (struct cpuid_regs){ 0, 0, 0, 0 };
		leaf = c->cur_max_basic;
	}
	struct cpuid_regs r = c->basic[leaf];
	if (leaf == 1 && (vm->vcpu.apic_base & ARCH_APIC_BASE_EN))
		/* CPUID.1:EDX.APIC follows IA32_APIC_BASE.EN (SDM 10.4.3). */
		r.edx |= F1D_APIC;
	else if (leaf == 4 && c->intel) {
		/* Deterministic cache parameters: the host's caches, one core, one thread. */
		r = cpuid(4, sub);
		r.eax &= ~LEAF4_SHARING_MASK;
	} else if (leaf == 7 && sub != 0)
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
	return r;
}

void vm_cpuid(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	uint32_t leaf = (uint32_t)backend->get_reg(v, VREG_RAX);
	uint32_t sub = (uint32_t)backend->get_reg(v, VREG_RCX);
	const struct vm_cpuid *c = &vm->cpuid;
	/* Most leaves are the table's as they are; other_leaf() answers the rest. */
	struct cpuid_regs r = leaf <= c->cur_max_basic && !(SPECIAL_LEAVES >> leaf & 1)
				      ? c->basic[leaf] : other_leaf(vm, leaf, sub);

	stat_inc(vm, &stat_cpuid);
	backend->set_reg(v, VREG_RAX, r.eax);
	backend->set_reg(v, VREG_RBX, r.ebx);
	backend->set_reg(v, VREG_RCX, r.ecx);
	backend->set_reg(v, VREG_RDX, r.edx);
}
