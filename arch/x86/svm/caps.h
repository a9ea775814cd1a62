/* caps.h: AMD-V capabilities, read from CPUID leaf 0x8000000A and VM_CR. */
#ifndef ARCH_X86_SVM_CAPS_H
#define ARCH_X86_SVM_CAPS_H

#include <stdbool.h>
#include <stdint.h>

struct svm_caps {
	uint64_t vm_cr;            /* VM_CR as found */
	bool firmware_disabled;    /* VM_CR.SVMDIS */
	unsigned revision;
	uint32_t nasids;
	bool npt, nrips, flush_by_asid, decode_assists, vmcb_clean;
	bool lbr_virt, pause_filter, avic, vgif;
};

/* Reads CPUID 0x8000000A and VM_CR; only call when CPUID reports SVM. */
void svm_caps_read(struct svm_caps *c);
void svm_caps_report(const struct svm_caps *c);

#endif
