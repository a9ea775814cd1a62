/* cpuid.c: attack cpuid: each feature CPUID shows works; each hidden one a hypervisor can enforce faults as on a CPU without it. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

static const char A[] = "cpuid";

#define XCR0_X87_SSE 3ull
#define MSR_KERNEL_GS_BASE 0xc0000102

static uint8_t buffer[4096] __attribute__((aligned(64)));
static uint64_t pair[2] __attribute__((aligned(16)));
static uint64_t result;
static const uint64_t invpcid_descriptor[2] __attribute__((aligned(16))); /* PCID 0, address 0 */

/* Plain instructions: no enable bit, so a hypervisor cannot make them fault. */
PROBE_ASM(do_sse3, "haddps %%xmm1, %%xmm0" ::: "memory")
PROBE_ASM(do_ssse3, "pshufb %%xmm1, %%xmm0" ::: "memory")
PROBE_ASM(do_sse41, "ptest %%xmm1, %%xmm0" ::: "cc", "memory")
PROBE_ASM(do_sse42, "crc32l %1, %k0" : "+r"(result) : "r"(0x12345678u) : "memory")
PROBE_ASM(do_popcnt, "popcnt %1, %0" : "=r"(result) : "r"(0xf0f0f0f0ull) : "cc", "memory")
PROBE_ASM(do_aes, "aesenc %%xmm1, %%xmm0" ::: "memory")
PROBE_ASM(do_pclmul, "pclmulqdq $0, %%xmm1, %%xmm0" ::: "memory")
PROBE_ASM(do_movbe, "movbe %1, %0" : "=r"(result) : "m"(pair[0]) : "memory")
PROBE_ASM(do_bmi1, "andn %2, %1, %0" : "=r"(result) : "r"(0xff00ull), "r"(0x0ff0ull) : "cc", "memory")
PROBE_ASM(do_bmi2, "bzhi %2, %1, %0" : "=r"(result) : "r"(~0ull), "r"(8ull) : "cc", "memory")
PROBE_ASM(do_adx, "xor %%eax, %%eax\n\tadcx %%rax, %%rax" ::: "rax", "cc", "memory")
PROBE_ASM(do_lzcnt, "lzcnt %1, %0" : "=r"(result) : "r"(1ull) : "cc", "memory")
PROBE_ASM(do_cx16, "cmpxchg16b %0" : "+m"(pair) : "a"(0), "d"(0), "b"(0), "c"(0) : "cc", "memory")
PROBE_ASM(do_clflushopt, "clflushopt %0" : "+m"(buffer[0]) : : "memory")
PROBE_ASM(do_clwb, "clwb %0" : "+m"(buffer[0]) : : "memory")
PROBE_ASM(do_sha, "sha1msg1 %%xmm1, %%xmm0" ::: "memory")
PROBE_ASM(do_rdrand, "rdrand %0" : "=r"(result) : : "cc", "memory")
PROBE_ASM(do_rdseed, "rdseed %0" : "=r"(result) : : "cc", "memory")

/* Enforceable ones: VMX and SVM can intercept them, or they need an enable bit. */
PROBE_ASM(do_rdtscp, "rdtscp" ::: "eax", "ecx", "edx", "memory")
PROBE_ASM(do_rdpid, "rdpid %0" : "=r"(result) : : "memory")
PROBE_ASM(do_invpcid, "invpcid %0, %1" : : "m"(invpcid_descriptor), "r"(2ull) : "memory")
PROBE_ASM(do_monitor, "monitor" : : "a"(buffer), "c"(0), "d"(0) : "memory")
PROBE_ASM(do_monitorx, "monitorx" : : "a"(buffer), "c"(0), "d"(0) : "memory")
PROBE_ASM(do_xgetbv, "xgetbv" : "=a"(result) : "c"(0) : "edx", "memory")
PROBE_ASM(do_xsetbv, "xsetbv" : : "a"((uint32_t)XCR0_X87_SSE), "d"(0), "c"(0) : "memory")
PROBE_ASM(do_xsave, "xsave %0" : "=m"(buffer) : "a"((uint32_t)XCR0_X87_SSE), "d"(0) : "memory")
PROBE_ASM(do_rdpkru, "rdpkru" : "=a"(result) : "c"(0) : "edx", "memory")
PROBE_ASM(do_rdfsbase, "rdfsbase %0" : "=r"(result) : : "memory")
PROBE_ASM(do_vmxon, "vmxon %0" : : "m"(pair[0]) : "cc", "memory")
PROBE_ASM(do_vmrun, "vmrun" : : "a"(0xdead000ull) : "memory")
PROBE_ASM(do_syscall, "syscall" ::: "rcx", "r11", "memory")

struct plain {
	enum feature feature;
	const char *insn;
	void (*fn)(void *);
	bool check;           /* compare result with want */
	uint64_t want;
};

static const struct plain plain[] = {
	{ F_SSE3, "HADDPS", do_sse3, false, 0 },
	{ F_SSSE3, "PSHUFB", do_ssse3, false, 0 },
	{ F_SSE41, "PTEST", do_sse41, false, 0 },
	{ F_SSE42, "CRC32", do_sse42, false, 0 },
	{ F_POPCNT, "POPCNT", do_popcnt, true, 16 },
	{ F_AES, "AESENC", do_aes, false, 0 },
	{ F_PCLMULQDQ, "PCLMULQDQ", do_pclmul, false, 0 },
	{ F_MOVBE, "MOVBE", do_movbe, true, 0x0807060504030201ull },
	{ F_BMI1, "ANDN", do_bmi1, true, 0x00f0 },
	{ F_BMI2, "BZHI", do_bmi2, true, 0xff },
	{ F_ADX, "ADCX", do_adx, false, 0 },
	{ F_ABM, "LZCNT", do_lzcnt, true, 63 },
	{ F_CX16, "CMPXCHG16B", do_cx16, false, 0 },
	{ F_CLFLUSHOPT, "CLFLUSHOPT", do_clflushopt, false, 0 },
	{ F_CLWB, "CLWB", do_clwb, false, 0 },
	{ F_SHA, "SHA1MSG1", do_sha, false, 0 },
	{ F_RDRAND, "RDRAND", do_rdrand, false, 0 },
	{ F_RDSEED, "RDSEED", do_rdseed, false, 0 },
};

/* Shown: the instruction runs; hidden: skipped, or #UD when enforceable. */
static void insn(enum feature f, const char *name, void (*fn)(void *), bool enforceable)
{
	char what[80];

	if (has(f)) {
		ksnprintf(what, sizeof(what), "%s (shown): %s runs", feature_name(f), name);
		check_vector(A, what, probe(fn, NULL), VEC_NONE);
	} else if (enforceable) {
		ksnprintf(what, sizeof(what), "%s (hidden): %s raises #UD", feature_name(f), name);
		check_vector(A, what, probe(fn, NULL), VEC_UD);
	} else {
		ksnprintf(what, sizeof(what), "%s (hidden)", feature_name(f));
		skipped(A, what, "not enforceable");
	}
}

static void plain_insns(void)
{
	pair[0] = 0x0102030405060708ull;
	for (unsigned i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		const struct plain *p = &plain[i];
		char what[80];

		insn(p->feature, p->insn, p->fn, false);
		if (has(p->feature) && p->check) {
			probe(p->fn, NULL);
			ksnprintf(what, sizeof(what), "%s (shown): %s gives the right result",
				  feature_name(p->feature), p->insn);
			check_value(A, what, result, p->want);
		}
	}
}

static void xsave(void)
{
	uint64_t cr4 = read_cr4();

	if (!has(F_XSAVE)) {
		check_cr4_feature_bit(A, 18, "OSXSAVE", false);
		check_vector(A, "XSAVE (hidden): XGETBV raises #UD", probe(do_xgetbv, NULL), VEC_UD);
		check_vector(A, "XSAVE (hidden): XSETBV raises #UD", probe(do_xsetbv, NULL), VEC_UD);
		check_vector(A, "XSAVE (hidden): XSAVE raises #UD", probe(do_xsave, NULL), VEC_UD);
		check_value(A, "XSAVE (hidden): CPUID shows OSXSAVE clear", has(F_OSXSAVE), 0);
		return;
	}
	int v = probe_write_cr4(cr4 | CR4_OSXSAVE);
	check_vector(A, "XSAVE (shown): CR4.OSXSAVE can be set", v, VEC_NONE);
	if (v >= 0)
		return;
	check_value(A, "XSAVE (shown): CPUID shows OSXSAVE once CR4.OSXSAVE is set", has(F_OSXSAVE), 1);
	v = probe(do_xgetbv, NULL);
	check_vector(A, "XSAVE (shown): XGETBV runs", v, VEC_NONE);
	uint64_t xcr0 = result;
	check_value(A, "XSAVE (shown): XCR0 has x87 state", xcr0 & 1, 1);
	check_vector(A, "XSAVE (shown): XSETBV x87|SSE runs", probe(do_xsetbv, NULL), VEC_NONE);
	check_vector(A, "XSAVE (shown): XSAVE runs", probe(do_xsave, NULL), VEC_NONE);
	__asm__ volatile("xsetbv" : : "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)), "c"(0));
	write_cr4(cr4);
}

static void pku(void)
{
	uint64_t cr4 = read_cr4();

	if (!has(F_PKU)) {
		check_cr4_feature_bit(A, 22, "PKE", false);
		check_vector(A, "PKU (hidden): RDPKRU raises #UD", probe(do_rdpkru, NULL), VEC_UD);
		return;
	}
	int v = probe_write_cr4(cr4 | CR4_PKE);
	check_vector(A, "PKU (shown): CR4.PKE can be set", v, VEC_NONE);
	if (v >= 0)
		return;
	check_value(A, "PKU (shown): CPUID shows OSPKE once CR4.PKE is set", has(F_OSPKE), 1);
	check_vector(A, "PKU (shown): RDPKRU runs", probe(do_rdpkru, NULL), VEC_NONE);
	write_cr4(cr4);
}

static void fsgsbase(void)
{
	uint64_t cr4 = read_cr4();

	if (!has(F_FSGSBASE)) {
		check_cr4_feature_bit(A, 16, "FSGSBASE", false);
		check_vector(A, "FSGSBASE (hidden): RDFSBASE raises #UD", probe(do_rdfsbase, NULL),
			     VEC_UD);
		return;
	}
	int v = probe_write_cr4(cr4 | CR4_FSGSBASE);
	check_vector(A, "FSGSBASE (shown): CR4.FSGSBASE can be set", v, VEC_NONE);
	if (v >= 0)
		return;
	uint64_t base = 0x00007f0012345000ull;
	__asm__ volatile("wrfsbase %0" : : "r"(base));
	v = probe(do_rdfsbase, NULL);
	check_vector(A, "FSGSBASE (shown): RDFSBASE runs", v, VEC_NONE);
	check_value(A, "FSGSBASE (shown): WRFSBASE sets FS_BASE", rdmsr(MSR_FS_BASE), base);
	wrmsr(MSR_FS_BASE, 0);
	write_cr4(cr4);
}

static void virt(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	if (has(F_VMX)) {
		check_cr4_feature_bit(A, 13, "VMXE", true);
	} else {
		check_cr4_feature_bit(A, 13, "VMXE", false);
		check_vector(A, "VMX (hidden): VMXON raises #UD", probe(do_vmxon, NULL), VEC_UD);
	}
	int v = probe_wrmsr(MSR_EFER, efer | EFER_SVME);
	if (v < 0)
		wrmsr(MSR_EFER, efer);
	if (has(F_SVM)) {
		check_vector(A, "SVM (shown): EFER.SVME can be set", v, VEC_NONE);
	} else {
		check_vector(A, "SVM (hidden): setting EFER.SVME raises #GP", v, VEC_GP);
		check_vector(A, "SVM (hidden): VMRUN raises #UD", probe(do_vmrun, NULL), VEC_UD);
	}
}

static void call_page(void *p)
{
	((void (*)(void))p)();
}

static void nx(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	int v = probe_wrmsr(MSR_EFER, efer | EFER_NXE);

	if (!has(F_NX)) {
		if (v < 0)
			wrmsr(MSR_EFER, efer);
		check_vector(A, "NX (hidden): setting EFER.NXE raises #GP", v, VEC_GP);
		return;
	}
	check_vector(A, "NX (shown): EFER.NXE can be set", v, VEC_NONE);
	if (v >= 0)
		return;
	/* A RET in a page mapped execute-disable: the fetch faults (P, I/D). */
	window_frames[2][0] = 0xc3;
	window_map(7, (uint64_t)(uintptr_t)window_frames[2], PTE_P | PTE_XD);
	v = probe(call_page, (void *)(uintptr_t)window_addr(7));
	window_map(7, 0, 0);
	check_fault(A, "NX (shown): a fetch from an XD page raises #PF(P|I/D)", v, trap_last.error,
		    VEC_PF, 0x11);
	wrmsr(MSR_EFER, efer);
}

/* SYSCALL lands here at CPL 0 with RCX = the return RIP and R11 = RFLAGS. */
void syscall_target(void);
__asm__(".text\n"
	"syscall_target:\n\t"
	"push %r11\n\t"
	"popfq\n\t"
	"jmp *%rcx\n");

static void syscall_(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	if (!has(F_SYSCALL)) {
		int v = probe_wrmsr(MSR_EFER, efer | EFER_SCE);
		if (v < 0)
			wrmsr(MSR_EFER, efer);
		check_vector(A, "SYSCALL (hidden): setting EFER.SCE raises #GP", v, VEC_GP);
		return;
	}
	wrmsr(MSR_EFER, efer & ~EFER_SCE);
	check_vector(A, "SYSCALL (shown): SYSCALL with EFER.SCE clear raises #UD",
		     probe(do_syscall, NULL), VEC_UD);
	wrmsr(MSR_EFER, efer | EFER_SCE);
	uint64_t star = rdmsr(MSR_STAR), lstar = rdmsr(MSR_LSTAR), sfmask = rdmsr(MSR_SFMASK);
	wrmsr(MSR_STAR, 0x08ull << 32); /* CS = 0x08, SS = 0x10: entry.asm's GDT */
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_target);
	wrmsr(MSR_SFMASK, 0);
	check_vector(A, "SYSCALL (shown): SYSCALL with EFER.SCE set runs", probe(do_syscall, NULL),
		     VEC_NONE);
	wrmsr(MSR_STAR, star);
	wrmsr(MSR_LSTAR, lstar);
	wrmsr(MSR_SFMASK, sfmask);
	wrmsr(MSR_EFER, efer);
}

static void page_1g(void)
{
	if (!has(F_PAGE1G)) {
		skipped(A, "1 GiB pages (hidden)", "not enforceable");
		return;
	}
	static volatile uint64_t marker;
	marker = 0x1c1c1c1c1c1c1c1cull ^ opt.seed;
	uint64_t base = window_map_1g();
	uint64_t got = *(volatile uint64_t *)(uintptr_t)(base + (uint64_t)(uintptr_t)&marker);
	check_value(A, "1 GiB pages (shown): a read through a 1 GiB page", got, marker);
}

void attack_cpuid(void)
{
	plain_insns();
	insn(F_RDTSCP, "RDTSCP", do_rdtscp, true);
	insn(F_RDPID, "RDPID", do_rdpid, true);
	insn(F_INVPCID, "INVPCID", do_invpcid, true);
	insn(F_MONITOR, "MONITOR", do_monitor, true);
	insn(F_MONITORX, "MONITORX", do_monitorx, true);
	xsave();
	pku();
	fsgsbase();
	check_cr4_feature_bit(A, 20, "SMEP", has(F_SMEP));
	check_cr4_feature_bit(A, 21, "SMAP", has(F_SMAP));
	check_cr4_feature_bit(A, 11, "UMIP", has(F_UMIP));
	check_cr4_feature_bit(A, 17, "PCIDE", has(F_PCID));
	skipped(A, has(F_LA57) ? "LA57 (shown)" : "LA57 (hidden)",
		"CR4.LA57 is checked before long mode, in the 32-bit part");
	virt();
	nx();
	syscall_();
	page_1g();
}
