/* vcpu.c: every piece of register state a guest can write, where each is kept, and the part switched lazily here. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "vmm/archcheck.h"
#include "vmm/vcpu.h"

/*
 * The list.  A guest can write this state; each item is kept per vCPU, so no
 * VM sees another's value (tests: hostile attack=state, two VMs side by side).
 *
 *   item                               VMX                      SVM
 *   RAX..R15                           world switch             world switch, RAX in VMCB
 *   RSP RIP RFLAGS CR0 CR3 CR4 CR2     VMCS (CR2: switch)       VMCB
 *   EFER PAT                           VMCS (entry/exit ctls)   VMCB
 *   segments, GDTR IDTR LDTR TR        VMCS                     VMCB (VMLOAD/VMSAVE)
 *   FS/GS base, SYSENTER_*             VMCS                     VMCB
 *   KERNEL_GS_BASE STAR LSTAR CSTAR    lazily, vmx.c            VMCB (VMLOAD/VMSAVE)
 *     SFMASK
 *   DR7, IA32_DEBUGCTL                 VMCS (debug controls)    VMCB
 *   DR6                                lazily, vmx.c            VMCB
 *   DR0-DR3                            lazily, here             lazily, here
 *   TSC_AUX (RDTSCP, RDPID)            lazily, here             lazily, here
 *   x87/SSE (FXSAVE image)             lazily, here             lazily, here
 *   CR8 / TPR                          emulated (CR8 exits)     V_TPR in VMCB
 *   TSC                                TSC offset in VMCS       TSC offset in VMCB
 *   APIC_BASE MTRR_DEF_TYPE            emulated, struct vcpu    emulated, struct vcpu
 *     MISC_ENABLE
 *   XCR0, PKRU, AVX and later state    hidden: CR4.OSXSAVE and CR4.PKE refused, XSETBV #UD
 *   any other MSR                      #GP (msr.c)
 *
 * The hypervisor itself never uses DR0-DR3, TSC_AUX or x87/SSE, and both
 * vendors disable breakpoints in DR7 at every exit (SDM 28.5.1; APM 15.6),
 * so a guest's values can stay in the registers until another vCPU runs.
 */
struct vcpu *vcpu_lazy_owner;

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
	[VREG_SYSENTER_EIP] = "SYSEIP", [VREG_CR8] = "CR8", [VREG_DR6] = "DR6", [VREG_DR7] = "DR7",
	[VREG_PAT] = "PAT", [VREG_TSC_OFFSET] = "TSCOFF", [VREG_CS_L] = "CS.L",
	[VREG_GDTR_BASE] = "GDTR", [VREG_GDTR_LIMIT] = "GDTRLIM", [VREG_IDTR_BASE] = "IDTR",
	[VREG_IDTR_LIMIT] = "IDTRLIM", [VREG_INTR_SHADOW] = "SHADOW",
};

const enum vcpu_reg vcpu_gpr_by_encoding[16] = {
	VREG_RAX, VREG_RCX, VREG_RDX, VREG_RBX, VREG_RSP, VREG_RBP, VREG_RSI, VREG_RDI,
	VREG_R8, VREG_R9, VREG_R10, VREG_R11, VREG_R12, VREG_R13, VREG_R14, VREG_R15,
};

const char *vcpu_reg_name(enum vcpu_reg r)
{
	return (unsigned)r < VREG_COUNT ? names[r] : "?";
}

#define MSR_TSC_AUX 0xc0000103

static void save_lazy(struct vcpu *v)
{
	fpu_save(&v->fpu);
	for (unsigned i = 0; i < 4; i++)
		v->dr[i] = read_dr(i);
	if (cpu.tsc_aux)
		v->tsc_aux = rdmsr(MSR_TSC_AUX);
}

static void restore_lazy(const struct vcpu *v)
{
	fpu_restore(&v->fpu);
	for (unsigned i = 0; i < 4; i++)
		write_dr(i, v->dr[i]);
	if (cpu.tsc_aux)
		wrmsr(MSR_TSC_AUX, v->tsc_aux);
}

/*
 * Where the lazily switched and modelled state starts (SDM 9.1.1, table 9-1).
 * The APIC base is the architectural 0xfee00000 with the BSP flag, but the
 * APIC is globally disabled, and CPUID says so: there is no local APIC model.
 */
void vcpu_reset(struct vcpu *v)
{
	fpu_reset_state(&v->fpu);
	for (unsigned i = 0; i < 4; i++)
		v->dr[i] = 0;
	v->tsc_aux = 0;
	v->apic_base = 0xfee00000ull | ARCH_APIC_BASE_BSP | ARCH_APIC_BASE_EN; /* FEE00900H, SDM 10.4.4 */
	v->mtrr_def_type = 0;
	v->misc_enable = ARCH_MISC_ENABLE_RESET;
}

void vcpu_switch_lazy(struct vcpu *v)
{
	if (vcpu_lazy_owner)
		save_lazy(vcpu_lazy_owner);
	restore_lazy(v);
	vcpu_lazy_owner = v;
}

void vcpu_forget(struct vcpu *v)
{
	if (vcpu_lazy_owner == v)
		vcpu_lazy_owner = NULL;
}

uint64_t vcpu_tsc_aux(const struct vcpu *v)
{
	return vcpu_lazy_owner == v && cpu.tsc_aux ? rdmsr(MSR_TSC_AUX) : v->tsc_aux;
}

void vcpu_set_tsc_aux(struct vcpu *v, uint64_t val)
{
	v->tsc_aux = val;
	if (vcpu_lazy_owner == v && cpu.tsc_aux)
		wrmsr(MSR_TSC_AUX, val);
}

uint64_t vcpu_get_dr(const struct vcpu *v, unsigned n)
{
	return vcpu_lazy_owner == v ? read_dr(n & 3) : v->dr[n & 3];
}

void vcpu_set_dr(struct vcpu *v, unsigned n, uint64_t val)
{
	v->dr[n & 3] = val;
	if (vcpu_lazy_owner == v)
		write_dr(n & 3, val);
}
