/* uart.c: the memtest guest's console on COM1 (115200 8N1) and report(). */
#include <stdarg.h>
#include "drivers/uart16550.h"
#include "guests/memtest/memtest.h"

/* The hypervisor's own polled 16550 driver (drivers/uart16550.c) serves here too. */
void console_init(void)
{
	uart_init(COM1_PORT);
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
	for (const char *p = "memtest: "; *p; p++)
		console_sink(NULL, *p);
	fmt_vformat(console_sink, NULL, fmt, ap);
	console_sink(NULL, '\n');
	va_end(ap);
}
