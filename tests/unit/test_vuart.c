/* test_vuart.c: unit tests of the emulated 16550A (vmm/dev/uart16550.c): data sheet and Linux 8250 driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/dev/uart16550.h"

#define BASE 0x3f8

/* Register offsets, spelled out here so the tests do not trust the model's own names. */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5,
       MSR = 6, SCR = 7 };

struct sink {
	uint8_t bytes[1024];
	unsigned n;
};

static void capture(void *ctx, uint8_t byte)
{
	struct sink *s = ctx;
	assert_true(s->n < sizeof(s->bytes));
	s->bytes[s->n++] = byte;
}

struct fixture {
	struct vuart u;
	struct sink out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	vuart_init(&f->u, BASE, capture, &f->out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static uint8_t in8(struct vuart *u, unsigned reg)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(vuart_pio(u, true, (uint16_t)(BASE + reg), 1, &v), ERR_OK);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void out8(struct vuart *u, unsigned reg, uint8_t v)
{
	uint32_t val = v;
	assert_int_equal(vuart_pio(u, false, (uint16_t)(BASE + reg), 1, &val), ERR_OK);
}

static void reset_state_matches_the_data_sheet(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(in8(&f->u, IER), 0x00);
	assert_int_equal(in8(&f->u, IIR), 0x01);
	assert_int_equal(in8(&f->u, LCR), 0x00);
	assert_int_equal(in8(&f->u, MCR), 0x00);
	assert_int_equal(in8(&f->u, LSR), 0x60);
	/* The far end is a ready terminal: CTS, DSR and DCD, no changes yet. */
	assert_int_equal(in8(&f->u, MSR), 0xb0);
	assert_false(vuart_irq_line(&f->u));
	assert_int_equal(vuart_rx_room(&f->u), 1);
	assert_int_equal(f->out.n, 0);
}

static void thr_write_reaches_tx_callback(void **state)
{
	struct fixture *f = *state;
	const char *msg = "hello\r\n";
	for (const char *p = msg; *p; p++) {
		/* A polling driver waits for THRE; it is never clear. */
		assert_int_equal(in8(&f->u, LSR) & 0x60, 0x60);
		out8(&f->u, THR, (uint8_t)*p);
	}
	assert_int_equal(f->out.n, strlen(msg));
	assert_memory_equal(f->out.bytes, msg, strlen(msg));
	/* Every byte value passes, whatever the word length in LCR. */
	out8(&f->u, THR, 0xff);
	out8(&f->u, THR, 0x00);
	assert_int_equal(f->out.bytes[f->out.n - 2], 0xff);
	assert_int_equal(f->out.bytes[f->out.n - 1], 0x00);
}

static void tx_without_callback_is_dropped(void **state)
{
	(void)state;
	struct vuart u;
	vuart_init(&u, BASE, NULL, NULL);
	out8(&u, THR, 'x');
	assert_int_equal(in8(&u, LSR), 0x60);
}

static void dlab_switches_ports_0_and_1_to_divisor_latch(void **state)
{
	struct fixture *f = *state;
	out8(&f->u, IER, 0x05);
	out8(&f->u, LCR, 0x83);
	out8(&f->u, DLL, 0x01);
	out8(&f->u, DLM, 0x02);
	assert_int_equal(in8(&f->u, DLL), 0x01);
	assert_int_equal(in8(&f->u, DLM), 0x02);
	assert_int_equal(f->out.n, 0); /* the DLL write did not transmit */
	/* IIR, LCR and the rest do not depend on DLAB. */
	assert_int_equal(in8(&f->u, LCR), 0x83);
	assert_int_equal(in8(&f->u, IIR), 0x01);
	out8(&f->u, LCR, 0x03);
	assert_int_equal(in8(&f->u, IER), 0x05);
	out8(&f->u, IER, 0x00);
	out8(&f->u, THR, 'a');
	assert_int_equal(f->out.n, 1);
	out8(&f->u, LCR, 0x80);
	assert_int_equal(in8(&f->u, DLL), 0x01);
	assert_int_equal(in8(&f->u, DLM), 0x02);
}

static void lcr_and_scr_read_back(void **state)
{
	struct fixture *f = *state;
	for (unsigned v = 0; v < 256; v++) {
		out8(&f->u, SCR, (uint8_t)v);
		assert_int_equal(in8(&f->u, SCR), v);
		out8(&f->u, LCR, (uint8_t)v);
		assert_int_equal(in8(&f->u, LCR), v);
	}
	out8(&f->u, LCR, 0x03);
	/* IER keeps bits 3:0 and MCR bits 4:0; the others read 0 on a 16550A. */
	out8(&f->u, IER, 0xff);
	assert_int_equal(in8(&f->u, IER), 0x0f);
	out8(&f->u, MCR, 0xe3);
	assert_int_equal(in8(&f->u, MCR), 0x03);
	/* LSR and MSR are read-only outside factory test. */
	out8(&f->u, LSR, 0x00);
	assert_int_equal(in8(&f->u, LSR) & 0x60, 0x60);
	out8(&f->u, MSR, 0x00);
	assert_int_equal(in8(&f->u, MSR) & 0xf0, 0xb0);
}

/* Linux's 8250 autoconfig() and autoconfig_16550a() in order: each check must see a plain 16550A. */
static void linux_style_probe_sees_a_16550a(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;

	/* IER test: bits 3:0 hold 0 and 0xf. */
	uint8_t save_ier = in8(u, IER);
	out8(u, IER, 0);
	assert_int_equal(in8(u, IER) & 0x0f, 0x00);
	out8(u, IER, 0x0f);
	assert_int_equal(in8(u, IER) & 0x0f, 0x0f);
	out8(u, IER, save_ier);

	/* Loopback test: MCR = LOOP | OUT2 | RTS makes MSR 7:4 read DCD | CTS. */
	uint8_t save_mcr = in8(u, MCR);
	uint8_t save_lcr = in8(u, LCR);
	out8(u, MCR, 0x1a);
	assert_int_equal(in8(u, MSR) & 0xf0, 0x90);
	out8(u, MCR, save_mcr);
	/* ... and with every output set, every input. */
	out8(u, MCR, 0x1f);
	assert_int_equal(in8(u, MSR) & 0xf0, 0xf0);
	out8(u, MCR, save_mcr);

	/* EFR write through LCR = 0xbf lands on FCR; then FIFO enable and IIR 7:6. */
	out8(u, LCR, 0xbf);
	out8(u, FCR, 0);
	out8(u, LCR, 0);
	out8(u, FCR, 0x01);
	assert_int_equal(in8(u, IIR) >> 6, 3);

	/* No EFR behind IIR with DLAB set, nor with LCR = 0xbf (16650 checks). */
	out8(u, LCR, 0x80);
	assert_int_not_equal(in8(u, IIR), 0);
	out8(u, LCR, 0xbf);
	assert_int_not_equal(in8(u, IIR), 0);

	/* National SuperIO check: IIR bit 4 never follows MCR.LOOP. */
	out8(u, LCR, 0);
	uint8_t status1 = in8(u, MCR);
	out8(u, LCR, 0xe0);
	uint8_t status2 = in8(u, 2);
	assert_int_equal((status1 ^ status2) & 0x10, 0);
	out8(u, LCR, 0);
	out8(u, MCR, status1 ^ 0x10);
	out8(u, LCR, 0xe0);
	status2 = in8(u, 2);
	out8(u, LCR, 0);
	out8(u, MCR, status1);
	assert_int_equal((status1 ^ status2) & 0x10, 0);

	/* 16750 check: no 64-byte FIFO bit (IIR bit 5), with or without DLAB. */
	out8(u, FCR, 0x21);
	assert_int_equal(in8(u, IIR) & 0xe0, 0xc0);
	out8(u, FCR, 0x01);
	out8(u, LCR, 0x80);
	out8(u, FCR, 0x21);
	assert_int_equal(in8(u, IIR) & 0xe0, 0xc0);
	out8(u, FCR, 0x01);
	out8(u, LCR, 0);

	/* XScale check: IER bit 6 (UUE) does not stick. */
	out8(u, IER, 0x40);
	assert_int_equal(in8(u, IER) & 0x40, 0);

	/* size_fifo(): 256 bytes through loopback at 8N1 leave exactly 16 to read. */
	out8(u, FCR, 0x07);
	out8(u, MCR, 0x10);
	out8(u, LCR, 0x80);
	out8(u, DLL, 1);
	out8(u, DLM, 0);
	out8(u, LCR, 0x03);
	for (unsigned i = 0; i < 256; i++)
		out8(u, THR, (uint8_t)i);
	unsigned count = 0;
	while ((in8(u, LSR) & 0x01) && count < 256) {
		assert_int_equal(in8(u, RBR), count);
		count++;
	}
	assert_int_equal(count, 16);
	out8(u, MCR, save_mcr);
	out8(u, LCR, save_lcr);
	assert_int_equal(f->out.n, 0); /* loopback never reached the console */

	/* Start-up: LSR is not 0xff (no UART), and THRE reasserts when IER.THRI is set again. */
	assert_int_not_equal(in8(u, LSR), 0xff);
	out8(u, IER, 0x02);
	assert_int_equal(in8(u, IIR) & 0x0f, 0x02);
	out8(u, IER, 0);
	out8(u, IER, 0x02);
	assert_int_equal(in8(u, IIR) & 0x0f, 0x02);
	out8(u, IER, 0);
}

static void rx_fifo_fills_sets_dr_and_overruns(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	out8(u, FCR, 0x01);
	assert_int_equal(vuart_rx_room(u), 16);
	assert_int_equal(in8(u, LSR) & 0x01, 0);
	for (unsigned i = 0; i < 16; i++)
		assert_true(vuart_rx(u, (uint8_t)('a' + i)));
	assert_int_equal(vuart_rx_room(u), 0);
	/* The 17th byte is lost and OE set; reading LSR clears OE, not DR. */
	assert_false(vuart_rx(u, 'X'));
	assert_int_equal(in8(u, LSR), 0x63);
	assert_int_equal(in8(u, LSR), 0x61);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(in8(u, RBR), 'a' + i);
	assert_int_equal(in8(u, LSR), 0x60);
	/* An empty receiver reads its last byte again. */
	assert_int_equal(in8(u, RBR), 'p');

	/* 16450 mode: one RBR; a second byte overwrites it and sets OE. */
	out8(u, FCR, 0x00);
	assert_int_equal(vuart_rx_room(u), 1);
	assert_true(vuart_rx(u, '1'));
	assert_false(vuart_rx(u, '2'));
	assert_int_equal(in8(u, LSR), 0x63);
	assert_int_equal(in8(u, RBR), '2');
	assert_int_equal(in8(u, LSR), 0x60);
}

static void fcr_clears_the_receiver(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	out8(u, FCR, 0x01);
	vuart_rx(u, 'a');
	vuart_rx(u, 'b');
	/* Clearing the receiver FIFO empties it; the FIFOs stay on. */
	out8(u, FCR, 0x03);
	assert_int_equal(in8(u, LSR) & 0x01, 0);
	assert_int_equal(in8(u, IIR) & 0xc0, 0xc0);
	/* Turning the FIFOs off, or on, empties the receiver too. */
	vuart_rx(u, 'c');
	out8(u, FCR, 0x00);
	assert_int_equal(in8(u, LSR) & 0x01, 0);
	assert_int_equal(in8(u, IIR), 0x01);
	vuart_rx(u, 'd');
	out8(u, FCR, 0x01);
	assert_int_equal(in8(u, LSR) & 0x01, 0);
	/* The transmitter FIFO reset leaves THRE set. */
	out8(u, FCR, 0x05);
	assert_int_equal(in8(u, LSR), 0x60);
}

static void iir_priority_and_thre_interrupt_semantics(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	out8(u, FCR, 0x41); /* FIFOs on, trigger level 4 */
	assert_int_equal(in8(u, IIR), 0xc1);

	/* Setting ETBEI with THR empty raises THRE; reading IIR acknowledges it. */
	out8(u, IER, 0x0f);
	assert_int_equal(in8(u, IIR), 0xc2);
	assert_int_equal(in8(u, IIR), 0xc1);

	/* Loopback changes the modem lines: modem status, the lowest priority. */
	out8(u, MCR, 0x10);
	assert_int_equal(in8(u, IIR), 0xc0);
	/* One byte below the trigger level: character timeout, above THRE. */
	out8(u, THR, 'a');
	assert_int_equal(in8(u, IIR), 0xcc);
	/* At the trigger level: received data available. */
	for (unsigned i = 1; i < 4; i++)
		out8(u, THR, (uint8_t)('a' + i));
	assert_int_equal(in8(u, IIR), 0xc4);
	/* An overrun: line status, the highest; reading LSR clears it. */
	for (unsigned i = 4; i < 17; i++)
		out8(u, THR, (uint8_t)('a' + i));
	assert_int_equal(in8(u, IIR), 0xc6);
	assert_int_equal(in8(u, IIR), 0xc6);
	assert_int_equal(in8(u, LSR), 0x63);
	assert_int_equal(in8(u, IIR), 0xc4);
	/* Reading IIR while data outranks THRE left THRE pending. */
	for (unsigned i = 0; i < 16; i++)
		in8(u, RBR);
	assert_int_equal(in8(u, IIR), 0xc2);
	assert_int_equal(in8(u, IIR), 0xc0);
	/* Reading MSR clears the changes and so the last source. */
	assert_int_equal(in8(u, MSR), 0x0b);
	assert_int_equal(in8(u, IIR), 0xc1);

	/* Out of loopback: the lines change back. */
	out8(u, MCR, 0x00);
	assert_int_equal(in8(u, MSR), 0xbb);
	assert_int_equal(in8(u, IIR), 0xc1);
	/* Writing THR acknowledges THRE, and THR empties at once: pending again. */
	out8(u, THR, 'x');
	assert_int_equal(in8(u, IIR), 0xc2);
	assert_int_equal(in8(u, IIR), 0xc1);
	/* Toggling ETBEI raises it again; with ETBEI clear it is never reported. */
	out8(u, IER, 0x0d);
	assert_int_equal(in8(u, IIR), 0xc1);
	out8(u, THR, 'y');
	assert_int_equal(in8(u, IIR), 0xc1);
	out8(u, IER, 0x0f);
	assert_int_equal(in8(u, IIR), 0xc2);
	/* Writing IER without changing ETBEI does not raise it again. */
	out8(u, IER, 0x0f);
	assert_int_equal(in8(u, IIR), 0xc1);

	/* 16450 mode: IIR bits 7:6 clear; one byte is received data, never a timeout. */
	out8(u, FCR, 0x00);
	vuart_rx(u, 'z');
	assert_int_equal(in8(u, IIR), 0x04);
	/* A disabled source is not reported. */
	out8(u, IER, 0x00);
	assert_int_equal(in8(u, IIR), 0x01);
}

/*
 * Linux's interrupt path (serial8250_handle_irq): on the IRQ, read IIR until
 * it says no interrupt; drain the receiver while LSR.DR; refill THR with up to
 * 16 bytes while THRE and THRI, dropping THRI once the buffer is empty.  All
 * output and input must get through and the line must end low.
 */
static void linux_style_interrupt_driven_io_moves_every_byte(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	static const char msg[] = "Linux version 6.1 (the quick brown fox jumps over the lazy dog) "
				  "and a second line long enough to need several THRE interrupts\n";
	const unsigned len = sizeof(msg) - 1;
	static const char typed[] = "root\npassword\n";
	const unsigned ntyped = sizeof(typed) - 1;
	char got[64];
	unsigned sent = 0, fed = 0, nrx = 0, irqs = 0;

	out8(u, LCR, 0x03);
	out8(u, FCR, 0x81);            /* FIFOs on, trigger 8, as Linux sets a 16550A */
	out8(u, MCR, 0x0b);            /* DTR, RTS, OUT2 */
	uint8_t ier = 0x05;            /* RLSI | RDI */
	out8(u, IER, ier);
	ier |= 0x02;                   /* start_tx: THRI */
	out8(u, IER, ier);

	for (unsigned round = 0; round < 1000; round++) {
		/* The far end types a little between interrupts, never past the room. */
		for (unsigned k = 0; k < 3 && fed < ntyped && vuart_rx_room(u); k++)
			assert_true(vuart_rx(u, (uint8_t)typed[fed++]));
		if (!vuart_irq_line(u)) {
			if (fed == ntyped && sent == len)
				break;
			continue;
		}
		irqs++;
		for (unsigned pass = 0; pass < 256; pass++) {
			uint8_t iir = in8(u, IIR);
			if (iir & 0x01)
				break;
			uint8_t lsr = in8(u, LSR);
			assert_int_equal(lsr & 0x1e, 0);
			while (lsr & 0x01) {
				assert_true(nrx < sizeof(got));
				got[nrx++] = (char)in8(u, RBR);
				lsr = in8(u, LSR);
			}
			if ((lsr & 0x20) && (ier & 0x02)) {
				for (unsigned k = 0; k < 16 && sent < len; k++)
					out8(u, THR, (uint8_t)msg[sent++]);
				if (sent == len) {
					ier &= (uint8_t)~0x02;
					out8(u, IER, ier);
				}
			}
		}
		assert_false(vuart_irq_line(u));
	}
	assert_int_equal(sent, len);
	assert_int_equal(f->out.n, len);
	assert_memory_equal(f->out.bytes, msg, len);
	assert_int_equal(nrx, ntyped);
	assert_memory_equal(got, typed, ntyped);
	assert_true(irqs >= 2);
	assert_false(vuart_irq_line(u));
}

static void irq_line_needs_out2(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	out8(u, IER, 0x02);
	/* Pending THRE, but OUT2 clear: the PC's IRQ driver is off. */
	assert_false(vuart_irq_line(u));
	out8(u, MCR, 0x08);
	assert_true(vuart_irq_line(u));
	/* The line is a level: low once the source is acknowledged. */
	in8(u, IIR);
	assert_false(vuart_irq_line(u));
	out8(u, IER, 0x01);
	vuart_rx(u, 'a');
	assert_true(vuart_irq_line(u));
	in8(u, RBR);
	assert_false(vuart_irq_line(u));
	/* In loopback the OUT2 pin is forced inactive, so the line stays low. */
	out8(u, MCR, 0x18);
	out8(u, THR, 'b');
	assert_int_equal(in8(u, IIR), 0x04);
	assert_false(vuart_irq_line(u));
	out8(u, MCR, 0x08);
	assert_true(vuart_irq_line(u));
}

static void loopback_returns_tx_to_rx(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	out8(u, FCR, 0x01);
	out8(u, MCR, 0x10);
	assert_int_equal(in8(u, MSR), 0x0b); /* CTS, DSR, DCD dropped */
	out8(u, THR, 'L');
	out8(u, THR, 'B');
	assert_int_equal(f->out.n, 0);
	assert_int_equal(in8(u, LSR), 0x61);
	assert_int_equal(in8(u, RBR), 'L');
	assert_int_equal(in8(u, RBR), 'B');
	assert_int_equal(in8(u, LSR), 0x60);
	/* The serial input is disconnected. */
	assert_int_equal(vuart_rx_room(u), 0);
	assert_false(vuart_rx(u, 'x'));
	assert_int_equal(in8(u, LSR), 0x60);
	/* Outputs drive the inputs: DTR to DSR, RTS to CTS, OUT1 to RI, OUT2 to DCD. */
	out8(u, MCR, 0x11);
	assert_int_equal(in8(u, MSR), 0x22);
	out8(u, MCR, 0x12);
	assert_int_equal(in8(u, MSR), 0x13);
	out8(u, MCR, 0x14);
	assert_int_equal(in8(u, MSR), 0x41);
	/* RI reports only its trailing edge. */
	out8(u, MCR, 0x18);
	assert_int_equal(in8(u, MSR), 0x8c);
	/* Out of loopback the far end's lines return (DCD was up already); output reaches tx(). */
	out8(u, MCR, 0x00);
	assert_int_equal(in8(u, MSR), 0xb3);
	out8(u, THR, 'c');
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.bytes[0], 'c');
	assert_int_equal(in8(u, LSR), 0x60);
	assert_true(vuart_rx(u, 'r'));
}

static void wide_accesses_are_handled(void **state)
{
	struct fixture *f = *state;
	struct vuart *u = &f->u;
	/* A word OUT at the base writes THR then IER, as ISA splits it. */
	uint32_t v = 0x0241;
	assert_int_equal(vuart_pio(u, false, BASE, 2, &v), ERR_OK);
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.bytes[0], 0x41);
	assert_int_equal(in8(u, IER), 0x02);
	/* A word IN at LCR reads LCR and MCR. */
	out8(u, LCR, 0x03);
	out8(u, MCR, 0x0b);
	v = 0;
	assert_int_equal(vuart_pio(u, true, BASE + LCR, 2, &v), ERR_OK);
	assert_int_equal(v, 0x0b03);
	/* A dword at MSR covers MSR, SCR and two ports past the UART: 0xff. */
	out8(u, SCR, 0x5a);
	assert_int_equal(vuart_pio(u, true, BASE + MSR, 4, &v), ERR_OK);
	assert_int_equal(v, 0xffff5ab0);
	/* Writes past the UART are dropped. */
	v = 0x11223344;
	assert_int_equal(vuart_pio(u, false, BASE + SCR, 4, &v), ERR_OK);
	assert_int_equal(in8(u, SCR), 0x44);
	assert_int_equal(in8(u, LCR), 0x03);
	/* A port below the base belongs to nobody here. */
	assert_int_equal(vuart_pio(u, true, BASE - 1, 2, &v), ERR_OK);
	assert_int_equal(v & 0xff, 0xff);
	/* A dword read at the base: RBR, IER, IIR (THRE acknowledged), LCR. */
	vuart_rx(u, 'q');
	assert_int_equal(vuart_pio(u, true, BASE, 4, &v), ERR_OK);
	assert_int_equal(v, 0x03020200u | 'q');
	assert_int_equal(in8(u, IIR), 0x01);
	/* Sizes other than 1, 2 and 4 are refused. */
	for (unsigned size = 0; size <= 8; size++) {
		if (size == 1 || size == 2 || size == 4)
			continue;
		assert_int_equal(vuart_pio(u, true, BASE, size, &v), ERR_INVAL);
	}
	assert_int_equal(vuart_pio(u, true, BASE, 1, NULL), ERR_INVAL);
	assert_int_equal(vuart_pio(NULL, true, BASE, 1, &v), ERR_INVAL);
	/* Port 0xffff with a dword wraps without touching anything. */
	assert_int_equal(vuart_pio(u, true, 0xffff, 4, &v), ERR_OK);
	assert_int_equal(v, 0xffffffffu);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(reset_state_matches_the_data_sheet),
		T(thr_write_reaches_tx_callback),
		T(tx_without_callback_is_dropped),
		T(dlab_switches_ports_0_and_1_to_divisor_latch),
		T(lcr_and_scr_read_back),
		T(linux_style_probe_sees_a_16550a),
		T(rx_fifo_fills_sets_dr_and_overruns),
		T(fcr_clears_the_receiver),
		T(iir_priority_and_thre_interrupt_semantics),
		T(linux_style_interrupt_driven_io_moves_every_byte),
		T(irq_line_needs_out2),
		T(loopback_returns_tx_to_rx),
		T(wide_accesses_are_handled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
