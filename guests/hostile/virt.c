/* virt.c: attacks svm and vmx: with the extension hidden, its instructions and enable bits fault as on a CPU without it. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

/* Garbage operands: had the instruction run, it would have had to fail anyway. */
#define JUNK_ADDR 0x00000000deadb000ull
static uint64_t junk_mem[2] = { 0xdeadbeefdeadbeefull, 0xdeadbeefdeadbeefull };

/* AMD APM vol. 3, "SVM instructions": each raises #UD when EFER.SVME is clear. */
PROBE_ASM(do_vmrun, "vmrun" : : "a"(JUNK_ADDR) : "memory")
PROBE_ASM(do_vmload, "vmload" : : "a"(JUNK_ADDR) : "memory")
PROBE_ASM(do_vmsave, "vmsave" : : "a"(JUNK_ADDR) : "memory")
PROBE_ASM(do_stgi, "stgi" ::: "memory")
PROBE_ASM(do_clgi, "clgi" ::: "memory")
PROBE_ASM(do_skinit, "skinit" : : "a"(JUNK_ADDR) : "memory")
PROBE_ASM(do_invlpga, "invlpga" : : "a"(JUNK_ADDR), "c"(0x1234) : "memory")

/* Intel SDM vol. 3C, chapter 31: without VMX operation each raises #UD. */
PROBE_ASM(do_vmxon, "vmxon %0" : : "m"(junk_mem[0]) : "memory")
PROBE_ASM(do_vmxoff, "vmxoff" ::: "cc", "memory")
PROBE_ASM(do_vmptrld, "vmptrld %0" : : "m"(junk_mem[0]) : "cc", "memory")
PROBE_ASM(do_vmptrst, "vmptrst %0" : "=m"(junk_mem[0]) : : "cc", "memory")
PROBE_ASM(do_vmclear, "vmclear %0" : : "m"(junk_mem[0]) : "cc", "memory")
PROBE_ASM(do_vmread, "vmread %1, %0" : "=r"(junk_mem[1]) : "r"(0x4400ull) : "cc", "memory")
PROBE_ASM(do_vmwrite, "vmwrite %1, %0" : : "r"(0x681eull), "r"(JUNK_ADDR) : "cc", "memory")
PROBE_ASM(do_vmlaunch, "vmlaunch" ::: "cc", "memory")
PROBE_ASM(do_vmresume, "vmresume" ::: "cc", "memory")
PROBE_ASM(do_invept, "invept %0, %1" : : "m"(junk_mem), "r"(1ull) : "cc", "memory")
PROBE_ASM(do_invvpid, "invvpid %0, %1" : : "m"(junk_mem), "r"(1ull) : "cc", "memory")
PROBE_ASM(do_vmfunc, "vmfunc" : : "a"(0), "c"(0) : "memory")
PROBE_ASM(do_getsec, "getsec" : : "a"(0) : "ebx", "ecx", "memory")

struct ud_probe {
	const char *what;
	void (*fn)(void *);
};

static void expect_ud(const char *attack, const struct ud_probe *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		check_vector(attack, p[i].what, probe(p[i].fn, NULL), VEC_UD);
}

void attack_svm(void)
{
	static const char A[] = "svm";
	static const struct ud_probe ops[] = {
		{ "VMRUN raises #UD", do_vmrun },   { "VMLOAD raises #UD", do_vmload },
		{ "VMSAVE raises #UD", do_vmsave }, { "STGI raises #UD", do_stgi },
		{ "CLGI raises #UD", do_clgi },     { "SKINIT raises #UD", do_skinit },
		{ "INVLPGA raises #UD", do_invlpga },
	};

	if (has(F_SVM)) {
		skipped(A, "SVM hidden", "CPUID shows SVM");
		return;
	}
	uint64_t efer = rdmsr(MSR_EFER);
	check_value(A, "EFER.SVME reads clear", efer & EFER_SVME, 0);
	int v = probe_wrmsr(MSR_EFER, efer | EFER_SVME);
	check_vector(A, "WRMSR EFER with SVME raises #GP", v, VEC_GP);
	if (v < 0)
		wrmsr(MSR_EFER, efer);
	expect_ud(A, ops, sizeof(ops) / sizeof(ops[0]));
}

void attack_vmx(void)
{
	static const char A[] = "vmx";
	static const struct ud_probe ops[] = {
		{ "VMXON raises #UD", do_vmxon },       { "VMXOFF raises #UD", do_vmxoff },
		{ "VMPTRLD raises #UD", do_vmptrld },   { "VMPTRST raises #UD", do_vmptrst },
		{ "VMCLEAR raises #UD", do_vmclear },   { "VMREAD raises #UD", do_vmread },
		{ "VMWRITE raises #UD", do_vmwrite },   { "VMLAUNCH raises #UD", do_vmlaunch },
		{ "VMRESUME raises #UD", do_vmresume }, { "INVEPT raises #UD", do_invept },
		{ "INVVPID raises #UD", do_invvpid },   { "VMFUNC raises #UD", do_vmfunc },
	};
	if (has(F_VMX)) {
		skipped(A, "VMX hidden", "CPUID shows VMX");
	} else {
		check_cr4_feature_bit(A, 13, "VMXE", false);
		expect_ud(A, ops, sizeof(ops) / sizeof(ops[0]));
	}
	if (has(F_SMX)) {
		skipped(A, "SMX hidden", "CPUID shows SMX");
		return;
	}
	check_cr4_feature_bit(A, 14, "SMXE", false);
	check_vector(A, "GETSEC (SMX hidden) raises #UD", probe(do_getsec, NULL), VEC_UD);
}
