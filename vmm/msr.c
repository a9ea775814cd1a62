/* msr.c: the few MSRs a guest may read or write; any other raises #GP in the guest. */
#include "drivers/console.h"
#include "vmm/vm.h"

VM_STAT(stat_msr, "MSR accesses emulated");
VM_STAT(stat_msr_gp, "MSR accesses refused with #GP");

/* MSR numbers (Intel SDM vol. 4; AMD APM vol. 2, appendix A). */
#define MSR_TSC          0x010
#define MSR_APIC_BASE    0x01b
#define MSR_MTRRCAP      0x0fe
#define MSR_MISC_ENABLE  0x1a0
#define MSR_PAT          0x277
#define MSR_MTRR_DEF     0x2ff
#define MSR_EFER_NUM     0xc0000080

/* MSRs the backend keeps per vCPU; those holding addresses must be canonical. */
static const struct {
	uint32_t msr;
	enum vcpu_reg reg;
	bool address;
} kept[] = {
	{ 0xc0000100, VREG_FS_BASE, true },
	{ 0xc0000101, VREG_GS_BASE, true },
	{ 0xc0000102, VREG_KERNEL_GS_BASE, true },
	{ 0xc0000081, VREG_STAR, false },
	{ 0xc0000082, VREG_LSTAR, true },
	{ 0xc0000083, VREG_CSTAR, true },
	{ 0xc0000084, VREG_SFMASK, false },
	{ 0x174, VREG_SYSENTER_CS, false },
	{ 0x175, VREG_SYSENTER_ESP, true },
	{ 0x176, VREG_SYSENTER_EIP, true },
};
#define MSR_SFMASK_NUM 0xc0000084

static int kept_index(uint32_t msr)
{
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i].msr == msr)
			return (int)i;
	return -1;
}

/* Bits 63:47 all equal (48-bit linear addresses; SDM 3.3.7.1). */
static bool canonical(uint64_t a)
{
	uint64_t top = a >> 47;
	return top == 0 || top == 0x1ffff;
}

#define APIC_BASE_DEFAULT 0xfee00900ull  /* 0xfee00000, enabled, this is the BSP */
#define PAT_DEFAULT       0x0007040600070406ull
/* EFER bits a guest may set: SCE, LME, LMA (read-only but written back), NXE. */
#define EFER_GUEST_BITS   ((1ull << 0) | (1ull << 8) | (1ull << 10) | (1ull << 11))
#define VEC_GP 13

static void inject_gp(struct vm *vm, uint32_t msr, bool write)
{
	struct vcpu_event gp = { VEC_GP, true, 0 };
	stat_inc(vm, &stat_msr_gp);
	log_debug("vm %s: %s of MSR %#x refused with #GP\n", vm->cfg.name, write ? "write" : "read",
		  msr);
	backend->inject(&vm->vcpu, &gp);
}

static void set_edx_eax(struct vm *vm, uint64_t v)
{
	backend->set_reg(&vm->vcpu, VREG_RAX, (uint32_t)v);
	backend->set_reg(&vm->vcpu, VREG_RDX, v >> 32);
}

bool vm_msr_read(struct vm *vm, uint32_t msr)
{
	uint64_t v;
	int k = kept_index(msr);
	if (k >= 0) {
		stat_inc(vm, &stat_msr);
		set_edx_eax(vm, backend->get_reg(&vm->vcpu, kept[k].reg));
		return true;
	}
	switch (msr) {
	case MSR_EFER_NUM:    v = backend->get_reg(&vm->vcpu, VREG_EFER); break;
	case MSR_APIC_BASE:   v = APIC_BASE_DEFAULT; break;
	case MSR_PAT:         v = PAT_DEFAULT; break;
	case MSR_MTRRCAP:
	case MSR_MTRR_DEF:
	case MSR_MISC_ENABLE: v = 0; break;
	case MSR_TSC: {
		uint32_t lo, hi;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		v = ((uint64_t)hi << 32) | lo;
		break;
	}
	default:
		inject_gp(vm, msr, false);
		return false;
	}
	stat_inc(vm, &stat_msr);
	set_edx_eax(vm, v);
	return true;
}

bool vm_msr_write(struct vm *vm, uint32_t msr)
{
	uint64_t v = (backend->get_reg(&vm->vcpu, VREG_RDX) << 32) |
		     (uint32_t)backend->get_reg(&vm->vcpu, VREG_RAX);
	int k = kept_index(msr);
	if (k >= 0) {
		/* What WRMSR itself would refuse with #GP (SDM vol. 4, these MSRs). */
		if ((kept[k].address && !canonical(v)) || (msr == MSR_SFMASK_NUM && (v >> 32))) {
			inject_gp(vm, msr, true);
			return false;
		}
		stat_inc(vm, &stat_msr);
		backend->set_reg(&vm->vcpu, kept[k].reg, v);
		return true;
	}
	switch (msr) {
	case MSR_EFER_NUM:
		if (v & ~EFER_GUEST_BITS) {
			inject_gp(vm, msr, true);
			return false;
		}
		backend->set_reg(&vm->vcpu, VREG_EFER, v);
		break;
	case MSR_APIC_BASE:
	case MSR_PAT:
	case MSR_MTRR_DEF:
	case MSR_MISC_ENABLE:
		break; /* accepted and ignored: nothing here depends on them yet */
	default:
		inject_gp(vm, msr, true);
		return false;
	}
	stat_inc(vm, &stat_msr);
	return true;
}
