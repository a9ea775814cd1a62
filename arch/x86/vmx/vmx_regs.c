/* vmx_regs.c: the VMX backend's access to a vCPU's registers: general ones, the VMCS fields, the lazily switched MSRs and DR6, segments. */
#include "arch/x86/cpu.h"
#include "arch/x86/vmx/vmx.h"
#include "vmm/vm.h"


/*
 * The VMCS switches FS/GS base, SYSENTER, EFER and PAT, but not these
 * (SDM 27.3.1, 28.5): while a guest runs they hold its values, which the
 * host never uses, so they are exchanged only when another vCPU runs.  The
 * guest can change KERNEL_GS_BASE with SWAPGS, so they are read back then.
 */
static const uint32_t switched_msrs[VMX_SWITCHED_MSRS] = {
	0xc0000102, /* KERNEL_GS_BASE */
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK */
};
struct vmx_vcpu *vmx_msr_owner;

/* DR6 is not in the VMCS either (SDM 28.3.1): it is switched with the MSRs. */
void vmx_switch_msrs(struct vmx_vcpu *x)
{
	if (vmx_msr_owner)
		vmx_msr_owner->dr6 = read_dr(DR6_NUM);
	write_dr(DR6_NUM, x->dr6);
	for (unsigned i = 0; i < VMX_SWITCHED_MSRS; i++) {
		if (vmx_msr_owner)
			vmx_msr_owner->msrs[i] = rdmsr(switched_msrs[i]);
		wrmsr(switched_msrs[i], x->msrs[i]);
	}
	vmx_msr_owner = x;
}

/* Index of r in switched_msrs, or -1. */
static int switched_index(enum vcpu_reg r)
{
	switch (r) {
	case VREG_KERNEL_GS_BASE: return 0;
	case VREG_STAR: return 1;
	case VREG_LSTAR: return 2;
	case VREG_CSTAR: return 3;
	case VREG_SFMASK: return 4;
	default: return -1;
	}
}

void vmx_forget_msrs(struct vmx_vcpu *x)
{
	if (vmx_msr_owner == x)
		vmx_msr_owner = NULL;
}

static uint64_t *gpr(struct vcpu *v, enum vcpu_reg r)
{
	struct guest_gprs *g = &v->gprs;
	switch (r) {
	case VREG_RAX: return &g->rax;
	case VREG_RBX: return &g->rbx;
	case VREG_RCX: return &g->rcx;
	case VREG_RDX: return &g->rdx;
	case VREG_RSI: return &g->rsi;
	case VREG_RDI: return &g->rdi;
	case VREG_RBP: return &g->rbp;
	case VREG_R8: return &g->r8;
	case VREG_R9: return &g->r9;
	case VREG_R10: return &g->r10;
	case VREG_R11: return &g->r11;
	case VREG_R12: return &g->r12;
	case VREG_R13: return &g->r13;
	case VREG_R14: return &g->r14;
	case VREG_R15: return &g->r15;
	case VREG_CR2: return &g->cr2;
	default: return NULL;
	}
}

uint64_t vmx_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	struct vmx_vcpu *x = v->backend;
	uint64_t *p = gpr(v, r);
	if (p)
		return *p;
	int m = switched_index(r);
	if (m >= 0)
		return vmx_msr_owner == x ? rdmsr(switched_msrs[m]) : x->msrs[m];
	vmx_make_current(x);
	switch (r) {
	case VREG_RSP: return vmread(GUEST_RSP);
	case VREG_RIP: return vmread(GUEST_RIP);
	case VREG_RFLAGS: return vmread(GUEST_RFLAGS);
	case VREG_CR3: return x->shadow ? x->cr3 : vmread(GUEST_CR3);
	/* What the guest believes: owned bits come from the read shadows. */
	case VREG_CR0:
		return (vmread(GUEST_CR0) & ~x->cr0_mask) | (vmread(CR0_READ_SHADOW) & x->cr0_mask);
	case VREG_CR4:
		return (vmread(GUEST_CR4) & ~x->cr4_mask) | (vmread(CR4_READ_SHADOW) & x->cr4_mask);
	case VREG_EFER: return x->shadow ? x->efer : vmread(GUEST_IA32_EFER);
	/* SS.DPL is the CPL (SDM 26.3.1.5). */
	case VREG_CPL: return (vmread(GUEST_SS_AR) >> 5) & 3;
	case VREG_CS_L: return (vmread(GUEST_CS_AR) >> 13) & 1;
	case VREG_CR8: return x->tpr;
	case VREG_DR6: return vmx_msr_owner == x ? read_dr(DR6_NUM) : x->dr6;
	case VREG_DR7: return vmread(GUEST_DR7);
	case VREG_PAT: return vmread(GUEST_IA32_PAT);
	case VREG_TSC_OFFSET: return vmread(TSC_OFFSET);
	case VREG_GDTR_BASE: return vmread(GUEST_GDTR_BASE);
	case VREG_GDTR_LIMIT: return vmread(GUEST_GDTR_LIMIT);
	case VREG_IDTR_BASE: return vmread(GUEST_IDTR_BASE);
	case VREG_IDTR_LIMIT: return vmread(GUEST_IDTR_LIMIT);
	/* Blocking by STI (bit 0) or MOV SS (bit 1) (SDM table 25-3). */
	case VREG_INTR_SHADOW: return (vmread(GUEST_INTERRUPTIBILITY) & 3) != 0;
	case VREG_FS_BASE: return vmread(GUEST_FS_BASE);
	case VREG_GS_BASE: return vmread(GUEST_GS_BASE);
	case VREG_SYSENTER_CS: return vmread(GUEST_SYSENTER_CS);
	case VREG_SYSENTER_ESP: return vmread(GUEST_SYSENTER_ESP);
	case VREG_SYSENTER_EIP: return vmread(GUEST_SYSENTER_EIP);
	default: return 0;
	}
}

void vmx_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
	struct vmx_vcpu *x = v->backend;
	uint64_t *p = gpr(v, r);
	if (p) {
		*p = val;
		return;
	}
	int m = switched_index(r);
	if (m >= 0) {
		x->msrs[m] = val;
		if (vmx_msr_owner == x)
			wrmsr(switched_msrs[m], val);
		return;
	}
	vmx_make_current(x);
	switch (r) {
	case VREG_RSP: vmwrite(GUEST_RSP, val); break;
	case VREG_RIP: vmwrite(GUEST_RIP, val); break;
	case VREG_RFLAGS: vmwrite(GUEST_RFLAGS, val); break;
	case VREG_CR3:
		if (x->shadow)
			x->cr3 = val;
		else
			vmwrite(GUEST_CR3, val);
		break;
	case VREG_FS_BASE: vmwrite(GUEST_FS_BASE, val); break;
	case VREG_GS_BASE: vmwrite(GUEST_GS_BASE, val); break;
	case VREG_SYSENTER_CS: vmwrite(GUEST_SYSENTER_CS, val); break;
	case VREG_SYSENTER_ESP: vmwrite(GUEST_SYSENTER_ESP, val); break;
	case VREG_SYSENTER_EIP: vmwrite(GUEST_SYSENTER_EIP, val); break;
	/* Without a TPR shadow the TPR is only the value MOV CR8 reads back. */
	case VREG_CR8: x->tpr = (uint8_t)(val & 0xf); break;
	case VREG_DR6:
		x->dr6 = val;
		if (vmx_msr_owner == x)
			write_dr(DR6_NUM, val);
		break;
	case VREG_DR7: vmwrite(GUEST_DR7, val); break;
	case VREG_PAT: vmwrite(GUEST_IA32_PAT, val); break;
	case VREG_TSC_OFFSET: vmwrite(TSC_OFFSET, val); break;
	case VREG_GDTR_BASE: vmwrite(GUEST_GDTR_BASE, val); break;
	case VREG_GDTR_LIMIT: vmwrite(GUEST_GDTR_LIMIT, val); break;
	case VREG_IDTR_BASE: vmwrite(GUEST_IDTR_BASE, val); break;
	case VREG_IDTR_LIMIT: vmwrite(GUEST_IDTR_LIMIT, val); break;
	case VREG_INTR_SHADOW:
		vmwrite(GUEST_INTERRUPTIBILITY, (vmread(GUEST_INTERRUPTIBILITY) & ~3ull) | (val ? 1 : 0));
		break;
	case VREG_CR0:
		vmwrite(CR0_READ_SHADOW, val);
		vmwrite(GUEST_CR0, (val & ~x->cr0_mask) | (vmread(GUEST_CR0) & x->cr0_mask));
		/* Paging turned on or off here, not by the CPU: LMA must follow. */
		vmx_set_reg(v, VREG_EFER, x->shadow ? x->efer : vmread(GUEST_IA32_EFER));
		break;
	case VREG_CR4:
		vmwrite(CR4_READ_SHADOW, val);
		vmwrite(GUEST_CR4, (val & ~x->cr4_mask) | (vmread(GUEST_CR4) & x->cr4_mask));
		break;
	case VREG_EFER: {
		/* LMA follows LME once paging is on; the entry control must agree (SDM 26.2.4). */
		bool paging = vmread(x->shadow ? CR0_READ_SHADOW : GUEST_CR0) & CR0_PG;
		uint64_t efer = val & ~EFER_LMA;
		if ((efer & EFER_LME) && paging)
			efer |= EFER_LMA;
		if (x->shadow) {
			x->efer = efer; /* the real one is the MMU's (set_paging) */
			break;
		}
		vmwrite(GUEST_IA32_EFER, efer);
		uint64_t entry = vmread(ENTRY_CONTROLS);
		vmwrite(ENTRY_CONTROLS, (efer & EFER_LMA) ? entry | ENTRY_IA32E_GUEST
							  : entry & ~ENTRY_IA32E_GUEST);
		break;
	}
	default: break;
	}
}

/* The selector, base, limit and access-rights fields of each segment register (SDM B.1-B.4). */
static const struct {
	enum vmcs_field sel, base, limit, ar;
} seg_fields[SEG_COUNT] = {
	[SEG_ES] = { GUEST_ES_SEL, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR },
	[SEG_CS] = { GUEST_CS_SEL, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR },
	[SEG_SS] = { GUEST_SS_SEL, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR },
	[SEG_DS] = { GUEST_DS_SEL, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR },
	[SEG_FS] = { GUEST_FS_SEL, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR },
	[SEG_GS] = { GUEST_GS_SEL, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR },
	[SEG_LDTR] = { GUEST_LDTR_SEL, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_AR },
	[SEG_TR] = { GUEST_TR_SEL, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR },
};

/* VMX access rights hold descriptor bits 55:52 at 15:12 and "unusable" at 16 (SDM table 25-2). */
void vmx_get_seg(struct vcpu *v, enum seg_reg r, struct segment *s)
{
	vmx_make_current(v->backend);
	uint64_t ar = vmread(seg_fields[r].ar);
	*s = (struct segment){
		.selector = (uint16_t)vmread(seg_fields[r].sel),
		.base = vmread(seg_fields[r].base),
		.limit = (uint32_t)vmread(seg_fields[r].limit),
		.attr = (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00)),
		.unusable = ar & AR_UNUSABLE,
	};
}

void vmx_set_seg(struct vcpu *v, enum seg_reg r, const struct segment *s)
{
	vmx_make_current(v->backend);
	uint64_t ar = (s->attr & 0xffu) | ((s->attr & 0xf00u) << 4) | (s->unusable ? AR_UNUSABLE : 0);
	vmwrite(seg_fields[r].sel, s->selector);
	vmwrite(seg_fields[r].base, s->base);
	vmwrite(seg_fields[r].limit, s->limit);
	vmwrite(seg_fields[r].ar, ar);
}

/* With EPT and PAE paging, VM entry takes the PDPTEs from the VMCS (SDM 26.3.2.4). */
void vmx_set_pdptes(struct vcpu *v, const uint64_t pdpte[4])
{
	vmx_make_current(v->backend);
	for (unsigned i = 0; i < 4; i++)
		vmwrite((enum vmcs_field)(GUEST_PDPTE0 + 2 * i), pdpte[i]);
}

