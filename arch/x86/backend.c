/* backend.c: picks the hardware-virtualization backend for this CPU, once, at boot. */
#include "arch/x86/cpufeatures.h"
#include "drivers/console.h"
#include "vmm/backend.h"

const struct vcpu_ops *backend_probe(void)
{
	const struct vcpu_ops *ops = cpu.vmx ? &vmx_ops : cpu.svm ? &svm_ops : NULL;
	if (!ops) {
		log_error("vmm: this CPU has neither VT-x nor AMD-V; no VM can run\n");
		return NULL;
	}
	if (ops->cpu_enable() != ERR_OK) {
		log_error("vmm: %s could not be enabled; no VM can run\n", ops->name);
		return NULL;
	}
	return ops;
}
