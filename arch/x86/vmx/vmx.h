/* vmx.h: the VMX backend's per-vCPU state, shared by its set-up, exit decoding and VPID files. */
#ifndef ARCH_X86_VMX_VMX_H
#define ARCH_X86_VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/vmx/caps.h"
#include "arch/x86/vmx/vmcs.h"
#include "vmm/exit.h"
#include "vmm/segment.h"
#include "vmm/vcpu.h"

#define VMX_SWITCHED_MSRS 5
#define DR6_RESET 0xffff0ff0ull  /* SDM 17.2.3 and table 9-1 */
#define DR7_RESET 0x400ull
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

struct vmx_vcpu {
	uint64_t vmcs_pa;
	uint64_t eptp;
	bool launched;      /* VMLAUNCH done: the next entry is VMRESUME */
	uint16_t vpid;      /* 0: untagged */
	uint64_t cr0_mask, cr4_mask;
	bool shadow;        /* the shadow MMU: no EPT, paging registers trapped */
	uint64_t cr3, efer; /* shadow: the guest's CR3 and EFER (the VMCS holds the real ones) */
	uint8_t tpr;        /* CR8 as the guest last wrote it */
	/* DR6, KERNEL_GS_BASE, STAR, LSTAR, CSTAR, SFMASK while another vCPU's are loaded. */
	uint64_t dr6;
	uint64_t msrs[VMX_SWITCHED_MSRS];
};

extern struct vmx_caps vmx_caps;

/* A free VPID, 0 when none is left; *flushed says an INVVPID retired its earlier use. */
uint16_t vmx_vpid_alloc(bool *flushed);
void vmx_vpid_free(uint16_t vpid);
void vmx_invvpid_single(uint16_t vpid);
/* INVVPID of one address (type 0) or of the non-global entries (type 3), where the CPU has them. */
void vmx_invvpid_addr(uint16_t vpid, uint64_t la);
void vmx_invvpid_nonglobal(uint16_t vpid);
void vmx_invept_single(uint64_t eptp);

/* The VMCS VMPTRLD made current, 0 for none (vmx.c). */
extern uint64_t vmx_current_vmcs;

/* Makes x's VMCS the current one; every VMREAD/VMWRITE after it is about x. */
static inline void vmx_make_current(struct vmx_vcpu *x)
{
	if (vmx_current_vmcs == x->vmcs_pa)
		return;
	__asm__ volatile("vmptrld %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	vmx_current_vmcs = x->vmcs_pa;
}

/* vmx_regs.c: register access, and the guest MSRs and DR6 no VMCS field holds. */
extern struct vmx_vcpu *vmx_msr_owner; /* whose MSRs and DR6 are in the CPU */
void vmx_switch_msrs(struct vmx_vcpu *x);
static inline void vmx_load_guest_msrs(struct vmx_vcpu *x)
{
	if (vmx_msr_owner != x)
		vmx_switch_msrs(x);
}
/* x is going away: its MSRs must not be saved into it any more. */
void vmx_forget_msrs(struct vmx_vcpu *x);
uint64_t vmx_get_reg(struct vcpu *v, enum vcpu_reg r);
void vmx_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val);
void vmx_get_seg(struct vcpu *v, enum seg_reg r, struct segment *s);
void vmx_set_seg(struct vcpu *v, enum seg_reg r, const struct segment *s);
void vmx_set_pdptes(struct vcpu *v, const uint64_t pdpte[4]);

/* Turns the exit fields of the current VMCS into the vendor-neutral record. */
void vmx_decode_exit(struct vm_exit *e);

/* vmx_switch.asm: enters the guest (VMLAUNCH when !launched, else VMRESUME).
 * Returns 0 after a VM exit, 1 for VMfailInvalid, 2 for VMfailValid. */
int vmx_world_switch(struct guest_gprs *gprs, int launched);

#endif
