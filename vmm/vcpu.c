/* vcpu.c: names of the vCPU registers, for guest-state dumps. */
#include "vmm/vcpu.h"

static const char *const names[VREG_COUNT] = {
	[VREG_RAX] = "RAX", [VREG_RBX] = "RBX", [VREG_RCX] = "RCX", [VREG_RDX] = "RDX",
	[VREG_RSI] = "RSI", [VREG_RDI] = "RDI", [VREG_RBP] = "RBP", [VREG_RSP] = "RSP",
	[VREG_R8] = "R8", [VREG_R9] = "R9", [VREG_R10] = "R10", [VREG_R11] = "R11",
	[VREG_R12] = "R12", [VREG_R13] = "R13", [VREG_R14] = "R14", [VREG_R15] = "R15",
	[VREG_RIP] = "RIP", [VREG_RFLAGS] = "RFLAGS", [VREG_CR0] = "CR0", [VREG_CR2] = "CR2",
	[VREG_CR3] = "CR3", [VREG_CR4] = "CR4", [VREG_EFER] = "EFER", [VREG_CPL] = "CPL",
	[VREG_FS_BASE] = "FSBASE", [VREG_GS_BASE] = "GSBASE", [VREG_KERNEL_GS_BASE] = "KGSBASE",
	[VREG_STAR] = "STAR", [VREG_LSTAR] = "LSTAR", [VREG_CSTAR] = "CSTAR",
	[VREG_SFMASK] = "SFMASK", [VREG_SYSENTER_CS] = "SYSCS", [VREG_SYSENTER_ESP] = "SYSESP",
	[VREG_SYSENTER_EIP] = "SYSEIP",
};

const char *vcpu_reg_name(enum vcpu_reg r)
{
	return (unsigned)r < VREG_COUNT ? names[r] : "?";
}
