/* access.c: the paging-stress guest's accesses under probe and the checks of what they did (built for the 32-bit and the long-mode part). */
#include "guests/pagestress/pagestress.h"
#include <stdarg.h>
#include "arch/x86/cpu.h"
#include "lib/string.h"

struct access {
	word_t addr, value;
};

static void do_read(void *p)
{
	struct access *a = p;
	a->value = *(volatile word_t *)a->addr;
}

static void do_write(void *p)
{
	struct access *a = p;
	*(volatile word_t *)a->addr = a->value;
}

static void do_fetch(void *p)
{
	struct access *a = p;
	((void (*)(void))a->addr)();
}

static struct outcome run(void (*fn)(void *), struct access *a)
{
	struct outcome o = { probe(fn, a), 0, 0, 0 };

	if (o.vector >= 0) {
		o.error = (word_t)trap_last.error;
		o.cr2 = (word_t)trap_last.cr2;
	} else {
		o.value = a->value;
	}
	return o;
}

struct outcome try_read(word_t addr)
{
	struct access a = { addr, 0 };
	return run(do_read, &a);
}

struct outcome try_write(word_t addr, word_t value)
{
	struct access a = { addr, value };
	return run(do_write, &a);
}

struct outcome try_fetch(word_t addr)
{
	struct access a = { addr, 0 };
	return run(do_fetch, &a);
}

void fill_code_page(uint8_t *page)
{
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		page[i] = 0xcc; /* INT3: a fetch that lands anywhere else says so */
	page[FETCH_RET] = 0xc3;
	page[FETCH_INT] = 0xcd;
	page[FETCH_INT + 1] = VEC_USER_DONE;
}

const char *describe(struct outcome o, char *buf, size_t size)
{
	char name[16];

	if (o.vector < 0)
		ksnprintf(buf, size, "completed (read 0x%llx)", (unsigned long long)o.value);
	else if (o.vector == VEC_PF)
		ksnprintf(buf, size, "#PF(0x%llx) at 0x%llx", (unsigned long long)o.error,
			  (unsigned long long)o.cr2);
	else
		ksnprintf(buf, size, "%s", vector_name(o.vector, name));
	return buf;
}

void expect_read(const char *phase, const char *what, struct outcome o, word_t want)
{
	char got[64], detail[128];

	ksnprintf(detail, sizeof(detail), "%s, want it to read 0x%llx", describe(o, got, sizeof(got)),
		  (unsigned long long)want);
	check_true(phase, what, o.vector < 0 && o.value == want, detail);
}

void expect_done(const char *phase, const char *what, struct outcome o)
{
	char got[64], detail[128];

	ksnprintf(detail, sizeof(detail), "%s, want it to complete", describe(o, got, sizeof(got)));
	check_true(phase, what, o.vector < 0, detail);
}

static bool qemu_rsvd_quirk;
static unsigned qemu_rsvd_seen;

void accept_qemu_quirks(bool accept)
{
	qemu_rsvd_quirk = accept;
}

void report_qemu_quirks(const char *phase)
{
	if (qemu_rsvd_seen)
		report("env: %s: %u reserved-bit #PFs had P clear (QEMU TCG's; accepted with harness=qemu)",
		       phase, qemu_rsvd_seen);
	qemu_rsvd_seen = 0;
}

void expect_pf(const char *phase, const char *what, struct outcome o, word_t addr,
	       word_t want_error)
{
	char got[64], detail[128];
	bool quirk = qemu_rsvd_quirk && (want_error & PF_RSVD) && o.error == (want_error & ~(word_t)PF_P);

	ksnprintf(detail, sizeof(detail), "%s, want #PF(0x%llx) at 0x%llx",
		  describe(o, got, sizeof(got)), (unsigned long long)want_error,
		  (unsigned long long)addr);
	bool ok = o.vector == VEC_PF && (o.error == want_error || quirk) && o.cr2 == addr;
	if (ok && o.error != want_error)
		qemu_rsvd_seen++;
	check_true(phase, what, ok, detail);
}

void expect_write(const char *phase, const char *what, struct outcome o,
		  const volatile word_t *frame_word, word_t value)
{
	char got[64], detail[160];

	ksnprintf(detail, sizeof(detail), "%s, the frame holds 0x%llx, want it to complete and 0x%llx",
		  describe(o, got, sizeof(got)), (unsigned long long)*frame_word,
		  (unsigned long long)value);
	check_true(phase, what, o.vector < 0 && *frame_word == value, detail);
}

void expect_ad(const char *phase, const char *what, const struct ad_want *want, unsigned n)
{
	char detail[192];
	size_t len = 0;
	bool ok = true;

	for (unsigned i = 0; i < n; i++) {
		bool a = (want[i].entry & PTE_A) != 0, d = (want[i].entry & PTE_D) != 0;

		ok = ok && a == want[i].a && d == want[i].d;
		if (len < sizeof(detail))
			len += (size_t)ksnprintf(detail + len, sizeof(detail) - len, "%s%s A=%d D=%d (want %d %d)",
						 i ? ", " : "", want[i].name, a, d, want[i].a, want[i].d);
	}
	check_true(phase, what, ok, detail);
}

static unsigned tally_errors;
static char tally_first[112];

void tally_error(struct outcome o, const char *fmt, ...)
{
	char got[64];
	va_list ap;

	if (tally_errors++)
		return;
	va_start(ap, fmt);
	kvsnprintf(tally_first, sizeof(tally_first), fmt, ap);
	va_end(ap);
	size_t len = strlen(tally_first);
	ksnprintf(tally_first + len, sizeof(tally_first) - len, ": %s", describe(o, got, sizeof(got)));
}

bool tally_read(struct outcome o, word_t want, const char *where, unsigned n)
{
	if (o.vector < 0 && o.value == want)
		return true;
	tally_error(o, "%s %u (want 0x%llx)", where, n, (unsigned long long)want);
	return false;
}

void tally_verdict(const char *phase, const char *what)
{
	char detail[144];

	ksnprintf(detail, sizeof(detail), "%u wrong, the first %s", tally_errors, tally_first);
	check_true(phase, what, tally_errors == 0, detail);
	tally_errors = 0;
}

void fill_frame(void *p, word_t salt)
{
	word_t *w = p;

	for (unsigned i = 0; i < PAGE_SIZE / sizeof(word_t); i++)
		w[i] = pattern((word_t)&w[i], salt);
}

unsigned frame_errors(const void *p, word_t salt)
{
	const volatile word_t *w = p;
	unsigned errors = 0;

	for (unsigned i = 0; i < PAGE_SIZE / sizeof(word_t); i++)
		errors += w[i] != pattern((word_t)&w[i], salt);
	return errors;
}

unsigned maxphyaddr(void)
{
	if (cpuid(0x80000000u, 0).eax < 0x80000008u)
		return 36;
	return cpuid(0x80000008u, 0).eax & 0xff;
}
