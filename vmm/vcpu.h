/* vcpu.h: one virtual CPU: the registers the world switch saves, and its vendor state. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stddef.h>
#include <stdint.h>
#include "arch/x86/fpu.h"

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
	VREG_COUNT
};

const char *vcpu_reg_name(enum vcpu_reg r);

struct vcpu {
	struct vm *vm;
	unsigned id;
	struct guest_gprs gprs;
	void *backend;      /* the VMCS or VMCB side, owned by the backend */
	uint64_t tag;       /* VPID or ASID, 0 when tagging is off */
	struct fpu_state fpu; /* x87/SSE registers while another vCPU runs */
};

#endif
