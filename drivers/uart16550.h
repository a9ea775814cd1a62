/* uart16550.h: the host's own 16550 serial port, used as the console. */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8

/* Programs the UART at port for 115200 8N1; false when no UART answers there. */
bool uart_init(uint16_t port);
void uart_putc(char c);
/* Waits until every byte has left the transmitter, so none is lost at power-off. */
void uart_flush(void);

#endif
