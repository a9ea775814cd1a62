/* features.c: the CPUID feature bits the self-checking guests look at (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E). */
#include "guests/common/features.h"

enum { EAX, EBX, ECX, EDX };

struct feature_bit {
	const char *name;
	uint32_t leaf, subleaf;
	uint8_t reg, bit;
};

static const struct feature_bit features[F_COUNT] = {
	[F_VME] = { "VME", 1, 0, EDX, 1 },          [F_DE] = { "DE", 1, 0, EDX, 2 },
	[F_PSE] = { "PSE", 1, 0, EDX, 3 },          [F_TSC] = { "TSC", 1, 0, EDX, 4 },
	[F_MSR] = { "MSR", 1, 0, EDX, 5 },          [F_PAE] = { "PAE", 1, 0, EDX, 6 },
	[F_MCE] = { "MCE", 1, 0, EDX, 7 },          [F_MTRR] = { "MTRR", 1, 0, EDX, 12 },
	[F_PGE] = { "PGE", 1, 0, EDX, 13 },         [F_FXSR] = { "FXSR", 1, 0, EDX, 24 },
	[F_SSE] = { "SSE", 1, 0, EDX, 25 },         [F_SSE2] = { "SSE2", 1, 0, EDX, 26 },
	[F_SSE3] = { "SSE3", 1, 0, ECX, 0 },        [F_PCLMULQDQ] = { "PCLMULQDQ", 1, 0, ECX, 1 },
	[F_MONITOR] = { "MONITOR", 1, 0, ECX, 3 },  [F_VMX] = { "VMX", 1, 0, ECX, 5 },
	[F_SMX] = { "SMX", 1, 0, ECX, 6 },          [F_SSSE3] = { "SSSE3", 1, 0, ECX, 9 },
	[F_CX16] = { "CX16", 1, 0, ECX, 13 },       [F_PCID] = { "PCID", 1, 0, ECX, 17 },
	[F_SSE41] = { "SSE4.1", 1, 0, ECX, 19 },    [F_SSE42] = { "SSE4.2", 1, 0, ECX, 20 },
	[F_MOVBE] = { "MOVBE", 1, 0, ECX, 22 },     [F_POPCNT] = { "POPCNT", 1, 0, ECX, 23 },
	[F_AES] = { "AES", 1, 0, ECX, 25 },         [F_XSAVE] = { "XSAVE", 1, 0, ECX, 26 },
	[F_OSXSAVE] = { "OSXSAVE", 1, 0, ECX, 27 }, [F_RDRAND] = { "RDRAND", 1, 0, ECX, 30 },
	[F_FSGSBASE] = { "FSGSBASE", 7, 0, EBX, 0 }, [F_BMI1] = { "BMI1", 7, 0, EBX, 3 },
	[F_SMEP] = { "SMEP", 7, 0, EBX, 7 },        [F_BMI2] = { "BMI2", 7, 0, EBX, 8 },
	[F_INVPCID] = { "INVPCID", 7, 0, EBX, 10 }, [F_RTM] = { "RTM", 7, 0, EBX, 11 },
	[F_RDSEED] = { "RDSEED", 7, 0, EBX, 18 },   [F_ADX] = { "ADX", 7, 0, EBX, 19 },
	[F_SMAP] = { "SMAP", 7, 0, EBX, 20 },       [F_CLFLUSHOPT] = { "CLFLUSHOPT", 7, 0, EBX, 23 },
	[F_CLWB] = { "CLWB", 7, 0, EBX, 24 },       [F_SHA] = { "SHA", 7, 0, EBX, 29 },
	[F_UMIP] = { "UMIP", 7, 0, ECX, 2 },        [F_PKU] = { "PKU", 7, 0, ECX, 3 },
	[F_OSPKE] = { "OSPKE", 7, 0, ECX, 4 },      [F_CET_SS] = { "CET_SS", 7, 0, ECX, 7 },
	[F_LA57] = { "LA57", 7, 0, ECX, 16 },       [F_RDPID] = { "RDPID", 7, 0, ECX, 22 },
	[F_KL] = { "KL", 7, 0, ECX, 23 },           [F_PKS] = { "PKS", 7, 0, ECX, 31 },
	[F_UINTR] = { "UINTR", 7, 0, EDX, 5 },      [F_CET_IBT] = { "CET_IBT", 7, 0, EDX, 20 },
	[F_LASS] = { "LASS", 7, 1, EAX, 6 },        [F_FRED] = { "FRED", 7, 1, EAX, 17 },
	[F_LAM] = { "LAM", 7, 1, EAX, 26 },
	[F_SYSCALL] = { "SYSCALL", 0x80000001, 0, EDX, 11 },
	[F_NX] = { "NX", 0x80000001, 0, EDX, 20 },
	[F_FFXSR] = { "FFXSR", 0x80000001, 0, EDX, 25 },
	[F_PAGE1G] = { "1 GiB pages", 0x80000001, 0, EDX, 26 },
	[F_RDTSCP] = { "RDTSCP", 0x80000001, 0, EDX, 27 },
	[F_LM] = { "LM", 0x80000001, 0, EDX, 29 },
	[F_SVM] = { "SVM", 0x80000001, 0, ECX, 2 },
	[F_ABM] = { "LZCNT", 0x80000001, 0, ECX, 5 },
	[F_TCE] = { "TCE", 0x80000001, 0, ECX, 17 },
	[F_MONITORX] = { "MONITORX", 0x80000001, 0, ECX, 29 },
};

struct cpuid_regs cpuid_leaf(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs none = { 0, 0, 0, 0 };
	uint32_t max = cpuid(leaf & 0x80000000u, 0).eax;

	if (leaf > max)
		return none;
	/* Leaf 7 lists its highest subleaf in EAX of subleaf 0. */
	if (leaf == 7 && subleaf > cpuid(7, 0).eax)
		return none;
	return cpuid(leaf, subleaf);
}

bool has(enum feature f)
{
	const struct feature_bit *b = &features[f];
	struct cpuid_regs r = cpuid_leaf(b->leaf, b->subleaf);
	uint32_t regs[4] = { r.eax, r.ebx, r.ecx, r.edx };

	return (regs[b->reg] >> b->bit) & 1;
}

const char *feature_name(enum feature f)
{
	return features[f].name;
}
