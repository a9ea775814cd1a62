/* uart.c: the memtest guest's console: a polled 16550 UART on COM1 at 115200 8N1, and report(). */
#include <stdarg.h>
#include "guests/memtest/memtest.h"
#include "guests/memtest/x86.h"

#define COM1 0x3f8

/* Register offsets from the base port (PC16550D data sheet). */
enum {
	UART_THR = 0, /* transmit holding (write) */
	UART_DLL = 0, /* divisor latch low, with LCR.DLAB */
	UART_IER = 1,
	UART_DLM = 1, /* divisor latch high, with LCR.DLAB */
	UART_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
};

#define UART_BASE_BAUD  115200  /* the 1.8432 MHz input clock / 16 */
#define UART_BAUD       115200
#define LCR_8N1         0x03
#define LCR_DLAB        0x80
#define FCR_FIFO        0x07    /* enable and clear both FIFOs */
#define MCR_DTR_RTS     0x03
#define LSR_THRE        0x20    /* holding register empty: may write a byte */
#define LSR_TEMT        0x40    /* transmitter empty: the last byte is out */

/* Bounds every wait, so a missing or broken UART cannot hang the test. */
#define UART_SPIN_LIMIT 1000000

void uart_init(void)
{
	const unsigned divisor = UART_BASE_BAUD / UART_BAUD;

	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, (uint8_t)divisor);
	outb(COM1 + UART_DLM, (uint8_t)(divisor >> 8));
	/* Reset selects 5-bit words; a strict 16550 (Bochs) keeps them. */
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_FIFO);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

static void uart_wait(uint8_t lsr_bit)
{
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++) {
		if (inb(COM1 + UART_LSR) & lsr_bit)
			return;
		cpu_relax();
	}
}

/* A byte written while THRE is clear would be dropped by a real 16550. */
static void uart_putc(char c)
{
	uart_wait(LSR_THRE);
	outb(COM1 + UART_THR, (uint8_t)c);
}

void uart_drain(void)
{
	uart_wait(LSR_TEMT);
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
