/* debug.c: attack debug: the guest's own breakpoints in DR0-DR7 fire in the guest, and DR7.GD guards the debug registers (SDM vol. 3B, 18.2-18.3). */
#include "guests/hostile/hostile.h"

static const char A[] = "debug";

#define DR7_FIXED  0x400ull      /* bit 10 reads as 1 */
#define DR7_L0     (1ull << 0)
#define DR7_L1     (1ull << 2)
#define DR7_GD     (1ull << 13)
#define DR7_RW0_W  (1ull << 16)  /* R/W0 = 01: data writes */
#define DR7_LEN0_4 (3ull << 18)  /* LEN0 = 11: 4 bytes */
#define DR6_B0     (1ull << 0)
#define DR6_B1     (1ull << 1)
#define DR6_BD     (1ull << 13)

static volatile uint32_t watched __attribute__((aligned(8)));

static void do_read_dr7(void *p)
{
	__asm__ volatile("mov %%dr7, %0" : "=r"(*(uint64_t *)p));
}

static void do_reset_dr7(void *p)
{
	(void)p;
	write_dr(7, DR7_FIXED);
}

static void do_store(void *p)
{
	(void)p;
	watched = 0x1234;
}

/* The instruction breakpoint's target: never inlined, so it has an address. */
static __attribute__((noinline)) void breakpoint_target(void)
{
	__asm__ volatile("nop");
}

static void do_call(void *p)
{
	(void)p;
	breakpoint_target();
}

PROBE_ASM(do_read_dr0, "mov %%dr0, %%rax" ::: "rax")

void attack_debug(void)
{
	write_dr(6, 0);
	write_dr(0, (uint64_t)(uintptr_t)&watched);
	write_dr(7, DR7_FIXED | DR7_L0 | DR7_RW0_W | DR7_LEN0_4);
	int v = probe(do_store, NULL);
	write_dr(7, DR7_FIXED);
	check_vector(A, "a data breakpoint (DR0, write) raises #DB", v, VEC_DB);
	if (v == VEC_DB)
		check_value(A, "the data breakpoint sets DR6.B0", trap_last.dr6 & DR6_B0, DR6_B0);
	check_value(A, "the write under the data breakpoint completed", watched, 0x1234);

	write_dr(6, 0);
	write_dr(1, (uint64_t)(uintptr_t)breakpoint_target);
	write_dr(7, DR7_FIXED | DR7_L1); /* R/W1 = 00, LEN1 = 00: instruction fetch */
	v = probe(do_call, NULL);
	write_dr(7, DR7_FIXED);
	check_vector(A, "an instruction breakpoint (DR1) raises #DB", v, VEC_DB);
	if (v == VEC_DB)
		check_value(A, "the instruction breakpoint sets DR6.B1", trap_last.dr6 & DR6_B1, DR6_B1);

	write_dr(6, 0);
	write_dr(7, DR7_FIXED | DR7_GD);
	v = probe(do_read_dr0, NULL);
	uint64_t dr6 = trap_last.dr6, dr7 = 0;
	/* Had GD stayed set, these would raise #DB again: inside probes. */
	int v7 = probe(do_read_dr7, &dr7);
	if (probe(do_reset_dr7, NULL) >= 0 && probe(do_reset_dr7, NULL) >= 0)
		hostile_fatal(A, "DR7.GD cannot be cleared");
	/* QEMU's TCG does not implement DR7.GD. */
	check_vector_lenient(A, "MOV from DR0 with DR7.GD set raises #DB", v, VEC_DB, EMU_QEMU);
	if (v == VEC_DB) {
		check_value(A, "the DR7.GD #DB sets DR6.BD", dr6 & DR6_BD, DR6_BD);
		check_true(A, "the DR7.GD #DB clears DR7.GD", v7 < 0 && !(dr7 & DR7_GD),
			   "DR7.GD still set");
	}
}
