/* msr.c: attack msr: an RDMSR scan, WRMSR checks of the MSRs a guest is shown (SDM vol. 4), and, under our hypervisor, a scan of every I/O port. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

static const char A[] = "msr";

#define APIC_BASE_RESERVED_BIT (1ull << 9)  /* reserved on Intel and AMD */
#define MTRR_DEF_E   (1ull << 11)
#define MTRR_DEF_FE  (1ull << 10)
#define MISC_ENABLE_RESERVED   (1ull << 63)
#define COM1_FIRST   0x3f8
#define COM1_LAST    0x3ff
#define QEMU_EXIT    0xf4

static const struct {
	uint32_t first, count;
} scan_ranges[] = {
	{ 0x00000000, 0x2000 }, { 0xc0000000, 0x2000 }, { 0xc0010000, 0x2000 },
};

static void msr_scan(void)
{
	unsigned total = 0, readable = 0;

	for (unsigned r = 0; r < sizeof(scan_ranges) / sizeof(scan_ranges[0]); r++) {
		for (uint32_t i = 0; i < scan_ranges[r].count; i++) {
			uint64_t v;
			if (probe_rdmsr(scan_ranges[r].first + i, &v) < 0)
				readable++;
			total++;
		}
	}
	/* How many exist differs between CPUs and hypervisors: an env line. */
	report("%s: env: RDMSR scan of 0-0x1fff, 0xc0000000-0xc0001fff, 0xc0010000-0xc0011fff: "
	       "%u of %u read", A, readable, total);
	check_true(A, "RDMSR scan of 24576 MSRs: the guest goes on", true, "");
}

/* QEMU's TCG takes any value for APIC_BASE, PAT, MTRR_DEF_TYPE and
 * MISC_ENABLE (on any vendor), Bochs any for MISC_ENABLE, which it also has
 * on AMD models: those checks are lenient natively there. */
static void apic_base(void)
{
	uint64_t v;
	if (probe_rdmsr(MSR_APIC_BASE, &v) >= 0) {
		skipped(A, "WRMSR APIC_BASE with reserved bit 9 raises #GP", "APIC_BASE does not read");
		return;
	}
	check_vector_lenient(A, "WRMSR APIC_BASE with reserved bit 9 raises #GP",
			     probe_wrmsr(MSR_APIC_BASE, v | APIC_BASE_RESERVED_BIT), VEC_GP, EMU_QEMU);
	uint64_t now = 0;
	probe_rdmsr(MSR_APIC_BASE, &now);
	if (now != v)
		probe_wrmsr(MSR_APIC_BASE, v);
}

static void pat(void)
{
	/* Memory types 2 and 3 are reserved, as are bits 7:3 of each entry (SDM 13.12.2). */
	static const struct {
		const char *what;
		uint64_t value;
	} bad[] = {
		{ "WRMSR PAT with type 2 in entry 1 raises #GP", (PAT_DEFAULT & ~0xff00ull) | 0x0200ull },
		{ "WRMSR PAT with type 3 in entry 5 raises #GP", (PAT_DEFAULT & ~(0xffull << 40)) | (3ull << 40) },
		{ "WRMSR PAT with bit 3 set in entry 7 raises #GP", PAT_DEFAULT | (8ull << 56) },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int v = probe_wrmsr(MSR_PAT, bad[i].value);
		check_vector_lenient(A, bad[i].what, v, VEC_GP, EMU_QEMU);
		if (v < 0)
			wrmsr(MSR_PAT, PAT_DEFAULT);
	}
	uint64_t good = 0x0001040500070406ull, back = 0;
	int v = probe_wrmsr(MSR_PAT, good);
	check_vector(A, "WRMSR PAT with valid types runs", v, VEC_NONE);
	probe_rdmsr(MSR_PAT, &back);
	check_value(A, "a valid PAT reads back", back, good);
	wrmsr(MSR_PAT, PAT_DEFAULT);
}

static void mtrr_def_type(void)
{
	if (!has(F_MTRR)) {
		skipped(A, "MTRR_DEF_TYPE", "CPUID does not show MTRR");
		return;
	}
	uint64_t orig = rdmsr(MSR_MTRR_DEF);
	/* Bits 9:8 and 63:12 are reserved; types 2, 3 and 7 do not exist (SDM 12.11.2.1). */
	static const struct {
		const char *what;
		uint64_t bits;
	} bad[] = {
		{ "WRMSR MTRR_DEF_TYPE with reserved bit 8 raises #GP", 1ull << 8 },
		{ "WRMSR MTRR_DEF_TYPE with reserved bit 12 raises #GP", 1ull << 12 },
		{ "WRMSR MTRR_DEF_TYPE with reserved bit 63 raises #GP", 1ull << 63 },
		{ "WRMSR MTRR_DEF_TYPE with type 2 raises #GP", 2 },
		{ "WRMSR MTRR_DEF_TYPE with type 7 raises #GP", 7 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t value = (orig & MTRR_DEF_FE) | MTRR_DEF_E | 6;
		if (bad[i].bits < 8)
			value = (value & ~0xffull) | bad[i].bits;
		else
			value |= bad[i].bits;
		int v = probe_wrmsr(MSR_MTRR_DEF, value);
		check_vector_lenient(A, bad[i].what, v, VEC_GP, EMU_QEMU);
		if (v < 0)
			wrmsr(MSR_MTRR_DEF, orig);
	}
	uint64_t good = (orig & MTRR_DEF_FE) | MTRR_DEF_E | 6, back = 0;
	check_vector(A, "WRMSR MTRR_DEF_TYPE enabled, write-back runs",
		     probe_wrmsr(MSR_MTRR_DEF, good), VEC_NONE);
	probe_rdmsr(MSR_MTRR_DEF, &back);
	check_value(A, "a valid MTRR_DEF_TYPE reads back", back, good);
	wrmsr(MSR_MTRR_DEF, orig);
}

static void misc_enable(void)
{
	struct cpu_env cpu;
	uint64_t v;

	cpu_env_probe(&cpu);
	int r = probe_rdmsr(MSR_MISC_ENABLE, &v);
	if (!cpu.intel) {
		/* AMD has no IA32_MISC_ENABLE (APM vol. 2, appendix A). */
		check_vector_lenient(A, "RDMSR MISC_ENABLE (not Intel) raises #GP", r, VEC_GP,
				     EMU_QEMU | EMU_BOCHS);
		return;
	}
	check_vector(A, "RDMSR MISC_ENABLE (Intel) runs", r, VEC_NONE);
	if (r < 0)
		check_vector_lenient(A, "WRMSR MISC_ENABLE with reserved bit 63 raises #GP",
				     probe_wrmsr(MSR_MISC_ENABLE, v | MISC_ENABLE_RESERVED), VEC_GP,
				     EMU_QEMU | EMU_BOCHS);
}

static void port_scan(void)
{
	unsigned not_ones = 0;

	if (!env_under_hypervisor()) {
		skipped(A, "every port but COM1 reads all ones", "native: real devices answer");
		skipped(A, "writing 0 to every port but COM1 and 0xf4", "native: real devices listen");
		return;
	}
	for (uint32_t port = 0; port <= 0xffff; port++)
		if ((port < COM1_FIRST || port > COM1_LAST) && inb((uint16_t)port) != 0xff)
			not_ones++;
	check_value(A, "every port but COM1 reads all ones (ports that did not)", not_ones, 0);
	for (uint32_t port = 0; port <= 0xffff; port++)
		if ((port < COM1_FIRST || port > COM1_LAST) && port != QEMU_EXIT)
			outb((uint16_t)port, 0);
	check_true(A, "writing 0 to every port but COM1 and 0xf4: the guest goes on", true, "");
}

void attack_msr(void)
{
	msr_scan();
	apic_base();
	pat();
	mtrr_def_type();
	misc_enable();
	uint64_t tsc = rdtsc64();
	check_vector(A, "WRMSR TSC runs", probe_wrmsr(MSR_TSC, tsc + 1000), VEC_NONE);
	port_scan();
}
