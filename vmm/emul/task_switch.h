/* task_switch.h: a hardware task switch carried out in software, as the CPU would (SDM vol. 3A, 8.3). */
#ifndef VMM_EMUL_TASK_SWITCH_H
#define VMM_EMUL_TASK_SWITCH_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"
#include "vmm/segment.h"

/*
 * VT-x never lets a guest switch tasks: every attempt exits (basic reason
 * 9).  Before the exit the CPU has checked, and faulted in the guest on
 * (SDM vol. 3C, "Treatment of Task Switches", 26.4.2; 25.4.2 in older
 * editions): a task gate's P bit and DPL (for INT n, INT3, INTO, CALL,
 * JMP; none for NMIs, external interrupts and other exceptions); the TSS
 * descriptor's DPL for a CALL/JMP straight to it; the new selector being in
 * the GDT and within its limit; the descriptor's type, P, S and limit.
 * Left to the VMM is the switch itself, from reading the TSSs on; whether
 * a fault on the old or new TSS comes before the exit is model specific.
 * This emulation does the switch and repeats the descriptor checks (the
 * guest may change its GDT meanwhile, and an emulator may call it too);
 * only the gate checks and, unless asked, the DPL check are not redone.
 */

/*
 * What started the switch; the values are bits 31:30 of the VMX exit
 * qualification (SDM vol. 3C, table "Exit Qualification for Task Switches").
 */
enum task_switch_source {
	TASK_SWITCH_CALL = 0,  /* CALL far to a TSS or a task gate */
	TASK_SWITCH_IRET = 1,  /* IRET with EFLAGS.NT = 1: back to the previous task */
	TASK_SWITCH_JMP  = 2,  /* JMP far to a TSS or a task gate */
	TASK_SWITCH_GATE = 3,  /* an interrupt, exception or INT n through a task gate in the IDT */
};

/* An exception for the guest. */
struct task_switch_fault {
	uint8_t vector;
	bool has_error;
	uint32_t error;
	bool has_cr2;          /* a #PF: CR2 must be loaded with cr2 */
	uint64_t cr2;
};

/* How a guest memory access went. */
enum task_switch_mem {
	TASK_SWITCH_MEM_OK,
	TASK_SWITCH_MEM_FAULT,    /* the walk faulted: the task_switch_fault says how (a #PF, CR2) */
	TASK_SWITCH_MEM_NOT_RAM,  /* a paging-structure entry or the data is not in guest RAM */
};

/* Registers the switch reads and writes, general ones first in encoding order (that of the TSS). */
enum task_switch_reg {
	TASK_SWITCH_EAX, TASK_SWITCH_ECX, TASK_SWITCH_EDX, TASK_SWITCH_EBX,
	TASK_SWITCH_ESP, TASK_SWITCH_EBP, TASK_SWITCH_ESI, TASK_SWITCH_EDI,
	TASK_SWITCH_EIP, TASK_SWITCH_EFLAGS,
	TASK_SWITCH_CR0,       /* as the guest sees it: PE and PG are read, TS is set */
	TASK_SWITCH_DR7,       /* the local breakpoint enables are cleared */
	TASK_SWITCH_EFER,      /* read only: LMA */
	TASK_SWITCH_CPL,       /* read only */
	TASK_SWITCH_REGS
};

/*
 * The guest, as the switch sees it.  Memory is reached by linear address
 * with the guest's current paging (CR3 included, so a set_cr3 applies to the
 * accesses after it), each access an implicit supervisor one (SDM 4.6: SMAP
 * blocks user pages whatever EFLAGS.AC says).  An access either completes or
 * fails without writing anything: a multi-page write checks every page first.
 */
struct task_switch_ops {
	void *ctx;
	enum task_switch_mem (*read)(void *ctx, uint32_t la, void *dst, unsigned len,
				     struct task_switch_fault *fault);
	enum task_switch_mem (*write)(void *ctx, uint32_t la, const void *src, unsigned len,
				      struct task_switch_fault *fault);
	/* Whether a write of len bytes at la would succeed; writes nothing. */
	enum task_switch_mem (*check_write)(void *ctx, uint32_t la, unsigned len,
					    struct task_switch_fault *fault);
	uint64_t (*get_reg)(void *ctx, enum task_switch_reg r);
	void (*set_reg)(void *ctx, enum task_switch_reg r, uint64_t val);
	/*
	 * Loads the new task's CR3 (paging on): also reloads the PDPTEs under PAE
	 * paging and drops the guest's non-global translations, as a MOV to CR3
	 * would; an error when it cannot (a PDPTE with reserved bits).
	 */
	err_t (*set_cr3)(void *ctx, uint32_t cr3);
	void (*get_seg)(void *ctx, enum seg_reg s, struct segment *seg);
	void (*set_seg)(void *ctx, enum seg_reg s, const struct segment *seg);
	void (*get_gdtr)(void *ctx, uint32_t *base, uint16_t *limit);
};

struct task_switch_req {
	uint16_t selector;     /* the new TSS: the exit's selector (for IRET, the back link the CPU read) */
	enum task_switch_source source;
	uint32_t eip;          /* saved in the old TSS: where the old task resumes */
	/*
	 * The switch delivers an event external to the program (an interrupt,
	 * NMI or exception; not INT n, INT3 or INTO): EXT (bit 0) is set in the
	 * error code of every exception it raises (SDM vol. 3A, 6.13).
	 */
	bool ext;
	bool push_error;       /* an exception with an error code, through a task gate: push error */
	uint32_t error;
	/*
	 * Check the TSS descriptor's DPL against CPL and the selector's RPL
	 * (CALL/JMP straight to a TSS; ignored for the other sources).  The CPU
	 * has done it before a VT-x exit, so that caller leaves it false; an
	 * instruction emulator sets it.
	 */
	bool check_dpl;
};

enum task_switch_status {
	TASK_SWITCH_DONE,         /* the new task runs; nothing to inject unless debug_trap */
	TASK_SWITCH_FAULT,        /* inject fault; in_new_task says in which task's context */
	TASK_SWITCH_UNSUPPORTED,  /* a switch the CPU defines that is not emulated here (why) */
	TASK_SWITCH_STOP,         /* cannot go on: memory not RAM, undefined state (why) */
};

struct task_switch_result {
	enum task_switch_status status;
	struct task_switch_fault fault;
	/*
	 * FAULT: false when it was raised before the commit point (nothing has
	 * changed; the old task faults as at the instruction or event that tried
	 * the switch); true when the switch is done and the new task takes it,
	 * before its first instruction, with its state loaded so far (SDM 8.3).
	 */
	bool in_new_task;
	/* DONE: the new TSS's T flag is set: raise #DB with DR6.BT (SDM vol. 3B, "Debug Status Register"). */
	bool debug_trap;
	const char *why;          /* UNSUPPORTED, STOP */
};

/*
 * Switches to the task at req->selector as SDM vol. 3A, 8.3 lists: checks
 * the new TSS descriptor (type, busy, P, limit), saves the old task in its
 * TSS, updates the busy flags, back link and NT (table "Effect of a Task
 * Switch on Busy Flag, NT Flag, Previous Task Link Field, and TS Flag"),
 * loads TR, CR3, EFLAGS, EIP, the general registers, LDTR and the segment
 * registers with the checks of table "Exception Conditions Checked During a
 * Task Switch", sets CR0.TS, clears DR7's local enables and pushes the error
 * code if asked.  Virtual-8086 tasks are entered.  Not emulated: 16-bit TSSs
 * (UNSUPPORTED); switches in IA-32e mode (the CPU raises #GP there without
 * exiting) and in real mode (STOP).  The I/O permission bitmap is not
 * looked at (it is read by I/O instructions, not by switches), nor is the
 * old TSS's limit.
 */
enum task_switch_status task_switch(const struct task_switch_ops *ops, const struct task_switch_req *req,
				    struct task_switch_result *res);

#endif
