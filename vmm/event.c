/* event.c: exceptions for the guest, and the event an exit interrupted, combined as the CPU would (SDM vol. 3A, 6.15, table 6-5). */
#include "vmm/vm.h"

#define VEC_DF 8
#define VEC_PF 14

VM_STAT(stat_reinjected, "interrupted event deliveries redone");
VM_STAT(stat_double_faults, "double faults raised");

/*
 * After the handler of an exit that cut a delivery short: the delivery is
 * done again unless the handler raised an exception in its place (a fault
 * found while delivering it, combined below).
 */
void vm_event_exit_end(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	if (v->shutdown) {
		v->shutdown = false;
		vm_fatal(vm, e, "triple fault: an exception while delivering a double fault");
		return;
	}
	if (v->interrupted && !v->injected) {
		v->injected = true;
		stat_inc(vm, &stat_reinjected);
		backend->reinject(v, v->interrupted);
	}
	v->interrupted = NULL;
}

void vm_inject_exception(struct vm *vm, uint8_t vector, bool has_error, uint32_t error)
{
	struct vcpu *v = &vm->vcpu;
	struct vcpu_event ev = { vector, has_error, has_error ? error : 0 };
	if (v->interrupted) {
		switch (arch_combine_exceptions(v->interrupted->type == EVENT_HW_EXC, v->interrupted->vector,
						vector)) {
		case ARCH_SHUTDOWN:
			v->shutdown = true;
			v->injected = true;
			return;
		case ARCH_DOUBLE_FAULT:
			stat_inc(vm, &stat_double_faults);
			ev = (struct vcpu_event){ VEC_DF, true, 0 };
			break;
		case ARCH_SERIAL:
			/* The new one now, the first again when the instruction runs again; an
			 * interrupt would not come again by itself: it is requested anew. */
			if (v->interrupted->type == EVENT_EXTINT)
				vm_irq_requeue(vm, v->interrupted->vector);
			break;
		}
	}
	v->injected = true;
	backend->inject(v, &ev);
}

void vm_inject_page_fault(struct vm *vm, uint64_t la, uint32_t error)
{
	backend->set_reg(&vm->vcpu, VREG_CR2, la);
	vm_inject_exception(vm, VEC_PF, true, error);
}
