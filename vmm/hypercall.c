/* hypercall.c: the calls test guests make (ABI in vmm/hypercall_abi.h). */
#include "drivers/console.h"
#include "vmm/hypercall_abi.h"
#include "vmm/vm.h"

VM_STAT(stat_hypercalls, "hypercalls");
VM_STAT_EXTERN(stat_exits);

#define HC_PRINT_MAX 4096

static uint64_t read_stat(struct vm *vm, uint64_t id)
{
	switch (id) {
	case HV_STAT_EXITS_TOTAL: return stat_get(vm, &stat_exits);
	case HV_STAT_LEAVES_4K:   return vm->nested.leaves[1];
	case HV_STAT_LEAVES_2M:   return vm->nested.leaves[2];
	case HV_STAT_LEAVES_1G:   return vm->nested.leaves[3];
	case HV_STAT_TLB_FLUSHES:
		return stat_get(vm, &stat_tlb_flush_all) + stat_get(vm, &stat_tlb_flush_tag);
	default:
		if (id >= HV_STAT_EXITS_REASON0 && id < HV_STAT_EXITS_REASON0 + EXIT_COUNT)
			return vm->exits[id - HV_STAT_EXITS_REASON0];
		return HC_ERROR;
	}
}

static uint64_t hc_print(struct vm *vm, uint64_t gpa, uint64_t len)
{
	static char buf[HC_PRINT_MAX];
	if (len > HC_PRINT_MAX || gmem_read(&vm->ram, gpa, buf, len) != ERR_OK)
		return HC_ERROR;
	for (uint64_t i = 0; i < len; i++)
		vm_console_putc(vm, (uint8_t)buf[i]);
	return len;
}

void vm_hypercall(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	uint64_t fn = backend->get_reg(v, VREG_RAX);
	uint64_t a = backend->get_reg(v, VREG_RBX);
	uint64_t result = HC_ERROR;

	stat_inc(vm, &stat_hypercalls);
	switch (fn) {
	case HC_PRINT:
		result = hc_print(vm, a, backend->get_reg(v, VREG_RCX));
		break;
	case HC_EXIT:
		vm->exit_status = a;
		vm_stop(vm, false, "exited with status %llu", (unsigned long long)a);
		return;
	case HC_STAT:
		result = read_stat(vm, a);
		break;
	default:
		log_debug("vm %s: unknown hypercall %#llx\n", vm->cfg.name, (unsigned long long)fn);
		break;
	}
	backend->set_reg(v, VREG_RAX, result);
}
