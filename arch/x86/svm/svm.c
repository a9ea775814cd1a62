/* svm.c: the AMD-V backend: enabling SVM, building a vCPU's VMCB, register access (AMD APM vol. 2, ch. 15). */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/svm/svm.h"
#include "drivers/console.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "vmm/backend.h"
#include "vmm/vm.h"

#define MSR_VM_HSAVE_PA 0xc0010117
#define IOPM_ORDER      2   /* 12 KiB used of 16 (APM 15.10.1) */
#define MSRPM_ORDER     1   /* 8 KiB (APM 15.11) */
#define VINTR_MASKING   (1ull << 24)
#define PAT_DEFAULT     0x0007040600070406ull

/* Segment attributes for flat protected mode (APM 15.5.1's packed format). */
#define ATTR_CODE32 0xc9b   /* G, D, P, S, execute/read, accessed */
#define ATTR_DATA32 0xc93   /* G, D/B, P, S, read/write, accessed */
#define ATTR_TSS32  0x08b   /* P, busy 32-bit TSS */
#define ATTR_LDT    0x082   /* P, LDT */

struct svm_caps svm_caps;
/* RDTSCP and INVPCID run in an SVM guest as on the host; CR4 is checked on every write. */
static struct backend_features svm_features = {
	.rdtscp = true, .invpcid = true, .cr4_supported = ~0ull, .irq_window_sees_tpr = true,
};
static uint64_t host_vmcb_pa;
static uint64_t iopm_pa, msrpm_pa;

static struct nested_format npt_format = {
	.name = "NPT",
	/* Nested tables are walked as user accesses: U must be set (APM 15.25.5). */
	.table_bits = 0x7,      /* P, W, U */
	.leaf_bits = 0x7,       /* P, W, U; memory type from the host PAT entry 0 (WB) */
	.present_mask = 0x1,
};

static err_t alloc_hv(unsigned order, uint64_t *pa)
{
	return page_alloc(order, OWNER_HV, pa);
}

static err_t svm_cpu_enable(void)
{
	if (!cpu.svm) {
		log_error("svm: this CPU has no AMD-V\n");
		return ERR_UNSUPPORTED;
	}
	svm_caps_read(&svm_caps);
	if (svm_caps.firmware_disabled) {
		log_error("svm: disabled by the firmware (VM_CR.SVMDIS); enable it in the set-up\n");
		return ERR_UNSUPPORTED;
	}
	if (!svm_caps.npt) {
		log_error("svm: no nested paging (NPT): VMs need it\n");
		return ERR_UNSUPPORTED;
	}
	npt_format.leaf_2m = true;
	npt_format.leaf_1g = cpu.pages_1g;

	uint64_t hsave;
	if (alloc_hv(0, &hsave) != ERR_OK || alloc_hv(0, &host_vmcb_pa) != ERR_OK ||
	    alloc_hv(IOPM_ORDER, &iopm_pa) != ERR_OK || alloc_hv(MSRPM_ORDER, &msrpm_pa) != ERR_OK)
		return ERR_NOMEM;
	/* Intercept every port and every MSR: the generic layer decides. */
	memset(phys_to_virt(iopm_pa), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(phys_to_virt(msrpm_pa), 0xff, PAGE_SIZE << MSRPM_ORDER);

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	log_info("svm: enabled; NPT with %s leaves, %u ASIDs, NRIPS %s\n",
		 npt_format.leaf_1g ? "4K/2M/1G" : "4K/2M", svm_caps.nasids,
		 svm_caps.nrips ? "yes" : "no (next RIP from instruction lengths)");
	return ERR_OK;
}

static void flat_segment(struct vmcb_seg *s, uint16_t attrib)
{
	*s = (struct vmcb_seg){ 0, attrib, 0xffffffff, 0 };
}

/* The machine state Multiboot prescribes: flat 32-bit protected mode, paging off. */
static void set_boot_state(struct vmcb *vmcb, const struct vcpu_boot_state *boot)
{
	struct vmcb_save *s = &vmcb->save;
	flat_segment(&s->cs, ATTR_CODE32);
	flat_segment(&s->ds, ATTR_DATA32);
	flat_segment(&s->es, ATTR_DATA32);
	flat_segment(&s->fs, ATTR_DATA32);
	flat_segment(&s->gs, ATTR_DATA32);
	flat_segment(&s->ss, ATTR_DATA32);
	s->cs.selector = 0x08;
	s->ds.selector = s->es.selector = s->fs.selector = s->gs.selector = s->ss.selector = 0x10;
	s->tr = (struct vmcb_seg){ 0, ATTR_TSS32, 0xffff, 0 };
	s->ldtr = (struct vmcb_seg){ 0, ATTR_LDT, 0xffff, 0 };
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	s->cr0 = CR0_PE | (1ull << 4); /* PE, ET */
	s->efer = EFER_SVME;           /* VMRUN requires it; the guest never sees it */
	s->rflags = 0x2;
	s->rip = boot->eip;
	s->rax = boot->eax;
	s->dr6 = 0xffff0ff0;  /* APM 13.1.1.5, 14.1.3 */
	s->dr7 = 0x400;
	s->dbgctl = 0;
	s->g_pat = PAT_DEFAULT;
}

static err_t svm_vcpu_create(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	uint64_t pa;
	/* Page 0 is the VMCB, page 1 our bookkeeping; both belong to the VM. */
	err_t err = page_alloc(1, v->vm->owner, &pa);
	if (err != ERR_OK)
		return err;
	struct svm_vcpu *s = phys_to_virt(pa + PAGE_SIZE);
	s->vmcb = phys_to_virt(pa);
	s->vmcb_pa = pa;
	v->backend = s;

	struct vmcb_control *c = &s->vmcb->control;
	/*
	 * The guest's EFER.SVME must stay set for VMRUN (APM 15.5.1), so every
	 * SVM instruction, INVLPGA included, is intercepted and raises #UD: the
	 * guest is told it has no SVM.  MONITOR/MWAIT(X) likewise (CPUID hides
	 * them), so a guest can never park the physical CPU.  CR0 and CR4 writes
	 * are checked as the CPU would (vmm/cr.c): against what CPUID shows, and
	 * on CPUs (emulators) that do not make every check of MOV CR0 in a guest
	 * themselves; every change of CR0.PG thus passes through set_long_mode().
	 */
	c->intercept_cr = INTERCEPT_CR_WRITE(0) | INTERCEPT_CR_WRITE(4);
	/*
	 * Every MOV DR exits and is emulated (vmm/cr.c): the guest's DR0-DR3 are
	 * in the registers while it runs (vmm/vcpu.c), DR6/DR7 in the VMCB.  This
	 * also emulates DR7.GD, and keeps guest MOV DR off QEMU 7.2's TCG, whose
	 * breakpoint bookkeeping does not survive VMRUN loading DR7 (it crashes).
	 */
	c->intercept_dr = 0xffffffffu;
	c->intercept_misc1 = INTERCEPT1_INTR | INTERCEPT1_NMI | INTERCEPT1_SMI | INTERCEPT1_INIT |
			     INTERCEPT1_RDPMC | INTERCEPT1_CPUID | INTERCEPT1_INVD | INTERCEPT1_HLT |
			     INTERCEPT1_INVLPGA | INTERCEPT1_IOIO | INTERCEPT1_MSR | INTERCEPT1_SHUTDOWN;
	c->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD |
			     INTERCEPT2_VMSAVE | INTERCEPT2_STGI | INTERCEPT2_CLGI | INTERCEPT2_SKINIT |
			     INTERCEPT2_WBINVD | INTERCEPT2_MONITOR | INTERCEPT2_MWAIT | INTERCEPT2_MWAIT_ARMED |
			     INTERCEPT2_XSETBV;
	/* RDPRU runs in a guest only where the CPU has it (CPUID 8000_0008h:EBX[4]). */
	if (cpuid(0x80000000u, 0).eax >= 0x80000008u && (cpuid(0x80000008u, 0).ebx & (1u << 4)))
		c->intercept_misc2 |= INTERCEPT2_RDPRU;
	c->iopm_base_pa = iopm_pa;
	c->msrpm_base_pa = msrpm_pa;
	/* Physical interrupts stay masked by the host's RFLAGS.IF while the guest runs. */
	c->vintr = VINTR_MASKING;
	set_boot_state(s->vmcb, boot);
	s->shadow = boot->shadow;
	if (s->shadow) {
		/*
		 * The shadow MMU: no NPT, and every access to CR0, CR3 and CR4,
		 * INVLPG, INVPCID and #PF exits (EFER already does, through the MSR
		 * map); the VMCB holds what the CPU runs with (set_paging), the
		 * guest's own values are kept here.
		 */
		c->intercept_cr |= INTERCEPT_CR_READ(0) | INTERCEPT_CR_READ(3) | INTERCEPT_CR_READ(4) |
				   INTERCEPT_CR_WRITE(3);
		c->intercept_exc = 1u << 14;
		/* A task switch the CPU made itself would load the guest's CR3 into the real one. */
		c->intercept_misc1 |= INTERCEPT1_INVLPG | INTERCEPT1_TASK_SWITCH;
		c->intercept_misc3 |= INTERCEPT3_INVPCID;
		s->cr0 = s->vmcb->save.cr0;
		s->cr3 = s->cr4 = s->efer = 0;
	} else {
		c->np_enable = 1;
		c->n_cr3 = v->vm->nested.root;
	}
	v->gprs.rbx = boot->ebx;
	s->tlb_control = TLB_CONTROL_ALL;
	return ERR_OK;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	struct svm_vcpu *s = v->backend;
	page_free(s->vmcb_pa, v->vm->owner);
	v->backend = NULL;
}

static err_t svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *s = v->backend;
	svm_asid_prepare(v, s);
	s->vmcb->control.tlb_control = s->tlb_control;
	if (s->tlb_control == TLB_CONTROL_ALL)
		stat_inc(v->vm, &stat_tlb_flush_all);
	else if (s->tlb_control != TLB_CONTROL_NONE)
		stat_inc(v->vm, &stat_tlb_flush_tag);
	s->tlb_control = TLB_CONTROL_NONE;
	s->vmcb->control.clean = 0; /* we rewrite fields freely: nothing is cached */
	/*
	 * VMRUN loads the guest's CR2 from the VMCB (APM 15.5.1), but Bochs 2.7
	 * does not; loading it here too is what hardware does anyway, and costs
	 * a write only when it differs (the CR2 of a #PF this VMM injects, or of
	 * another vCPU's fault).
	 */
	if (read_cr2() != s->vmcb->save.cr2)
		write_cr2(s->vmcb->save.cr2);
	uint64_t injecting = s->vmcb->control.eventinj;
	if (injecting)
		s->last_eventinj = injecting;

	svm_world_switch(s->vmcb_pa, &v->gprs, host_vmcb_pa);

	/* An injected event is consumed by the VMRUN that delivered it. */
	s->vmcb->control.eventinj = 0;
	svm_decode_exit(s->vmcb, e);
	/*
	 * Under the shadow MMU only the hypervisor loads CR3.  QEMU 7.2's SVM
	 * does not take the task-switch intercept: a guest's task switch loads
	 * its own CR3 into the real one, and the VM must not go on.
	 */
	if (s->shadow && s->vmcb->save.cr3 != s->shadow_cr3) {
		*e = (struct vm_exit){ .reason = EXIT_LOST_INTERCEPT, .raw = s->vmcb->control.exitcode,
				       .qual = s->vmcb->save.cr3,
				       .name = "the CPU loaded CR3 itself (a task switch it did not intercept)" };
		return ERR_OK;
	}
	/*
	 * An interrupted delivery of the event injected by an earlier VMRUN,
	 * not this one, cannot be: that is Bochs 2.7, which reports the last
	 * injected event again when the delivery of an INT n exits.  Dropped,
	 * the INT n is executed again (RIP is still at it).
	 */
	if (e->vectoring.valid && !injecting && s->vmcb->control.exitintinfo == s->last_eventinj) {
		e->vectoring.valid = false;
		if (e->reason == EXIT_TASK_SWITCH && e->task.source == TASK_GATE)
			e->task.source = TASK_CALL;
	}
	if (e->reason == EXIT_MSR_READ || e->reason == EXIT_MSR_WRITE)
		e->msr = (uint32_t)v->gprs.rcx;
	return ERR_OK;
}

/* Re-injection: EVENTINJ takes the EXITINTINFO format (APM 15.7.2, 15.20). */
/*
 * The interrupt window (APM 15.21.4): a virtual interrupt of vector's class
 * is made pending and its VINTR intercepted, so the CPU exits just before
 * it would take it: IF set, no interrupt shadow, and V_TPR below it.  CR8
 * writes exit meanwhile: QEMU 7.2 aborts (an assertion in its TCG) when a
 * guest's MOV to CR8 unmasks a pending virtual interrupt itself.
 */
static void svm_irq_window(struct vcpu *v, bool on, uint8_t vector)
{
	struct vmcb_control *c = &((struct svm_vcpu *)v->backend)->vmcb->control;
	c->vintr &= ~(VINTR_IRQ | VINTR_PRIO_MASK | VINTR_IGN_TPR);
	if (on) {
		c->vintr |= VINTR_IRQ | ((uint64_t)(vector >> 4) << VINTR_PRIO_SHIFT);
		c->intercept_misc1 |= INTERCEPT1_VINTR;
		c->intercept_cr |= INTERCEPT_CR_WRITE(8);
	} else {
		c->intercept_misc1 &= ~INTERCEPT1_VINTR;
		c->intercept_cr &= ~INTERCEPT_CR_WRITE(8);
	}
}

static void svm_reinject(struct vcpu *v, const struct exit_event *e)
{
	static const uint8_t types[] = { [EVENT_EXTINT] = 0, [EVENT_NMI] = 2, [EVENT_HW_EXC] = 3 };
	/* INT n, INT3, INTO and INT1 are done again by executing them again: RIP is still theirs. */
	if (e->type == EVENT_SW_INT || e->type == EVENT_SW_EXC || e->type == EVENT_PRIV_SW_EXC)
		return;
	struct svm_vcpu *s = v->backend;
	uint64_t inj = e->vector | EVENTINJ_TYPE(types[e->type]) | EVENTINJ_VALID;
	if (e->has_error)
		inj |= EVENTINJ_HAS_ERROR | ((uint64_t)e->error << 32);
	s->vmcb->control.eventinj = inj;
}

static void svm_inject(struct vcpu *v, const struct vcpu_event *ev)
{
	const struct exit_event e = { true, EVENT_HW_EXC, ev->vector, ev->has_error, ev->error, 0 };
	svm_reinject(v, &e);
}

/* The shadow MMU's choice of CPU paging state; EFER.SVME stays on under VMRUN. */
static void svm_set_paging(struct vcpu *v, const struct vcpu_paging *p)
{
	struct vmcb_save *s = &((struct svm_vcpu *)v->backend)->vmcb->save;
	s->cr0 = p->cr0;
	s->cr3 = p->cr3;
	((struct svm_vcpu *)v->backend)->shadow_cr3 = p->cr3;
	s->cr4 = p->cr4;
	s->efer = p->efer | EFER_SVME;
}

/* How much a TLB_CONTROL value flushes: the stronger of two requests wins. */
static unsigned flush_rank(uint8_t tlb_control)
{
	switch (tlb_control) {
	case TLB_CONTROL_NONE: return 0;
	case TLB_CONTROL_NONGLOBAL: return 1;
	case TLB_CONTROL_THIS_ASID: return 2;
	default: return 3;
	}
}

static void flush_at_entry(struct svm_vcpu *s, uint8_t tlb_control)
{
	if (flush_rank(tlb_control) > flush_rank(s->tlb_control))
		s->tlb_control = tlb_control;
}

/* One address goes now, by INVLPGA of the vCPU's ASID; the rest at the next VMRUN (TLB_CONTROL). */
static void svm_flush_tlb(struct vcpu *v, enum tlb_flush kind, uint64_t la)
{
	struct svm_vcpu *s = v->backend;
	if (!v->tag) {
		flush_at_entry(s, TLB_CONTROL_ALL);
		return;
	}
	if (kind == TLB_FLUSH_ADDR) {
		stat_inc(v->vm, &stat_tlb_flush_addr);
		__asm__ volatile("invlpga %0, %1" : : "a"(la), "c"((uint32_t)v->tag) : "memory");
		return;
	}
	if (!svm_caps.flush_by_asid)
		flush_at_entry(s, TLB_CONTROL_ALL);
	else
		flush_at_entry(s, kind == TLB_FLUSH_NONGLOBAL ? TLB_CONTROL_NONGLOBAL : TLB_CONTROL_THIS_ASID);
}

static void svm_dump(struct vcpu *v)
{
	const struct vmcb *vmcb = ((struct svm_vcpu *)v->backend)->vmcb;
	const struct vmcb_save *s = &vmcb->save;
	kprintf("  CS %04x attr %03x base %llx limit %x   CPL %u  ASID %u\n", s->cs.selector,
		s->cs.attrib, (unsigned long long)s->cs.base, s->cs.limit, s->cpl,
		vmcb->control.asid);
	kprintf("  exitcode %#llx exitinfo1 %#llx exitinfo2 %#llx exitintinfo %#llx\n",
		(unsigned long long)vmcb->control.exitcode,
		(unsigned long long)vmcb->control.exitinfo1,
		(unsigned long long)vmcb->control.exitinfo2,
		(unsigned long long)vmcb->control.exitintinfo);
	if (((struct svm_vcpu *)v->backend)->shadow)
		kprintf("  shadow MMU: the CPU runs with CR0 %#llx CR3 %#llx CR4 %#llx EFER %#llx\n",
			(unsigned long long)s->cr0, (unsigned long long)s->cr3,
			(unsigned long long)s->cr4, (unsigned long long)s->efer);
}

const struct vcpu_ops svm_ops = {
	.name = "SVM",
	.nested = &npt_format,
	.features = &svm_features,
	.cpu_enable = svm_cpu_enable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.get_reg = svm_get_reg,
	.set_reg = svm_set_reg,
	.get_seg = svm_get_seg,
	.set_seg = svm_set_seg,
	.set_pdptes = svm_set_pdptes,
	.inject = svm_inject,
	.reinject = svm_reinject,
	.irq_window = svm_irq_window,
	.set_paging = svm_set_paging,
	.flush_tlb = svm_flush_tlb,
	.dump = svm_dump,
};
