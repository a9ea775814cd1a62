/* msr.c: the MSRs a guest may read or write, checked as the CPU would; any other raises #GP in the guest. */
#include "drivers/console.h"
#include "vmm/cpuid_bits.h"
#include "arch/x86/tsc.h"
#include "vmm/vm.h"

VM_STAT(stat_msr, "MSR accesses emulated");
VM_STAT(stat_msr_gp, "MSR accesses refused with #GP");

/* MSR numbers (Intel SDM vol. 4; AMD APM vol. 2, appendix A). */
#define MSR_TSC          0x010
#define MSR_APIC_BASE    0x01b
#define MSR_MTRRCAP      0x0fe
#define MSR_MISC_ENABLE  0x1a0
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_PAT          0x277
#define MSR_MTRR_DEF     0x2ff
#define MSR_EFER_NUM     0xc0000080
#define MSR_SFMASK_NUM   0xc0000084
#define MSR_TSC_AUX      0xc0000103

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
	{ MSR_SFMASK_NUM, VREG_SFMASK, false },
	{ 0x174, VREG_SYSENTER_CS, false },
	{ 0x175, VREG_SYSENTER_ESP, true },
	{ 0x176, VREG_SYSENTER_EIP, true },
	{ MSR_PAT, VREG_PAT, false },
};

static int kept_index(uint32_t msr)
{
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i].msr == msr)
			return (int)i;
	return -1;
}

static bool refuse(struct vm *vm, uint32_t msr, bool write)
{
	stat_inc(vm, &stat_msr_gp);
	log_debug("vm %s: %s of MSR %#x refused with #GP\n", vm->cfg.name, write ? "write" : "read",
		  msr);
	vm_inject_gp(vm);
	return false;
}

static void set_edx_eax(struct vm *vm, uint64_t v)
{
	backend->set_reg(&vm->vcpu, VREG_RAX, (uint32_t)v);
	backend->set_reg(&vm->vcpu, VREG_RDX, v >> 32);
}

/* TSC_AUX exists when the guest is shown RDTSCP or RDPID. */
static bool has_tsc_aux(const struct vm *vm)
{
	return (vm->cpuid.view.x1_edx & FX1D_RDTSCP) || (vm->cpuid.view.l7_ecx & F7C_RDPID);
}

/* The vLAPIC's MSRs: x2APIC registers, and IA32_TSC_DEADLINE when CPUID shows it. */
static bool lapic_msr(const struct vm *vm, uint32_t msr)
{
	return (msr >= VLAPIC_MSR_FIRST && msr <= VLAPIC_MSR_LAST) ||
	       (msr == MSR_TSC_DEADLINE && (vm->cpuid.view.l1_ecx & F1C_TSC_DEADLINE));
}

static bool lapic_msr_read(struct vm *vm, uint32_t msr, uint64_t *val)
{
	if (msr == MSR_TSC_DEADLINE) {
		*val = vlapic_tsc_deadline(&vm->lapic);
		return true;
	}
	vm_lapic_begin(vm);
	return vlapic_msr_read(&vm->lapic, msr, rdtsc(), val);
}

static bool lapic_msr_write(struct vm *vm, uint32_t msr, uint64_t val)
{
	if (msr == MSR_TSC_DEADLINE) {
		vlapic_set_tsc_deadline(&vm->lapic, val, val - backend->get_reg(&vm->vcpu, VREG_TSC_OFFSET));
		return true;
	}
	vm_lapic_begin(vm);
	bool ok = vlapic_msr_write(&vm->lapic, msr, val, rdtsc());
	vm_lapic_end(vm);
	return ok;
}

bool vm_msr_read(struct vm *vm, uint32_t msr)
{
	struct vcpu *v = &vm->vcpu;
	uint64_t val;
	int k = kept_index(msr);
	if (k >= 0) {
		stat_inc(vm, &stat_msr);
		set_edx_eax(vm, backend->get_reg(v, kept[k].reg));
		return true;
	}
	switch (msr) {
	case MSR_EFER_NUM:    val = backend->get_reg(v, VREG_EFER); break;
	case MSR_APIC_BASE:   val = v->apic_base; break;
	/* No variable or fixed ranges, no write-combining (SDM 11.11.1). */
	case MSR_MTRRCAP:     val = 0; break;
	case MSR_MTRR_DEF:    val = v->mtrr_def_type; break;
	case MSR_TSC:         val = rdtsc() + backend->get_reg(v, VREG_TSC_OFFSET); break;
	case MSR_MISC_ENABLE:
		if (!vm->cpuid.intel)
			return refuse(vm, msr, false);
		val = v->misc_enable;
		break;
	case MSR_TSC_AUX:
		if (!has_tsc_aux(vm))
			return refuse(vm, msr, false);
		val = vcpu_tsc_aux(v);
		break;
	default:
		if (!lapic_msr(vm, msr) || !lapic_msr_read(vm, msr, &val))
			return refuse(vm, msr, false);
		break;
	}
	stat_inc(vm, &stat_msr);
	set_edx_eax(vm, val);
	return true;
}

/* What WRMSR of each MSR refuses with #GP (SDM vol. 4 and vol. 3A, for each MSR). */
bool vm_msr_write(struct vm *vm, uint32_t msr)
{
	struct vcpu *v = &vm->vcpu;
	uint64_t val = (backend->get_reg(v, VREG_RDX) << 32) | (uint32_t)backend->get_reg(v, VREG_RAX);
	const struct guest_cpu *g = &vm->cpuid.guest;
	struct arch_write w;
	int k = kept_index(msr);
	if (k >= 0) {
		if ((kept[k].address && !arch_canonical(val)) || (msr == MSR_SFMASK_NUM && (val >> 32)) ||
		    (msr == MSR_PAT && !arch_pat_valid(val)))
			return refuse(vm, msr, true);
		backend->set_reg(v, kept[k].reg, val);
		stat_inc(vm, &stat_msr);
		return true;
	}
	switch (msr) {
	case MSR_EFER_NUM:
		if (!vm_efer_write(vm, val))
			return false; /* #GP injected, or the VM stopped */
		break;
	case MSR_APIC_BASE:
		w = arch_check_apic_base(g, v->apic_base, val);
		if (w.gp)
			return refuse(vm, msr, true);
		v->apic_base = w.value;
		vlapic_set_base(&vm->lapic, w.value);
		break;
	case MSR_MTRR_DEF:
		if (!arch_mtrr_def_type_valid(val))
			return refuse(vm, msr, true);
		v->mtrr_def_type = val;
		break;
	case MSR_MISC_ENABLE:
		w = arch_check_misc_enable(v->misc_enable, val);
		if (!vm->cpuid.intel || w.gp)
			return refuse(vm, msr, true);
		v->misc_enable = w.value;
		vm_cpuid_limit(vm, w.value & ARCH_MISC_ENABLE_LIMIT_CPUID);
		break;
	case MSR_TSC:
		/* The guest's TSC becomes val: only the offset changes (SDM 25.3, APM 15.30.5). */
		backend->set_reg(v, VREG_TSC_OFFSET, val - rdtsc());
		break;
	case MSR_TSC_AUX:
		if (!has_tsc_aux(vm) || (val >> 32))
			return refuse(vm, msr, true);
		vcpu_set_tsc_aux(v, val);
		break;
	default:
		if (!lapic_msr(vm, msr) || !lapic_msr_write(vm, msr, val))
			return refuse(vm, msr, true);
		break;
	}
	stat_inc(vm, &stat_msr);
	return true;
}
