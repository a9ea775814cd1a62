/* cmdline.h: the hypervisor's command line: `key=value`, `key="quoted value"` and flags. */
#ifndef LIB_CMDLINE_H
#define LIB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/error.h"

/*
 * Syntax.  Words are separated by spaces and tabs.  A word is `key`, a flag
 * whose value is "", or `key=value`.  A value that starts with '"' runs to the
 * next '"' (blanks included, quotes removed) and the word ends there; text
 * right after the closing quote starts a new word.  A '"' anywhere else is an
 * ordinary character, except at the start of a word: "key=a b" is quoted as a
 * whole, the form GRUB gives a word with blanks when it rebuilds a module's
 * command line.  A quote that is never closed makes the word malformed:
 * cmdline_get and cmdline_has skip it and cmdline_check_keys reports it.
 * Keys match exactly (case-sensitive).  A NULL command line is empty.
 */

/* One word of the command line; key and value point into the line, unterminated. */
struct cmdline_word {
	const char *key;
	size_t key_len;
	const char *value;      /* "" for a flag */
	size_t value_len;
	bool has_value;         /* there was an '=' */
	bool unterminated;      /* an opening quote with no closing one */
};

/* Scans the word at *pos (a cursor, start it at the command line) and moves
 * past it; false when only blanks remain. */
bool cmdline_next(const char **pos, struct cmdline_word *w);

/* Finds key; copies its value (unquoted) into buf; ERR_MISSING when absent,
 * ERR_INVAL when buf too small (still NUL-terminated when size > 0). Last occurrence wins. */
err_t cmdline_get(const char *cmdline, const char *key, char *buf, size_t size);

/* Whether key is present, as a flag or with a value. */
bool cmdline_has(const char *cmdline, const char *key);

/* Parses an unsigned integer, decimal ("010" is ten) or "0x"-hex; no sign, no
 * blanks; ERR_INVAL on garbage, empty or overflow. */
err_t cmdline_parse_u64(const char *s, uint64_t *out);

/* Parses a size: a number as cmdline_parse_u64 takes, then an optional K, M or G
 * (binary: 2^10, 2^20, 2^30; either case), e.g. 64M, 1g, 4096, 0x100000;
 * ERR_INVAL for garbage, overflow, empty. */
err_t cmdline_parse_size(const char *s, uint64_t *out);

/* Maps s to its index in choices[] (NULL-terminated, exact match); ERR_INVAL when not listed. */
err_t cmdline_parse_choice(const char *s, const char *const *choices, unsigned *out);

/*
 * Calls report(ctx, msg) once per word whose key is not in known[]
 * (NULL-terminated), with msg the key itself so typos are named, and once per
 * word with an unterminated quote, with msg "KEY (unterminated quote)".
 * Returns how many reports were made.
 */
unsigned cmdline_check_keys(const char *cmdline, const char *const *known,
			    void (*report)(void *ctx, const char *msg), void *ctx);

#endif
