/* event.c: exceptions for the guest, and the event an exit interrupted, combined as the CPU would (SDM vol. 3A, 6.15, table 6-5). */
#include "vmm/vm.h"

#define VEC_DF 8
#define VEC_PF 14

VM_STAT(stat_reinjected, "interrupted event deliveries redone");
VM_STAT(stat_double_faults, "double faults raised");

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT, EXC_DOUBLE_FAULT };

/* #DE, #TS, #NP, #SS and #GP are contributory; interrupts and every other exception benign. */
static enum exc_class class_of(const struct exit_event *e)
{
	if (e->type != EVENT_HW_EXC)
		return EXC_BENIGN;
	switch (e->vector) {
	case 0: case 10: case 11: case 12: case 13:
		return EXC_CONTRIBUTORY;
	case VEC_PF:
		return EXC_PAGE_FAULT;
	case VEC_DF:
		return EXC_DOUBLE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

void vm_event_exit_begin(struct vm *vm, const struct vm_exit *e)
{
	vm->vcpu.interrupted = e->vectoring;
	vm->vcpu.injected = false;
}

/*
 * After the handler: the interrupted delivery is done again unless the
 * handler raised an exception in its place (a fault found while delivering
 * it, combined below).  Interrupts cannot be lost that way yet: the VMM
 * injects none.
 */
void vm_event_exit_end(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	if (v->shutdown) {
		v->shutdown = false;
		vm_stop(vm, true, "triple fault: an exception while delivering a double fault");
		return;
	}
	if (v->interrupted.valid && !v->injected) {
		stat_inc(vm, &stat_reinjected);
		backend->reinject(v, &v->interrupted);
	}
	v->interrupted.valid = false;
}

void vm_inject_exception(struct vm *vm, uint8_t vector, bool has_error, uint32_t error)
{
	struct vcpu *v = &vm->vcpu;
	struct vcpu_event ev = { vector, has_error, has_error ? error : 0 };
	struct exit_event now = { true, EVENT_HW_EXC, vector, has_error, error, 0 };
	if (v->interrupted.valid) {
		enum exc_class first = class_of(&v->interrupted), second = class_of(&now);
		bool serious = second == EXC_CONTRIBUTORY || second == EXC_PAGE_FAULT;
		if (first == EXC_DOUBLE_FAULT && serious) {
			v->shutdown = true;
			v->injected = true;
			return;
		}
		if ((first == EXC_CONTRIBUTORY && second == EXC_CONTRIBUTORY) ||
		    (first == EXC_PAGE_FAULT && serious)) {
			stat_inc(vm, &stat_double_faults);
			ev = (struct vcpu_event){ VEC_DF, true, 0 };
		}
		/* Otherwise the two are handled serially: the new one now, the first again when the
		 * instruction is executed again (SDM 6.15, "benign"). */
	}
	v->injected = true;
	backend->inject(v, &ev);
}

void vm_inject_page_fault(struct vm *vm, uint64_t la, uint32_t error)
{
	backend->set_reg(&vm->vcpu, VREG_CR2, la);
	vm_inject_exception(vm, VEC_PF, true, error);
}
