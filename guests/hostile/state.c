/* state.c: attack state: register state a hypervisor must switch between VMs keeps its seed-dependent values across 400 VM exits. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

static const char A[] = "state";

#define PORT_READS     400
#define TSC_FAR        (1ull << 40) /* "not far above": minutes of any clock */
#define DR_UNMAPPED    0x0000600000000000ull /* PML4 entry 192: never mapped */
#define DR6_WRITABLE   0xe00full     /* B0-B3, BD, BS, BT */
#define DR6_FIXED      0xffff0ff0ull /* reserved bits that read as 1 */
#define DR7_FIXED      0x400ull
#define MTRR_DEF_E     (1ull << 11)
#define MTRR_DEF_FE    (1ull << 10)
#define FCW_COMPARED   0x1f3fu       /* masks, precision, rounding, infinity */
#define SYSENTER_CS    0x174
#define SYSENTER_ESP   0x175
#define SYSENTER_EIP   0x176

enum item {
	I_DR0, I_DR1, I_DR2, I_DR3, I_DR6, I_DR7, I_CR8, I_PAT, I_TSC_AUX, I_RDTSCP, I_RDPID,
	I_PKRU, I_FS_BASE, I_GS_BASE, I_KERNEL_GS_BASE, I_STAR, I_LSTAR, I_CSTAR, I_SFMASK,
	I_SYSENTER_CS, I_SYSENTER_ESP, I_SYSENTER_EIP, I_MTRR_DEF, I_FCW, I_XMM, I_TSC,
	I_COUNT
};

static const char *const item_names[I_COUNT] = {
	"DR0", "DR1", "DR2", "DR3", "DR6 (writable bits)", "DR7", "CR8 (TPR)", "PAT",
	"TSC_AUX (RDMSR)", "TSC_AUX (RDTSCP)", "TSC_AUX (RDPID)", "PKRU", "FS_BASE", "GS_BASE",
	"KERNEL_GS_BASE", "STAR", "LSTAR", "CSTAR", "SFMASK", "SYSENTER_CS", "SYSENTER_ESP",
	"SYSENTER_EIP", "MTRR_DEF_TYPE", "x87 control word", "XMM0-15", "TSC",
};

/* MSR items: the MSR and the bits that exist (SDM vol. 4). */
static const struct {
	enum item item;
	uint32_t msr;
	uint64_t mask;
} msr_items[] = {
	{ I_FS_BASE, 0xc0000100, 0x00007ffffffff000ull },
	{ I_GS_BASE, 0xc0000101, 0x00007ffffffff000ull },
	{ I_KERNEL_GS_BASE, 0xc0000102, 0x00007ffffffff000ull },
	{ I_STAR, 0xc0000081, ~0ull },
	{ I_LSTAR, 0xc0000082, 0x00007ffffffff000ull },
	{ I_CSTAR, 0xc0000083, 0x00007ffffffff000ull },
	{ I_SFMASK, 0xc0000084, 0xffffffffull },
	{ I_SYSENTER_CS, SYSENTER_CS, 0xffffull },
	/* AMD keeps only the low 32 bits of these two (APM vol. 2, 6.1.1). */
	{ I_SYSENTER_ESP, SYSENTER_ESP, 0xfffffff0ull },
	{ I_SYSENTER_EIP, SYSENTER_EIP, 0xfffffff0ull },
};
#define MSR_ITEMS (sizeof(msr_items) / sizeof(msr_items[0]))

static uint64_t want[I_COUNT], got[I_COUNT];
static bool used[I_COUNT];
static struct xmm xmm_want[16], xmm_got[16];

static uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v));
}

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;
	__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static void set(enum item i, uint64_t v)
{
	want[i] = v;
	used[i] = true;
}

/* A valid PAT: WB in entry 0 (the guest's own pages), random valid types elsewhere. */
static uint64_t seeded_pat(uint64_t *x)
{
	static const uint8_t types[] = { 0, 1, 4, 5, 6, 7 }; /* UC WC WT WP WB UC- */
	uint64_t r = seeded(x), pat = 6;

	for (unsigned i = 1; i < 8; i++)
		pat |= (uint64_t)types[(r >> (8 * i)) % sizeof(types)] << (8 * i);
	return pat;
}

static void load_all(uint64_t *x, uint64_t cr4, uint64_t mtrr_def)
{
	uint64_t dr7 = DR7_FIXED, r = seeded(x);

	/* Breakpoints on unmapped addresses: they can never fire. */
	for (unsigned n = 0; n < 4; n++) {
		set(I_DR0 + n, DR_UNMAPPED + (seeded(x) & 0x7ffffffff8ull));
		write_dr(n, want[I_DR0 + n]);
		uint64_t rw = (r >> n) & 1 ? 3 : 1, len = (r >> (4 + 2 * n)) & 3;
		dr7 |= (1ull << (2 * n)) | (((r >> (12 + n)) & 1) << (2 * n + 1)) |
		       (rw << (16 + 4 * n)) | (len << (18 + 4 * n));
	}
	set(I_DR6, DR6_FIXED | (seeded(x) & DR6_WRITABLE));
	write_dr(6, want[I_DR6]);
	set(I_DR7, dr7);
	write_dr(7, dr7);
	set(I_CR8, seeded(x) & 0xf);
	write_cr8(want[I_CR8]);
	set(I_PAT, seeded_pat(x));
	wrmsr(MSR_PAT, want[I_PAT]);
	if (has(F_RDTSCP) || has(F_RDPID)) {
		set(I_TSC_AUX, seeded(x) & 0xffffffffull);
		wrmsr(MSR_TSC_AUX, want[I_TSC_AUX]);
		if (has(F_RDTSCP))
			set(I_RDTSCP, want[I_TSC_AUX]);
		if (has(F_RDPID))
			set(I_RDPID, want[I_TSC_AUX]);
	}
	if (has(F_PKU) && probe_write_cr4(cr4 | CR4_PKE) < 0) {
		set(I_PKRU, seeded(x) & 0xffffffffull);
		__asm__ volatile("wrpkru" : : "a"((uint32_t)want[I_PKRU]), "c"(0), "d"(0));
	}
	for (unsigned i = 0; i < MSR_ITEMS; i++) {
		set(msr_items[i].item, seeded(x) & msr_items[i].mask);
		wrmsr(msr_items[i].msr, want[msr_items[i].item]);
	}
	if (has(F_MTRR)) {
		static const uint8_t types[] = { 6, 0, 4, 5 }; /* WB UC WT WP */
		set(I_MTRR_DEF, (mtrr_def & MTRR_DEF_FE) | MTRR_DEF_E | types[seeded(x) % 4]);
		wrmsr(MSR_MTRR_DEF, want[I_MTRR_DEF]);
	}
	/* All exceptions masked; precision 24/53/64 bits (1 is reserved), any rounding. */
	static const uint16_t precision[] = { 0, 2, 3 };
	uint64_t f = seeded(x);
	uint16_t fcw = (uint16_t)(0x7f | (precision[f % 3] << 8) | (((f >> 8) & 3) << 10));
	set(I_FCW, fcw & FCW_COMPARED);
	__asm__ volatile("fninit\n\tfldcw %0" : : "m"(fcw));
	for (unsigned i = 0; i < 16; i++) {
		xmm_want[i].lo = seeded(x);
		xmm_want[i].hi = seeded(x);
	}
	set(I_XMM, 0);
	sse_load(xmm_want);
}

static void read_all(void)
{
	for (unsigned n = 0; n < 4; n++)
		got[I_DR0 + n] = read_dr(n);
	got[I_DR6] = read_dr(6) & DR6_WRITABLE;
	want[I_DR6] &= DR6_WRITABLE;
	got[I_DR7] = read_dr(7);
	got[I_CR8] = read_cr8();
	got[I_PAT] = rdmsr(MSR_PAT);
	if (used[I_TSC_AUX])
		got[I_TSC_AUX] = rdmsr(MSR_TSC_AUX);
	if (used[I_RDTSCP]) {
		uint32_t lo, hi, aux;
		__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
		got[I_RDTSCP] = aux;
	}
	if (used[I_RDPID]) {
		uint64_t id;
		__asm__ volatile("rdpid %0" : "=r"(id));
		got[I_RDPID] = id;
	}
	if (used[I_PKRU])
		got[I_PKRU] = rdpkru();
	for (unsigned i = 0; i < MSR_ITEMS; i++)
		got[msr_items[i].item] = rdmsr(msr_items[i].msr);
	if (used[I_MTRR_DEF])
		got[I_MTRR_DEF] = rdmsr(MSR_MTRR_DEF);
	uint16_t fcw;
	__asm__ volatile("fnstcw %0" : "=m"(fcw));
	got[I_FCW] = fcw & FCW_COMPARED;
	sse_store(xmm_got);
	for (unsigned i = 0; i < 16; i++)
		if (xmm_got[i].lo != xmm_want[i].lo || xmm_got[i].hi != xmm_want[i].hi)
			got[I_XMM] |= 1ull << i; /* which registers changed */
}

static void restore(uint64_t cr4, uint64_t mtrr_def)
{
	for (unsigned n = 0; n < 4; n++)
		write_dr(n, 0);
	write_dr(7, DR7_FIXED);
	write_dr(6, DR6_FIXED);
	write_cr8(0);
	wrmsr(MSR_PAT, PAT_DEFAULT);
	if (used[I_MTRR_DEF])
		wrmsr(MSR_MTRR_DEF, mtrr_def);
	if (used[I_PKRU]) {
		__asm__ volatile("wrpkru" : : "a"(0), "c"(0), "d"(0));
		write_cr4(cr4);
	}
	for (unsigned i = 0; i < MSR_ITEMS; i++)
		wrmsr(msr_items[i].msr, 0);
	__asm__ volatile("fninit");
}

void attack_state(void)
{
	uint64_t x = opt.seed + 1, cr4 = read_cr4();
	uint64_t mtrr_def = has(F_MTRR) ? rdmsr(MSR_MTRR_DEF) : 0;

	/* The TSC first: WRMSR sets it, RDTSC continues from there. */
	uint64_t tsc = ((opt.seed & 0xff) + 1) << 44;
	wrmsr(MSR_TSC, tsc);
	uint64_t now = rdtsc64();
	bool tsc_ok = now >= tsc && now - tsc < TSC_FAR;
	/* QEMU's TCG ignores WRMSR to the TSC. */
	if (tsc_ok || !skipped_if_lenient(A, "TSC after WRMSR TSC is at or just above the value written",
					  EMU_QEMU))
		check_true(A, "TSC after WRMSR TSC is at or just above the value written", tsc_ok,
			   "RDTSC out of range");

	load_all(&x, cr4, mtrr_def);
	/* Each read exits to the hypervisor, which runs the other VMs meanwhile. */
	for (unsigned i = 0; i < PORT_READS; i++)
		(void)inb(COM1_LSR);
	now = rdtsc64();
	read_all();
	restore(cr4, mtrr_def);

	for (unsigned i = 0; i < I_COUNT; i++) {
		char what[80];

		if (i == I_TSC) {
			static const char what_tsc[] =
				"TSC still counts from the value written, across 400 port reads";
			tsc_ok = now >= tsc && now - tsc < TSC_FAR;
			if (tsc_ok || !skipped_if_lenient(A, what_tsc, EMU_QEMU))
				check_true(A, what_tsc, tsc_ok, "RDTSC out of range");
			continue;
		}
		ksnprintf(what, sizeof(what), "%s intact across 400 port reads", item_names[i]);
		if (!used[i]) {
			skipped(A, what, "CPUID does not show it");
			continue;
		}
		check_value(A, what, got[i], want[i]);
	}
}
