/* iobus.h: a VM's port-I/O bus: routes each guest IN/OUT to the device owning the port. */
#ifndef VMM_IOBUS_H
#define VMM_IOBUS_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"
#include "vmm/dev/device.h"

#define IOBUS_MAX_RANGES    32 /* devices' port ranges per VM */
#define IOBUS_MAX_UNHANDLED 8  /* distinct unclaimed (port, direction) pairs remembered */

/* Ports first..first+count-1 belong to one device. */
struct iobus_range {
	uint16_t first;
	uint16_t count;
	pio_handler_fn fn;
	void *dev;
	const char *name;
};

/* An unclaimed port the guest used: how often, in one direction. */
struct iobus_unhandled {
	uint16_t port;
	bool in;
	uint64_t count;
};

/*
 * Ranges never overlap.  The counters and the unhandled[] records are for
 * reading; unhandled_in and unhandled_out count every unclaimed access, also
 * those to ports beyond the first IOBUS_MAX_UNHANDLED remembered.
 */
struct iobus {
	struct iobus_range ranges[IOBUS_MAX_RANGES];
	unsigned nranges;
	uint64_t unhandled_in;
	uint64_t unhandled_out;
	struct iobus_unhandled unhandled[IOBUS_MAX_UNHANDLED];
	unsigned nunhandled;
};

/* Empties the bus: no device, nothing counted. */
void iobus_init(struct iobus *b);

/*
 * Gives ports first..first+count-1 to a device: fn(dev, ...) handles them;
 * name (kept by reference) labels it in messages.  ERR_INVAL for a count of
 * 0, a range past port 0xffff, no handler, a range overlapping one already
 * registered, or a full table.
 */
err_t iobus_register(struct iobus *b, uint16_t first, uint16_t count, pio_handler_fn fn, void *dev,
		     const char *name);

/*
 * A guest IN (in) or OUT of size 1, 2 or 4 bytes at port; *val as in
 * pio_handler_fn.  The owner of port gets the whole access, even when its
 * further bytes fall on ports it does not own (an x86 access is one bus
 * cycle addressed by its first port; the device decides what its upper
 * bytes mean).  An unclaimed port reads all ones and ignores writes, and is
 * counted.  Values are cut to the access size both ways.  ERR_INVAL for
 * another size; otherwise the device's own result.
 */
err_t iobus_access(struct iobus *b, bool in, uint16_t port, unsigned size, uint32_t *val);

/* The name of the device owning port, or NULL. */
const char *iobus_owner(const struct iobus *b, uint16_t port);

/*
 * Describes the unclaimed accesses, one line per call of line(ctx, text),
 * e.g. "port 0x80 written 14 times, no device", then how many accesses went
 * to ports not remembered.  No call when every access found its device.
 */
void iobus_report(const struct iobus *b, void (*line)(void *ctx, const char *text), void *ctx);

#endif
