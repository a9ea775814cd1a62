/* config.c: parses and checks a VM's module string (README, "Configuring VMs"). */
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "vmm/config.h"
#include "vmm/mmu/shadow.h"

static const char *const known[] = { "vm", "mem", "mmu", "large", "tlbtag", "cmdline",
				     "shadow_pages", "mmu_audit", NULL };
static const char *const mmu_names[] = { "nested", "shadow", NULL };
static const char *const on_off[] = { "off", "on", NULL };

struct checker {
	void (*report)(void *ctx, const char *msg);
	void *ctx;
	err_t err;
};

static void PRINTF_LIKE(3, 4) fail(struct checker *k, err_t err, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k->report)
		k->report(k->ctx, msg);
	if (k->err == ERR_OK || err == ERR_INVAL)
		k->err = err;
}

static void unknown_key(void *ctx, const char *key)
{
	fail(ctx, ERR_INVAL, "unknown option '%s'", key);
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

/* Reads an on/off option into *flag; a bad value is reported. */
static void parse_switch(struct checker *k, const char *s, const char *key, bool *flag)
{
	char val[16];
	unsigned idx;
	if (cmdline_get(s, key, val, sizeof(val)) == ERR_MISSING)
		return;
	if (cmdline_parse_choice(val, on_off, &idx) != ERR_OK)
		fail(k, ERR_INVAL, "%s: bad value '%s' (on or off)", key, val);
	else
		*flag = idx == 1;
}

err_t vm_config_parse(const char *s, struct vm_config *c,
		      void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct checker k = { report, ctx, ERR_OK };
	char val[VM_CMDLINE_MAX];
	unsigned idx;
	uint64_t size;

	cmdline_check_keys(s, known, unknown_key, &k);
	err_t e = cmdline_get(s, "vm", val, sizeof(val));
	if (e != ERR_MISSING) {
		if (e != ERR_OK || !valid_name(val) || cmdline_get(s, "vm", c->name, VM_NAME_MAX) != ERR_OK)
			fail(&k, ERR_INVAL, "vm: bad name '%s' (1-%d letters, digits, '-' or '_')", val,
			     VM_NAME_MAX - 1);
	}
	if (cmdline_get(s, "mem", val, sizeof(val)) == ERR_OK) {
		if (cmdline_parse_size(val, &size) != ERR_OK || size < VM_MEM_MIN || size > VM_MEM_MAX ||
		    (size & 0xfff))
			fail(&k, ERR_INVAL, "mem: bad size '%s' (2M to 64G, a multiple of 4K)", val);
		else
			c->mem = size;
	}
	if (cmdline_get(s, "mmu", val, sizeof(val)) == ERR_OK) {
		if (cmdline_parse_choice(val, mmu_names, &idx) != ERR_OK)
			fail(&k, ERR_INVAL, "mmu: bad value '%s' (nested or shadow)", val);
		else
			c->mmu = idx == VM_MMU_SHADOW ? VM_MMU_SHADOW : VM_MMU_NESTED;
	}
	if (cmdline_get(s, "shadow_pages", val, sizeof(val)) == ERR_OK) {
		if (cmdline_parse_u64(val, &size) != ERR_OK || size < SHADOW_MIN_PAGES ||
		    size > SHADOW_MAX_PAGES)
			fail(&k, ERR_INVAL, "shadow_pages: bad value '%s' (%u to %u pages)", val,
			     SHADOW_MIN_PAGES, SHADOW_MAX_PAGES);
		else if (c->mmu != VM_MMU_SHADOW)
			fail(&k, ERR_INVAL, "shadow_pages: only for mmu=shadow");
		else
			c->shadow_pages = (unsigned)size;
	}
	parse_switch(&k, s, "mmu_audit", &c->mmu_audit);
	if (c->mmu_audit && c->mmu != VM_MMU_SHADOW)
		fail(&k, ERR_INVAL, "mmu_audit: only for mmu=shadow (nested tables need no audit)");
	parse_switch(&k, s, "large", &c->large);
	parse_switch(&k, s, "tlbtag", &c->tlbtag);
	e = cmdline_get(s, "cmdline", c->cmdline, sizeof(c->cmdline));
	if (e == ERR_INVAL)
		fail(&k, ERR_INVAL, "cmdline: longer than %d characters", VM_CMDLINE_MAX - 1);
	return k.err;
}
