/* caps.c: reads and reports what VT-x offers (Intel SDM vol. 3D, appendix A "VMX Capability Reporting Facility"). */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/vmx/caps.h"
#include "drivers/console.h"
#include "lib/printf.h"

/* IA32_FEATURE_CONTROL (SDM vol. 3C, 24.7 "Enabling and Entering VMX Operation"). */
#define FEATURE_CONTROL_LOCK        (1ull << 0)
#define FEATURE_CONTROL_VMXON_NOSMX (1ull << 2)

/* IA32_VMX_BASIC, appendix A.1. */
#define VMX_BASIC_TRUE_CTLS (1ull << 55)

/* Allowed-1 settings are the MSR's high half (A.3). */
#define ALLOWED1(msr_value, bit) (((msr_value) >> 32) & (1ull << (bit)))
#define PINBASED_PREEMPTION_TIMER 6
#define PROCBASED_SECONDARY       31
#define PROCBASED2_EPT            1
#define PROCBASED2_VPID           5
#define PROCBASED2_UNRESTRICTED   7

/* IA32_VMX_EPT_VPID_CAP, appendix A.10. */
#define EPT_CAP_WALK4          (1ull << 6)
#define EPT_CAP_WB             (1ull << 14)
#define EPT_CAP_2M             (1ull << 16)
#define EPT_CAP_1G             (1ull << 17)
#define EPT_CAP_INVEPT         (1ull << 20)
#define EPT_CAP_AD             (1ull << 21)
#define EPT_CAP_INVEPT_SINGLE  (1ull << 25)
#define EPT_CAP_INVEPT_ALL     (1ull << 26)
#define VPID_CAP_INVVPID       (1ull << 32)
#define VPID_CAP_ADDR          (1ull << 40)
#define VPID_CAP_SINGLE        (1ull << 41)
#define VPID_CAP_ALL           (1ull << 42)
#define VPID_CAP_SINGLE_GLOBAL (1ull << 43)

/* IA32_VMX_MISC bits 4:0, appendix A.6. */
#define MISC_PREEMPTION_SHIFT_MASK 0x1f

void vmx_caps_read(struct vmx_caps *c)
{
	*c = (struct vmx_caps){ 0 };
	c->feature_control = rdmsr(MSR_IA32_FEATURE_CONTROL);
	c->firmware_locked_out = (c->feature_control & FEATURE_CONTROL_LOCK) &&
				 !(c->feature_control & FEATURE_CONTROL_VMXON_NOSMX);

	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->vmcs_revision = (uint32_t)(basic & 0x7fffffff);
	c->true_controls = basic & VMX_BASIC_TRUE_CTLS;

	/* With true controls, the TRUE_* MSRs say what may really be cleared. */
	uint64_t pin = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_PIN : MSR_IA32_VMX_PINBASED);
	uint64_t proc = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_PROC : MSR_IA32_VMX_PROCBASED);
	c->preemption_timer = ALLOWED1(pin, PINBASED_PREEMPTION_TIMER);
	c->preemption_timer_shift = (unsigned)(rdmsr(MSR_IA32_VMX_MISC) & MISC_PREEMPTION_SHIFT_MASK);
	c->secondary = ALLOWED1(proc, PROCBASED_SECONDARY);
	if (!c->secondary)
		return;

	/* IA32_VMX_PROCBASED_CTLS2 exists only when secondary controls may be set. */
	uint64_t proc2 = rdmsr(MSR_IA32_VMX_PROCBASED2);
	c->ept = ALLOWED1(proc2, PROCBASED2_EPT);
	c->vpid = ALLOWED1(proc2, PROCBASED2_VPID);
	c->unrestricted = ALLOWED1(proc2, PROCBASED2_UNRESTRICTED);
	if (!c->ept && !c->vpid)
		return;

	/* IA32_VMX_EPT_VPID_CAP exists only when EPT or VPID may be enabled. */
	uint64_t ev = rdmsr(MSR_IA32_VMX_EPT_VPID);
	if (c->ept) {
		c->ept_walk4 = ev & EPT_CAP_WALK4;
		c->ept_wb = ev & EPT_CAP_WB;
		c->ept_2m = ev & EPT_CAP_2M;
		c->ept_1g = ev & EPT_CAP_1G;
		c->ept_ad = ev & EPT_CAP_AD;
		c->invept = ev & EPT_CAP_INVEPT;
		c->invept_single = ev & EPT_CAP_INVEPT_SINGLE;
		c->invept_all = ev & EPT_CAP_INVEPT_ALL;
	}
	if (c->vpid) {
		c->invvpid = ev & VPID_CAP_INVVPID;
		c->invvpid_addr = ev & VPID_CAP_ADDR;
		c->invvpid_single = ev & VPID_CAP_SINGLE;
		c->invvpid_all = ev & VPID_CAP_ALL;
		c->invvpid_single_globals = ev & VPID_CAP_SINGLE_GLOBAL;
	}
}

void vmx_caps_report(const struct vmx_caps *c)
{
	char detail[64];

	kprintf("cpu: virtualization: Intel VT-x (VMX), VMCS revision %#x\n", c->vmcs_revision);
	ksnprintf(detail, sizeof(detail), "IA32_FEATURE_CONTROL %#llx%s",
		  (unsigned long long)c->feature_control,
		  c->firmware_locked_out ? ": disabled by firmware" : "");
	cpu_report_row("VMX usable", !c->firmware_locked_out, detail);
	cpu_report_row("true controls", c->true_controls, NULL);
	cpu_report_row("secondary controls", c->secondary, NULL);
	cpu_report_row("EPT", c->ept, NULL);
	cpu_report_row("EPT 4-level walk", c->ept_walk4, NULL);
	cpu_report_row("EPT write-back", c->ept_wb, NULL);
	cpu_report_row("EPT 2 MiB pages", c->ept_2m, NULL);
	cpu_report_row("EPT 1 GiB pages", c->ept_1g, NULL);
	cpu_report_row("EPT accessed/dirty", c->ept_ad, NULL);
	cpu_report_row("INVEPT", c->invept, NULL);
	cpu_report_row("INVEPT single-context", c->invept_single, NULL);
	cpu_report_row("INVEPT all-context", c->invept_all, NULL);
	cpu_report_row("VPID", c->vpid, NULL);
	cpu_report_row("INVVPID", c->invvpid, NULL);
	cpu_report_row("INVVPID individual-address", c->invvpid_addr, NULL);
	cpu_report_row("INVVPID single-context", c->invvpid_single, NULL);
	cpu_report_row("INVVPID all-context", c->invvpid_all, NULL);
	cpu_report_row("INVVPID single, keep globals", c->invvpid_single_globals, NULL);
	cpu_report_row("unrestricted guest", c->unrestricted, NULL);
	ksnprintf(detail, sizeof(detail), "ticks every 2^%u TSC cycles", c->preemption_timer_shift);
	cpu_report_row("preemption timer", c->preemption_timer,
		       c->preemption_timer ? detail : NULL);
}
