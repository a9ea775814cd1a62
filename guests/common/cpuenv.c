/* cpuenv.c: where the guest runs: the CPU vendor, whether hvmicrovisor runs it, which harness ends the run (built for 64-bit and 32-bit code). */
#include "guests/common/guest.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"
#include "vmm/hypercall_abi.h"

#define CPUID_VENDOR          0x00000000
#define CPUID_FEATURES        0x00000001
#define CPUID_ECX_HYPERVISOR  (1u << 31)

static void copy_regs(char *dst, uint32_t a, uint32_t b, uint32_t c)
{
	memcpy(dst, &a, 4);
	memcpy(dst + 4, &b, 4);
	memcpy(dst + 8, &c, 4);
	dst[12] = '\0';
}

/* CPUID.1:ECX[31] says a hypervisor is there; leaf 0x40000000 names it. */
void cpu_env_probe(struct cpu_env *env)
{
	struct cpuid_regs r = cpuid(CPUID_VENDOR, 0);
	char signature[13];

	copy_regs(env->vendor, r.ebx, r.edx, r.ecx);
	env->intel = !strcmp(env->vendor, "GenuineIntel");
	env->ours = false;
	if (!(cpuid(CPUID_FEATURES, 0).ecx & CPUID_ECX_HYPERVISOR))
		return;
	r = cpuid(HV_CPUID_LEAF_SIGNATURE, 0);
	copy_regs(signature, r.ebx, r.ecx, r.edx);
	env->ours = !strcmp(signature, HV_SIGNATURE);
}

enum harness harness_option(const struct boot_info *boot)
{
	if (bootinfo_has_option(boot, "harness", "qemu"))
		return HARNESS_QEMU;
	if (bootinfo_has_option(boot, "harness", "bochs"))
		return HARNESS_BOCHS;
	return HARNESS_NONE;
}
