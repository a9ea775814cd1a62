/* caps.c: reads and reports what AMD-V offers (AMD APM vol. 2, 15.4 "Enabling SVM"; vol. 3, CPUID Fn8000_000A). */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/svm/caps.h"
#include "drivers/console.h"
#include "lib/printf.h"

/* VM_CR MSR, APM vol. 2, 15.30.1. */
#define VM_CR_SVMDIS (1ull << 4)

/* CPUID Fn8000_000A EDX feature bits (APM vol. 3, appendix E.4.9). */
#define SVM_NP              (1u << 0)
#define SVM_LBR_VIRT        (1u << 1)
#define SVM_NRIPS           (1u << 3)
#define SVM_VMCB_CLEAN      (1u << 5)
#define SVM_FLUSH_BY_ASID   (1u << 6)
#define SVM_DECODE_ASSISTS  (1u << 7)
#define SVM_PAUSE_FILTER    (1u << 10)
#define SVM_AVIC            (1u << 13)
#define SVM_VGIF            (1u << 16)

void svm_caps_read(struct svm_caps *c)
{
	*c = (struct svm_caps){ 0 };
	c->vm_cr = rdmsr(MSR_VM_CR);
	c->firmware_disabled = c->vm_cr & VM_CR_SVMDIS;
	if (cpuid(0x80000000, 0).eax < 0x8000000a)
		return;
	struct cpuid_regs r = cpuid(0x8000000a, 0);
	c->revision = r.eax & 0xff;
	c->nasids = r.ebx;
	c->npt = r.edx & SVM_NP;
	c->lbr_virt = r.edx & SVM_LBR_VIRT;
	c->nrips = r.edx & SVM_NRIPS;
	c->vmcb_clean = r.edx & SVM_VMCB_CLEAN;
	c->flush_by_asid = r.edx & SVM_FLUSH_BY_ASID;
	c->decode_assists = r.edx & SVM_DECODE_ASSISTS;
	c->pause_filter = r.edx & SVM_PAUSE_FILTER;
	c->avic = r.edx & SVM_AVIC;
	c->vgif = r.edx & SVM_VGIF;
}

void svm_caps_report(const struct svm_caps *c)
{
	char detail[64];

	kprintf("cpu: virtualization: AMD-V (SVM), revision %u\n", c->revision);
	ksnprintf(detail, sizeof(detail), "VM_CR %#llx%s", (unsigned long long)c->vm_cr,
		  c->firmware_disabled ? ": disabled by firmware (SVMDIS)" : "");
	cpu_report_row("SVM usable", !c->firmware_disabled, detail);
	cpu_report_row("nested paging (NPT)", c->npt, NULL);
	ksnprintf(detail, sizeof(detail), "%u ASIDs", c->nasids);
	cpu_report_row("ASIDs", c->nasids > 1, detail);
	cpu_report_row("next-RIP save (NRIPS)", c->nrips, NULL);
	cpu_report_row("flush by ASID", c->flush_by_asid, NULL);
	cpu_report_row("decode assists", c->decode_assists, NULL);
	cpu_report_row("VMCB clean bits", c->vmcb_clean, NULL);
	cpu_report_row("LBR virtualization", c->lbr_virt, NULL);
	cpu_report_row("pause filter", c->pause_filter, NULL);
	cpu_report_row("AVIC", c->avic, NULL);
	cpu_report_row("virtual GIF", c->vgif, NULL);
}
