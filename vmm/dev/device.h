/* device.h: the one shape every emulated device's port-I/O handler has. */
#ifndef VMM_DEV_DEVICE_H
#define VMM_DEV_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/*
 * A guest IN or OUT reached the device: in is true for IN; port is the port
 * number; size is 1, 2 or 4 bytes; *val is the value written (OUT) or receives
 * the value read (IN, only the low size bytes count).  Returning an error
 * stops the VM with that error reported; a device never panics the host.
 */
typedef err_t (*pio_handler_fn)(void *dev, bool in, uint16_t port, unsigned size, uint32_t *val);

#endif
