/* cpufeatures.c: CPUID feature detection and the boot-time CPU report. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/svm/caps.h"
#include "arch/x86/vmx/caps.h"
#include "drivers/console.h"
#include "lib/string.h"

/* CPUID bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E). */
#define CPUID1_ECX_VMX      (1u << 5)
#define CPUID1_ECX_PCID     (1u << 17)
#define CPUID1_ECX_X2APIC   (1u << 21)
#define CPUID1_EDX_PGE      (1u << 13)
#define CPUIDX1_ECX_SVM     (1u << 2)
#define CPUIDX1_EDX_NX      (1u << 20)
#define CPUIDX1_EDX_PAGE1G  (1u << 26)
#define CPUIDX1_EDX_RDTSCP  (1u << 27)
#define CPUID7_ECX_RDPID    (1u << 22)

struct cpu_features cpu;

static void copy_regs(char *dst, const struct cpuid_regs *r)
{
	memcpy(dst, &r->eax, 4);
	memcpy(dst + 4, &r->ebx, 4);
	memcpy(dst + 8, &r->ecx, 4);
	memcpy(dst + 12, &r->edx, 4);
}

void cpu_detect(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	uint32_t max_leaf = r.eax;
	memcpy(cpu.vendor, &r.ebx, 4);
	memcpy(cpu.vendor + 4, &r.edx, 4);
	memcpy(cpu.vendor + 8, &r.ecx, 4);
	cpu.vendor[12] = 0;

	if (max_leaf >= 1) {
		r = cpuid(1, 0);
		unsigned base_family = (r.eax >> 8) & 0xf;
		cpu.family = base_family + (base_family == 0xf ? (r.eax >> 20) & 0xff : 0);
		cpu.model = ((r.eax >> 4) & 0xf) |
			    ((base_family == 6 || base_family == 0xf) ? ((r.eax >> 16) & 0xf) << 4 : 0);
		cpu.stepping = r.eax & 0xf;
		cpu.vmx = r.ecx & CPUID1_ECX_VMX;
		cpu.pcid = r.ecx & CPUID1_ECX_PCID;
		cpu.x2apic = r.ecx & CPUID1_ECX_X2APIC;
		cpu.pge = r.edx & CPUID1_EDX_PGE;
	}

	if (max_leaf >= 7)
		cpu.tsc_aux = (cpuid(7, 0).ecx & CPUID7_ECX_RDPID) != 0;
	uint32_t max_ext = cpuid(0x80000000, 0).eax;
	if (max_ext >= 0x80000001) {
		r = cpuid(0x80000001, 0);
		cpu.svm = r.ecx & CPUIDX1_ECX_SVM;
		cpu.nx = r.edx & CPUIDX1_EDX_NX;
		cpu.pages_1g = r.edx & CPUIDX1_EDX_PAGE1G;
		cpu.tsc_aux |= (r.edx & CPUIDX1_EDX_RDTSCP) != 0;
	}
	if (max_ext >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			copy_regs(cpu.brand + 16 * i, &r);
		}
		cpu.brand[48] = 0;
		for (int i = 47; i >= 0 && (cpu.brand[i] == ' ' || !cpu.brand[i]); i--)
			cpu.brand[i] = 0;
	}
	cpu.phys_bits = 36; /* SDM: the default when leaf 0x80000008 is absent */
	cpu.virt_bits = 48;
	if (max_ext >= 0x80000008) {
		r = cpuid(0x80000008, 0);
		cpu.phys_bits = r.eax & 0xff;
		cpu.virt_bits = (r.eax >> 8) & 0xff;
	}
}

void cpu_report_row(const char *what, bool present, const char *detail)
{
	kprintf("cpu:   %-30s %s%s%s\n", what, present ? "yes" : "no", detail ? "  " : "",
		detail ? detail : "");
}

void cpu_report(void)
{
	const char *brand = cpu.brand;
	while (*brand == ' ')
		brand++;
	kprintf("cpu: %s family %#x model %#x stepping %u \"%s\"\n", cpu.vendor, cpu.family,
		cpu.model, cpu.stepping, brand);
	kprintf("cpu: physical address bits %u, linear address bits %u\n", cpu.phys_bits,
		cpu.virt_bits);
	cpu_report_row("1 GiB pages", cpu.pages_1g, NULL);
	cpu_report_row("execute-disable (NX)", cpu.nx, NULL);
	cpu_report_row("global pages", cpu.pge, NULL);
	cpu_report_row("PCID", cpu.pcid, NULL);
	cpu_report_row("x2APIC", cpu.x2apic, NULL);
	if (cpu.vmx) {
		struct vmx_caps caps;
		vmx_caps_read(&caps);
		vmx_caps_report(&caps);
	}
	if (cpu.svm) {
		struct svm_caps caps;
		svm_caps_read(&caps);
		svm_caps_report(&caps);
	}
	if (!cpu.vmx && !cpu.svm)
		kprintf("cpu: virtualization: none (no VMX, no SVM): VMs cannot run on this CPU\n");
}
