/* test_iobus.c: unit tests of the port-I/O bus (vmm/iobus.c): dispatch, registration, unclaimed ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/iobus.h"

/* A device that records its last access and answers reads with a set value. */
struct fake {
	unsigned calls;
	bool in;
	uint16_t port;
	unsigned size;
	uint32_t written;
	uint32_t answer;
	err_t result;
};

static err_t fake_pio(void *dev, bool in, uint16_t port, unsigned size, uint32_t *val)
{
	struct fake *d = dev;
	d->calls++;
	d->in = in;
	d->port = port;
	d->size = size;
	if (in)
		*val = d->answer;
	else
		d->written = *val;
	return d->result;
}

/* A device that reads without setting *val. */
static err_t silent_pio(void *dev, bool in, uint16_t port, unsigned size, uint32_t *val)
{
	(void)dev, (void)in, (void)port, (void)size, (void)val;
	return ERR_OK;
}

static struct iobus *new_bus(void)
{
	struct iobus *b = malloc(sizeof(*b));
	assert_non_null(b);
	memset(b, 0xa5, sizeof(*b)); /* iobus_init must not rely on zeroed memory */
	iobus_init(b);
	return b;
}

static void dispatch_reaches_the_owning_device(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake uart = { .answer = 0x60 }, kbd = { .answer = 0x1c };
	assert_int_equal(iobus_register(b, 0x3f8, 8, fake_pio, &uart, "uart"), ERR_OK);
	assert_int_equal(iobus_register(b, 0x60, 1, fake_pio, &kbd, "kbd"), ERR_OK);

	uint32_t v = 0;
	assert_int_equal(iobus_access(b, true, 0x3fd, 1, &v), ERR_OK);
	assert_int_equal(v, 0x60);
	assert_int_equal(uart.calls, 1);
	assert_true(uart.in);
	assert_int_equal(uart.port, 0x3fd);
	assert_int_equal(uart.size, 1);
	assert_int_equal(kbd.calls, 0);

	v = 'A';
	assert_int_equal(iobus_access(b, false, 0x3f8, 1, &v), ERR_OK);
	assert_false(uart.in);
	assert_int_equal(uart.port, 0x3f8);
	assert_int_equal(uart.written, 'A');
	assert_int_equal(iobus_access(b, true, 0x3ff, 1, &v), ERR_OK);
	assert_int_equal(uart.port, 0x3ff);
	assert_int_equal(uart.calls, 3);

	assert_int_equal(iobus_access(b, true, 0x60, 1, &v), ERR_OK);
	assert_int_equal(v, 0x1c);
	assert_int_equal(kbd.calls, 1);

	/* Just outside either range: nobody's. */
	assert_int_equal(iobus_access(b, true, 0x3f7, 1, &v), ERR_OK);
	assert_int_equal(iobus_access(b, true, 0x400, 1, &v), ERR_OK);
	assert_int_equal(iobus_access(b, true, 0x61, 1, &v), ERR_OK);
	assert_int_equal(uart.calls + kbd.calls, 4);
	assert_int_equal(b->unhandled_in, 3);

	assert_string_equal(iobus_owner(b, 0x3fa), "uart");
	assert_string_equal(iobus_owner(b, 0x60), "kbd");
	assert_null(iobus_owner(b, 0x61));
	free(b);
}

static void values_are_cut_to_the_access_size(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake d = { .answer = 0x12345678 };
	assert_int_equal(iobus_register(b, 0x100, 4, fake_pio, &d, "dev"), ERR_OK);
	uint32_t v = 0;
	assert_int_equal(iobus_access(b, true, 0x100, 1, &v), ERR_OK);
	assert_int_equal(v, 0x78);
	assert_int_equal(iobus_access(b, true, 0x100, 2, &v), ERR_OK);
	assert_int_equal(v, 0x5678);
	assert_int_equal(iobus_access(b, true, 0x100, 4, &v), ERR_OK);
	assert_int_equal(v, 0x12345678);
	v = 0xaabbccdd;
	assert_int_equal(iobus_access(b, false, 0x100, 1, &v), ERR_OK);
	assert_int_equal(d.written, 0xdd);
	assert_int_equal(iobus_access(b, false, 0x100, 2, &v), ERR_OK);
	assert_int_equal(d.written, 0xccdd);
	/* A device that does not answer a read reads as the floating bus. */
	assert_int_equal(iobus_register(b, 0x200, 1, silent_pio, NULL, "silent"), ERR_OK);
	v = 0;
	assert_int_equal(iobus_access(b, true, 0x200, 2, &v), ERR_OK);
	assert_int_equal(v, 0xffff);
	free(b);
}

static void device_errors_are_passed_back(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake d = { .result = ERR_UNSUPPORTED };
	assert_int_equal(iobus_register(b, 0x70, 2, fake_pio, &d, "rtc"), ERR_OK);
	uint32_t v = 0;
	assert_int_equal(iobus_access(b, false, 0x70, 1, &v), ERR_UNSUPPORTED);
	assert_int_equal(b->unhandled_in + b->unhandled_out, 0);
	free(b);
}

static void access_spanning_two_devices_goes_to_the_first_ports_owner(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake lo = { .answer = 0x11 }, hi = { .answer = 0x22 };
	assert_int_equal(iobus_register(b, 0x10, 2, fake_pio, &lo, "lo"), ERR_OK);
	assert_int_equal(iobus_register(b, 0x12, 2, fake_pio, &hi, "hi"), ERR_OK);
	uint32_t v = 0;
	assert_int_equal(iobus_access(b, true, 0x11, 4, &v), ERR_OK);
	assert_int_equal(lo.calls, 1);
	assert_int_equal(lo.port, 0x11);
	assert_int_equal(lo.size, 4);
	assert_int_equal(hi.calls, 0);
	/* An unclaimed first port makes the whole access unclaimed. */
	assert_int_equal(iobus_access(b, true, 0x0f, 2, &v), ERR_OK);
	assert_int_equal(v, 0xffff);
	assert_int_equal(lo.calls, 1);
	assert_int_equal(b->unhandled_in, 1);
	free(b);
}

static void overlapping_registration_is_refused(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake d = { 0 };
	assert_int_equal(iobus_register(b, 0x3f8, 8, fake_pio, &d, "uart"), ERR_OK);
	/* Same, inside, containing, and across either end. */
	assert_int_equal(iobus_register(b, 0x3f8, 8, fake_pio, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0x3fa, 2, fake_pio, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0x3f0, 0x20, fake_pio, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0x3f0, 9, fake_pio, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0x3ff, 4, fake_pio, &d, "x"), ERR_INVAL);
	/* Adjacent on both sides is fine. */
	assert_int_equal(iobus_register(b, 0x3f0, 8, fake_pio, &d, "below"), ERR_OK);
	assert_int_equal(iobus_register(b, 0x400, 8, fake_pio, &d, "above"), ERR_OK);
	/* Empty ranges, ranges past 0xffff and missing handlers are refused too. */
	assert_int_equal(iobus_register(b, 0x80, 0, fake_pio, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0xfffe, 4, fake_pio, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0x80, 1, NULL, &d, "x"), ERR_INVAL);
	assert_int_equal(iobus_register(b, 0xffff, 1, fake_pio, &d, "top"), ERR_OK);
	assert_int_equal(iobus_register(b, 0, 1, fake_pio, &d, "bottom"), ERR_OK);
	assert_int_equal(b->nranges, 5);
	free(b);
}

static void a_full_table_is_refused(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake d = { 0 };
	for (unsigned i = 0; i < IOBUS_MAX_RANGES; i++) {
		uint16_t first = (uint16_t)(0x1000 + 4 * i);
		assert_int_equal(iobus_register(b, first, 4, fake_pio, &d, "d"), ERR_OK);
	}
	assert_int_equal(iobus_register(b, 0x8000, 1, fake_pio, &d, "one too many"), ERR_INVAL);
	/* The last range registered still works. */
	uint32_t v = 0;
	uint16_t last = (uint16_t)(0x1000 + 4 * IOBUS_MAX_RANGES - 1);
	assert_int_equal(iobus_access(b, true, last, 1, &v), ERR_OK);
	assert_int_equal(d.calls, 1);
	free(b);
}

static void unclaimed_reads_return_all_ones_and_are_counted(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	uint32_t v = 0;
	assert_int_equal(iobus_access(b, true, 0x61, 1, &v), ERR_OK);
	assert_int_equal(v, 0xff);
	v = 0;
	assert_int_equal(iobus_access(b, true, 0xcfc, 2, &v), ERR_OK);
	assert_int_equal(v, 0xffff);
	v = 0;
	assert_int_equal(iobus_access(b, true, 0xcfc, 4, &v), ERR_OK);
	assert_int_equal(v, 0xffffffffu);
	v = 0x1234;
	assert_int_equal(iobus_access(b, false, 0x80, 1, &v), ERR_OK);
	assert_int_equal(iobus_access(b, false, 0xcf8, 4, &v), ERR_OK);
	assert_int_equal(b->unhandled_in, 3);
	assert_int_equal(b->unhandled_out, 2);
	free(b);
}

struct lines {
	char text[16][128];
	unsigned n;
};

static void collect(void *ctx, const char *text)
{
	struct lines *l = ctx;
	assert_true(l->n < 16);
	assert_true(strlen(text) < sizeof(l->text[0]));
	strcpy(l->text[l->n++], text);
}

static void unclaimed_ports_are_remembered_for_the_report(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct lines l = { 0 };
	iobus_report(b, collect, &l);
	assert_int_equal(l.n, 0);

	uint32_t v = 0;
	for (unsigned i = 0; i < 14; i++)
		assert_int_equal(iobus_access(b, false, 0x80, 1, &v), ERR_OK);
	assert_int_equal(iobus_access(b, true, 0x61, 1, &v), ERR_OK);
	assert_int_equal(iobus_access(b, true, 0x61, 1, &v), ERR_OK);
	assert_int_equal(iobus_access(b, false, 0x61, 1, &v), ERR_OK);
	assert_int_equal(b->nunhandled, 3);
	assert_int_equal(b->unhandled[0].port, 0x80);
	assert_false(b->unhandled[0].in);
	assert_int_equal(b->unhandled[0].count, 14);
	assert_int_equal(b->unhandled[1].port, 0x61);
	assert_true(b->unhandled[1].in);
	assert_int_equal(b->unhandled[1].count, 2);
	assert_int_equal(b->unhandled[2].port, 0x61);
	assert_false(b->unhandled[2].in);
	assert_int_equal(b->unhandled[2].count, 1);

	/* Past IOBUS_MAX_UNHANDLED distinct ports, new ones are only counted. */
	for (unsigned p = 0; p < IOBUS_MAX_UNHANDLED; p++) {
		assert_int_equal(iobus_access(b, true, (uint16_t)(0x200 + p), 1, &v), ERR_OK);
		assert_int_equal(iobus_access(b, true, (uint16_t)(0x200 + p), 1, &v), ERR_OK);
	}
	assert_int_equal(b->nunhandled, IOBUS_MAX_UNHANDLED);
	assert_int_equal(b->unhandled[3].port, 0x200);
	assert_int_equal(b->unhandled[3].count, 2);
	assert_int_equal(b->unhandled_in, 2 + 2 * IOBUS_MAX_UNHANDLED);
	assert_int_equal(b->unhandled_out, 15);

	iobus_report(b, collect, &l);
	assert_int_equal(l.n, IOBUS_MAX_UNHANDLED + 1);
	assert_string_equal(l.text[0], "port 0x80 written 14 times, no device");
	assert_string_equal(l.text[1], "port 0x61 read 2 times, no device");
	assert_string_equal(l.text[2], "port 0x61 written 1 time, no device");
	assert_string_equal(l.text[3], "port 0x200 read 2 times, no device");
	/* 3 ports still unlisted, read twice each. */
	assert_string_equal(l.text[IOBUS_MAX_UNHANDLED], "6 more unclaimed accesses to other ports");
	free(b);
}

static void bad_size_is_invalid(void **state)
{
	(void)state;
	struct iobus *b = new_bus();
	struct fake d = { 0 };
	assert_int_equal(iobus_register(b, 0x3f8, 8, fake_pio, &d, "uart"), ERR_OK);
	for (unsigned size = 0; size <= 8; size++) {
		if (size == 1 || size == 2 || size == 4)
			continue;
		uint32_t v = 0x5a;
		assert_int_equal(iobus_access(b, true, 0x3f8, size, &v), ERR_INVAL);
		assert_int_equal(iobus_access(b, false, 0x3f8, size, &v), ERR_INVAL);
		assert_int_equal(iobus_access(b, true, 0x80, size, &v), ERR_INVAL);
		assert_int_equal(v, 0x5a);
	}
	assert_int_equal(iobus_access(b, true, 0x3f8, 1, NULL), ERR_INVAL);
	assert_int_equal(d.calls, 0);
	assert_int_equal(b->unhandled_in + b->unhandled_out, 0);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispatch_reaches_the_owning_device),
		cmocka_unit_test(values_are_cut_to_the_access_size),
		cmocka_unit_test(device_errors_are_passed_back),
		cmocka_unit_test(access_spanning_two_devices_goes_to_the_first_ports_owner),
		cmocka_unit_test(overlapping_registration_is_refused),
		cmocka_unit_test(a_full_table_is_refused),
		cmocka_unit_test(unclaimed_reads_return_all_ones_and_are_counted),
		cmocka_unit_test(unclaimed_ports_are_remembered_for_the_report),
		cmocka_unit_test(bad_size_is_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
