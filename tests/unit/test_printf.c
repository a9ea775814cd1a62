/* test_printf.c: unit tests of the freestanding formatter (lib/printf.c) against the host's snprintf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib/printf.h"

#define BUF 1024

/* Escapes s (n bytes) for a failure message. */
static const char *shown(const char *s, int n, char *out, size_t size)
{
	size_t o = 0;
	for (int i = 0; i < n && i < BUF - 1 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

static unsigned checks;

/* Formats with the host's vsnprintf and with kvsnprintf and fails on any difference. */
static void vcheck(const char *file, int line, const char *fmt, va_list ap)
{
	char want[BUF], got[BUF];
	va_list ap2;
	va_copy(ap2, ap);
	memset(got, 0x5a, sizeof(got));
	int nw = vsnprintf(want, sizeof(want), fmt, ap);
	int ng = kvsnprintf(got, sizeof(got), fmt, ap2);
	va_end(ap2);
	checks++;
	assert_true(nw >= 0 && nw < BUF);
	if (nw != ng || memcmp(want, got, (size_t)nw + 1) != 0) {
		char a[4 * BUF], b[4 * BUF];
		fail_msg("%s:%d: format \"%s\": host gives \"%s\" (%d), ksnprintf \"%s\" (%d)", file, line,
			 fmt, shown(want, nw, a, sizeof(a)), nw,
			 shown(got, ng < BUF ? ng : BUF - 1, b, sizeof(b)), ng);
	}
}

static void PRINTF_LIKE(3, 4) check_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vcheck(file, line, fmt, ap);
	va_end(ap);
}

/* For formats built at run time, which the compiler cannot check. */
static void check_dyn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vcheck(__FILE__, __LINE__, fmt, ap);
	va_end(ap);
}

#define CHECK(...) check_at(__FILE__, __LINE__, __VA_ARGS__)

/* Some checks use formats that are valid C but that -Wformat flags as redundant
 * ("%+ d", "%-05d", "%08.5d"), int arguments for %hhd/%hd (clang), or, on
 * purpose, formats that are wrong. */
#define ODD_FORMATS_BEGIN _Pragma("GCC diagnostic push") \
	_Pragma("GCC diagnostic ignored \"-Wformat\"") \
	_Pragma("GCC diagnostic ignored \"-Wformat-zero-length\"")
#define ODD_FORMATS_END _Pragma("GCC diagnostic pop")

static void plain_text_and_percent_match_host(void **state)
{
	(void)state;
	CHECK("%s", "");
	CHECK("hello, world");
	CHECK("%%");
	CHECK("100%% sure, %d%%", 5);
	CHECK("%s=%d %s=%x\n", "a", 1, "b", 0xbeef);
}

ODD_FORMATS_BEGIN
static void signed_conversions_match_host(void **state)
{
	(void)state;
	CHECK("%d %i", 0, 0);
	CHECK("%d %i %d", 42, -42, INT_MAX);
	CHECK("%d", INT_MIN);
	CHECK("%+d %+d %+d", 5, -5, 0);
	CHECK("% d % d % d", 5, -5, 0);
	CHECK("%+ d % +d", 5, 5);
	CHECK("%5d|%-5d|%05d|%-05d", -42, -42, -42, -42);
	CHECK("%.5d|%8.5d|%-8.5d|%08.5d", -42, -42, -42, -42);
	CHECK("%.0d|%5.0d|%+.0d|% .0d|%.d", 0, 0, 0, 0, 0);
	CHECK("%+08d|% 08d|%+-8d|", 42, 42, 42);
	CHECK("%1d|%2d", 123, 123);
}
ODD_FORMATS_END

static void unsigned_conversions_match_host(void **state)
{
	(void)state;
	CHECK("%u %o %x %X", 0u, 0u, 0u, 0u);
	CHECK("%u %o %x %X", UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX);
	CHECK("%#o %#x %#X", 8u, 0xabcu, 0xabcu);
	CHECK("%#o %#x %#X %#.0o %#.0x", 0u, 0u, 0u, 0u, 0u);
	CHECK("%#.3o|%#.5o|%#5o|%#05o", 8u, 8u, 8u, 8u);
	CHECK("%#10x|%#-10x|%#010x|%#.6x|%#10.6x", 0x1fu, 0x1fu, 0x1fu, 0x1fu, 0x1fu);
	CHECK("%08X|%-8X|%.8x|%8.3x", 0xabu, 0xabu, 0xabu, 0xabu);
	CHECK("%.0u|%.0x|%5.0o|", 0u, 0u, 0u);
	CHECK("%.3u|%.3x", 0u, 0u);
	CHECK("%#.3x", 0u);
}

ODD_FORMATS_BEGIN
static void length_modifiers_match_host(void **state)
{
	(void)state;
	CHECK("%hhd %hhd %hhu %hhx", 127, -128, 255, 0xff);
	CHECK("%hhd %hhu %hhx", 200, 300, 0x1ff);       /* converted to char first */
	CHECK("%hd %hd %hu %hx", 32767, -32768, 65535, 0xffff);
	CHECK("%hd %hu", 40000, 70000);
	CHECK("%ld %lu %lx", LONG_MIN, ULONG_MAX, ULONG_MAX);
	CHECK("%lld %lld %llu %llo %llX", LLONG_MIN, LLONG_MAX, ULLONG_MAX, ULLONG_MAX, ULLONG_MAX);
	CHECK("%zu %zx %zd", SIZE_MAX, (size_t)0x1234, (ptrdiff_t)-7);
	CHECK("%jd %jd %ju %jx", INTMAX_MIN, INTMAX_MAX, UINTMAX_MAX, UINTMAX_MAX);
	CHECK("%td %td %tx", PTRDIFF_MIN, PTRDIFF_MAX, (ptrdiff_t)0x7fff);
	CHECK("%+lld|% 25lld|%-25llx|%#025llo", 1LL, LLONG_MIN, 0xdeadbeefcafeULL, ULLONG_MAX);
}
ODD_FORMATS_END

static void chars_and_strings_match_host(void **state)
{
	(void)state;
	CHECK("%c%c%c", 'a', 'B', ' ');
	CHECK("%3c|%-3c|%1c", 'x', 'y', 'z');
	CHECK("[%c]", (char)0xe9);
	CHECK("[%c] [%3c] [%-3c]", 0, 0, 0);   /* a NUL char is output and counted */
	CHECK("%s|%10s|%-10s|%.2s|%10.2s|%-10.2s|%.0s|%.10s", "hello", "hello", "hello", "hello",
	      "hello", "hello", "hello", "hello");
	CHECK("%s|%5s|%.3s", "", "", "");
	CHECK("%1s|%4s", "hello", "hello");
}

static void pointers_match_host(void **state)
{
	(void)state;
	int x;
	CHECK("%p", (void *)&x);
	CHECK("%p %p", (void *)1, (void *)UINTPTR_MAX);
	CHECK("%30p|%-30p|", (void *)0xdeadbeef, (void *)0xdeadbeef);
}

static void null_pointer_prints_0x0_where_glibc_prints_nil(void **state)
{
	(void)state;
	char buf[16];
	assert_int_equal(ksnprintf(buf, sizeof(buf), "%p", NULL), 3);
	assert_string_equal(buf, "0x0");
}

ODD_FORMATS_BEGIN
static void star_width_and_precision_match_host(void **state)
{
	(void)state;
	static const int widths[] = { -12, -1, 0, 1, 7, 25 };
	static const int precs[] = { -5, -1, 0, 1, 3, 12 };
	for (unsigned i = 0; i < 6; i++) {
		CHECK("%*d|%*x|%*s|%*c", widths[i], -42, widths[i], 0x1fu, widths[i], "abc", widths[i], 'q');
		CHECK("%0*d|%-*d", widths[i], 42, widths[i], 42);
		for (unsigned j = 0; j < 6; j++) {
			CHECK("%*.*d|%*.*x|%*.*s", widths[i], precs[j], -42, widths[i], precs[j], 0x1fu,
			      widths[i], precs[j], "abcdef");
			CHECK("%.*d|%.*u|%#.*o|%.*s", precs[j], 0, precs[j], 0u, precs[j], 0u, precs[j], "xy");
			CHECK("%0*.*d", widths[i], precs[j], 7);
		}
	}
}
ODD_FORMATS_END

/* Values as bit patterns, converted to each length's argument type. */
static const uint64_t VALUES[] = {
	0, 1, 7, 42, 127, 128, 255, 256, 4095, 32767, 32768, 65535, 65536,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x123456789abcdef0ull,
	0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
	(uint64_t)-1000, (uint64_t)-42,
};

static void check_int(const char *fmt, const char *len, char conv, uint64_t v)
{
	int sgn = conv == 'd' || conv == 'i';
	if (!*len || !strcmp(len, "hh") || !strcmp(len, "h")) {
		if (sgn)
			check_dyn(fmt, (int)(uint32_t)v);
		else
			check_dyn(fmt, (unsigned)v);
	} else if (!strcmp(len, "l")) {
		if (sgn)
			check_dyn(fmt, (long)v);
		else
			check_dyn(fmt, (unsigned long)v);
	} else if (!strcmp(len, "ll")) {
		if (sgn)
			check_dyn(fmt, (long long)v);
		else
			check_dyn(fmt, (unsigned long long)v);
	} else if (!strcmp(len, "j")) {
		if (sgn)
			check_dyn(fmt, (intmax_t)v);
		else
			check_dyn(fmt, (uintmax_t)v);
	} else { /* z and t: size_t, ptrdiff_t and their counterparts */
		if (sgn)
			check_dyn(fmt, (ptrdiff_t)v);
		else
			check_dyn(fmt, (size_t)v);
	}
}

static void every_flag_width_precision_length_combination_matches_host(void **state)
{
	(void)state;
	static const char flagchars[] = "-+ #0";
	static const char *const widths[] = { "", "1", "6", "23" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".5", ".21" };
	static const char *const lens[] = { "", "hh", "h", "l", "ll", "z", "j", "t" };
	static const char convs[] = "diuoxX";

	checks = 0;
	for (unsigned f = 0; f < 32; f++) {
		char flags[8];
		size_t nf = 0;
		for (unsigned k = 0; k < 5; k++)
			if (f & (1u << k))
				flags[nf++] = flagchars[k];
		flags[nf] = 0;
		for (const char *c = convs; *c; c++) {
			/* C11 7.21.6.1p6: '#' is undefined for d, i and u. */
			if ((f & 8) && (*c == 'd' || *c == 'i' || *c == 'u'))
				continue;
			for (unsigned w = 0; w < 4; w++)
				for (unsigned p = 0; p < 6; p++)
					for (unsigned l = 0; l < 8; l++) {
						char fmt[64];
						snprintf(fmt, sizeof(fmt), "[%%%s%s%s%s%c]", flags, widths[w],
							 precs[p], lens[l], *c);
						for (unsigned v = 0; v < sizeof(VALUES) / sizeof(VALUES[0]); v++)
							check_int(fmt, lens[l], *c, VALUES[v]);
					}
		}
	}
	assert_true(checks > 100000);
}

static void string_and_char_combinations_match_host(void **state)
{
	(void)state;
	static const char *const flags[] = { "", "-" };
	static const char *const widths[] = { "", "1", "3", "12" };
	static const char *const precs[] = { "", ".", ".0", ".2", ".11" };
	static const char *const strs[] = { "", "a", "hello", "hello, world!" };
	static const int chars[] = { 'a', '%', ' ', 0, 0xff };
	for (unsigned f = 0; f < 2; f++)
		for (unsigned w = 0; w < 4; w++) {
			char fmt[32];
			for (unsigned p = 0; p < 5; p++) {
				snprintf(fmt, sizeof(fmt), "<%%%s%s%ss>", flags[f], widths[w], precs[p]);
				for (unsigned s = 0; s < 4; s++)
					check_dyn(fmt, strs[s]);
			}
			snprintf(fmt, sizeof(fmt), "<%%%s%sc>", flags[f], widths[w]);
			for (unsigned c = 0; c < 5; c++)
				check_dyn(fmt, chars[c]);
		}
}

static void long_output_matches_host(void **state)
{
	(void)state;
	CHECK("%300d|%-300s|%.300x", 1, "x", 0xffu);
}

/* Exactly sized heap buffers: a write past size trips ASan. */
static void truncation_returns_full_length_and_terminates(void **state)
{
	(void)state;
	static const char *const fmts[] = { "abc%d-%s", "%08x", "%c%c%c" };
	char full[64];
	for (unsigned f = 0; f < 3; f++) {
		int n = f == 0 ? snprintf(full, sizeof(full), fmts[0], 12345, "tail")
			: f == 1 ? snprintf(full, sizeof(full), fmts[1], 0xbeefu)
			: snprintf(full, sizeof(full), fmts[2], 'x', 'y', 'z');
		for (size_t size = 1; size <= (size_t)n + 2; size++) {
			char *buf = malloc(size);
			memset(buf, '#', size);
			int r = f == 0 ? ksnprintf(buf, size, fmts[0], 12345, "tail")
				: f == 1 ? ksnprintf(buf, size, fmts[1], 0xbeefu)
				: ksnprintf(buf, size, fmts[2], 'x', 'y', 'z');
			assert_int_equal(r, n);
			size_t kept = size - 1 < (size_t)n ? size - 1 : (size_t)n;
			assert_memory_equal(buf, full, kept);
			assert_int_equal(buf[kept], 0);
			free(buf);
		}
	}
}

ODD_FORMATS_BEGIN
static void size_zero_writes_nothing_and_returns_full_length(void **state)
{
	(void)state;
	char c = '#';
	assert_int_equal(ksnprintf(&c, 0, "abc%d", 12345), 8);
	assert_int_equal(c, '#');
	assert_int_equal(ksnprintf(NULL, 0, "%s and %s", "this", "that"), 13);
	assert_int_equal(ksnprintf(NULL, 0, ""), 0);
}
ODD_FORMATS_END

ODD_FORMATS_BEGIN
static void unknown_conversion_is_printed_verbatim(void **state)
{
	(void)state;
	char buf[32];
	assert_int_equal(ksnprintf(buf, sizeof(buf), "a%yb"), 4);
	assert_string_equal(buf, "a%yb");
	assert_int_equal(ksnprintf(buf, sizeof(buf), "a%-5lyb"), 7);
	assert_string_equal(buf, "a%-5lyb");
	assert_int_equal(ksnprintf(buf, sizeof(buf), "end%"), 4);
	assert_string_equal(buf, "end%");
}
ODD_FORMATS_END

static void count_sink(void *ctx, char c)
{
	(void)c;
	++*(int *)ctx;
}

static int vformat_count(const char *fmt, ...)
{
	int n = 0;
	va_list ap;
	va_start(ap, fmt);
	int r = fmt_vformat(count_sink, &n, fmt, ap);
	va_end(ap);
	assert_int_equal(r, n);
	return n;
}

static void fmt_vformat_calls_the_sink_once_per_character(void **state)
{
	(void)state;
	assert_int_equal(vformat_count("%s%5d%c", "abc", 1, 0), 9);
	assert_int_equal(vformat_count(""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_text_and_percent_match_host),
		cmocka_unit_test(signed_conversions_match_host),
		cmocka_unit_test(unsigned_conversions_match_host),
		cmocka_unit_test(length_modifiers_match_host),
		cmocka_unit_test(chars_and_strings_match_host),
		cmocka_unit_test(pointers_match_host),
		cmocka_unit_test(null_pointer_prints_0x0_where_glibc_prints_nil),
		cmocka_unit_test(star_width_and_precision_match_host),
		cmocka_unit_test(every_flag_width_precision_length_combination_matches_host),
		cmocka_unit_test(string_and_char_combinations_match_host),
		cmocka_unit_test(long_output_matches_host),
		cmocka_unit_test(truncation_returns_full_length_and_terminates),
		cmocka_unit_test(size_zero_writes_nothing_and_returns_full_length),
		cmocka_unit_test(unknown_conversion_is_printed_verbatim),
		cmocka_unit_test(fmt_vformat_calls_the_sink_once_per_character),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
