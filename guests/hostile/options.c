/* options.c: the hostile guest's command line: which attacks, the seed, the harness (built for 64-bit and 32-bit code). */
#include "guests/hostile/hostile.h"
#include "lib/string.h"

const char *const attack_names[ATTACK_COUNT] = {
	[ATTACK_TASK] = "task",       [ATTACK_MWAIT] = "mwait", [ATTACK_STATE] = "state",
	[ATTACK_SVM] = "svm",         [ATTACK_VMX] = "vmx",     [ATTACK_MSR] = "msr",
	[ATTACK_INVD] = "invd",       [ATTACK_STRINGIO] = "stringio",
	[ATTACK_EXCEPTIONS] = "exceptions",
	[ATTACK_SMC] = "smc",         [ATTACK_DEBUG] = "debug", [ATTACK_CPUID] = "cpuid",
	[ATTACK_CR] = "cr",
};

static const char *const walk_names[] = { [WALK_CR3] = "cr3", [WALK_PTE] = "pte", [WALK_GDT] = "gdt",
					  [WALK_REALMODE] = "realmode" };

/* Marks the attack named by the len bytes at name; false if there is none. */
static bool select_attack(struct options *o, const char *name, size_t len)
{
	if (len == 3 && !memcmp(name, "all", 3)) {
		for (unsigned i = 0; i < ATTACK_COUNT; i++)
			o->attack[i] = true;
		return true;
	}
	for (unsigned i = 0; i < ATTACK_COUNT; i++) {
		if (strlen(attack_names[i]) == len && !memcmp(attack_names[i], name, len)) {
			o->attack[i] = true;
			return true;
		}
	}
	return false;
}

static uint64_t parse_decimal(const char *s)
{
	uint64_t v = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

void options_parse(const struct boot_info *boot, struct options *o)
{
	static char list[BOOT_CMDLINE_MAX], value[32];

	memset(o, 0, sizeof(*o));
	o->harness = harness_option(boot);
	if (bootinfo_option(boot, "seed", value, sizeof(value)))
		o->seed = parse_decimal(value);
	if (bootinfo_option(boot, "walk", value, sizeof(value))) {
		for (unsigned w = WALK_CR3; w <= WALK_REALMODE; w++)
			if (!strcmp(value, walk_names[w]))
				o->walk = (enum walk)w;
		if (o->walk == WALK_NONE)
			o->bad = "walk";
	}
	if (!bootinfo_option(boot, "attack", list, sizeof(list))) {
		if (o->walk == WALK_NONE)
			select_attack(o, "all", 3);
		return;
	}
	for (const char *p = list; *p;) {
		size_t len = 0;

		while (p[len] && p[len] != ',')
			len++;
		if (!select_attack(o, p, len))
			o->bad = "attack";
		p += len;
		if (*p == ',')
			p++;
	}
}
