/* pm32.h: the hostile guest's 32-bit protected-mode part: run by entry.asm before long mode (task switches, CR0/CR4 checks). */
#ifndef GUESTS_HOSTILE_PM32_PM32_H
#define GUESTS_HOSTILE_PM32_PM32_H

#include "guests/hostile/hostile.h"
#include "guests/common/pm32/cr32.h"

/* Selectors of the part's own GDT (main32.c). */
enum {
	SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_TSS_MAIN = 0x18, SEL_TSS_JMP = 0x20,
	SEL_TSS_CALL = 0x28, SEL_TSS_GATED = 0x30, SEL_TASK_GATE = 0x38, SEL_TSS_INT = 0x40,
	SEL_TSS_PAGING = 0x48, SEL_TSS_SHORT = 0x50, SEL_DATA2 = 0x58, GDT_ENTRIES = 12,
};
#define TASK_GATE_VECTOR 0x80 /* the IDT's task gate, to SEL_TSS_INT */

/* A 32-bit TSS (Intel SDM vol. 3A, 8.2.1, figure 8-2). */
struct tss32 {
	uint16_t link, r0;
	uint32_t esp0;
	uint16_t ss0, r1;
	uint32_t esp1;
	uint16_t ss1, r2;
	uint32_t esp2;
	uint16_t ss2, r3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
	uint16_t trap, iomap;
};
_Static_assert(sizeof(struct tss32) == 0x68, "a 32-bit TSS is 104 bytes");

/* What a task saw on entry (entry32.asm's task_body fills it). */
struct task_seen {
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eflags;
	uint32_t cs, ss, ds, es, fs, gs, tr, cr0, cr3;
	uint8_t types[GDT_ENTRIES]; /* descriptor types, read by task_observe() */
};
_Static_assert(sizeof(struct task_seen) == 18 * 4 + GDT_ENTRIES, "entry32.asm's offsets");

/* Registers the main task had after it was resumed (entry32.asm). */
struct task_regs {
	uint32_t eax, ecx, edx, ebx, esi, edi;
};

/* The values task_switch() loads before switching (entry32.asm). */
#define MAIN_EAX 0x11110001u
#define MAIN_ECX 0x22220002u
#define MAIN_EDX 0x33330003u
#define MAIN_EBX 0x44440004u
#define MAIN_ESI 0x55550005u
#define MAIN_EDI 0x66660006u

enum switch_how { SWITCH_JMP = 0, SWITCH_CALL = 1, SWITCH_INT = 2 };

/* entry32.asm */
void task_switch(uint32_t how, uint32_t selector);
void task_body(void);
extern char task_resume_jmp[], task_resume_call[], task_resume_int[];
extern struct task_seen task_seen;
extern struct task_regs task_resumed;

/* main32.c */
extern uint64_t gdt[GDT_ENTRIES];
extern struct options opt;
void set_tss_descriptor(unsigned selector, const struct tss32 *tss, uint32_t limit);
/* Ends the run from 32-bit code (HC_EXIT or the harness). */
__attribute__((noreturn)) void pm32_exit(unsigned status);
/* Marks the 32-bit part as unable to go on; the long-mode part says FAIL. */
void pm32_give_up(const char *attack, const char *why);
bool pm32_gave_up(void);

/* 32-bit paging (main32.c): two page directories identity-mapping 4 GiB with 4 MiB pages. */
extern uint32_t page_dir[2][1024];
void paging32_fill(void);

void task_attack(void);
void cr32_attack(void);
void la57_check(void);

#endif
