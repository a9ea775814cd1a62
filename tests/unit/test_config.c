/* test_config.c: unit tests of VM module-string parsing (vmm/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/config.h"

static char reports[1024];

static void collect(void *ctx, const char *msg)
{
	(void)ctx;
	strncat(reports, msg, sizeof(reports) - strlen(reports) - 2);
	strcat(reports, "\n");
}

static struct vm_config defaults(void)
{
	struct vm_config c = { .name = "vm0", .mem = 64 << 20, .mmu = VM_MMU_NESTED, .large = true,
			       .tlbtag = true };
	reports[0] = 0;
	return c;
}

static void full_module_string_sets_every_field(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("vm=bench mem=128M mmu=nested large=off tlbtag=off "
					 "cmdline=\"harness=qemu crash=triple\"", &c, collect, NULL),
			 ERR_OK);
	assert_string_equal(c.name, "bench");
	assert_int_equal(c.mem, 128ull << 20);
	assert_false(c.large);
	assert_false(c.tlbtag);
	assert_string_equal(c.cmdline, "harness=qemu crash=triple");
	assert_string_equal(reports, "");
}

static void absent_options_keep_defaults(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("", &c, collect, NULL), ERR_OK);
	assert_string_equal(c.name, "vm0");
	assert_int_equal(c.mem, 64ull << 20);
	assert_true(c.large);
	assert_true(c.tlbtag);
}

static void grub_requoted_cmdline_is_read(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("vm=a \"cmdline=console=ttyS0 quiet\"", &c, collect, NULL),
			 ERR_OK);
	assert_string_equal(c.cmdline, "console=ttyS0 quiet");
}

static void bad_values_are_named_and_refused(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("mem=12Q large=maybe tlbtag=1 vm=bad/name", &c, collect, NULL),
			 ERR_INVAL);
	assert_non_null(strstr(reports, "mem: bad size '12Q'"));
	assert_non_null(strstr(reports, "large: bad value 'maybe'"));
	assert_non_null(strstr(reports, "tlbtag: bad value '1'"));
	assert_non_null(strstr(reports, "vm: bad name 'bad/name'"));
}

static void memory_outside_limits_is_refused(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("mem=1M", &c, collect, NULL), ERR_INVAL);
	c = defaults();
	assert_int_equal(vm_config_parse("mem=65G", &c, collect, NULL), ERR_INVAL);
	c = defaults();
	assert_int_equal(vm_config_parse("mem=4097K", &c, collect, NULL), ERR_INVAL);
	c = defaults();
	assert_int_equal(vm_config_parse("mem=2M", &c, collect, NULL), ERR_OK);
	assert_int_equal(c.mem, 2ull << 20);
}

static void unknown_option_is_named_and_refused(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("vm=x memory=64M", &c, collect, NULL), ERR_INVAL);
	assert_non_null(strstr(reports, "unknown option 'memory'"));
}

static void shadow_mmu_options_are_read_and_checked(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("mmu=shadow", &c, collect, NULL), ERR_OK);
	assert_int_equal(c.mmu, VM_MMU_SHADOW);
	assert_int_equal(c.shadow_pages, 0);
	assert_false(c.mmu_audit);
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=shadow shadow_pages=64 mmu_audit=on", &c, collect, NULL),
			 ERR_OK);
	assert_int_equal(c.shadow_pages, 64);
	assert_true(c.mmu_audit);
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=shadow shadow_pages=15", &c, collect, NULL), ERR_INVAL);
	assert_non_null(strstr(reports, "shadow_pages: bad value '15' (16 to 16384 pages)"));
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=shadow shadow_pages=16385", &c, collect, NULL), ERR_INVAL);
	c = defaults();
	assert_int_equal(vm_config_parse("shadow_pages=64", &c, collect, NULL), ERR_INVAL);
	assert_non_null(strstr(reports, "shadow_pages: only for mmu=shadow"));
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=nested mmu_audit=on", &c, collect, NULL), ERR_INVAL);
	assert_non_null(strstr(reports, "mmu_audit: only for mmu=shadow"));
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=shadow mmu_audit=yes", &c, collect, NULL), ERR_INVAL);
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=shadow mem=zz", &c, collect, NULL), ERR_INVAL);
	c = defaults();
	assert_int_equal(vm_config_parse("mmu=ept", &c, collect, NULL), ERR_INVAL);
}

static void overlong_name_and_cmdline_are_refused(void **state)
{
	(void)state;
	struct vm_config c = defaults();
	assert_int_equal(vm_config_parse("vm=abcdefghijklmnopq", &c, collect, NULL), ERR_INVAL);
	char line[400] = "cmdline=";
	memset(line + 8, 'x', 300);
	line[308] = 0;
	c = defaults();
	assert_int_equal(vm_config_parse(line, &c, collect, NULL), ERR_INVAL);
	assert_non_null(strstr(reports, "cmdline: longer than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_module_string_sets_every_field),
		cmocka_unit_test(absent_options_keep_defaults),
		cmocka_unit_test(grub_requoted_cmdline_is_read),
		cmocka_unit_test(bad_values_are_named_and_refused),
		cmocka_unit_test(memory_outside_limits_is_refused),
		cmocka_unit_test(unknown_option_is_named_and_refused),
		cmocka_unit_test(shadow_mmu_options_are_read_and_checked),
		cmocka_unit_test(overlong_name_and_cmdline_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
