/* cpufeatures.h: what the CPU offers this project, read once at boot from CPUID. */
#ifndef ARCH_X86_CPUFEATURES_H
#define ARCH_X86_CPUFEATURES_H

#include <stdbool.h>
#include <stdint.h>

struct cpu_features {
	char vendor[13];
	char brand[49];
	unsigned family, model, stepping;
	unsigned phys_bits, virt_bits;
	bool nx;         /* execute-disable (EFER.NXE) */
	bool pages_1g;   /* 1 GiB pages in 4-level paging */
	bool pge;        /* global pages */
	bool pcid;
	bool x2apic;
	bool tsc_aux;    /* IA32_TSC_AUX exists (RDTSCP or RDPID) */
	bool vmx;        /* Intel VT-x */
	bool svm;        /* AMD-V */
};

extern struct cpu_features cpu;

void cpu_detect(void);
/* Prints the table of features and of the virtualization extension found. */
void cpu_report(void);
/* One aligned row of that table; shared by the VMX and SVM reports. */
void cpu_report_row(const char *what, bool present, const char *detail);

#endif
