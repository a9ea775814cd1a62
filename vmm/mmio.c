/* mmio.c: guest accesses to device registers where guest-physical space has no RAM (the vLAPIC page), decoded and emulated. */
#include "arch/x86/tsc.h"
#include "drivers/console.h"
#include "lib/string.h"
#include "vmm/insn.h"
#include "vmm/vm.h"

#define APIC_PAGE 0x1000u

VM_STAT(stat_mmio, "MMIO accesses emulated");
VM_STAT(stat_mmio_odd, "MMIO accesses not 32-bit aligned, ignored");

/* The vLAPIC's page, where IA32_APIC_BASE puts it while the APIC is enabled in xAPIC mode. */
static bool apic_page(const struct vm *vm, uint64_t gpa)
{
	uint64_t base = vm->vcpu.apic_base;
	uint64_t page = base & ~(uint64_t)(APIC_PAGE - 1) & ((1ull << 52) - 1);
	return (base & ARCH_APIC_BASE_EN) && !(base & ARCH_APIC_BASE_EXTD) && gpa - page < APIC_PAGE;
}

bool vm_mmio_claims(const struct vm *vm, uint64_t gpa)
{
	return apic_page(vm, gpa);
}

/*
 * The APIC's registers are 32 bits wide, 16-byte aligned (SDM 10.4.1): other
 * accesses are undefined there; they read zeros and write nothing.
 */
bool vm_mmio_access(struct vm *vm, uint64_t gpa, bool write, void *buf, unsigned len)
{
	if (!apic_page(vm, gpa))
		return false;
	uint32_t off = (uint32_t)(gpa & (APIC_PAGE - 1)), val = 0;
	if (len != 4 || (off & 15)) {
		stat_inc(vm, &stat_mmio_odd);
		if (!write)
			memset(buf, 0, len);
		return true;
	}
	stat_inc(vm, &stat_mmio);
	vm_lapic_begin(vm);
	if (write) {
		memcpy(&val, buf, 4);
		vlapic_write(&vm->lapic, off, val, rdtsc());
	} else {
		vlapic_read(&vm->lapic, off, rdtsc(), &val);
		memcpy(buf, &val, 4);
	}
	vm_lapic_end(vm);
	return true;
}

bool vm_mmio_fault(struct vm *vm, const struct vm_exit *e, uint64_t gpa)
{
	if (!vm_mmio_claims(vm, gpa))
		return false;
	struct insn in;
	struct insn_regs regs;
	struct emu_result res;
	char what[160];
	if (vm_decode_insn(vm, &in, &regs) != ERR_OK) {
		ksnprintf(what, sizeof(what), "cannot decode the instruction that accessed MMIO at %#llx",
			  (unsigned long long)gpa);
		vm_fatal(vm, e, what);
		return true;
	}
	if (!vm_emulate_settle(vm, e, vm_emulate_insn(vm, &in, &regs, &res), &res)) {
		char text[64] = "?";
		insn_format(&in, regs.rip, text, sizeof(text));
		ksnprintf(what, sizeof(what), "cannot emulate the MMIO access at %#llx (%s: %s)",
			  (unsigned long long)gpa, text, res.why);
		vm_fatal(vm, e, what);
	}
	return true;
}
