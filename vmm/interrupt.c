/* interrupt.c: the vLAPIC's interrupts into the guest: priority, the interrupt window, HLT wake-up (SDM 6.8, 10.8; APM 15.20-15.21). */
#include "arch/x86/tsc.h"
#include "vmm/vm.h"

VM_STAT(stat_irq_injected, "interrupts injected");
VM_STAT(stat_irq_window, "interrupt windows requested");
VM_STAT(stat_irq_requeued, "interrupt deliveries lost to an exception, requeued");
VM_STAT(stat_halts, "HLT sleeps");

/* The guest can take an external interrupt at the next instruction boundary. */
static bool interruptible(struct vcpu *v)
{
	return (backend->get_reg(v, VREG_RFLAGS) & ARCH_RFLAGS_IF) && !backend->get_reg(v, VREG_INTR_SHADOW);
}

static void window(struct vm *vm, bool on, uint8_t vector)
{
	struct vcpu *v = &vm->vcpu;
	if (v->irq_window == on)
		return;
	v->irq_window = on;
	if (on)
		stat_inc(vm, &stat_irq_window);
	backend->irq_window(v, on, vector);
}

/*
 * The highest requested vector above the in-service class, or -1 (it waits
 * for the EOI, which exits); *above_tpr says whether the TPR, as CR8 holds
 * it now, lets it through as well.
 */
static int pending(struct vm *vm, bool *above_tpr)
{
	struct vlapic *l = &vm->lapic;
	int vec = vlapic_highest_irr(l);
	if (vec < 0 || !vlapic_above_isr(l, (uint8_t)vec))
		return -1;
	vlapic_sync_tpr(l, (uint8_t)backend->get_reg(&vm->vcpu, VREG_CR8));
	*above_tpr = vlapic_above_tpr(l, (uint8_t)vec);
	return vec;
}

/*
 * Before an entry with an interrupt requested: inject the highest one the
 * guest can take now, else ask the CPU to exit when it can.  One below the
 * TPR waits for the guest to lower it, which exits on VMX (CR8 and the TPR
 * register) and which SVM's virtual-interrupt priority check sees itself.
 */
void vm_irq_before_entry(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	bool above_tpr;
	int vec = pending(vm, &above_tpr);
	if (vec < 0)
		return;
	if (above_tpr && !v->injected && interruptible(v)) {
		window(vm, false, 0);
		vlapic_accept(&vm->lapic, (uint8_t)vec);
		v->injected = true;
		v->halted = false;
		stat_inc(vm, &stat_irq_injected);
		backend->reinject(v, &(struct exit_event){ .valid = true, .type = EVENT_EXTINT,
							  .vector = (uint8_t)vec });
		return;
	}
	if (above_tpr || backend->features->irq_window_sees_tpr)
		window(vm, true, (uint8_t)vec);
}

void vm_lapic_begin(struct vm *vm)
{
	vlapic_sync_tpr(&vm->lapic, (uint8_t)backend->get_reg(&vm->vcpu, VREG_CR8));
}

void vm_lapic_end(struct vm *vm)
{
	backend->set_reg(&vm->vcpu, VREG_CR8, vlapic_cr8(&vm->lapic));
}

void vm_irq_window_exit(struct vm *vm)
{
	window(vm, false, 0);
}

void vm_irq_requeue(struct vm *vm, uint8_t vector)
{
	stat_inc(vm, &stat_irq_requeued);
	vlapic_requeue(&vm->lapic, vector);
}

/*
 * HLT with interrupts enabled: the vCPU sleeps until an interrupt it can
 * take is requested (SDM vol. 2A, HLT).  A HLT nothing can end stops the VM
 * instead, as it would sleep forever.
 */
const char *vm_halt(struct vm *vm)
{
	struct vcpu *v = &vm->vcpu;
	if (!(backend->get_reg(v, VREG_RFLAGS) & ARCH_RFLAGS_IF))
		return "halted with interrupts disabled: nothing can wake it";
	if (!vlapic_can_wake(&vm->lapic))
		return "halted with interrupts enabled but no interrupt source armed to wake it";
	v->halted = true;
	stat_inc(vm, &stat_halts);
	return NULL;
}

bool vm_can_wake(struct vm *vm)
{
	bool above_tpr;
	return pending(vm, &above_tpr) >= 0 && above_tpr;
}
