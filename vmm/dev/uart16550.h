/* uart16550.h: the emulated 16550A UART a guest sees (COM1 at 0x3f8), modelled on the PC16550D. */
#ifndef VMM_DEV_UART16550_H
#define VMM_DEV_UART16550_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/* Depth of the receiver FIFO (PC16550D: 16 bytes). */
#define VUART_FIFO_SIZE 16
/* Registers the UART decodes from its base port: RBR/THR ... SCR. */
#define VUART_PORTS     8

/*
 * The transmitter is infinitely fast: a byte written to THR reaches tx()
 * at once, so THRE and TEMT are always set.  Time does not exist either: the
 * receiver's character timeout (four character times) counts as elapsed as
 * soon as the FIFO holds data below its trigger level.  The word length,
 * parity, stop bits, break and divisor are kept and read back but shape no
 * data, as there is no wire.
 *
 * The state is here so a VM can embed it; every field is private to
 * uart16550.c.
 */
struct vuart {
	uint16_t base;          /* first port (RBR/THR) */
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
	uint8_t ier;            /* interrupt enable, bits 3:0 */
	uint8_t lcr;            /* line control */
	uint8_t mcr;            /* modem control, bits 4:0 */
	uint8_t fcr;            /* FIFO control as programmed: enable, DMA mode, trigger */
	uint8_t lsr_errors;     /* LSR OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_lines;      /* MSR bits 7:4: CTS, DSR, RI, DCD as the chip sees them */
	uint8_t msr_deltas;     /* MSR bits 3:0: changes since MSR was last read */
	uint8_t modem_inputs;   /* the far end's CTS/DSR/RI/DCD, in MSR layout */
	uint8_t scr;            /* scratch */
	uint8_t dll, dlm;       /* divisor latch */
	uint8_t rbr;            /* last byte taken from the receiver, read again when empty */
	bool thre_pending;      /* the THR-empty interrupt is waiting to be seen */
	uint8_t rx_head;        /* index of the oldest received byte */
	uint8_t rx_count;       /* bytes received, at most 1 with the FIFO off */
	uint8_t rx_fifo[VUART_FIFO_SIZE];
};

/*
 * Resets u to the chip's power-on state at ports base..base+7; tx(ctx, byte)
 * receives every byte the guest transmits (outside loopback).  The far end of
 * the virtual cable is a ready terminal: CTS, DSR and DCD asserted.
 */
void vuart_init(struct vuart *u, uint16_t base, void (*tx)(void *ctx, uint8_t byte), void *ctx);

/*
 * Port-I/O handler (pio_handler_fn, vmm/dev/device.h); dev is the struct
 * vuart.  An access of 2 or 4 bytes acts as the ISA bus does for an 8-bit
 * device: one byte access per port, low byte first, at port, port+1, ...;
 * bytes outside base..base+7 read 0xff and are dropped on write.
 * ERR_INVAL for a size other than 1, 2 or 4.
 */
err_t vuart_pio(void *dev, bool in, uint16_t port, unsigned size, uint32_t *val);

/*
 * A byte arrives on the serial input (the VM's console input).  False when a
 * byte was lost to an overrun (LSR.OE set), or when the UART is in loopback
 * and its input is disconnected.
 */
bool vuart_rx(struct vuart *u, uint8_t byte);

/* How many bytes vuart_rx accepts now without an overrun (0 in loopback). */
unsigned vuart_rx_room(const struct vuart *u);

/*
 * The interrupt request as the PC's ISA line sees it: an enabled interrupt is
 * pending and MCR.OUT2 is set (the PC gates the IRQ driver with OUT2; in
 * loopback the OUT2 pin is forced inactive, so the line is low).  A level:
 * sample it after every access to catch the edges an edge-triggered PIC needs.
 */
bool vuart_irq_line(const struct vuart *u);

#endif
