/* task.c: hardware task switches the CPU leaves to the hypervisor (VMX exit reason 9), emulated per SDM vol. 3A ch. 8. */
#include "drivers/console.h"
#include "vmm/vm.h"

void vm_task_switch(struct vm *vm, const struct vm_exit *e)
{
	vm_stop(vm, true, "task switch to TSS selector %#x is not emulated yet", e->task.selector);
}
