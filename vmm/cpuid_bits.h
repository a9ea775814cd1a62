/* cpuid_bits.h: CPUID feature bits the VMM shows, hides or checks (Intel SDM vol. 2A "CPUID"; AMD APM vol. 3, appendix E). */
#ifndef VMM_CPUID_BITS_H
#define VMM_CPUID_BITS_H

/* Leaf 1, ECX. */
#define F1C_SSE3       (1u << 0)
#define F1C_PCLMULQDQ  (1u << 1)
#define F1C_MONITOR    (1u << 3)
#define F1C_VMX        (1u << 5)
#define F1C_SMX        (1u << 6)
#define F1C_SSSE3      (1u << 9)
#define F1C_CX16       (1u << 13)
#define F1C_PCID       (1u << 17)
#define F1C_SSE41      (1u << 19)
#define F1C_SSE42      (1u << 20)
#define F1C_X2APIC     (1u << 21)
#define F1C_MOVBE      (1u << 22)
#define F1C_POPCNT     (1u << 23)
#define F1C_TSC_DEADLINE (1u << 24)
#define F1C_AES        (1u << 25)
#define F1C_XSAVE      (1u << 26)
#define F1C_OSXSAVE    (1u << 27)
#define F1C_RDRAND     (1u << 30)
#define F1C_HYPERVISOR (1u << 31)

/* Leaf 1, EDX. */
#define F1D_FPU    (1u << 0)
#define F1D_VME    (1u << 1)
#define F1D_DE     (1u << 2)
#define F1D_PSE    (1u << 3)
#define F1D_TSC    (1u << 4)
#define F1D_MSR    (1u << 5)
#define F1D_PAE    (1u << 6)
#define F1D_MCE    (1u << 7)
#define F1D_CX8    (1u << 8)
#define F1D_APIC   (1u << 9)
#define F1D_SEP    (1u << 11)
#define F1D_MTRR   (1u << 12)
#define F1D_PGE    (1u << 13)
#define F1D_CMOV   (1u << 15)
#define F1D_PAT    (1u << 16)
#define F1D_PSE36  (1u << 17)
#define F1D_CLFSH  (1u << 19)
#define F1D_MMX    (1u << 23)
#define F1D_FXSR   (1u << 24)
#define F1D_SSE    (1u << 25)
#define F1D_SSE2   (1u << 26)
#define F1D_SS     (1u << 27)
#define F1D_HTT    (1u << 28)

/* Leaf 7 subleaf 0, EBX. */
#define F7B_FSGSBASE     (1u << 0)
#define F7B_BMI1         (1u << 3)
#define F7B_HLE          (1u << 4)
#define F7B_FDP_EXCPTN   (1u << 6)
#define F7B_SMEP         (1u << 7)
#define F7B_BMI2         (1u << 8)
#define F7B_ERMS         (1u << 9)
#define F7B_INVPCID      (1u << 10)
#define F7B_RTM          (1u << 11)
#define F7B_FPU_CSDS     (1u << 13)
#define F7B_RDSEED       (1u << 18)
#define F7B_ADX          (1u << 19)
#define F7B_SMAP         (1u << 20)
#define F7B_CLFLUSHOPT   (1u << 23)
#define F7B_CLWB         (1u << 24)
#define F7B_SHA          (1u << 29)

/* Leaf 7 subleaf 0, ECX. */
#define F7C_PREFETCHWT1  (1u << 0)
#define F7C_UMIP         (1u << 2)
#define F7C_PKU          (1u << 3)
#define F7C_OSPKE        (1u << 4)
#define F7C_CET_SS       (1u << 7)
#define F7C_GFNI         (1u << 8)
#define F7C_LA57         (1u << 16)
#define F7C_RDPID        (1u << 22)
#define F7C_KL           (1u << 23)
#define F7C_MOVDIRI      (1u << 27)
#define F7C_MOVDIR64B    (1u << 28)
#define F7C_PKS          (1u << 31)

/* Leaf 7 subleaf 0, EDX. */
#define F7D_FSRM         (1u << 4)
#define F7D_CET_IBT      (1u << 20)

/* Leaf 0x80000001, ECX. */
#define FX1C_LAHF        (1u << 0)
#define FX1C_SVM         (1u << 2)
#define FX1C_ALTMOVCR8   (1u << 4)   /* LOCK MOV CR0 is MOV CR8 */
#define FX1C_ABM         (1u << 5)
#define FX1C_SSE4A       (1u << 6)
#define FX1C_MISALIGNSSE (1u << 7)
#define FX1C_PREFETCHW   (1u << 8)
#define FX1C_MONITORX    (1u << 29)

/* Leaf 0x80000001, EDX: on AMD bits 0-9, 12-17, 23 and 24 repeat leaf 1's EDX. */
#define FX1D_SYSCALL     (1u << 11)
#define FX1D_NX          (1u << 20)
#define FX1D_MMXEXT      (1u << 22)
#define FX1D_PAGE1GB     (1u << 26)
#define FX1D_RDTSCP      (1u << 27)
#define FX1D_LM          (1u << 29)
#define FX1D_3DNOWEXT    (1u << 30)
#define FX1D_3DNOW       (1u << 31)
#define FX1D_LEAF1_MIRROR 0x0183f3ffu

/* Leaf 0x80000007, EDX. */
#define FX7D_INVARIANT_TSC (1u << 8)

/* Leaf 0x80000008, EBX. */
#define FX8B_CLZERO      (1u << 0)
#define FX8B_WBNOINVD    (1u << 9)

#endif
