/* stringio.c: attack stringio: INS and OUTS, with and without REP, on a port with no device, as SDM vol. 2B (INS, OUTS, REP) prescribes in 64-bit mode. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

static const char A[] = "stringio";

/* No device answers here on QEMU's or Bochs' PC, nor in our VMs: every read
 * is all ones and writes are dropped.  (Not 0x2e0-0x2ef: Bochs' catch-all
 * for unclaimed ports reads 0 there, iodev/unmapped.cc.) */
#define PORT        ((uint16_t)0x2d0)
#define BUF_SIZE    128
#define BIG_COUNT   20000
#define FAULT_PAGE  11                 /* window page left not present */
#define FAULT_FRAME 3                  /* window_frames[] behind FAULT_PAGE - 1 */
#define HIGH_JUNK   0xa5a5a5a500000000ull /* non-canonical if used as an address */
#define PF_W        (1ull << 1)        /* #PF error code: P=0, W/R=1 (write), U/S=0 (SDM 3A 4.7) */

/* The registers a string instruction steps, before and after it. */
struct string_regs {
	uint64_t rdi, rsi, rcx;
};
_Static_assert(__builtin_offsetof(struct string_regs, rdi) == 0 &&
	       __builtin_offsetof(struct string_regs, rsi) == 8 &&
	       __builtin_offsetof(struct string_regs, rcx) == 16,
	       "stringio_probe stores the registers at these offsets");

/* probe(fn, r), and when fn raised an exception, r gets RDI, RSI and RCX as
 * the faulting instruction left them: trap.asm's way back through
 * probe_return touches only RAX and the registers probe() restores.  CLD
 * after, as a fault inside "std; ...; cld" leaves DF set. */
int stringio_probe(void (*fn)(void *), struct string_regs *r);
__asm__(".pushsection .text\n"
	".type stringio_probe, @function\n"
	"stringio_probe:\n\t"
	"push %rbx\n\t"
	"mov %rsi, %rbx\n\t"
	"call probe\n\t"
	"cld\n\t"
	"test %eax, %eax\n\t"
	"js 1f\n\t"
	"mov %rdi, 0(%rbx)\n\t"
	"mov %rsi, 8(%rbx)\n\t"
	"mov %rcx, 16(%rbx)\n"
	"1:\tpop %rbx\n\t"
	"ret\n\t"
	".size stringio_probe, . - stringio_probe\n"
	".popsection");

/* One string instruction on PORT with RDI, RSI and RCX loaded from and
 * stored back to *arg; "memory": it reads or writes memory behind the
 * compiler's back. */
#define STRING_OP(name, insn)                                                      \
	static void name(void *arg)                                                \
	{                                                                          \
		struct string_regs *r = arg;                                       \
		__asm__ volatile(insn : "+D"(r->rdi), "+S"(r->rsi), "+c"(r->rcx)   \
				 : "d"(PORT) : "memory");                           \
	}

STRING_OP(rep_insb, "rep insb (%%dx), %%es:(%%rdi)")
STRING_OP(rep_insw, "rep insw (%%dx), %%es:(%%rdi)")
STRING_OP(rep_insd_addr32, "rep insl (%%dx), %%es:(%%edi)") /* 0x67: EDI, ECX */
STRING_OP(rep_insb_down, "std\n\trep insb (%%dx), %%es:(%%rdi)\n\tcld")
STRING_OP(rep_outsb, "rep outsb (%%rsi), (%%dx)")
STRING_OP(rep_outsw, "rep outsw (%%rsi), (%%dx)")
STRING_OP(rep_outsd, "rep outsl (%%rsi), (%%dx)")
STRING_OP(rep_outsb_fs, "rep outsb %%fs:(%%rsi), (%%dx)")
STRING_OP(insb, "insb (%%dx), %%es:(%%rdi)")
STRING_OP(outsb, "outsb (%%rsi), (%%dx)")

static uint8_t buf[BUF_SIZE] __attribute__((aligned(64)));
static uint8_t big[BIG_COUNT + 1];

/* What one check found wrong, as "RDI 0x... want 0x..., ...". */
struct findings {
	char text[240];
};

static void expect(struct findings *f, const char *name, uint64_t got, uint64_t want)
{
	size_t len = strlen(f->text);

	if (got != want)
		ksnprintf(f->text + len, sizeof(f->text) - len, "%s%s 0x%llx want 0x%llx",
			  len ? ", " : "", name, (unsigned long long)got, (unsigned long long)want);
}

static void expect_vector(struct findings *f, int got, int want)
{
	size_t len = strlen(f->text);
	char g[16], w[16];

	if (got != want)
		ksnprintf(f->text + len, sizeof(f->text) - len, "%s%s want %s", len ? ", " : "",
			  vector_name(got, g), vector_name(want, w));
}

static void verdict(const char *what, const struct findings *f)
{
	check_true(A, what, !f->text[0], f->text);
}

static uint64_t bytes_not(const uint8_t *p, size_t n, uint8_t value)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += p[i] != value;
	return count;
}

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* The baseline: IN itself reads all ones here, so INS must store all ones. */
static void port_reads_ones(void)
{
	struct findings f = { "" };
	uint32_t d;
	uint16_t w;
	uint8_t b;
	char what[80];

	__asm__ volatile("inb %%dx, %%al" : "=a"(b) : "d"(PORT));
	__asm__ volatile("inw %%dx, %%ax" : "=a"(w) : "d"(PORT));
	__asm__ volatile("inl %%dx, %%eax" : "=a"(d) : "d"(PORT));
	expect(&f, "byte", b, 0xff);
	expect(&f, "word", w, 0xffff);
	expect(&f, "dword", d, 0xffffffff);
	ksnprintf(what, sizeof(what), "port %#x: IN of a byte, word, dword reads all ones",
		  PORT);
	verdict(what, &f);
}

/* REP INS of bytes bytes in units of size: buf[0..bytes) all ones, RDI past them, RCX 0. */
static void rep_ins_up(const char *what, void (*fn)(void *), unsigned size, unsigned bytes)
{
	struct findings f = { "" };
	struct string_regs r = { .rdi = addr(buf), .rcx = bytes / size };

	memset(buf, 0, sizeof(buf));
	expect_vector(&f, stringio_probe(fn, &r), VEC_NONE);
	expect(&f, "bytes not 0xff", bytes_not(buf, bytes, 0xff), 0);
	expect(&f, "RDI", r.rdi, addr(buf) + bytes);
	expect(&f, "RCX", r.rcx, 0);
	expect(&f, "the byte after", buf[bytes], 0);
	verdict(what, &f);
}

/* With the 0x67 prefix the count is ECX and the pointer EDI, written back
 * as 32-bit registers are: zero-extended (SDM 2B INS; vol. 1, 3.4.1.1).  Junk
 * above bit 31 of RDI would make a non-canonical address if it were used. */
static void rep_insd_32bit_addressing(void)
{
	struct findings f = { "" };
	struct string_regs r = { .rdi = HIGH_JUNK | addr(buf), .rcx = 8 };

	memset(buf, 0, sizeof(buf));
	expect_vector(&f, stringio_probe(rep_insd_addr32, &r), VEC_NONE);
	expect(&f, "bytes not 0xff", bytes_not(buf, 32, 0xff), 0);
	expect(&f, "RDI", r.rdi, addr(buf) + 32);
	expect(&f, "RCX", r.rcx, 0);
	expect(&f, "the byte after", buf[32], 0);
	verdict("REP INSD, RCX = 8, 0x67, RDI[63:32] set: all 0xff, RDI = EDI + 32, RCX 0", &f);
}

/* DF=1: each byte goes to RDI, then RDI decrements. */
static void rep_insb_df(void)
{
	struct findings f = { "" };
	uint8_t *start = buf + 95;
	struct string_regs r = { .rdi = addr(start), .rcx = 64 };

	memset(buf, 0, sizeof(buf));
	expect_vector(&f, stringio_probe(rep_insb_down, &r), VEC_NONE);
	expect(&f, "bytes not 0xff", bytes_not(start - 63, 64, 0xff), 0);
	expect(&f, "RDI", r.rdi, addr(start) - 64);
	expect(&f, "RCX", r.rcx, 0);
	expect(&f, "the byte below", start[-64], 0);
	expect(&f, "the byte above", start[1], 0);
	verdict("REP INSB, RCX = 64, DF=1: 0xff down from RDI, RDI -64, RCX 0, neighbours kept", &f);
}

static void rep_outs(const char *what, void (*fn)(void *), unsigned size, unsigned bytes)
{
	struct findings f = { "" };
	struct string_regs r = { .rsi = addr(buf), .rcx = bytes / size };

	expect_vector(&f, stringio_probe(fn, &r), VEC_NONE);
	expect(&f, "RSI", r.rsi, addr(buf) + bytes);
	expect(&f, "RCX", r.rcx, 0);
	verdict(what, &f);
}

/* DS:RSI alone is the page not present: only FS.base + RSI reaches buf. */
static void rep_outsb_fs_override(void)
{
	struct findings f = { "" };
	uint64_t missing = window_addr(FAULT_PAGE), old = rdmsr(MSR_FS_BASE);
	struct string_regs r = { .rsi = missing, .rcx = 16 };

	wrmsr(MSR_FS_BASE, addr(buf) - missing); /* canonical: buf < missing < 2^47 */
	int v = stringio_probe(rep_outsb_fs, &r);
	wrmsr(MSR_FS_BASE, old);
	expect_vector(&f, v, VEC_NONE);
	expect(&f, "RSI", r.rsi, missing + 16);
	expect(&f, "RCX", r.rcx, 0);
	verdict("REP OUTSB, RCX = 16, FS:RSI, RSI alone not mapped: no fault, RSI +16, RCX 0", &f);
}

static void rep_count_zero(void)
{
	struct findings f = { "" };
	struct string_regs r = { .rdi = addr(buf), .rcx = 0 };

	memset(buf, 0, sizeof(buf));
	expect_vector(&f, stringio_probe(rep_insb, &r), VEC_NONE);
	expect(&f, "bytes written", bytes_not(buf, sizeof(buf), 0), 0);
	expect(&f, "RDI", r.rdi, addr(buf));
	expect(&f, "RCX", r.rcx, 0);
	verdict("REP INSB, RCX = 0: nothing written, RDI unchanged", &f);
}

/* Without REP, RCX is no operand: it stays as it was. */
static void single(void)
{
	struct findings f = { "" };
	struct string_regs r = { .rdi = addr(buf), .rcx = 0x5a };

	memset(buf, 0, sizeof(buf));
	expect_vector(&f, stringio_probe(insb, &r), VEC_NONE);
	expect(&f, "the byte", buf[0], 0xff);
	expect(&f, "the byte after", buf[1], 0);
	expect(&f, "RDI", r.rdi, addr(buf) + 1);
	expect(&f, "RCX", r.rcx, 0x5a);
	verdict("INSB, no REP: one byte 0xff, RDI +1, RCX unchanged", &f);

	struct findings g = { "" };
	r = (struct string_regs){ .rsi = addr(buf), .rcx = 0x5a };
	expect_vector(&g, stringio_probe(outsb, &r), VEC_NONE);
	expect(&g, "RSI", r.rsi, addr(buf) + 1);
	expect(&g, "RCX", r.rcx, 0x5a);
	verdict("OUTSB, no REP: no fault, RSI +1, RCX unchanged", &g);
}

/* Each iteration is atomic and REP is interruptible (SDM 2B REP): a #PF on
 * the 17th leaves the first 16 done, RCX and RDI/RSI at the 17th. */
static void page_fault_partway(void)
{
	uint64_t missing = window_addr(FAULT_PAGE);
	uint8_t *before = window_frames[FAULT_FRAME] + 4096 - 16;

	window_map(FAULT_PAGE - 1, addr(window_frames[FAULT_FRAME]), PTE_P | PTE_W);
	window_map(FAULT_PAGE, 0, 0);
	memset(window_frames[FAULT_FRAME], 0, 4096);

	struct findings f = { "" };
	struct string_regs r = { .rdi = missing - 16, .rcx = 32 };
	int v = stringio_probe(rep_insb, &r);
	expect_vector(&f, v, VEC_PF);
	if (v == VEC_PF) {
		expect(&f, "error code", trap_last.error, PF_W);
		expect(&f, "CR2", trap_last.cr2, missing);
	}
	expect(&f, "RCX", r.rcx, 16);
	expect(&f, "RDI", r.rdi, missing);
	expect(&f, "bytes before it not 0xff", bytes_not(before, 16, 0xff), 0);
	verdict("REP INSB, RCX = 32, into a page not present after 16: #PF(W), CR2, RCX 16, "
		"RDI, 16 written", &f);

	struct findings g = { "" };
	r = (struct string_regs){ .rsi = missing - 16, .rcx = 32 };
	v = stringio_probe(rep_outsb, &r);
	expect_vector(&g, v, VEC_PF);
	if (v == VEC_PF) {
		expect(&g, "error code", trap_last.error, 0);
		expect(&g, "CR2", trap_last.cr2, missing);
	}
	expect(&g, "RCX", r.rcx, 16);
	expect(&g, "RSI", r.rsi, missing);
	verdict("REP OUTSB, RCX = 32, from a page not present after 16: #PF(0), CR2, RCX 16, RSI",
		&g);

	window_map(FAULT_PAGE - 1, 0, 0);
}

/* More than one exit's worth for a hypervisor that splits the work. */
static void rep_insb_large(void)
{
	struct findings f = { "" };
	struct string_regs r = { .rdi = addr(big), .rcx = BIG_COUNT };

	memset(big, 0, sizeof(big));
	expect_vector(&f, stringio_probe(rep_insb, &r), VEC_NONE);
	expect(&f, "bytes not 0xff", bytes_not(big, BIG_COUNT, 0xff), 0);
	expect(&f, "RDI", r.rdi, addr(big) + BIG_COUNT);
	expect(&f, "RCX", r.rcx, 0);
	expect(&f, "the byte after", big[BIG_COUNT], 0);
	verdict("REP INSB, RCX = 20000: all 0xff, RDI +20000, RCX 0, next byte kept", &f);
}

void attack_stringio(void)
{
	window_map(FAULT_PAGE, 0, 0);
	port_reads_ones();
	rep_ins_up("REP INSB, RCX = 64: all 0xff, RDI +64, RCX 0, next byte kept",
		   rep_insb, 1, 64);
	rep_ins_up("REP INSW, RCX = 16: all 0xff, RDI +32, RCX 0, next byte kept",
		   rep_insw, 2, 32);
	rep_insd_32bit_addressing();
	rep_insb_df();
	rep_outs("REP OUTSB, RCX = 64: no fault, RSI +64, RCX 0", rep_outsb, 1, 64);
	rep_outs("REP OUTSW, RCX = 16: no fault, RSI +32, RCX 0", rep_outsw, 2, 32);
	rep_outs("REP OUTSD, RCX = 8: no fault, RSI +32, RCX 0", rep_outsd, 4, 32);
	rep_outsb_fs_override();
	rep_count_zero();
	single();
	page_fault_partway();
	rep_insb_large();
}
