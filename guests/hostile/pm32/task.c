/* task.c: attack task: hardware task switches by JMP, CALL, task gates and INT n, with and without paging (Intel SDM vol. 3A, chapter 8). */
#include "guests/hostile/pm32/pm32.h"
#include "lib/string.h"

static const char A[] = "task";

#define EFLAGS_FIXED 0x2u        /* bit 1 always reads 1 */
#define EFLAGS_NT    (1u << 14)
#define CR0_TS32     (1u << 3)
#define CR0_PG32     (1u << 31)
#define CR4_PSE32    (1u << 4)
#define TYPE_AVAIL   0x9         /* available 32-bit TSS */
#define TYPE_BUSY    0xb
#define TSS_LIMIT    (sizeof(struct tss32) - 1)
#define LINK_UNTOUCHED 0xdead    /* a back link a JMP must leave alone */
#define STACK_WORDS  256

static struct tss32 tss_main, tss_jmp, tss_call, tss_gated, tss_int, tss_paging, tss_short;
static struct tss32 initial; /* the last tss_init()'s values: the switch back overwrites the TSS */
static uint32_t stacks[5][STACK_WORDS];

/* Called by task_body (entry32.asm) in the new task: the descriptor types. */
void task_observe(void);
void task_observe(void)
{
	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		task_seen.types[i] = (uint8_t)((gdt[i] >> 40) & 0xf);
	uint16_t tr;
	__asm__ volatile("str %0" : "=r"(tr));
	task_seen.tr = tr;
	task_seen.cr0 = rd_cr0();
	task_seen.cr3 = rd_cr3();
}

static unsigned type_of(unsigned selector)
{
	return (unsigned)((gdt[selector / 8] >> 40) & 0xf);
}

/* A task that starts at task_body with registers that tell it apart. */
static void tss_init(struct tss32 *t, unsigned n, uint32_t cr3)
{
	memset(t, 0, sizeof(*t));
	t->link = LINK_UNTOUCHED;
	t->cr3 = cr3;
	t->eip = (uint32_t)(uintptr_t)task_body;
	t->eflags = EFLAGS_FIXED;
	t->eax = 0xa0000000u + n;
	t->ecx = 0xc0000000u + n;
	t->edx = 0xd0000000u + n;
	t->ebx = 0xb0000000u + n;
	t->esp = (uint32_t)(uintptr_t)&stacks[n][STACK_WORDS];
	t->ebp = 0xbb000000u + n;
	t->esi = 0x5e000000u + n;
	t->edi = 0xd1000000u + n;
	t->cs = SEL_CODE;
	t->ss = t->ds = t->es = SEL_DATA;
	t->fs = t->gs = SEL_DATA2; /* the main task has SEL_DATA: loaded from the TSS */
	t->iomap = sizeof(*t);
	initial = *t;
}

/* One line: ok, or the first field that differs. */
static void check_fields(const char *what, const char *const names[], const uint32_t *got,
			 const uint32_t *want, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			char detail[64];
			ksnprintf(detail, sizeof(detail), "%s 0x%x want 0x%x", names[i], got[i], want[i]);
			check_true(A, what, false, detail);
			return;
		}
	}
	check_true(A, what, true, "");
}

/* The new task saw the registers and segments its TSS had before the switch. */
static void check_loaded(const char *how, unsigned selector)
{
	const struct tss32 *t = &initial;
	static const char *const names[] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI",
					     "CS", "SS", "DS", "ES", "FS", "GS", "TR" };
	const struct task_seen *s = &task_seen;
	uint32_t got[] = { s->eax, s->ecx, s->edx, s->ebx, s->esp, s->ebp, s->esi, s->edi,
			   s->cs, s->ss, s->ds, s->es, s->fs, s->gs, s->tr };
	uint32_t want[] = { t->eax, t->ecx, t->edx, t->ebx, t->esp, t->ebp, t->esi, t->edi,
			    t->cs, t->ss, t->ds, t->es, t->fs, t->gs, selector };
	char what[96];

	ksnprintf(what, sizeof(what), "%s: the new task has the registers of its TSS", how);
	check_fields(what, names, got, want, sizeof(got) / sizeof(got[0]));
}

/* The main task's TSS got its state at the switch, and the task resumed with it. */
static void check_saved(const char *how, const char *resume)
{
	static const char *const names[] = { "EIP", "EAX", "ECX", "EDX", "EBX", "ESI", "EDI",
					     "CS", "DS" };
	uint32_t got[] = { tss_main.eip, tss_main.eax, tss_main.ecx, tss_main.edx, tss_main.ebx,
			   tss_main.esi, tss_main.edi, tss_main.cs, tss_main.ds };
	uint32_t want[] = { (uint32_t)(uintptr_t)resume, MAIN_EAX, MAIN_ECX, MAIN_EDX, MAIN_EBX,
			    MAIN_ESI, MAIN_EDI, SEL_CODE, SEL_DATA };
	const struct task_regs *r = &task_resumed;
	uint32_t back[] = { r->eax, r->ecx, r->edx, r->ebx, r->esi, r->edi };
	char what[96];

	ksnprintf(what, sizeof(what), "%s: the old TSS holds the EIP and registers at the switch", how);
	check_fields(what, names, got, want, sizeof(got) / sizeof(got[0]));
	ksnprintf(what, sizeof(what), "%s: the old task resumes with its registers", how);
	check_fields(what, names + 1, back, want + 1, sizeof(back) / sizeof(back[0]));
}

struct switch_arg {
	uint32_t how, selector;
};

static void do_switch(void *p)
{
	const struct switch_arg *a = p;
	task_switch(a->how, a->selector);
}

/* Switches; false (after a FAIL line) if it faulted, and gives up if the
 * fault left another task current. */
static bool switch_to(const char *how_name, enum switch_how how, unsigned selector)
{
	struct switch_arg a = { how, selector };
	char what[96];

	memset(&task_seen, 0, sizeof(task_seen));
	int v = probe(do_switch, &a);
	__asm__ volatile("clts");
	if (v < 0)
		return true;
	ksnprintf(what, sizeof(what), "%s: the switch and the way back", how_name);
	check_vector(A, what, v, VEC_NONE);
	uint16_t tr;
	__asm__ volatile("str %0" : "=r"(tr));
	if (tr != SEL_TSS_MAIN)
		pm32_give_up(A, "a faulting task switch left another task current");
	return false;
}

static void jmp_tss(void)
{
	static const char H[] = "JMP to a TSS";

	tss_init(&tss_jmp, 0, rd_cr3());
	if (!switch_to(H, SWITCH_JMP, SEL_TSS_JMP))
		return;
	check_loaded(H, SEL_TSS_JMP);
	check_value(A, "JMP to a TSS: EFLAGS of the new task from its TSS, NT clear",
		    task_seen.eflags, EFLAGS_FIXED);
	check_value(A, "JMP to a TSS: the new task's TSS is busy", task_seen.types[SEL_TSS_JMP / 8],
		    TYPE_BUSY);
	check_value(A, "JMP to a TSS: the old task's TSS is available",
		    task_seen.types[SEL_TSS_MAIN / 8], TYPE_AVAIL);
	check_value(A, "JMP to a TSS: CR0.TS set in the new task", task_seen.cr0 & CR0_TS32, CR0_TS32);
	check_value(A, "JMP to a TSS: the back link is not written", tss_jmp.link, LINK_UNTOUCHED);
	check_saved(H, task_resume_jmp);
	check_value(A, "JMP back: the main TSS is busy again", type_of(SEL_TSS_MAIN), TYPE_BUSY);
	check_value(A, "JMP back: the left task's TSS is available", type_of(SEL_TSS_JMP), TYPE_AVAIL);
}

static void call_tss(void)
{
	static const char H[] = "CALL to a TSS";

	tss_init(&tss_call, 1, rd_cr3());
	if (!switch_to(H, SWITCH_CALL, SEL_TSS_CALL))
		return;
	check_loaded(H, SEL_TSS_CALL);
	check_value(A, "CALL to a TSS: the back link names the caller", tss_call.link, SEL_TSS_MAIN);
	check_value(A, "CALL to a TSS: NT set in the called task", task_seen.eflags & EFLAGS_NT,
		    EFLAGS_NT);
	check_value(A, "CALL to a TSS: both TSSs busy",
		    (uint64_t)task_seen.types[SEL_TSS_MAIN / 8] << 4 | task_seen.types[SEL_TSS_CALL / 8],
		    TYPE_BUSY << 4 | TYPE_BUSY);
	check_saved("CALL to a TSS, IRET back", task_resume_call);
	check_value(A, "IRET back: the called task's TSS is available", type_of(SEL_TSS_CALL),
		    TYPE_AVAIL);
	check_value(A, "IRET back: NT clear in the called task's saved EFLAGS",
		    tss_call.eflags & EFLAGS_NT, 0);
}

static void gdt_task_gate(void)
{
	static const char H[] = "JMP through a task gate in the GDT";

	tss_init(&tss_gated, 2, rd_cr3());
	if (!switch_to(H, SWITCH_JMP, SEL_TASK_GATE))
		return;
	check_loaded(H, SEL_TSS_GATED);
	check_value(A, "JMP through a task gate: the gate's TSS is busy in the new task",
		    task_seen.types[SEL_TSS_GATED / 8], TYPE_BUSY);
	check_saved(H, task_resume_jmp);
}

static void idt_task_gate(void)
{
	static const char H[] = "INT 0x80 through a task gate in the IDT";

	tss_init(&tss_int, 3, rd_cr3());
	if (!switch_to(H, SWITCH_INT, 0))
		return;
	check_loaded(H, SEL_TSS_INT);
	check_value(A, "INT 0x80 through a task gate: back link and NT",
		    (uint64_t)tss_int.link << 16 | (task_seen.eflags & EFLAGS_NT),
		    (uint64_t)SEL_TSS_MAIN << 16 | EFLAGS_NT);
	check_saved("INT 0x80 through a task gate, IRET back", task_resume_int);
}

/* 32-bit paging on, and the new TSS names the other page directory. */
static void paging(void)
{
	static const char H[] = "JMP to a TSS with paging on";
	uint32_t cr0 = rd_cr0(), cr4 = rd_cr4(), cr3 = rd_cr3();
	uint32_t pd0 = (uint32_t)(uintptr_t)page_dir[0], pd1 = (uint32_t)(uintptr_t)page_dir[1];

	if (!has(F_PSE)) {
		skipped(A, H, "CPUID does not show PSE (4 MiB pages)");
		return;
	}
	wr_cr4(cr4 | CR4_PSE32);
	wr_cr3(pd0);
	wr_cr0(cr0 | CR0_PG32);
	tss_main.cr3 = pd0; /* a switch back loads CR3 from here: it is never saved */
	tss_init(&tss_paging, 4, pd1);
	bool ok = switch_to(H, SWITCH_JMP, SEL_TSS_PAGING);
	uint32_t now = rd_cr3();
	wr_cr0(cr0);
	wr_cr3(cr3);
	wr_cr4(cr4);
	tss_main.cr3 = cr3;
	if (!ok)
		return;
	check_value(A, "JMP to a TSS with paging on: CR3 loaded from the new TSS", task_seen.cr3, pd1);
	check_value(A, "JMP back with paging on: CR3 loaded from the main TSS", now, pd0);
}

struct fault_case {
	const char *what;
	unsigned selector;
	int vector;
};

static void faults(void)
{
	/* SDM vol. 2A JMP: a busy TSS is #GP(selector); 8.3, table 8-2: a
	 * 32-bit TSS limit under 67H is #TS(selector). */
	static const struct fault_case cases[] = {
		{ "JMP to the busy current TSS raises #GP(selector)", SEL_TSS_MAIN, VEC_GP },
		{ "JMP to a TSS with limit 0x66 raises #TS(selector)", SEL_TSS_SHORT, VEC_TS },
	};
	tss_init(&tss_short, 4, rd_cr3());
	set_tss_descriptor(SEL_TSS_SHORT, &tss_short, TSS_LIMIT - 1);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct switch_arg a = { SWITCH_JMP, cases[i].selector };
		int v = probe(do_switch, &a);
		__asm__ volatile("clts");
		check_fault(A, cases[i].what, v, trap_last.error, cases[i].vector, cases[i].selector);
		uint16_t tr;
		__asm__ volatile("str %0" : "=r"(tr));
		if (tr != SEL_TSS_MAIN) {
			pm32_give_up(A, "a refused task switch left another task current");
			return;
		}
	}
}

void task_attack(void)
{
	tss_init(&tss_main, 0, rd_cr3());
	set_tss_descriptor(SEL_TSS_MAIN, &tss_main, TSS_LIMIT);
	set_tss_descriptor(SEL_TSS_JMP, &tss_jmp, TSS_LIMIT);
	set_tss_descriptor(SEL_TSS_CALL, &tss_call, TSS_LIMIT);
	set_tss_descriptor(SEL_TSS_GATED, &tss_gated, TSS_LIMIT);
	set_tss_descriptor(SEL_TSS_INT, &tss_int, TSS_LIMIT);
	set_tss_descriptor(SEL_TSS_PAGING, &tss_paging, TSS_LIMIT);
	/* A task gate: type 5, present, DPL 0, naming the TSS in bits 31:16. */
	gdt[SEL_TASK_GATE / 8] = ((uint64_t)SEL_TSS_GATED << 16) | (0x85ull << 40);
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS_MAIN));

	jmp_tss();
	if (!pm32_gave_up())
		call_tss();
	if (!pm32_gave_up())
		gdt_task_gate();
	if (!pm32_gave_up())
		idt_task_gate();
	if (!pm32_gave_up())
		paging();
	if (!pm32_gave_up())
		faults();
}
