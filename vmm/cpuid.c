/* cpuid.c: the CPUID a guest sees: the host's, minus what we do not virtualize, plus our own leaves. */
#include "arch/x86/cpu.h"
#include "vmm/hypercall_abi.h"
#include "vmm/vm.h"

VM_STAT(stat_cpuid, "CPUID instructions emulated");

/* CPUID bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E). */
#define LEAF1_ECX_VMX        (1u << 5)
#define LEAF1_ECX_SMX        (1u << 6)
#define LEAF1_ECX_XSAVE      (1u << 26)
#define LEAF1_ECX_OSXSAVE    (1u << 27)
#define LEAF1_ECX_AVX        (1u << 28)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAFX1_ECX_SVM       (1u << 2)
#define HV_CPUID_MAX_LEAF    0x40000001u

void vm_cpuid(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	uint32_t leaf = (uint32_t)backend->get_reg(v, VREG_RAX);
	uint32_t sub = (uint32_t)backend->get_reg(v, VREG_RCX);
	struct cpuid_regs r = { 0, 0, 0, 0 };

	stat_inc(vm, &stat_cpuid);
	if (leaf == HV_CPUID_LEAF_SIGNATURE) {
		/* "hvmicrovisor" in EBX, ECX, EDX (vmm/hypercall_abi.h). */
		r.eax = HV_CPUID_MAX_LEAF;
		r.ebx = 0x696d7668; /* "hvmi" */
		r.ecx = 0x766f7263; /* "crov" */
		r.edx = 0x726f7369; /* "isor" */
	} else if ((leaf & 0xf0000000u) == 0x40000000u) {
		/* other hypervisor leaves: all zero */
	} else {
		r = cpuid(leaf, sub);
		if (leaf == 1) {
			/* No nested virtualization; no XSAVE state switching yet. */
			r.ecx &= ~(LEAF1_ECX_VMX | LEAF1_ECX_SMX | LEAF1_ECX_XSAVE | LEAF1_ECX_OSXSAVE |
				   LEAF1_ECX_AVX);
			r.ecx |= LEAF1_ECX_HYPERVISOR;
		} else if (leaf == 0x80000001u) {
			r.ecx &= ~LEAFX1_ECX_SVM;
		} else if (leaf == 0x8000000au) {
			r = (struct cpuid_regs){ 0, 0, 0, 0 };
		}
	}
	backend->set_reg(v, VREG_RAX, r.eax);
	backend->set_reg(v, VREG_RBX, r.ebx);
	backend->set_reg(v, VREG_RCX, r.ecx);
	backend->set_reg(v, VREG_RDX, r.edx);
}
