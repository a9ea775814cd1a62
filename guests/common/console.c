/* console.c: a test guest's console on COM1 (115200 8N1) and report(). */
#include <stdarg.h>
#include "drivers/uart16550.h"
#include "guests/common/guest.h"

static const char *guest_name = "guest";

/* The hypervisor's own polled 16550 driver (drivers/uart16550.c) serves here too. */
void console_init(const char *name)
{
	guest_name = name;
	uart_init(COM1_PORT);
}

const char *console_name(void)
{
	return guest_name;
}

static void console_sink(void *ctx, char c)
{
	(void)ctx;
	if (c == '\n')
		uart_putc('\r');
	uart_putc(c);
}

void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = guest_name; *p; p++)
		console_sink(NULL, *p);
	console_sink(NULL, ':');
	console_sink(NULL, ' ');
	fmt_vformat(console_sink, NULL, fmt, ap);
	console_sink(NULL, '\n');
	va_end(ap);
}
