/* console.c: kprintf and leveled logging on the serial console. */
#include <stdarg.h>
#include "arch/x86/backtrace.h"
#include "drivers/console.h"
#include "drivers/harness.h"
#include "drivers/uart16550.h"
#include "lib/cmdline.h"
#include "lib/string.h"

static enum log_level level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };

static void console_sink(void *ctx, char c)
{
	(void)ctx;
	if (c == '\n')
		uart_putc('\r');
	uart_putc(c);
}

void console_init(const char *option)
{
	uint64_t port = COM1_PORT;
	bool bad = false;

	if (!option || !*option || !strcmp(option, "com1"))
		port = COM1_PORT;
	else if (!strcmp(option, "com2"))
		port = COM2_PORT;
	else if (cmdline_parse_u64(option, &port) != ERR_OK || port == 0 || port > 0xfff8)
		bad = true;
	if (bad || !uart_init((uint16_t)port)) {
		uart_init(COM1_PORT);
		if (bad)
			log_error("console: bad value '%s' (com1, com2 or an I/O port); using com1\n",
				  option);
		else
			log_error("console: no UART at port %#llx; using com1\n",
				  (unsigned long long)port);
	}
}

bool console_set_level(const char *option)
{
	unsigned idx;
	uint64_t n;

	if (cmdline_parse_choice(option, level_names, &idx) == ERR_OK) {
		level = (enum log_level)idx;
		return true;
	}
	if (cmdline_parse_u64(option, &n) == ERR_OK && n <= LOG_DEBUG) {
		level = (enum log_level)n;
		return true;
	}
	return false;
}

enum log_level console_level(void)
{
	return level;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vformat(console_sink, NULL, fmt, ap);
	va_end(ap);
	return n;
}

void klog(enum log_level lvl, const char *fmt, ...)
{
	if (lvl > level)
		return;
	if (lvl == LOG_ERROR)
		kprintf("error: ");
	else if (lvl == LOG_WARN)
		kprintf("warning: ");
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(console_sink, NULL, fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	__asm__ volatile("cli");
	kprintf("\nPANIC: ");
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(console_sink, NULL, fmt, ap);
	va_end(ap);
	kprintf("\n");
	backtrace_print((uintptr_t)__builtin_frame_address(0));
	machine_end(false);
}
