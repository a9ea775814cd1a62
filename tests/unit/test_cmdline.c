/* test_cmdline.c: unit tests of command-line splitting and option value parsing (lib/cmdline.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib/cmdline.h"

static const char *const LINE =
	"console=com1 loglevel=debug selftest=fault mem=64M cmdline=\"console=ttyS0 quiet\" large=off";

static void get_returns_plain_values(void **state)
{
	(void)state;
	char v[64];
	assert_int_equal(cmdline_get(LINE, "console", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "com1");
	assert_int_equal(cmdline_get(LINE, "loglevel", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "debug");
	assert_int_equal(cmdline_get(LINE, "mem", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "64M");
	assert_int_equal(cmdline_get(LINE, "large", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "off");
}

static void get_removes_quotes_and_keeps_blanks_inside_them(void **state)
{
	(void)state;
	char v[64];
	assert_int_equal(cmdline_get(LINE, "cmdline", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "console=ttyS0 quiet");
	/* A quoted word does not leak its contents as options of their own. */
	assert_false(cmdline_has(LINE, "quiet"));
	assert_int_equal(cmdline_get(LINE, "console", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "com1");
	assert_int_equal(cmdline_get("a=\"\" b=\"\tx\ty \"", "a", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "");
	assert_int_equal(cmdline_get("a=\"\" b=\"\tx\ty \"", "b", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "\tx\ty ");
}

static void get_ends_a_quoted_word_at_its_closing_quote(void **state)
{
	(void)state;
	char v[16];
	assert_int_equal(cmdline_get("a=\"x y\"b=2", "a", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "x y");
	assert_int_equal(cmdline_get("a=\"x y\"b=2", "b", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "2");
}

static void get_treats_a_quote_inside_a_plain_value_as_a_character(void **state)
{
	(void)state;
	char v[16];
	assert_int_equal(cmdline_get("a=x\"y b", "a", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "x\"y");
	assert_true(cmdline_has("a=x\"y b", "b"));
}

static void get_accepts_words_quoted_whole_as_grub_rebuilds_them(void **state)
{
	(void)state;
	char v[64];
	const char *line = "vm=linux \"cmdline=console=ttyS0 quiet\" \"flag\" mem=64M";
	assert_int_equal(cmdline_get(line, "cmdline", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "console=ttyS0 quiet");
	assert_false(cmdline_has(line, "quiet"));
	assert_true(cmdline_has(line, "flag"));
	assert_int_equal(cmdline_get(line, "mem", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "64M");
	assert_false(cmdline_has("\"cmdline=never closed", "cmdline"));
}

static void get_returns_empty_value_for_flags_and_empty_assignments(void **state)
{
	(void)state;
	char v[8] = "junk";
	assert_int_equal(cmdline_get("quiet nosmp=", "quiet", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "");
	strcpy(v, "junk");
	assert_int_equal(cmdline_get("quiet nosmp=", "nosmp", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "");
}

static void get_takes_the_last_occurrence(void **state)
{
	(void)state;
	char v[16];
	assert_int_equal(cmdline_get("loglevel=info x loglevel=debug y", "loglevel", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "debug");
	assert_int_equal(cmdline_get("loglevel=info loglevel", "loglevel", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "");
}

static void get_reports_missing_keys_and_matches_whole_keys_only(void **state)
{
	(void)state;
	char v[16] = "keep";
	assert_int_equal(cmdline_get(LINE, "consol", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get(LINE, "console=com1", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get(LINE, "Console", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get(LINE, "", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get("", "console", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get("   \t ", "console", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get(NULL, "console", v, sizeof(v)), ERR_MISSING);
	assert_int_equal(cmdline_get(LINE, NULL, v, sizeof(v)), ERR_MISSING);
	assert_string_equal(v, "keep");
}

static void get_truncates_into_a_small_buffer_and_says_so(void **state)
{
	(void)state;
	char v[5];
	memset(v, 'x', sizeof(v));
	assert_int_equal(cmdline_get("k=abcdefgh", "k", v, sizeof(v)), ERR_INVAL);
	assert_string_equal(v, "abcd");
	assert_int_equal(cmdline_get("k=abcd", "k", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "abcd");
	assert_int_equal(cmdline_get("k=abcd", "k", v, 1), ERR_INVAL);
	assert_string_equal(v, "");
	assert_int_equal(cmdline_get("k=abcd", "k", NULL, 0), ERR_INVAL);
	/* Exactly sized heap buffer: an overrun would trip ASan. */
	char *h = malloc(3);
	assert_non_null(h);
	assert_int_equal(cmdline_get("k=\"x y z\"", "k", h, 3), ERR_INVAL);
	assert_string_equal(h, "x ");
	free(h);
}

static void words_are_separated_by_spaces_and_tabs(void **state)
{
	(void)state;
	char v[16];
	const char *l = "\t a=1\t\tb=2  c \t";
	assert_int_equal(cmdline_get(l, "a", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "1");
	assert_int_equal(cmdline_get(l, "b", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "2");
	assert_true(cmdline_has(l, "c"));
}

static void has_finds_flags_and_valued_keys(void **state)
{
	(void)state;
	assert_true(cmdline_has("quiet x=1", "quiet"));
	assert_true(cmdline_has("quiet x=1", "x"));
	assert_false(cmdline_has("quiet x=1", "1"));
	assert_false(cmdline_has("quiet x=1", "qui"));
	assert_false(cmdline_has("", "quiet"));
}

static void unterminated_quote_makes_the_word_invisible(void **state)
{
	(void)state;
	char v[32];
	assert_int_equal(cmdline_get("a=1 b=\"open ended c=3", "b", v, sizeof(v)), ERR_MISSING);
	assert_false(cmdline_has("a=1 b=\"open ended c=3", "c"));
	assert_int_equal(cmdline_get("b=ok b=\"open", "b", v, sizeof(v)), ERR_OK);
	assert_string_equal(v, "ok");
}

static void next_iterates_words_with_their_parts(void **state)
{
	(void)state;
	const char *p = " a=1 flag q=\"x y\" e= u=\"z";
	struct cmdline_word w;

	assert_true(cmdline_next(&p, &w));
	assert_int_equal(w.key_len, 1);
	assert_memory_equal(w.key, "a", 1);
	assert_true(w.has_value);
	assert_int_equal(w.value_len, 1);
	assert_memory_equal(w.value, "1", 1);
	assert_true(cmdline_next(&p, &w));
	assert_memory_equal(w.key, "flag", 4);
	assert_int_equal(w.key_len, 4);
	assert_false(w.has_value);
	assert_int_equal(w.value_len, 0);
	assert_true(cmdline_next(&p, &w));
	assert_int_equal(w.value_len, 3);
	assert_memory_equal(w.value, "x y", 3);
	assert_false(w.unterminated);
	assert_true(cmdline_next(&p, &w));
	assert_true(w.has_value);
	assert_int_equal(w.value_len, 0);
	assert_true(cmdline_next(&p, &w));
	assert_true(w.unterminated);
	assert_int_equal(w.value_len, 1);
	assert_false(cmdline_next(&p, &w));
	assert_false(cmdline_next(&p, &w));
}

static void parse_u64_takes_decimal_and_hex(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(cmdline_parse_u64("0", &v), ERR_OK);
	assert_int_equal(v, 0);
	assert_int_equal(cmdline_parse_u64("4096", &v), ERR_OK);
	assert_int_equal(v, 4096);
	assert_int_equal(cmdline_parse_u64("010", &v), ERR_OK);
	assert_int_equal(v, 10);
	assert_int_equal(cmdline_parse_u64("0x2e8", &v), ERR_OK);
	assert_int_equal(v, 0x2e8);
	assert_int_equal(cmdline_parse_u64("0XaBcD", &v), ERR_OK);
	assert_int_equal(v, 0xabcd);
	assert_int_equal(cmdline_parse_u64("18446744073709551615", &v), ERR_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cmdline_parse_u64("0xffffffffffffffff", &v), ERR_OK);
	assert_true(v == UINT64_MAX);
}

static void parse_u64_rejects_garbage_and_overflow(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "x", "0x", "0xg", "12a", "-1", "+1", " 1", "1 ", "1K", "0b101", "ab",
		"18446744073709551616", "99999999999999999999", "0x10000000000000000", NULL,
	};
	for (unsigned i = 0; bad[i]; i++) {
		uint64_t v = 12345;
		assert_int_equal(cmdline_parse_u64(bad[i], &v), ERR_INVAL);
		assert_int_equal(v, 12345); /* untouched on failure */
	}
	uint64_t v;
	assert_int_equal(cmdline_parse_u64(NULL, &v), ERR_INVAL);
}

static void parse_size_applies_binary_suffixes_in_either_case(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(cmdline_parse_size("64M", &v), ERR_OK);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(cmdline_parse_size("64m", &v), ERR_OK);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(cmdline_parse_size("1g", &v), ERR_OK);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(cmdline_parse_size("4k", &v), ERR_OK);
	assert_int_equal(v, 4096);
	assert_int_equal(cmdline_parse_size("4096", &v), ERR_OK);
	assert_int_equal(v, 4096);
	assert_int_equal(cmdline_parse_size("0x100000", &v), ERR_OK);
	assert_int_equal(v, 0x100000);
	assert_int_equal(cmdline_parse_size("0x10M", &v), ERR_OK);
	assert_int_equal(v, 16ull << 20);
	assert_int_equal(cmdline_parse_size("0K", &v), ERR_OK);
	assert_int_equal(v, 0);
	assert_int_equal(cmdline_parse_size("17179869183G", &v), ERR_OK); /* 2^64 - 2^30 */
	assert_true(v == UINT64_MAX - (1ull << 30) + 1);
}

static void parse_size_rejects_garbage_and_overflow(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "M", "64MB", "64MiB", "64T", "64 M", "1.5G", "-1M", "0x", "0xM",
		"17179869184G", "18446744073709551616", "18014398509481984K", NULL,
	};
	for (unsigned i = 0; bad[i]; i++) {
		uint64_t v = 7;
		assert_int_equal(cmdline_parse_size(bad[i], &v), ERR_INVAL);
		assert_int_equal(v, 7);
	}
}

static void parse_choice_maps_listed_words_to_their_index(void **state)
{
	(void)state;
	static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
	unsigned i = 99;
	assert_int_equal(cmdline_parse_choice("error", levels, &i), ERR_OK);
	assert_int_equal(i, 0);
	assert_int_equal(cmdline_parse_choice("debug", levels, &i), ERR_OK);
	assert_int_equal(i, 3);
	i = 99;
	assert_int_equal(cmdline_parse_choice("inf", levels, &i), ERR_INVAL);
	assert_int_equal(cmdline_parse_choice("infos", levels, &i), ERR_INVAL);
	assert_int_equal(cmdline_parse_choice("INFO", levels, &i), ERR_INVAL);
	assert_int_equal(cmdline_parse_choice("", levels, &i), ERR_INVAL);
	assert_int_equal(cmdline_parse_choice(NULL, levels, &i), ERR_INVAL);
	assert_int_equal(i, 99);
	static const char *const none[] = { NULL };
	assert_int_equal(cmdline_parse_choice("info", none, &i), ERR_INVAL);
}

struct reports {
	unsigned n;
	char msg[8][96];
};

static void collect(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	assert_true(r->n < 8);
	snprintf(r->msg[r->n++], sizeof(r->msg[0]), "%s", msg);
}

static const char *const KNOWN[] = { "console", "loglevel", "harness", "selftest", NULL };

static void check_keys_names_each_unknown_key(void **state)
{
	(void)state;
	struct reports r = { 0 };
	unsigned n = cmdline_check_keys("consle=com1 loglevel=info quiet harness=qemu mem=\"1 G\"",
					KNOWN, collect, &r);
	assert_int_equal(n, 3);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.msg[0], "consle");
	assert_string_equal(r.msg[1], "quiet");
	assert_string_equal(r.msg[2], "mem");
}

static void check_keys_is_silent_when_every_key_is_known(void **state)
{
	(void)state;
	struct reports r = { 0 };
	assert_int_equal(cmdline_check_keys(LINE, (const char *const[]){ "console", "loglevel",
		"selftest", "mem", "cmdline", "large", NULL }, collect, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(cmdline_check_keys("", KNOWN, collect, &r), 0);
	assert_int_equal(cmdline_check_keys(NULL, KNOWN, collect, &r), 0);
	assert_int_equal(r.n, 0);
}

static void check_keys_reports_an_unterminated_quote(void **state)
{
	(void)state;
	struct reports r = { 0 };
	assert_int_equal(cmdline_check_keys("console=\"com1 loglevel=info", KNOWN, collect, &r), 1);
	assert_string_equal(r.msg[0], "console (unterminated quote)");
}

static void check_keys_names_words_with_an_empty_key_and_shortens_long_keys(void **state)
{
	(void)state;
	struct reports r = { 0 };
	char line[200];
	memset(line, 'k', 150);
	strcpy(line + 150, "=1 =oops");
	assert_int_equal(cmdline_check_keys(line, KNOWN, collect, &r), 2);
	assert_int_equal(strlen(r.msg[0]), 64);
	assert_string_equal(r.msg[1], "=oops");
	/* A NULL report callback still counts. */
	assert_int_equal(cmdline_check_keys("a b", KNOWN, NULL, NULL), 2);
	/* A NULL known list knows nothing. */
	assert_int_equal(cmdline_check_keys("a b c", NULL, NULL, NULL), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_returns_plain_values),
		cmocka_unit_test(get_removes_quotes_and_keeps_blanks_inside_them),
		cmocka_unit_test(get_ends_a_quoted_word_at_its_closing_quote),
		cmocka_unit_test(get_treats_a_quote_inside_a_plain_value_as_a_character),
		cmocka_unit_test(get_accepts_words_quoted_whole_as_grub_rebuilds_them),
		cmocka_unit_test(get_returns_empty_value_for_flags_and_empty_assignments),
		cmocka_unit_test(get_takes_the_last_occurrence),
		cmocka_unit_test(get_reports_missing_keys_and_matches_whole_keys_only),
		cmocka_unit_test(get_truncates_into_a_small_buffer_and_says_so),
		cmocka_unit_test(words_are_separated_by_spaces_and_tabs),
		cmocka_unit_test(has_finds_flags_and_valued_keys),
		cmocka_unit_test(unterminated_quote_makes_the_word_invisible),
		cmocka_unit_test(next_iterates_words_with_their_parts),
		cmocka_unit_test(parse_u64_takes_decimal_and_hex),
		cmocka_unit_test(parse_u64_rejects_garbage_and_overflow),
		cmocka_unit_test(parse_size_applies_binary_suffixes_in_either_case),
		cmocka_unit_test(parse_size_rejects_garbage_and_overflow),
		cmocka_unit_test(parse_choice_maps_listed_words_to_their_index),
		cmocka_unit_test(check_keys_names_each_unknown_key),
		cmocka_unit_test(check_keys_is_silent_when_every_key_is_known),
		cmocka_unit_test(check_keys_reports_an_unterminated_quote),
		cmocka_unit_test(check_keys_names_words_with_an_empty_key_and_shortens_long_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
