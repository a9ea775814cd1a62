/* exit.h: the vendor-neutral record of one VM exit, filled by the VMX or SVM backend. */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define EXIT_REASONS(X)                                                        \
	X(EXIT_CPUID,          "cpuid")                                        \
	X(EXIT_HLT,            "hlt")                                          \
	X(EXIT_CR_ACCESS,      "control register access")                      \
	X(EXIT_DR_ACCESS,      "debug register access")                        \
	X(EXIT_TASK_SWITCH,    "task switch")                                  \
	X(EXIT_CACHE_FLUSH,    "invd/wbinvd")                                  \
	X(EXIT_IO,             "port I/O")                                     \
	X(EXIT_MSR_READ,       "rdmsr")                                        \
	X(EXIT_MSR_WRITE,      "wrmsr")                                        \
	X(EXIT_HYPERCALL,      "hypercall")                                    \
	X(EXIT_NESTED_FAULT,   "nested page fault")                            \
	X(EXIT_PAGE_FAULT,     "guest page fault")                             \
	X(EXIT_INVLPG,         "invlpg")                                       \
	X(EXIT_INVPCID,        "invpcid")                                      \
	X(EXIT_EXCEPTION,      "exception")                                    \
	X(EXIT_INTERRUPT,      "external interrupt")                           \
	X(EXIT_NMI,            "NMI")                                          \
	X(EXIT_TRIPLE_FAULT,   "triple fault")                                 \
	X(EXIT_INVALID_STATE,  "invalid guest state")                          \
	X(EXIT_HIDDEN_INSN,    "instruction hidden from the guest")            \
	X(EXIT_NO_COUNTERS,    "rdpmc")                                        \
	X(EXIT_PREEMPT,        "preemption timer")                             \
	X(EXIT_IRQ_WINDOW,     "interrupt window")                             \
	X(EXIT_LOST_INTERCEPT, "intercept the CPU did not take")               \
	X(EXIT_UNKNOWN,        "unhandled")

enum exit_reason {
#define X(id, name) id,
	EXIT_REASONS(X)
#undef X
	EXIT_COUNT
};

const char *exit_reason_name(enum exit_reason r);

enum cr_op { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW };
#define CR_GPR_UNKNOWN 0xff  /* the backend could not tell: decode the instruction */

/* What started a task switch (SDM 25.9.1, table "Exit Qualification for Task Switches"). */
enum task_source { TASK_CALL, TASK_IRET, TASK_JMP, TASK_GATE };

/* Kinds of events, as the IDT-vectoring field (SDM table 25-20) tells them. */
enum event_type {
	EVENT_EXTINT,     /* an external interrupt */
	EVENT_NMI,
	EVENT_HW_EXC,     /* a fault or trap the CPU raised */
	EVENT_SW_INT,     /* INT n */
	EVENT_PRIV_SW_EXC,/* INT1 (ICEBP) */
	EVENT_SW_EXC,     /* INT3, INTO */
};

/* An event whose delivery the exit interrupted (SDM 28.2.4, APM 15.7.2). */
struct exit_event {
	bool valid;
	enum event_type type;
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint8_t len;           /* the instruction's length, for INT n, INT1, INT3, INTO */
};

struct vm_exit {
	enum exit_reason reason;
	uint64_t raw;          /* the vendor's exit code, for reports */
	uint64_t qual;         /* the vendor's qualification / EXITINFO1 */
	uint64_t info2;        /* EXITINFO2 / second qualification, for reports */
	uint64_t next_rip;     /* the guest RIP after the exiting instruction, 0 if unknown */
	const char *name;      /* the vendor's name of an exit the VMM did not expect, or NULL */
	struct exit_event vectoring;
	union {
		struct {
			uint16_t port;
			uint8_t size;  /* 1, 2 or 4 */
			bool in;
			bool string, rep;
		} io;
		struct {
			uint64_t gpa;
			bool read, write, fetch;
			bool present; /* a translation existed: a permission fault */
			bool walk;    /* the CPU was walking the guest's page tables */
		} npf;
		struct {
			uint8_t vector;
			bool has_error;
			uint32_t error;
			uint64_t addr; /* EXIT_PAGE_FAULT: the linear address (what CR2 would get) */
		} exc;
		struct {
			uint64_t la;   /* EXIT_INVLPG: the address, when known */
			bool known;    /* else decode the instruction */
		} invlpg;
		uint32_t msr;
		struct {
			enum cr_op op;
			uint8_t cr;    /* 0, 3, 4 or 8; for EXIT_DR_ACCESS the debug register, 0-15 */
			uint8_t gpr;   /* in instruction encoding order: 0 RAX, 1 RCX ... 15 R15; CR_GPR_UNKNOWN */
			uint16_t lmsw; /* the LMSW source operand */
		} cr;
		struct {
			uint16_t selector;     /* the new TSS */
			enum task_source source;
			bool has_error;        /* from an exception through a task gate that pushes one */
			uint32_t error;
			uint8_t len;           /* of the instruction that switched (0 for events) */
			bool len_known;        /* else the instruction is decoded when it matters */
		} task;
	};
};

#endif
