/* printf.h: the freestanding formatter used by the console and by message builders. */
#ifndef LIB_PRINTF_H
#define LIB_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* Character sink: called once per output character. */
typedef void (*fmt_sink)(void *ctx, char c);

/*
 * Formats like C99 printf for: flags "-+ #0", width and precision (also '*'),
 * lengths hh h l ll z j t, conversions d i u o x X c s p %; widths and
 * precisions above 100000 are capped there.  Returns the
 * number of characters produced.
 */
int fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap);

/* Like vsnprintf/snprintf: always NUL-terminates when size > 0 and returns
 * the length the full output would have had. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
