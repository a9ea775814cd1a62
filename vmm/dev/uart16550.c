/* uart16550.c: the emulated 16550A UART (PC16550D): registers, receiver FIFO, interrupts. */
#include "vmm/dev/uart16550.h"

/* Register offsets from the base port (PC16550D, Table II "Summary of Registers"). */
enum {
	REG_RBR = 0, /* receiver buffer (read), DLAB = 0; THR (write); DLL with DLAB = 1 */
	REG_IER = 1, /* interrupt enable, DLAB = 0; DLM with DLAB = 1 */
	REG_IIR = 2, /* interrupt identification (read); FCR (write) */
	REG_LCR = 3, /* line control */
	REG_MCR = 4, /* modem control */
	REG_LSR = 5, /* line status */
	REG_MSR = 6, /* modem status */
	REG_SCR = 7, /* scratch */
};

/* IER (Table II); bits 7:4 always read 0, which Linux's probe checks. */
#define IER_ERBFI 0x01 /* received data available, and the character timeout */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f

/* IIR: bit 0 clear while an interrupt is pending, bits 3:1 name it (Table IV). */
#define IIR_NONE    0x01
#define IIR_MSR     0x00 /* modem status: priority 4, cleared by reading MSR */
#define IIR_THRE    0x02 /* THR empty: priority 3, cleared by reading IIR or writing THR */
#define IIR_RDA     0x04 /* received data at the trigger level: priority 2 */
#define IIR_RLS     0x06 /* receiver line status: priority 1, cleared by reading LSR */
#define IIR_TIMEOUT 0x0c /* character timeout: priority 2, cleared by reading RBR */
#define IIR_FIFOS   0xc0 /* bits 7:6 set while FCR.0 is set (16550A; 0 on a 16450) */

/* FCR (write-only). */
#define FCR_ENABLE   0x01 /* both FIFOs on; changing it empties them */
#define FCR_RX_RESET 0x02 /* empty the receiver FIFO (self-clearing) */
#define FCR_TX_RESET 0x04 /* empty the transmitter FIFO (self-clearing) */
#define FCR_DMA_MODE 0x08 /* RXRDY/TXRDY pin mode: no pins here, kept only */
#define FCR_TRIGGER  0xc0 /* receiver trigger level: 1, 4, 8 or 14 bytes */
#define FCR_TRIGGER_SHIFT 6

#define LCR_DLAB 0x80 /* divisor latch access: ports 0 and 1 become DLL and DLM */

/* MCR; bits 7:5 always read 0. */
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08 /* on a PC: enables the IRQ line driver */
#define MCR_LOOP 0x10 /* local loopback (diagnostic mode) */
#define MCR_MASK 0x1f

/* LSR. */
#define LSR_DR     0x01 /* data ready */
#define LSR_OE     0x02 /* overrun */
#define LSR_PE     0x04 /* parity error */
#define LSR_FE     0x08 /* framing error */
#define LSR_BI     0x10 /* break */
#define LSR_THRE   0x20 /* THR (transmitter FIFO) empty */
#define LSR_TEMT   0x40 /* THR and shift register empty */

/* MSR: bits 3:0 record changes, bits 7:4 are the (complemented) modem inputs. */
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04 /* RI went inactive (trailing edge) */
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

/* The chip does not reset its divisor; start at 12, 9600 baud from 1.8432 MHz. */
#define DIVISOR_AT_RESET 12

static const uint8_t rx_trigger_levels[4] = { 1, 4, 8, 14 };

static bool fifos_on(const struct vuart *u)
{
	return (u->fcr & FCR_ENABLE) != 0;
}

/* The receiver holds 16 bytes in FIFO mode and one (the RBR) in 16450 mode. */
static unsigned rx_capacity(const struct vuart *u)
{
	return fifos_on(u) ? VUART_FIFO_SIZE : 1;
}

static void rx_clear(struct vuart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/*
 * The interrupt IIR reports now, the highest-priority enabled one (Table IV),
 * or IIR_NONE.  Below the trigger level the character timeout stands for the
 * received data: with no time passing, four character times have always
 * passed since the last byte.
 */
static uint8_t pending_interrupt(const struct vuart *u)
{
	if ((u->ier & IER_ELSI) && u->lsr_errors)
		return IIR_RLS;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		unsigned level = rx_trigger_levels[(u->fcr & FCR_TRIGGER) >> FCR_TRIGGER_SHIFT];
		if (!fifos_on(u) || u->rx_count >= level)
			return IIR_RDA;
		return IIR_TIMEOUT;
	}
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && u->msr_deltas)
		return IIR_MSR;
	return IIR_NONE;
}

/*
 * The modem inputs as the chip sees them: the far end's, or in loopback its
 * own outputs (MCR bit 4: RTS to CTS, DTR to DSR, OUT1 to RI, OUT2 to DCD).
 */
static uint8_t modem_lines(const struct vuart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return u->modem_inputs;
	uint8_t lines = 0;
	if (u->mcr & MCR_RTS)
		lines |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		lines |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		lines |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		lines |= MSR_DCD;
	return lines;
}

/* Takes the current modem lines, noting changes in MSR bits 3:0 as the chip does. */
static void update_modem_lines(struct vuart *u)
{
	uint8_t now = modem_lines(u);
	uint8_t changed = (uint8_t)(now ^ u->msr_lines);
	if (changed & MSR_CTS)
		u->msr_deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_deltas |= MSR_DDSR;
	if ((changed & MSR_RI) && !(now & MSR_RI))
		u->msr_deltas |= MSR_TERI;
	if (changed & MSR_DCD)
		u->msr_deltas |= MSR_DDCD;
	u->msr_lines = now;
}

/*
 * A byte reaches the receiver.  When it is full a FIFO keeps what it has and
 * loses the new byte, while the lone RBR of 16450 mode is overwritten; both
 * set OE (LSR bit 1).  False when a byte was lost.
 */
static bool receive(struct vuart *u, uint8_t byte)
{
	if (u->rx_count == rx_capacity(u)) {
		u->lsr_errors |= LSR_OE;
		if (!fifos_on(u))
			u->rx_fifo[u->rx_head] = byte;
		return false;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % VUART_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

/* Reading RBR takes the oldest byte; with none, the last one is read again. */
static uint8_t read_rbr(struct vuart *u)
{
	if (u->rx_count) {
		u->rbr = u->rx_fifo[u->rx_head];
		u->rx_head = (uint8_t)((u->rx_head + 1) % VUART_FIFO_SIZE);
		u->rx_count--;
	}
	return u->rbr;
}

/* Reading IIR acknowledges the THRE interrupt, but only when it is the one reported. */
static uint8_t read_iir(struct vuart *u)
{
	uint8_t id = pending_interrupt(u);
	if (id == IIR_THRE)
		u->thre_pending = false;
	return (uint8_t)(id | (fifos_on(u) ? IIR_FIFOS : 0));
}

/*
 * Reading LSR clears the error bits and so the line status interrupt.
 * THRE and TEMT are always set: the transmitter is infinitely fast.  Bit 7
 * (an errored byte in the FIFO) stays 0: no byte arrives with a parity,
 * framing or break error.
 */
static uint8_t read_lsr(struct vuart *u)
{
	uint8_t lsr = (uint8_t)(u->lsr_errors | LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0));
	u->lsr_errors = 0;
	return lsr;
}

/* Reading MSR clears the change bits and so the modem status interrupt. */
static uint8_t read_msr(struct vuart *u)
{
	uint8_t msr = (uint8_t)(u->msr_lines | u->msr_deltas);
	u->msr_deltas = 0;
	return msr;
}

/*
 * A byte written to THR leaves at once: to tx(), or in loopback into the
 * receiver (the serial output idles at mark).  The write acknowledges the
 * THRE interrupt, and the holding register is empty again at once, which
 * raises it anew as the chip does when THR drains: a driver that fills THR
 * from its THRE handler gets the next interrupt.
 */
static void transmit(struct vuart *u, uint8_t byte)
{
	if (u->mcr & MCR_LOOP)
		receive(u, byte);
	else if (u->tx)
		u->tx(u->tx_ctx, byte);
	u->thre_pending = true;
}

/*
 * Setting ETBEI while THR is empty raises the THRE interrupt again even after
 * it was acknowledged (Linux's start-up test for UART_BUG_THRE expects it,
 * as does Windows); clearing ETBEI drops it.
 */
static void write_ier(struct vuart *u, uint8_t v)
{
	uint8_t old = u->ier;
	u->ier = v & IER_MASK;
	if ((old ^ u->ier) & IER_ETBEI)
		u->thre_pending = (u->ier & IER_ETBEI) != 0;
}

/*
 * FCR: turning the FIFOs on or off empties them; the other bits are taken
 * only with FCR.0 set.  The transmitter FIFO is always empty, so its reset
 * has nothing to do.
 */
static void write_fcr(struct vuart *u, uint8_t v)
{
	if ((v ^ u->fcr) & FCR_ENABLE)
		rx_clear(u);
	if (!(v & FCR_ENABLE)) {
		u->fcr &= (uint8_t)~FCR_ENABLE;
		return;
	}
	if (v & FCR_RX_RESET)
		rx_clear(u);
	u->fcr = v & (FCR_ENABLE | FCR_DMA_MODE | FCR_TRIGGER);
}

/* One byte read from register reg (0..7), with the read's side effects. */
static uint8_t reg_read(struct vuart *u, unsigned reg)
{
	bool dlab = (u->lcr & LCR_DLAB) != 0;
	switch (reg) {
	case REG_RBR:
		return dlab ? u->dll : read_rbr(u);
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR:
		return read_iir(u);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return read_lsr(u);
	case REG_MSR:
		return read_msr(u);
	default:
		return u->scr;
	}
}

/* One byte written to register reg (0..7). */
static void reg_write(struct vuart *u, unsigned reg, uint8_t v)
{
	bool dlab = (u->lcr & LCR_DLAB) != 0;
	switch (reg) {
	case REG_RBR:
		if (dlab)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = v;
		else
			write_ier(u, v);
		break;
	case REG_IIR:
		write_fcr(u, v);
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & MCR_MASK;
		update_modem_lines(u);
		break;
	case REG_LSR:
	case REG_MSR:
		/* Writable for factory test only (data sheet); ignored. */
		break;
	default:
		u->scr = v;
		break;
	}
}

void vuart_init(struct vuart *u, uint16_t base, void (*tx)(void *ctx, uint8_t byte), void *ctx)
{
	*u = (struct vuart){
		.base = base,
		.tx = tx,
		.tx_ctx = ctx,
		.dll = DIVISOR_AT_RESET,
		.modem_inputs = MSR_CTS | MSR_DSR | MSR_DCD,
	};
	u->msr_lines = modem_lines(u);
}

/* A wide access becomes byte accesses at consecutive ports, as ISA does for an 8-bit device. */
err_t vuart_pio(void *dev, bool in, uint16_t port, unsigned size, uint32_t *val)
{
	struct vuart *u = dev;
	if (!u || !val || (size != 1 && size != 2 && size != 4))
		return ERR_INVAL;
	uint32_t result = 0;
	for (unsigned i = 0; i < size; i++) {
		/* Ports below base wrap to large offsets: outside, like those above. */
		uint32_t reg = (uint32_t)port + i - u->base;
		unsigned shift = 8 * i;
		if (in)
			result |= (uint32_t)(reg < VUART_PORTS ? reg_read(u, reg) : 0xff) << shift;
		else if (reg < VUART_PORTS)
			reg_write(u, reg, (uint8_t)(*val >> shift));
	}
	if (in)
		*val = result;
	return ERR_OK;
}

bool vuart_rx(struct vuart *u, uint8_t byte)
{
	/* Loopback disconnects the serial input. */
	if (u->mcr & MCR_LOOP)
		return false;
	return receive(u, byte);
}

unsigned vuart_rx_room(const struct vuart *u)
{
	if (u->mcr & MCR_LOOP)
		return 0;
	return rx_capacity(u) - u->rx_count;
}

bool vuart_irq_line(const struct vuart *u)
{
	if ((u->mcr & (MCR_OUT2 | MCR_LOOP)) != MCR_OUT2)
		return false;
	return pending_interrupt(u) != IIR_NONE;
}
