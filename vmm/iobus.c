/* iobus.c: a VM's port-I/O bus: a table of port ranges, and a default handler counting unclaimed ports. */
#include "lib/printf.h"
#include "vmm/iobus.h"

#define PORT_SPACE 0x10000u /* x86 I/O ports 0..0xffff */
#define REPORT_LINE_MAX 96

static bool valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4;
}

/* All ones in the low size bytes: what a floating ISA bus reads. */
static uint32_t size_mask(unsigned size)
{
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static const struct iobus_range *find(const struct iobus *b, uint16_t port)
{
	for (unsigned i = 0; i < b->nranges; i++) {
		const struct iobus_range *r = &b->ranges[i];
		if (port >= r->first && (uint32_t)port - r->first < r->count)
			return r;
	}
	return NULL;
}

/* Counts an unclaimed access and remembers its port, if there is still room for a new one. */
static void note_unhandled(struct iobus *b, bool in, uint16_t port)
{
	if (in)
		b->unhandled_in++;
	else
		b->unhandled_out++;
	for (unsigned i = 0; i < b->nunhandled; i++) {
		if (b->unhandled[i].port == port && b->unhandled[i].in == in) {
			b->unhandled[i].count++;
			return;
		}
	}
	if (b->nunhandled < IOBUS_MAX_UNHANDLED)
		b->unhandled[b->nunhandled++] = (struct iobus_unhandled){ port, in, 1 };
}

void iobus_init(struct iobus *b)
{
	*b = (struct iobus){ .nranges = 0 };
}

err_t iobus_register(struct iobus *b, uint16_t first, uint16_t count, pio_handler_fn fn, void *dev,
		     const char *name)
{
	uint32_t end = (uint32_t)first + count;
	if (!count || end > PORT_SPACE || !fn || b->nranges == IOBUS_MAX_RANGES)
		return ERR_INVAL;
	for (unsigned i = 0; i < b->nranges; i++) {
		const struct iobus_range *r = &b->ranges[i];
		if (first < (uint32_t)r->first + r->count && r->first < end)
			return ERR_INVAL;
	}
	b->ranges[b->nranges++] = (struct iobus_range){ first, count, fn, dev, name };
	return ERR_OK;
}

err_t iobus_access(struct iobus *b, bool in, uint16_t port, unsigned size, uint32_t *val)
{
	if (!val || !valid_size(size))
		return ERR_INVAL;
	uint32_t mask = size_mask(size);
	const struct iobus_range *r = find(b, port);
	if (!r) {
		note_unhandled(b, in, port);
		if (in)
			*val = mask;
		return ERR_OK;
	}
	/* A device that leaves *val alone on IN reads as the floating bus. */
	uint32_t v = in ? mask : *val & mask;
	err_t err = r->fn(r->dev, in, port, size, &v);
	if (in)
		*val = v & mask;
	return err;
}

const char *iobus_owner(const struct iobus *b, uint16_t port)
{
	const struct iobus_range *r = find(b, port);
	return r ? r->name : NULL;
}

void iobus_report(const struct iobus *b, void (*line)(void *ctx, const char *text), void *ctx)
{
	char text[REPORT_LINE_MAX];
	uint64_t listed = 0;
	for (unsigned i = 0; i < b->nunhandled; i++) {
		const struct iobus_unhandled *u = &b->unhandled[i];
		ksnprintf(text, sizeof(text), "port 0x%x %s %llu time%s, no device", u->port,
			  u->in ? "read" : "written", (unsigned long long)u->count,
			  u->count == 1 ? "" : "s");
		line(ctx, text);
		listed += u->count;
	}
	uint64_t rest = b->unhandled_in + b->unhandled_out - listed;
	if (rest) {
		ksnprintf(text, sizeof(text), "%llu more unclaimed access%s to other ports",
			  (unsigned long long)rest, rest == 1 ? "" : "es");
		line(ctx, text);
	}
}
