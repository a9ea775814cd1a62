/* smc.c: attack smc: code the guest writes is the code it then runs: in one page, across a page boundary, and through an alias (SDM vol. 3A, 11.6). */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

static const char A[] = "smc";

#define MOV_EAX_IMM32 0xb8
#define RET           0xc3

/* Writes "mov eax, imm; ret" at p. */
static void emit(uint8_t *p, uint32_t imm)
{
	p[0] = MOV_EAX_IMM32;
	memcpy(p + 1, &imm, 4);
	p[5] = RET;
}

/* Rewrites only the immediate, byte by byte. */
static void patch(volatile uint8_t *p, uint32_t imm)
{
	for (unsigned i = 0; i < 4; i++)
		p[1 + i] = (uint8_t)(imm >> (8 * i));
}

static uint32_t run(uint64_t addr)
{
	return ((uint32_t (*)(void))(uintptr_t)addr)();
}

static void serialize(void)
{
	(void)cpuid(0, 0);
}

static void same_mapping(const char *where, uint64_t code, uint32_t first, uint32_t second)
{
	char what[96];

	emit((uint8_t *)(uintptr_t)code, first);
	ksnprintf(what, sizeof(what), "%s: runs what was written", where);
	check_value(A, what, run(code), first);
	patch((volatile uint8_t *)(uintptr_t)code, second);
	ksnprintf(what, sizeof(what), "%s: runs the new immediate at once", where);
	check_value(A, what, run(code), second);
}

void attack_smc(void)
{
	uint64_t f0 = (uint64_t)(uintptr_t)window_frames[0];
	uint64_t f1 = (uint64_t)(uintptr_t)window_frames[1];
	uint64_t x = opt.seed;

	/* Window pages 4 and 5: two frames that are not neighbours in memory. */
	window_map(4, f1, PTE_P | PTE_W);
	window_map(5, f0, PTE_P | PTE_W);
	same_mapping("in one page", window_addr(4) + 64, (uint32_t)seeded(&x), (uint32_t)seeded(&x));
	/* mov's opcode and first immediate byte on page 4, the rest on page 5. */
	same_mapping("across a page boundary", window_addr(5) - 2, (uint32_t)seeded(&x),
		     (uint32_t)seeded(&x));

	/* Page 6 maps frame 1 again: written through 6, run through 4. */
	window_map(6, f1, PTE_P | PTE_W);
	uint64_t code = window_addr(4) + 256, alias = window_addr(6) + 256;
	uint32_t first = (uint32_t)seeded(&x), second = (uint32_t)seeded(&x);
	emit((uint8_t *)(uintptr_t)alias, first);
	serialize();
	check_value(A, "through an alias: runs what was written", run(code), first);
	patch((volatile uint8_t *)(uintptr_t)alias, second);
	serialize();
	check_value(A, "through an alias: runs the new immediate after CPUID", run(code), second);
	for (unsigned i = 4; i <= 6; i++)
		window_map(i, 0, 0);
}
