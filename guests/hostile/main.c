/* main.c: the hostile guest in long mode: sets up its IDT and page tables, runs the attacks chosen on its command line, reports. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"
#include "guests/common/desc.h"

#define EARLY_FATAL    (1u << 31) /* pm32: the 32-bit part could not finish */
#define EARLY_FAILURES 0xffffu

struct options opt;
static struct boot_info boot;
static struct idt_gate idt[256];

static void (*const attack_fns[ATTACK_COUNT])(void) = {
	[ATTACK_MWAIT] = attack_mwait, [ATTACK_STATE] = attack_state, [ATTACK_SVM] = attack_svm,
	[ATTACK_VMX] = attack_vmx,     [ATTACK_MSR] = attack_msr,     [ATTACK_INVD] = attack_invd,
	[ATTACK_STRINGIO] = attack_stringio, [ATTACK_EXCEPTIONS] = attack_exceptions,
	[ATTACK_SMC] = attack_smc,
	[ATTACK_DEBUG] = attack_debug, [ATTACK_CPUID] = attack_cpuid, [ATTACK_CR] = attack_cr,
};

static void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		idt[v] = idt_gate_to(trap_stubs[v]);
	struct descriptor_pointer idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void hostile_fatal(const char *attack, const char *why)
{
	check_fatal(attack, why);
}

uint64_t seeded(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

void guest_main(uint32_t magic, uint32_t info, uint32_t early)
{
	console_init("hostile");
	const char *problem = bootinfo_parse(magic, info, &boot);
	if (problem) {
		report("%s", problem);
		report("result FAIL");
		env_exit(1, HARNESS_NONE);
	}
	options_parse(&boot, &opt);
	report_setup(env_under_hypervisor(), opt.harness);
	idt_init();
	uint64_t end;
	paging_init(&boot, &end);
	window_init();
	sse_enable();

	/* The 32-bit part (pm32/) printed the banner and its own results. */
	report_add_failures(early & EARLY_FAILURES);
	if (early & EARLY_FATAL)
		hostile_fatal("pm32", "the 32-bit protected-mode part could not finish");
	if (opt.bad)
		hostile_fatal("options", opt.walk == WALK_NONE && opt.bad[0] == 'a'
					 ? "unknown attack name in attack="
					 : "walk= must be cr3, pte or gdt");
	if (opt.walk != WALK_NONE)
		attack_walk(opt.walk);
	for (unsigned a = 0; a < ATTACK_COUNT; a++)
		if (opt.attack[a] && attack_fns[a])
			attack_fns[a]();
	check_finish();
}
