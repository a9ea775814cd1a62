/* printf.c: a small C99-style formatter over a character sink (no floating point). */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "lib/printf.h"

enum {
	F_LEFT  = 1u << 0, /* '-' */
	F_PLUS  = 1u << 1, /* '+' */
	F_SPACE = 1u << 2, /* ' ' */
	F_ALT   = 1u << 3, /* '#' */
	F_ZERO  = 1u << 4, /* '0' */
};

/* Widths and precisions are capped so no conversion can produce gigabytes. */
#define MAX_FIELD 100000

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_MAX, LEN_PTRDIFF };

struct spec {
	unsigned flags;
	int width;     /* minimum field width, 0 when absent */
	int precision; /* -1 when absent */
};

struct out {
	fmt_sink sink;
	void *ctx;
	int count;
};

static void put(struct out *o, char c)
{
	o->sink(o->ctx, c);
	o->count++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

/* Emits prefix and digits inside the field, honouring '-', '0' and precision. */
static void emit_number(struct out *o, const struct spec *s, const char *prefix,
			const char *digits, int ndigits)
{
	int plen = 0;
	while (prefix[plen])
		plen++;
	int zeros = s->precision > ndigits ? s->precision - ndigits : 0;
	int body = plen + zeros + ndigits;
	int fill = s->width > body ? s->width - body : 0;
	bool zero_pad = (s->flags & F_ZERO) && !(s->flags & F_LEFT) && s->precision < 0;

	if (zero_pad) {
		zeros += fill;
		fill = 0;
	}
	if (!(s->flags & F_LEFT))
		pad(o, ' ', fill);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	for (int i = 0; i < ndigits; i++)
		put(o, digits[i]);
	if (s->flags & F_LEFT)
		pad(o, ' ', fill);
}

/* Formats one integer conversion; neg says the magnitude v came from a negative value. */
static void format_int(struct out *o, const struct spec *s, uintmax_t v, bool neg,
		       unsigned base, bool upper, bool is_signed, bool pointer)
{
	const char *lut = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[sizeof(uintmax_t) * 8 + 2];
	int n = 0;
	char prefix[3] = { 0, 0, 0 };

	/* C99 7.19.6.1: a zero value with zero precision prints no digits. */
	if (!(v == 0 && s->precision == 0)) {
		uintmax_t x = v;
		do {
			tmp[sizeof(tmp) - 1 - (unsigned)n++] = lut[x % base];
			x /= base;
		} while (x);
	}
	if (is_signed) {
		if (neg)
			prefix[0] = '-';
		else if (s->flags & F_PLUS)
			prefix[0] = '+';
		else if (s->flags & F_SPACE)
			prefix[0] = ' ';
	} else if ((s->flags & F_ALT) || pointer) {
		if (base == 16 && (v != 0 || pointer)) {
			prefix[0] = '0';
			prefix[1] = upper ? 'X' : 'x';
		} else if (base == 8 && (n == 0 || tmp[sizeof(tmp) - (unsigned)n] != '0')) {
			tmp[sizeof(tmp) - 1 - (unsigned)n++] = '0';
		}
	}
	emit_number(o, s, prefix, &tmp[sizeof(tmp) - (unsigned)n], n);
}

static void format_str(struct out *o, const struct spec *s, const char *str)
{
	if (!str)
		str = "(null)";
	int len = 0;
	while (str[len] && (s->precision < 0 || len < s->precision))
		len++;
	int fill = s->width > len ? s->width - len : 0;
	if (!(s->flags & F_LEFT))
		pad(o, ' ', fill);
	for (int i = 0; i < len; i++)
		put(o, str[i]);
	if (s->flags & F_LEFT)
		pad(o, ' ', fill);
}

/* Reads a decimal number or '*' at *pp into *n; false when neither is there. */
static bool parse_count(const char **pp, va_list *ap, int *n)
{
	const char *p = *pp;
	if (*p == '*') {
		*pp = p + 1;
		*n = va_arg(*ap, int);
		return true;
	}
	if (*p < '0' || *p > '9')
		return false;
	*n = 0;
	while (*p >= '0' && *p <= '9') {
		if (*n < MAX_FIELD)
			*n = *n * 10 + (*p - '0');
		p++;
	}
	*pp = p;
	return true;
}

static uintmax_t fetch_unsigned(enum length len, va_list *ap)
{
	switch (len) {
	case LEN_CHAR:    return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:   return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:    return va_arg(*ap, unsigned long);
	case LEN_LLONG:   return va_arg(*ap, unsigned long long);
	case LEN_SIZE:    return va_arg(*ap, size_t);
	case LEN_MAX:     return va_arg(*ap, uintmax_t);
	case LEN_PTRDIFF: return (uintmax_t)va_arg(*ap, ptrdiff_t);
	default:          return va_arg(*ap, unsigned int);
	}
}

static intmax_t fetch_signed(enum length len, va_list *ap)
{
	switch (len) {
	case LEN_CHAR:    return (signed char)va_arg(*ap, int);
	case LEN_SHORT:   return (short)va_arg(*ap, int);
	case LEN_LONG:    return va_arg(*ap, long);
	case LEN_LLONG:   return va_arg(*ap, long long);
	case LEN_SIZE:    return (intmax_t)va_arg(*ap, size_t);
	case LEN_MAX:     return va_arg(*ap, intmax_t);
	case LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
	default:          return va_arg(*ap, int);
	}
}

static enum length parse_length(const char **pp)
{
	const char *p = *pp;
	enum length len = LEN_INT;
	switch (*p) {
	case 'h':
		len = LEN_SHORT;
		if (*++p == 'h') {
			len = LEN_CHAR;
			p++;
		}
		break;
	case 'l':
		len = LEN_LONG;
		if (*++p == 'l') {
			len = LEN_LLONG;
			p++;
		}
		break;
	case 'z': len = LEN_SIZE; p++; break;
	case 'j': len = LEN_MAX; p++; break;
	case 't': len = LEN_PTRDIFF; p++; break;
	default: break;
	}
	*pp = p;
	return len;
}

int fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap_in)
{
	struct out o = { sink, ctx, 0 };
	va_list ap;
	va_copy(ap, ap_in);

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		const char *start = p++;
		struct spec s = { 0, 0, -1 };
		for (;; p++) {
			if (*p == '-') s.flags |= F_LEFT;
			else if (*p == '+') s.flags |= F_PLUS;
			else if (*p == ' ') s.flags |= F_SPACE;
			else if (*p == '#') s.flags |= F_ALT;
			else if (*p == '0') s.flags |= F_ZERO;
			else break;
		}
		if (parse_count(&p, &ap, &s.width) && s.width < 0) {
			s.flags |= F_LEFT; /* a negative '*' width means left-justify */
			s.width = s.width == INT_MIN ? MAX_FIELD : -s.width;
		}
		if (s.width > MAX_FIELD)
			s.width = MAX_FIELD;
		if (*p == '.') {
			p++;
			/* "%.d" means precision 0; a negative '*' precision means none. */
			if (!parse_count(&p, &ap, &s.precision))
				s.precision = 0;
			else if (s.precision < 0)
				s.precision = -1;
			else if (s.precision > MAX_FIELD)
				s.precision = MAX_FIELD;
		}
		enum length len = parse_length(&p);

		switch (*p) {
		case 'd':
		case 'i': {
			intmax_t v = fetch_signed(len, &ap);
			uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;
			format_int(&o, &s, mag, v < 0, 10, false, true, false);
			break;
		}
		case 'u': format_int(&o, &s, fetch_unsigned(len, &ap), false, 10, false, false, false); break;
		case 'o': format_int(&o, &s, fetch_unsigned(len, &ap), false, 8, false, false, false); break;
		case 'x': format_int(&o, &s, fetch_unsigned(len, &ap), false, 16, false, false, false); break;
		case 'X': format_int(&o, &s, fetch_unsigned(len, &ap), false, 16, true, false, false); break;
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			format_int(&o, &s, v, false, 16, false, false, true);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			char str[2] = { c, 0 };
			s.precision = 1;
			if (c == 0) { /* a NUL character still counts as one character */
				pad(&o, ' ', (s.flags & F_LEFT) ? 0 : s.width - 1);
				put(&o, 0);
				pad(&o, ' ', (s.flags & F_LEFT) ? s.width - 1 : 0);
			} else {
				format_str(&o, &s, str);
			}
			break;
		}
		case 's': format_str(&o, &s, va_arg(ap, const char *)); break;
		case '%': put(&o, '%'); break;
		default:
			/* Unknown conversion: print it verbatim so the mistake is visible. */
			for (const char *q = start; q <= p && *q; q++)
				put(&o, *q);
			if (!*p)
				p--;
			break;
		}
	}
	va_end(ap);
	return o.count;
}

struct bufsink {
	char *buf;
	size_t size;
	size_t pos;
};

static void buf_put(void *ctx, char c)
{
	struct bufsink *b = ctx;
	if (b->pos + 1 < b->size)
		b->buf[b->pos] = c;
	b->pos++;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct bufsink b = { buf, size, 0 };
	int n = fmt_vformat(buf_put, &b, fmt, ap);
	if (size > 0)
		buf[b.pos < size ? b.pos : size - 1] = 0;
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
