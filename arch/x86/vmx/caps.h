/* caps.h: Intel VT-x capabilities, read from the VMX capability MSRs. */
#ifndef ARCH_X86_VMX_CAPS_H
#define ARCH_X86_VMX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

struct vmx_caps {
	uint64_t feature_control;   /* IA32_FEATURE_CONTROL as found */
	bool firmware_locked_out;   /* locked with VMXON outside SMX disabled */
	uint32_t vmcs_revision;
	bool true_controls;
	bool secondary;             /* secondary processor-based controls */
	bool ept, ept_walk4, ept_wb, ept_2m, ept_1g, ept_ad;
	bool invept, invept_single, invept_all;
	bool vpid, invvpid, invvpid_addr, invvpid_single, invvpid_all, invvpid_single_globals;
	bool unrestricted;
	bool preemption_timer;
	unsigned preemption_timer_shift; /* timer ticks every 2^shift TSC cycles */
};

/* Reads the capability MSRs; only call when CPUID reports VMX. */
void vmx_caps_read(struct vmx_caps *c);
void vmx_caps_report(const struct vmx_caps *c);

#endif
