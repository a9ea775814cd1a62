/* svm.h: the SVM backend's per-vCPU state, shared by its set-up, exit decoding and ASID files. */
#ifndef ARCH_X86_SVM_SVM_H
#define ARCH_X86_SVM_SVM_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/svm/caps.h"
#include "arch/x86/svm/vmcb.h"
#include "vmm/exit.h"
#include "vmm/segment.h"
#include "vmm/vcpu.h"

#define EFER_SVME (1ull << 12)  /* stays set under VMRUN (APM 15.5.1); the guest never sees it */

struct svm_vcpu {
	struct vmcb *vmcb;
	uint64_t vmcb_pa;
	uint64_t asid_generation;
	uint8_t tlb_control;  /* for the next VMRUN */
	bool efer_lme;        /* the guest's EFER.LME; the VMCB holds it only while CR0.PG is set */
	bool shadow;          /* the shadow MMU: no NPT; the VMCB holds the real paging registers */
	uint64_t cr0, cr3, cr4, efer; /* shadow: the guest's own values */
	uint64_t last_eventinj;       /* the EVENTINJ of the last VMRUN that injected one */
	uint64_t shadow_cr3;          /* shadow: the real CR3 the MMU chose */
};

extern struct svm_caps svm_caps;

/* Gives v an ASID (or none when tagging is off) and says how the next VMRUN must flush. */
void svm_asid_prepare(struct vcpu *v, struct svm_vcpu *s);
/* svm_regs.c: register and segment access. */
uint64_t svm_get_reg(struct vcpu *v, enum vcpu_reg r);
void svm_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val);
void svm_get_seg(struct vcpu *v, enum seg_reg r, struct segment *out);
void svm_set_seg(struct vcpu *v, enum seg_reg r, const struct segment *in);
void svm_set_pdptes(struct vcpu *v, const uint64_t pdpte[4]);

/* Turns the VMCB's exit fields into the vendor-neutral record. */
void svm_decode_exit(const struct vmcb *vmcb, struct vm_exit *e);

/* svm_switch.asm: VMLOAD, VMRUN, VMSAVE for the guest, with host state kept in host_vmcb_pa. */
void svm_world_switch(uint64_t vmcb_pa, struct guest_gprs *gprs, uint64_t host_vmcb_pa);

#endif
