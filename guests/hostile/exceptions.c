/* exceptions.c: attack exceptions: INT n reaches gate n for every vector, and the CPU raises each exception with its vector and error code. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

static const char A[] = "exceptions";

#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_ZM      (1u << 9)  /* divide-by-zero masked */
#define FCW_DEFAULT   0x037fu
#define FCW_ZM        (1u << 2)
#define BAD_SELECTOR  0x1238     /* far beyond entry.asm's three-entry GDT */
#define NONCANONICAL  0x8000000000000000ull

/* INT n, encoded as CD nn (an assembler turns "int $3" into INT3), then RET. */
static uint8_t int_code[256][3] __attribute__((aligned(16)));

static void do_int_n(void *p)
{
	((void (*)(void))p)();
}

static uint32_t zero; /* volatile divisors are read from memory */
static float fzero;
static const float fone = 1.0f;

PROBE_ASM(do_divide, "divl %0" : : "m"(zero), "a"(1), "d"(0) : "cc")
PROBE_ASM(do_single_step,
	  "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tnop\n\tnop\n\t"
	  "pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq" ::: "cc", "memory")
PROBE_ASM(do_icebp, ".byte 0xf1" ::: "memory")
PROBE_ASM(do_int3, "int3" ::: "memory")
PROBE_ASM(do_ud2, "ud2" ::: "memory")
PROBE_ASM(do_sse_op, "addps %%xmm0, %%xmm0" ::: "memory")
PROBE_ASM(do_bad_selector, "mov %0, %%ds" : : "r"(BAD_SELECTOR) : "memory")
PROBE_ASM(do_noncanonical, "movq (%0), %%rax" : : "r"(NONCANONICAL) : "rax", "memory")
PROBE_ASM(do_divss_zero, "movss %0, %%xmm0\n\tdivss %1, %%xmm0" : : "m"(fone), "m"(fzero) : "memory")
PROBE_ASM(do_fdiv_zero, "fld1\n\tfldz\n\tfdivrp\n\tfwait" ::: "memory")

static void do_read(void *p)
{
	(void)*(volatile uint64_t *)p;
}

static void do_write(void *p)
{
	*(volatile uint64_t *)p = 1;
}

/* Every vector: the stub of gate n must be the one that records n. */
static void int_n_all(void)
{
	unsigned wrong = 0;

	for (unsigned n = 0; n < 256; n++) {
		int_code[n][0] = 0xcd;
		int_code[n][1] = (uint8_t)n;
		int_code[n][2] = 0xc3;
	}
	for (unsigned n = 0; n < 256; n++) {
		int v = probe(do_int_n, int_code[n]);
		if (v == (int)n)
			continue;
		if (wrong++ < 8) {
			char what[40], g[16];
			ksnprintf(what, sizeof(what), "INT 0x%02x reaches gate 0x%02x", n, n);
			report("%s: %s: FAIL %s want vector %u", A, what, vector_name(v, g), n);
		}
	}
	check_value(A, "INT n reaches gate n for n = 0-255 (vectors wrong)", wrong, 0);
}

void attack_exceptions(void)
{
	int_n_all();

	check_vector(A, "DIV by zero raises #DE", probe(do_divide, NULL), VEC_DE);

	__asm__ volatile("mov %0, %%dr6" : : "r"(0ull));
	int v = probe(do_single_step, NULL);
	check_vector(A, "single step (RFLAGS.TF) raises #DB", v, VEC_DB);
	if (v == VEC_DB)
		check_value(A, "single step sets DR6.BS", (trap_last.dr6 >> 14) & 1, 1);
	/* QEMU's TCG decodes ICEBP only when built with WANT_ICEBP. */
	check_vector_lenient(A, "INT1 (ICEBP) raises #DB", probe(do_icebp, NULL), VEC_DB, EMU_QEMU);
	check_vector(A, "INT3 raises #BP", probe(do_int3, NULL), VEC_BP);
	check_vector(A, "UD2 raises #UD", probe(do_ud2, NULL), VEC_UD);

	write_cr0(read_cr0() | CR0_TS);
	v = probe(do_sse_op, NULL);
	__asm__ volatile("clts");
	check_vector(A, "an SSE instruction with CR0.TS set raises #NM", v, VEC_NM);

	v = probe(do_bad_selector, NULL);
	check_fault(A, "MOV DS beyond the GDT limit raises #GP(selector)", v, trap_last.error, VEC_GP,
		    BAD_SELECTOR);
	v = probe(do_noncanonical, NULL);
	check_fault(A, "a non-canonical load raises #GP(0)", v, trap_last.error, VEC_GP, 0);

	/* #PF: a page not present (read), and a read-only page (write, CR0.WP). */
	write_cr0(read_cr0() | CR0_WP);
	window_map(0, 0, 0);
	window_map(1, (uint64_t)(uintptr_t)window_frames[0], PTE_P);
	v = probe(do_read, (void *)(uintptr_t)(window_addr(0) + 8));
	check_fault(A, "a read of a page not present raises #PF(0)", v, trap_last.error, VEC_PF, 0);
	if (v == VEC_PF)
		check_value(A, "the #PF for a read leaves CR2 at the address", trap_last.cr2,
			    window_addr(0) + 8);
	v = probe(do_write, (void *)(uintptr_t)(window_addr(1) + 16));
	check_fault(A, "a write to a read-only page raises #PF(P|W)", v, trap_last.error, VEC_PF, 3);
	if (v == VEC_PF)
		check_value(A, "the #PF for a write leaves CR2 at the address", trap_last.cr2,
			    window_addr(1) + 16);
	window_map(1, 0, 0);

	/* #XM: an unmasked SSE exception with CR4.OSXMMEXCPT set. */
	uint32_t mxcsr = MXCSR_DEFAULT & ~MXCSR_ZM;
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	v = probe(do_divss_zero, NULL);
	mxcsr = MXCSR_DEFAULT;
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	/* QEMU's TCG does not raise SIMD floating-point exceptions. */
	check_vector_lenient(A, "an unmasked SSE divide by zero raises #XM", v, VEC_XM, EMU_QEMU);

	/* #MF: an unmasked x87 exception with CR0.NE set, taken at the next FWAIT. */
	write_cr0(read_cr0() | CR0_NE);
	uint16_t fcw = FCW_DEFAULT & ~FCW_ZM;
	__asm__ volatile("fninit\n\tfldcw %0" : : "m"(fcw));
	v = probe(do_fdiv_zero, NULL);
	__asm__ volatile("fnclex\n\tfninit");
	check_vector(A, "an unmasked x87 divide by zero raises #MF", v, VEC_MF);
}
