/* vmx_exit.c: turns the exit fields of the current VMCS into the vendor-neutral exit record (SDM vol. 3C, 28.2, appendix C). */
#include "arch/x86/vmx/vmx.h"

/* I/O exit qualification (SDM table 28-5). */
#define IO_SIZE(q)  ((uint8_t)(((q) & 7) + 1))
#define IO_IN       (1ull << 3)
#define IO_STRING   (1ull << 4)
#define IO_REP      (1ull << 5)
#define IO_PORT(q)  ((uint16_t)((q) >> 16))

/* EPT-violation exit qualification (SDM table 28-7). */
#define EPT_READ    (1ull << 0)
#define EPT_WRITE   (1ull << 1)
#define EPT_FETCH   (1ull << 2)
#define EPT_PERMS   (7ull << 3)
#define EPT_LINEAR_VALID (1ull << 7)  /* the access had a guest linear address */
#define EPT_FINAL        (1ull << 8)  /* ... and was to its translation, not to a paging-structure entry */

/* Control-register access qualification (SDM table 28-3). */
#define CR_NUM(q)    ((uint8_t)((q) & 0xf))
#define CR_TYPE(q)   ((unsigned)(((q) >> 4) & 3))
#define CR_GPR(q)    ((uint8_t)(((q) >> 8) & 0xf))
#define CR_LMSW(q)   ((uint16_t)((q) >> 16))

/* Task-switch qualification (SDM table 28-2). */
#define TASK_SELECTOR(q) ((uint16_t)(q))
#define TASK_SOURCE(q)   ((unsigned)(((q) >> 30) & 3))

/* Exit and IDT-vectoring interruption information (SDM tables 25-19, 25-20). */
#define INTR_VECTOR(i)   ((uint8_t)((i) & 0xff))
#define INTR_TYPE(i)     (((i) >> 8) & 7)
#define INTR_TYPE_NMI    2
#define INTR_HAS_ERROR   (1u << 11)
#define INTR_VALID       (1u << 31)

/* Every basic exit reason by name, for the report of one the VMM did not expect (appendix C). */
static const char *const exit_names[VMX_EXIT_REASONS] = {
	[0] = "exception or NMI", [1] = "external interrupt", [2] = "triple fault",
	[3] = "INIT signal", [4] = "start-up IPI", [5] = "I/O SMI", [6] = "other SMI",
	[7] = "interrupt window", [8] = "NMI window", [9] = "task switch", [10] = "CPUID",
	[11] = "GETSEC", [12] = "HLT", [13] = "INVD", [14] = "INVLPG", [15] = "RDPMC",
	[16] = "RDTSC", [17] = "RSM", [18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH",
	[21] = "VMPTRLD", [22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE",
	[26] = "VMXOFF", [27] = "VMXON", [28] = "control-register access", [29] = "MOV DR",
	[30] = "I/O instruction", [31] = "RDMSR", [32] = "WRMSR",
	[33] = "VM-entry failure: invalid guest state", [34] = "VM-entry failure: MSR loading",
	[36] = "MWAIT", [37] = "monitor trap flag", [39] = "MONITOR", [40] = "PAUSE",
	[41] = "VM-entry failure: machine check", [43] = "TPR below threshold", [44] = "APIC access",
	[45] = "virtualized EOI", [46] = "GDTR or IDTR access", [47] = "LDTR or TR access",
	[48] = "EPT violation", [49] = "EPT misconfiguration", [50] = "INVEPT", [51] = "RDTSCP",
	[52] = "VMX-preemption timer", [53] = "INVVPID", [54] = "WBINVD or WBNOINVD",
	[55] = "XSETBV", [56] = "APIC write", [57] = "RDRAND", [58] = "INVPCID", [59] = "VMFUNC",
	[60] = "ENCLS", [61] = "RDSEED", [62] = "page-modification log full", [63] = "XSAVES",
	[64] = "XRSTORS", [65] = "PCONFIG", [66] = "SPP-related event", [67] = "UMWAIT",
	[68] = "TPAUSE", [69] = "LOADIWKEY", [70] = "ENCLV", [72] = "ENQCMD PASID translation",
	[73] = "ENQCMDS PASID translation", [74] = "bus lock", [75] = "instruction timeout",
	[76] = "SEAMCALL", [77] = "TDCALL",
};

static const enum cr_op cr_ops[4] = { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW };

/* IDT-vectoring information types (SDM table 25-20) as event kinds; 1 and 7 are not used. */
static const enum event_type event_types[8] = {
	[0] = EVENT_EXTINT, [2] = EVENT_NMI, [3] = EVENT_HW_EXC, [4] = EVENT_SW_INT,
	[5] = EVENT_PRIV_SW_EXC, [6] = EVENT_SW_EXC,
};

/* The event whose delivery this exit interrupted, if any (SDM 28.2.4). */
static void decode_vectoring(struct vm_exit *e)
{
	uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
	if (!(idt & INTR_VALID))
		return;
	e->vectoring = (struct exit_event){
		.valid = true, .type = event_types[INTR_TYPE(idt)], .vector = INTR_VECTOR(idt),
		.has_error = idt & INTR_HAS_ERROR, .len = (uint8_t)vmread(EXIT_INSTRUCTION_LEN),
	};
	if (e->vectoring.has_error)
		e->vectoring.error = (uint32_t)vmread(IDT_VECTORING_ERROR);
}
static const enum task_source task_sources[4] = { TASK_CALL, TASK_IRET, TASK_JMP, TASK_GATE };

static void decode_task_switch(struct vm_exit *e, uint64_t q)
{
	e->reason = EXIT_TASK_SWITCH;
	e->task.selector = TASK_SELECTOR(q);
	e->task.source = task_sources[TASK_SOURCE(q)];
	/* Through a task gate, the event being delivered is in the IDT-vectoring field (SDM 28.2.4). */
	uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
	if (e->task.source == TASK_GATE && (idt & INTR_VALID) && (idt & INTR_HAS_ERROR)) {
		e->task.has_error = true;
		e->task.error = (uint32_t)vmread(IDT_VECTORING_ERROR);
	}
	e->task.len = (uint8_t)vmread(EXIT_INSTRUCTION_LEN);
	e->task.len_known = true;
	e->info2 = idt;
	decode_vectoring(e);
	/* The switch itself delivers any event that led to it: nothing to deliver again. */
}

void vmx_decode_exit(struct vm_exit *e)
{
	uint64_t reason = vmread(EXIT_REASON);
	uint64_t q = vmread(EXIT_QUALIFICATION);
	uint16_t basic = (uint16_t)reason;
	*e = (struct vm_exit){ .reason = EXIT_UNKNOWN, .raw = reason, .qual = q };
	e->next_rip = vmread(GUEST_RIP) + vmread(EXIT_INSTRUCTION_LEN);

	if (reason & VMX_EXIT_ENTRY_FAILURE) {
		e->reason = EXIT_INVALID_STATE;
		return;
	}
	switch (basic) {
	case VMX_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		break;
	case VMX_EXIT_HLT:
		e->reason = EXIT_HLT;
		break;
	case VMX_EXIT_INVD:
	case VMX_EXIT_WBINVD:
		e->reason = EXIT_CACHE_FLUSH;
		break;
	case VMX_EXIT_RDPMC:
		e->reason = EXIT_NO_COUNTERS;
		break;
	case VMX_EXIT_VMCALL:
		e->reason = EXIT_HYPERCALL;
		break;
	case VMX_EXIT_RDMSR:
		e->reason = EXIT_MSR_READ;
		break;
	case VMX_EXIT_WRMSR:
		e->reason = EXIT_MSR_WRITE;
		break;
	case VMX_EXIT_IO:
		e->reason = EXIT_IO;
		e->io.port = IO_PORT(q);
		e->io.size = IO_SIZE(q);
		e->io.in = q & IO_IN;
		e->io.string = q & IO_STRING;
		e->io.rep = q & IO_REP;
		break;
	case VMX_EXIT_CR_ACCESS:
		e->reason = EXIT_CR_ACCESS;
		e->cr.op = cr_ops[CR_TYPE(q)];
		e->cr.cr = CR_NUM(q);
		e->cr.gpr = CR_GPR(q);
		e->cr.lmsw = CR_LMSW(q);
		break;
	case VMX_EXIT_TASK_SWITCH:
		decode_task_switch(e, q);
		break;
	case VMX_EXIT_EPT_VIOLATION:
		e->reason = EXIT_NESTED_FAULT;
		e->npf.gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		e->npf.read = q & EPT_READ;
		e->npf.write = q & EPT_WRITE;
		e->npf.fetch = q & EPT_FETCH;
		e->npf.present = q & EPT_PERMS;
		e->npf.walk = (q & EPT_LINEAR_VALID) && !(q & EPT_FINAL);
		e->info2 = e->npf.gpa;
		decode_vectoring(e);
		break;
	case VMX_EXIT_EPT_MISCONFIG:
		e->info2 = vmread(GUEST_PHYSICAL_ADDRESS);
		e->name = exit_names[basic];
		break;
	case VMX_EXIT_EXTINT:
	case VMX_EXIT_IO_SMI:
	case VMX_EXIT_OTHER_SMI:
		/* The host's interrupt may have cut an injection short: it is redone. */
		e->reason = EXIT_INTERRUPT;
		decode_vectoring(e);
		break;
	case VMX_EXIT_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
		e->info2 = info;
		if (INTR_TYPE(info) == INTR_TYPE_NMI) {
			e->reason = EXIT_NMI;
			decode_vectoring(e);
		} else {
			/* Only #PF is intercepted, and only under the shadow MMU; its address is the
			 * qualification (SDM 28.2.1). */
			e->exc.vector = INTR_VECTOR(info);
			e->reason = e->exc.vector == 14 ? EXIT_PAGE_FAULT : EXIT_EXCEPTION;
			e->exc.has_error = info & INTR_HAS_ERROR;
			e->exc.error = (uint32_t)vmread(EXIT_INTR_ERROR);
			e->exc.addr = q;
			decode_vectoring(e);
		}
		break;
	}
	case VMX_EXIT_INVLPG:
		e->reason = EXIT_INVLPG;
		e->invlpg.la = q;
		e->invlpg.known = true;
		break;
	case VMX_EXIT_INVPCID:
		e->reason = EXIT_INVPCID;
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = EXIT_TRIPLE_FAULT;
		break;
	case VMX_EXIT_INTR_WINDOW:
		e->reason = EXIT_IRQ_WINDOW;
		break;
	case VMX_EXIT_PREEMPT_TIMER:
		e->reason = EXIT_PREEMPT;
		break;
	/* Instructions of features the guest is not shown: #UD, as on such a CPU. */
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_XSETBV:
	case VMX_EXIT_MWAIT:
	case VMX_EXIT_MONITOR:
	case VMX_EXIT_GETSEC:
	case VMX_EXIT_RSM:
	case VMX_EXIT_ENCLS:
		e->reason = EXIT_HIDDEN_INSN;
		break;
	default:
		/* VMCLEAR .. VMXON: the guest was told it has no VMX. */
		if (basic >= VMX_EXIT_VMCLEAR && basic <= VMX_EXIT_VMXON)
			e->reason = EXIT_HIDDEN_INSN;
		else if (basic < VMX_EXIT_REASONS)
			e->name = exit_names[basic];
		break;
	}
}
