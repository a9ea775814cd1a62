/* uart16550.c: polled 16550 driver for the console (8N1 at 115200 baud). */
#include "arch/x86/cpu.h"
#include "drivers/uart16550.h"

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
	UART_SCR = 7,
};

#define LCR_8N1   0x03
#define LCR_DLAB  0x80
#define FCR_FIFO  0x07 /* enable and clear both FIFOs */
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_THRE  0x20 /* holding register empty: may write a byte */
#define LSR_TEMT  0x40 /* transmitter empty: the last byte is on the wire */

/* Bounds every wait so a dead or absent UART cannot hang the hypervisor. */
#define UART_SPIN_LIMIT 1000000

static uint16_t uart_base;

bool uart_init(uint16_t port)
{
	/* Reprogramming clears the FIFOs: let what is queued go out first. */
	uart_flush();
	/* The scratch register holds what we write only if a UART is there. */
	outb((uint16_t)(port + UART_SCR), 0x5a);
	if (inb((uint16_t)(port + UART_SCR)) != 0x5a)
		return false;
	outb((uint16_t)(port + UART_IER), 0);
	outb((uint16_t)(port + UART_LCR), LCR_DLAB);
	outb((uint16_t)(port + UART_DLL), 1); /* 115200 / 1 */
	outb((uint16_t)(port + UART_DLM), 0);
	/* Reset leaves 5-bit words selected (Bochs honours this): set 8N1 always. */
	outb((uint16_t)(port + UART_LCR), LCR_8N1);
	outb((uint16_t)(port + UART_FCR), FCR_FIFO);
	outb((uint16_t)(port + UART_MCR), MCR_DTR_RTS_OUT2);
	uart_base = port;
	return true;
}

static void uart_wait(uint8_t bit)
{
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++) {
		if (inb((uint16_t)(uart_base + UART_LSR)) & bit)
			return;
		cpu_relax();
	}
}

void uart_putc(char c)
{
	if (!uart_base)
		return;
	/* A byte written while THRE is clear is dropped by a strict 16550. */
	uart_wait(LSR_THRE);
	outb((uint16_t)(uart_base + UART_THR), (uint8_t)c);
}

void uart_flush(void)
{
	if (uart_base)
		uart_wait(LSR_TEMT);
}
