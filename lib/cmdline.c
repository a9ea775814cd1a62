/* cmdline.c: splits the command line into words and parses option values (syntax in cmdline.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/cmdline.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether the n bytes at s are exactly the string z. */
static bool equals(const char *s, size_t n, const char *z)
{
	for (size_t i = 0; i < n; i++)
		if (z[i] != s[i])   /* also stops at z's NUL, since s[i] is not one */
			return false;
	return z[n] == 0;
}

bool cmdline_next(const char **pos, struct cmdline_word *w)
{
	const char *p = *pos;

	if (!p)
		return false;
	while (is_blank(*p))
		p++;
	if (!*p) {
		*pos = p;
		return false;
	}
	/* GRUB re-quotes a word that holds blanks as a whole: "key=a b". */
	bool whole = *p == '"';
	if (whole)
		p++;
	*w = (struct cmdline_word){ .key = p, .value = "" };
	while (*p && *p != '=' && (whole ? *p != '"' : !is_blank(*p)))
		p++;
	w->key_len = (size_t)(p - w->key);
	bool quoted = whole;
	if (*p == '=') {
		w->has_value = true;
		p++;
		if (!whole && *p == '"') {
			quoted = true;
			p++;
		}
		w->value = p;
		while (*p && (quoted ? *p != '"' : !is_blank(*p)))
			p++;
		w->value_len = (size_t)(p - w->value);
	}
	if (quoted) {
		if (*p)
			p++; /* the closing quote */
		else
			w->unterminated = true;
	}
	*pos = p;
	return true;
}

/* The last well-formed word named key, in *found; false when there is none. */
static bool find_last(const char *cmdline, const char *key, struct cmdline_word *found)
{
	struct cmdline_word w;
	bool any = false;

	if (!key)
		return false;
	while (cmdline_next(&cmdline, &w)) {
		if (!w.unterminated && equals(w.key, w.key_len, key)) {
			*found = w;
			any = true;
		}
	}
	return any;
}

err_t cmdline_get(const char *cmdline, const char *key, char *buf, size_t size)
{
	struct cmdline_word w;

	if (!find_last(cmdline, key, &w))
		return ERR_MISSING;
	if (size == 0)
		return ERR_INVAL;
	size_t n = w.value_len < size ? w.value_len : size - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = w.value[i];
	buf[n] = 0;
	return n == w.value_len ? ERR_OK : ERR_INVAL;
}

bool cmdline_has(const char *cmdline, const char *key)
{
	struct cmdline_word w;
	return find_last(cmdline, key, &w);
}

/* Reads digits in base 10, or 16 after "0x"; *end is left at the first other character. */
static err_t parse_number(const char *s, uint64_t *out, const char **end)
{
	unsigned base = 10;
	uint64_t v = 0;
	const char *start;

	if (!s)
		return ERR_INVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (start = s;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return ERR_INVAL;
		v = v * base + d;
	}
	if (s == start)
		return ERR_INVAL;
	*out = v;
	*end = s;
	return ERR_OK;
}

err_t cmdline_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v;
	const char *end;

	if (parse_number(s, &v, &end) != ERR_OK || *end)
		return ERR_INVAL;
	*out = v;
	return ERR_OK;
}

err_t cmdline_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	const char *end;
	unsigned shift = 0;

	if (parse_number(s, &v, &end) != ERR_OK)
		return ERR_INVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || v > UINT64_MAX >> shift)
		return ERR_INVAL;
	*out = v << shift;
	return ERR_OK;
}

err_t cmdline_parse_choice(const char *s, const char *const *choices, unsigned *out)
{
	if (!s || !choices)
		return ERR_INVAL;
	for (unsigned i = 0; choices[i]; i++) {
		const char *a = s, *b = choices[i];
		while (*a && *a == *b)
			a++, b++;
		if (*a == *b) {
			*out = i;
			return ERR_OK;
		}
	}
	return ERR_INVAL;
}

static bool known_key(const struct cmdline_word *w, const char *const *known)
{
	for (; known && *known; known++)
		if (equals(w->key, w->key_len, *known))
			return true;
	return false;
}

unsigned cmdline_check_keys(const char *cmdline, const char *const *known,
			    void (*report)(void *ctx, const char *msg), void *ctx)
{
	static const char suffix[] = " (unterminated quote)";
	struct cmdline_word w;
	unsigned count = 0;

	while (cmdline_next(&cmdline, &w)) {
		if (!w.unterminated && known_key(&w, known))
			continue;
		/* Copy the key out of the line, shortened if need be; a word with
		 * an empty key ("=x") is named by the whole word instead. */
		char msg[64 + sizeof(suffix)];
		size_t n = w.key_len ? w.key_len : (size_t)(w.value + w.value_len - w.key), i;
		if (n > 64)
			n = 64;
		for (i = 0; i < n; i++)
			msg[i] = w.key[i];
		for (size_t j = 0; w.unterminated && suffix[j]; j++)
			msg[i++] = suffix[j];
		msg[i] = 0;
		count++;
		if (report)
			report(ctx, msg);
	}
	return count;
}
