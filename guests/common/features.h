/* features.h: the CPUID feature bits the self-checking guests look at (features.c; also built for 32-bit code). */
#ifndef GUESTS_COMMON_FEATURES_H
#define GUESTS_COMMON_FEATURES_H

#include <stdbool.h>
#include "arch/x86/cpu.h"

enum feature {
	F_VME, F_DE, F_PSE, F_TSC, F_MSR, F_PAE, F_MCE, F_MTRR, F_PGE, F_FXSR, F_SSE, F_SSE2,
	F_SSE3, F_PCLMULQDQ, F_MONITOR, F_VMX, F_SMX, F_SSSE3, F_CX16, F_PCID, F_SSE41, F_SSE42,
	F_MOVBE, F_POPCNT, F_AES, F_XSAVE, F_OSXSAVE, F_RDRAND, F_FSGSBASE, F_BMI1, F_INVPCID,
	F_SMEP, F_BMI2, F_RDSEED, F_ADX, F_SMAP, F_CLFLUSHOPT, F_CLWB, F_SHA, F_UMIP, F_PKU,
	F_OSPKE, F_CET_SS, F_LA57, F_RDPID, F_KL, F_PKS, F_UINTR, F_CET_IBT, F_LASS, F_FRED,
	F_LAM, F_SYSCALL, F_NX, F_PAGE1G, F_RDTSCP, F_LM, F_SVM, F_ABM, F_MONITORX, F_FFXSR,
	F_TCE, F_RTM, F_COUNT
};

/* Whether CPUID shows the feature (leaves above the maximum show nothing). */
bool has(enum feature f);
const char *feature_name(enum feature f);
/* CPUID, with zeros for a leaf above the basic or extended maximum. */
struct cpuid_regs cpuid_leaf(uint32_t leaf, uint32_t subleaf);

#endif
