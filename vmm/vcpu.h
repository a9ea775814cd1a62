/* vcpu.h: one virtual CPU: the registers the world switch saves, and its vendor state. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86/fpu.h"
#include "vmm/exit.h"

struct vm;

/* General registers the world switch saves and restores (not RSP/RIP/RFLAGS,
 * which VMX keeps in the VMCS and SVM in the VMCB, nor RAX on SVM). */
struct guest_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};
_Static_assert(offsetof(struct guest_gprs, r8) == 7 * 8, "world switch uses these offsets");
_Static_assert(offsetof(struct guest_gprs, cr2) == 15 * 8, "world switch uses these offsets");

/* Registers the generic layer reads and writes through the backend. */
enum vcpu_reg {
	VREG_RAX, VREG_RBX, VREG_RCX, VREG_RDX, VREG_RSI, VREG_RDI, VREG_RBP, VREG_RSP,
	VREG_R8, VREG_R9, VREG_R10, VREG_R11, VREG_R12, VREG_R13, VREG_R14, VREG_R15,
	VREG_RIP, VREG_RFLAGS, VREG_CR0, VREG_CR2, VREG_CR3, VREG_CR4, VREG_EFER,
	VREG_CPL,   /* read-only: the guest's current privilege level */
	/* Segment-base and system-call MSRs, kept per vCPU by the backend. */
	VREG_FS_BASE, VREG_GS_BASE, VREG_KERNEL_GS_BASE, VREG_STAR, VREG_LSTAR, VREG_CSTAR,
	VREG_SFMASK, VREG_SYSENTER_CS, VREG_SYSENTER_ESP, VREG_SYSENTER_EIP,
	VREG_CR8,         /* the task-priority register as MOV CR8 sees it */
	VREG_DR6, VREG_DR7,
	VREG_PAT,         /* IA32_PAT */
	VREG_TSC_OFFSET,  /* added to the host TSC for RDTSC, RDTSCP and RDMSR TSC */
	VREG_CS_L,        /* read-only: CS.L, with EFER.LMA the vCPU is in 64-bit mode */
	VREG_GDTR_BASE, VREG_GDTR_LIMIT, VREG_IDTR_BASE, VREG_IDTR_LIMIT,
	VREG_INTR_SHADOW, /* blocking by STI or MOV SS for one instruction: 0 or 1 */
	VREG_COUNT
};

const char *vcpu_reg_name(enum vcpu_reg r);
/* General registers in instruction-encoding order (ModRM.reg / rm with REX): 0 RAX, 1 RCX ... */
extern const enum vcpu_reg vcpu_gpr_by_encoding[16];

struct vcpu {
	struct vm *vm;
	unsigned id;
	struct guest_gprs gprs;
	void *backend;      /* the VMCS or VMCB side, owned by the backend */
	uint64_t tag;       /* VPID or ASID, 0 when tagging is off */
	/* State no VMCS or VMCB field holds, kept here while another vCPU runs (vcpu.c). */
	struct fpu_state fpu; /* x87/SSE registers */
	uint64_t dr[4];       /* DR0-DR3 */
	uint64_t tsc_aux;     /* IA32_TSC_AUX, read by RDTSCP and RDPID */
	/* MSRs the VMM models itself (msr.c). */
	uint64_t apic_base, mtrr_def_type, misc_enable;
	uint64_t pdpte[4];    /* the PAE PDPTEs as the last CR load read them (SDM 4.4.1) */
	/* Events around the exit being handled (vmm/event.c). */
	const struct exit_event *interrupted; /* the delivery the exit cut short, or NULL */
	bool injected;                 /* the handler queued an event */
	bool shutdown;                 /* ... which was a fault while delivering #DF */
	bool irq_window;               /* the CPU exits when the guest can take an interrupt */
	bool halted;                   /* in HLT until an interrupt it can take is requested */
};

/* The state above as after a reset (the backend resets the rest). */
void vcpu_reset(struct vcpu *v);
/* The vCPU whose lazily switched state (above) is in the CPU's registers. */
extern struct vcpu *vcpu_lazy_owner;
void vcpu_switch_lazy(struct vcpu *v);

/* Puts v's lazily switched state into the CPU's registers before it runs. */
static inline void vcpu_load(struct vcpu *v)
{
	if (vcpu_lazy_owner != v)
		vcpu_switch_lazy(v);
}
/* v is going away: its registers must not be saved into it any more. */
void vcpu_forget(struct vcpu *v);
/* DR0-DR3 of v, wherever they are now. */
uint64_t vcpu_get_dr(const struct vcpu *v, unsigned n);
void vcpu_set_dr(struct vcpu *v, unsigned n, uint64_t val);
/* IA32_TSC_AUX of v, wherever it is now. */
uint64_t vcpu_tsc_aux(const struct vcpu *v);
void vcpu_set_tsc_aux(struct vcpu *v, uint64_t val);

#endif
