/* svm_regs.c: the SVM backend's access to a vCPU's registers: the VMCB's fields, the world switch's, and the shadow MMU's view of the paging registers. */
#include "arch/x86/cpu.h"
#include "arch/x86/svm/svm.h"
#include "vmm/vm.h"

#define EFER_LMA  (1ull << 10)
#define EFER_LME  (1ull << 8)

uint64_t svm_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	const struct svm_vcpu *sv = v->backend;
	struct vmcb_save *s = &sv->vmcb->save;
	const struct vmcb_control *c = &((struct svm_vcpu *)v->backend)->vmcb->control;
	const struct guest_gprs *g = &v->gprs;
	switch (r) {
	case VREG_RAX: return s->rax;
	case VREG_RSP: return s->rsp;
	case VREG_RIP: return s->rip;
	case VREG_RFLAGS: return s->rflags;
	case VREG_CR0: return sv->shadow ? sv->cr0 : s->cr0;
	case VREG_CR2: return s->cr2;
	case VREG_CR3: return sv->shadow ? sv->cr3 : s->cr3;
	case VREG_CR4: return sv->shadow ? sv->cr4 : s->cr4;
	case VREG_EFER:
		if (sv->shadow)
			return sv->efer;
		return (s->efer & ~(EFER_SVME | EFER_LME)) | (sv->efer_lme ? EFER_LME : 0);
	case VREG_CPL: return s->cpl;
	case VREG_CS_L: return (s->cs.attrib >> 9) & 1;
	/* With V_INTR_MASKING, MOV CR8 reads and writes V_TPR (APM 15.21.1). */
	case VREG_CR8: return c->vintr & VINTR_TPR_MASK;
	case VREG_DR6: return s->dr6;
	case VREG_DR7: return s->dr7;
	case VREG_PAT: return s->g_pat;
	case VREG_TSC_OFFSET: return c->tsc_offset;
	case VREG_GDTR_BASE: return s->gdtr.base;
	case VREG_GDTR_LIMIT: return s->gdtr.limit;
	case VREG_IDTR_BASE: return s->idtr.base;
	case VREG_IDTR_LIMIT: return s->idtr.limit;
	case VREG_INTR_SHADOW: return c->interrupt_shadow & 1;
	/* VMLOAD/VMSAVE carry these in the VMCB (APM 15.5.2). */
	case VREG_FS_BASE: return s->fs.base;
	case VREG_GS_BASE: return s->gs.base;
	case VREG_KERNEL_GS_BASE: return s->kernel_gs_base;
	case VREG_STAR: return s->star;
	case VREG_LSTAR: return s->lstar;
	case VREG_CSTAR: return s->cstar;
	case VREG_SFMASK: return s->sfmask;
	case VREG_SYSENTER_CS: return s->sysenter_cs;
	case VREG_SYSENTER_ESP: return s->sysenter_esp;
	case VREG_SYSENTER_EIP: return s->sysenter_eip;
	case VREG_RBX: return g->rbx;
	case VREG_RCX: return g->rcx;
	case VREG_RDX: return g->rdx;
	case VREG_RSI: return g->rsi;
	case VREG_RDI: return g->rdi;
	case VREG_RBP: return g->rbp;
	case VREG_R8: return g->r8;
	case VREG_R9: return g->r9;
	case VREG_R10: return g->r10;
	case VREG_R11: return g->r11;
	case VREG_R12: return g->r12;
	case VREG_R13: return g->r13;
	case VREG_R14: return g->r14;
	case VREG_R15: return g->r15;
	default: return 0;
	}
}

/*
 * Every CR0 write exits, so IA-32e mode
 * is entered and left here, as the CPU would: LMA = LME and PG (APM 14.6.1).
 * The VMCB's LME is the guest's only while paging is on: with paging off it
 * does nothing, and QEMU 7.2 restores the host's CR0 wrongly at a #VMEXIT
 * from a guest with LME set, PAE clear and paging off.
 */
static void set_long_mode(struct vcpu *v)
{
	struct svm_vcpu *sv = v->backend;
	struct vmcb_save *s = &sv->vmcb->save;
	bool lma = sv->efer_lme && (s->cr0 & CR0_PG);
	s->efer = (s->efer & ~(EFER_LME | EFER_LMA)) | (lma ? EFER_LME | EFER_LMA : 0);
}

/* The shadow MMU's guest: its own CR0, CR3, CR4 and EFER, LMA = LME and PG (APM 14.6.1). */
static bool set_shadow_view(struct svm_vcpu *sv, enum vcpu_reg r, uint64_t val)
{
	switch (r) {
	case VREG_CR0: sv->cr0 = val; break;
	case VREG_CR3: sv->cr3 = val; return true;
	case VREG_CR4: sv->cr4 = val; return true;
	case VREG_EFER: sv->efer = val; break;
	default: return false;
	}
	sv->efer &= ~EFER_LMA;
	if ((sv->efer & EFER_LME) && (sv->cr0 & CR0_PG))
		sv->efer |= EFER_LMA;
	return true;
}

void svm_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
	struct vmcb_save *s = &((struct svm_vcpu *)v->backend)->vmcb->save;
	struct vmcb_control *c = &((struct svm_vcpu *)v->backend)->vmcb->control;
	struct guest_gprs *g = &v->gprs;
	struct svm_vcpu *sv = v->backend;
	switch (r) {
	case VREG_RAX: s->rax = val; break;
	case VREG_RSP: s->rsp = val; break;
	case VREG_RIP: s->rip = val; break;
	case VREG_RFLAGS: s->rflags = val; break;
	case VREG_CR0:
		if (sv->shadow) {
			set_shadow_view(sv, r, val);
			break;
		}
		s->cr0 = val;
		set_long_mode(v);
		break;
	case VREG_CR2: s->cr2 = val; break;
	case VREG_CR3:
		if (sv->shadow)
			set_shadow_view(sv, r, val);
		else
			s->cr3 = val;
		break;
	case VREG_CR4:
		if (sv->shadow)
			set_shadow_view(sv, r, val);
		else
			s->cr4 = val;
		break;
	/* LMA is the CPU's to set; SVME must stay on under VMRUN. */
	case VREG_EFER:
		if (sv->shadow) {
			set_shadow_view(sv, r, val);
			break;
		}
		sv->efer_lme = val & EFER_LME;
		s->efer = (val & ~(EFER_LMA | EFER_LME)) | (s->efer & EFER_LMA) | EFER_SVME;
		set_long_mode(v);
		break;
	case VREG_FS_BASE: s->fs.base = val; break;
	case VREG_GS_BASE: s->gs.base = val; break;
	case VREG_KERNEL_GS_BASE: s->kernel_gs_base = val; break;
	case VREG_STAR: s->star = val; break;
	case VREG_LSTAR: s->lstar = val; break;
	case VREG_CSTAR: s->cstar = val; break;
	case VREG_SFMASK: s->sfmask = val; break;
	case VREG_SYSENTER_CS: s->sysenter_cs = val; break;
	case VREG_SYSENTER_ESP: s->sysenter_esp = val; break;
	case VREG_SYSENTER_EIP: s->sysenter_eip = val; break;
	case VREG_CR8: c->vintr = (c->vintr & ~VINTR_TPR_MASK) | (val & VINTR_TPR_MASK); break;
	case VREG_DR6: s->dr6 = val; break;
	case VREG_DR7: s->dr7 = val; break;
	case VREG_PAT: s->g_pat = val; break;
	case VREG_TSC_OFFSET: c->tsc_offset = val; break;
	case VREG_GDTR_BASE: s->gdtr.base = val; break;
	case VREG_GDTR_LIMIT: s->gdtr.limit = (uint32_t)val; break;
	case VREG_IDTR_BASE: s->idtr.base = val; break;
	case VREG_IDTR_LIMIT: s->idtr.limit = (uint32_t)val; break;
	case VREG_INTR_SHADOW: c->interrupt_shadow = (c->interrupt_shadow & ~1ull) | (val ? 1 : 0); break;
	case VREG_RBX: g->rbx = val; break;
	case VREG_RCX: g->rcx = val; break;
	case VREG_RDX: g->rdx = val; break;
	case VREG_RSI: g->rsi = val; break;
	case VREG_RDI: g->rdi = val; break;
	case VREG_RBP: g->rbp = val; break;
	case VREG_R8: g->r8 = val; break;
	case VREG_R9: g->r9 = val; break;
	case VREG_R10: g->r10 = val; break;
	case VREG_R11: g->r11 = val; break;
	case VREG_R12: g->r12 = val; break;
	case VREG_R13: g->r13 = val; break;
	case VREG_R14: g->r14 = val; break;
	case VREG_R15: g->r15 = val; break;
	default: break;
	}
}

static struct vmcb_seg *vmcb_segment(struct vcpu *v, enum seg_reg r)
{
	struct vmcb_save *s = &((struct svm_vcpu *)v->backend)->vmcb->save;
	switch (r) {
	case SEG_ES: return &s->es;
	case SEG_CS: return &s->cs;
	case SEG_SS: return &s->ss;
	case SEG_DS: return &s->ds;
	case SEG_FS: return &s->fs;
	case SEG_GS: return &s->gs;
	case SEG_LDTR: return &s->ldtr;
	default: return &s->tr;
	}
}

/* The VMCB keeps segments in the packed form of vmm/segment.h; a not-present one is unusable (APM 15.5.1). */
void svm_get_seg(struct vcpu *v, enum seg_reg r, struct segment *out)
{
	const struct vmcb_seg *s = vmcb_segment(v, r);
	*out = (struct segment){ s->selector, s->base, s->limit, s->attrib,
				 !(s->attrib & SEG_ATTR_P) };
}

void svm_set_seg(struct vcpu *v, enum seg_reg r, const struct segment *in)
{
	struct vmcb_seg *s = vmcb_segment(v, r);
	*s = (struct vmcb_seg){ in->selector, in->unusable ? (uint16_t)(in->attr & ~SEG_ATTR_P) : in->attr,
				in->limit, in->base };
	if (r == SEG_SS)
		((struct svm_vcpu *)v->backend)->vmcb->save.cpl = (uint8_t)seg_dpl(in);
}

/* Under NPT the CPU reads a PAE guest's PDPTEs from memory itself at VMRUN. */
void svm_set_pdptes(struct vcpu *v, const uint64_t pdpte[4])
{
	(void)v;
	(void)pdpte;
}

