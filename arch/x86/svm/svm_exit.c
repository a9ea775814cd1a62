/* svm_exit.c: turns a #VMEXIT's VMCB fields into the vendor-neutral exit record (AMD APM vol. 2, 15.6, appendix C). */
#include "arch/x86/svm/svm.h"

/* IOIO EXITINFO1 (APM 15.10.2). */
#define IOIO_IN      (1ull << 0)
#define IOIO_STR     (1ull << 2)
#define IOIO_REP     (1ull << 3)
#define IOIO_SZ8     (1ull << 4)
#define IOIO_SZ16    (1ull << 5)
#define IOIO_PORT(q) ((uint16_t)((q) >> 16))

/* #NPF EXITINFO1 is a page-fault error code (APM 15.25.6). */
#define NPF_P  (1ull << 0)
#define NPF_W  (1ull << 1)
#define NPF_ID (1ull << 4)
#define NPF_WALK (1ull << 33)  /* during the guest's own page-table walk */

/* CR-access EXITINFO1 with decode assists (APM 15.33.2): bit 63 valid, 3:0 the GPR. */
#define CR_INFO_VALID (1ull << 63)
#define CR_INFO_GPR(q) ((uint8_t)((q) & 0xf))

/* Lengths of the instructions whose intercepts do not say where the next one starts. */
#define LEN_CPUID   2
#define LEN_HLT     1
#define LEN_RDWRMSR 2
#define LEN_VMMCALL 3

/* Exit codes by name, for the report of one the VMM did not expect (APM appendix C). */
static const struct {
	uint16_t code;
	const char *name;
} exit_names[] = {
	{ 0x60, "INTR" }, { 0x61, "NMI" }, { 0x62, "SMI" }, { 0x63, "INIT" }, { 0x64, "VINTR" },
	{ 0x65, "CR0 selective write" }, { 0x66, "IDTR read" }, { 0x67, "GDTR read" },
	{ 0x68, "LDTR read" }, { 0x69, "TR read" }, { 0x6a, "IDTR write" }, { 0x6b, "GDTR write" },
	{ 0x6c, "LDTR write" }, { 0x6d, "TR write" }, { 0x6e, "RDTSC" }, { 0x6f, "RDPMC" },
	{ 0x70, "PUSHF" }, { 0x71, "POPF" }, { 0x72, "CPUID" }, { 0x73, "RSM" }, { 0x74, "IRET" },
	{ 0x75, "software interrupt" }, { 0x76, "INVD" }, { 0x77, "PAUSE" }, { 0x78, "HLT" },
	{ 0x79, "INVLPG" }, { 0x7a, "INVLPGA" }, { 0x7b, "IOIO" }, { 0x7c, "MSR" },
	{ 0x7d, "task switch" }, { 0x7e, "FERR freeze" }, { 0x7f, "shutdown" }, { 0x80, "VMRUN" },
	{ 0x81, "VMMCALL" }, { 0x82, "VMLOAD" }, { 0x83, "VMSAVE" }, { 0x84, "STGI" },
	{ 0x85, "CLGI" }, { 0x86, "SKINIT" }, { 0x87, "RDTSCP" }, { 0x88, "ICEBP" },
	{ 0x89, "WBINVD" }, { 0x8a, "MONITOR" }, { 0x8b, "MWAIT" }, { 0x8c, "MWAIT armed" },
	{ 0x8d, "XSETBV" }, { 0x8e, "RDPRU" }, { 0x8f, "EFER write trap" }, { 0xa0, "INVLPGB" },
	{ 0xa1, "illegal INVLPGB" }, { 0xa2, "INVPCID" }, { 0xa3, "MCOMMIT" }, { 0xa4, "TLBSYNC" },
	{ 0x400, "nested page fault" }, { 0x401, "AVIC incomplete IPI" },
	{ 0x402, "AVIC unaccelerated access" }, { 0x403, "VMGEXIT" },
};

static const char *exit_name(uint64_t code)
{
	if (code < 0x10)
		return "CR read";
	if (code < 0x20)
		return "CR write";
	if (code < 0x40)
		return code < 0x30 ? "DR read" : "DR write";
	if (code < 0x60)
		return "exception";
	if (code >= 0x90 && code < 0xa0)
		return "CR write trap";
	for (unsigned i = 0; i < sizeof(exit_names) / sizeof(exit_names[0]); i++)
		if (exit_names[i].code == code)
			return exit_names[i].name;
	return NULL;
}

/* Task-switch EXITINFO2 (APM 15.14.1). */
#define TS_INFO_IRET      (1ull << 36)
#define TS_INFO_JMP       (1ull << 38)
#define TS_INFO_HAS_ERROR (1ull << 44)

/* EXITINTINFO (APM 15.7.2): vector 7:0, type 10:8, EV 11, V 31, error code 63:32. */
#define INTINFO_VALID     (1ull << 31)
#define INTINFO_HAS_ERROR (1ull << 11)
#define INTINFO_TYPE(i)   ((unsigned)(((i) >> 8) & 7))
#define INTINFO_TYPE_NMI  2
#define INTINFO_TYPE_EXC  3
#define INTINFO_TYPE_SOFT 4
#define VEC_BP 3
#define VEC_OF 4

/* The event whose delivery the exit interrupted; INT3 and INTO come as exceptions #BP and #OF. */
static void decode_intinfo(uint64_t info, struct vm_exit *e)
{
	if (!(info & INTINFO_VALID))
		return;
	unsigned type = INTINFO_TYPE(info);
	uint8_t vector = (uint8_t)info;
	enum event_type t = EVENT_EXTINT;
	if (type == INTINFO_TYPE_NMI)
		t = EVENT_NMI;
	else if (type == INTINFO_TYPE_SOFT)
		t = EVENT_SW_INT;
	else if (type == INTINFO_TYPE_EXC)
		t = vector == VEC_BP || vector == VEC_OF ? EVENT_SW_EXC : EVENT_HW_EXC;
	e->vectoring = (struct exit_event){ .valid = true, .type = t, .vector = vector,
					    .has_error = info & INTINFO_HAS_ERROR,
					    .error = (uint32_t)(info >> 32) };
}

/* Without NRIPS the next RIP comes from the known length of the instruction. */
static uint64_t next_rip(const struct vmcb *vmcb, unsigned len)
{
	if (svm_caps.nrips)
		return vmcb->control.next_rip;
	return vmcb->save.rip + len;
}

void svm_decode_exit(const struct vmcb *vmcb, struct vm_exit *e)
{
	const struct vmcb_control *c = &vmcb->control;
	*e = (struct vm_exit){ .reason = EXIT_UNKNOWN, .raw = c->exitcode, .qual = c->exitinfo1,
			       .info2 = c->exitinfo2 };
	/* VMEXIT_INVALID is -1; some implementations (QEMU) store it in 32 bits. */
	uint64_t code = c->exitcode == 0xffffffffull ? (uint64_t)SVM_EXIT_INVALID : c->exitcode;
	switch (code) {
	case SVM_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->next_rip = next_rip(vmcb, LEN_CPUID);
		break;
	case SVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		e->next_rip = next_rip(vmcb, LEN_HLT);
		break;
	case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD:
		/* WBNOINVD (F3 0F 09) is intercepted as WBINVD: without NRIPS the
		 * generic layer finds the length from the bytes. */
		e->reason = EXIT_CACHE_FLUSH;
		e->next_rip = svm_caps.nrips ? c->next_rip : 0;
		break;
	case SVM_EXIT_RDPMC:
		e->reason = EXIT_NO_COUNTERS;
		break;
	case SVM_EXIT_DR_READ_BASE ... SVM_EXIT_DR_WRITE_BASE + 15:
		/* DR intercepts: EXITINFO1[3:0] is the GPR with decode assists (APM 15.33.2). */
		e->reason = EXIT_DR_ACCESS;
		e->cr.op = code >= SVM_EXIT_DR_WRITE_BASE ? CR_MOV_TO : CR_MOV_FROM;
		e->cr.cr = (uint8_t)(code & 0xf);
		e->cr.gpr = svm_caps.decode_assists ? CR_INFO_GPR(c->exitinfo1) : CR_GPR_UNKNOWN;
		e->next_rip = svm_caps.nrips ? c->next_rip : 0;
		break;
	case SVM_EXIT_INVLPG:
		/* EXITINFO1 is the address with decode assists (APM 15.33.4). */
		e->reason = EXIT_INVLPG;
		e->invlpg.known = svm_caps.decode_assists;
		e->invlpg.la = c->exitinfo1;
		e->next_rip = svm_caps.nrips ? c->next_rip : 0;
		break;
	case SVM_EXIT_INVPCID:
		e->reason = EXIT_INVPCID;
		break;
	case SVM_EXIT_TASK_SWITCH:
		/* Under the shadow MMU (APM 15.14.1): EXITINFO1 the TSS selector, EXITINFO2 what
		 * switched and the error code to push; through a gate, EXITINTINFO the event. */
		e->reason = EXIT_TASK_SWITCH;
		e->task.selector = (uint16_t)c->exitinfo1;
		decode_intinfo(c->exitintinfo, e);
		/* Bochs 2.7 reports an INT n through a task gate as external interrupt 0, which
		 * no interrupt controller here sends: it is taken for the INT n it is. */
		if (e->vectoring.valid && e->vectoring.type == EVENT_EXTINT && e->vectoring.vector == 0)
			e->vectoring.type = EVENT_SW_INT;
		e->task.source = (c->exitinfo2 & TS_INFO_IRET) ? TASK_IRET : (c->exitinfo2 & TS_INFO_JMP) ? TASK_JMP :
				 e->vectoring.valid ? TASK_GATE : TASK_CALL;
		e->task.has_error = c->exitinfo2 & TS_INFO_HAS_ERROR;
		e->task.error = (uint32_t)c->exitinfo2;
		break;
	case SVM_EXIT_CR_READ_BASE:
	case SVM_EXIT_CR_READ_BASE + 3:
	case SVM_EXIT_CR_READ_BASE + 4:
	case SVM_EXIT_CR_WRITE_BASE:
	case SVM_EXIT_CR_WRITE_BASE + 3:
	case SVM_EXIT_CR_WRITE_BASE + 4:
	case SVM_EXIT_CR_WRITE_BASE + 8:
		/* Reads only under the shadow MMU (the guest reads its own values, not the VMCB's).
		 * Without decode assists (or for CLTS and LMSW) the generic layer decodes the instruction. */
		e->reason = EXIT_CR_ACCESS;
		e->cr.op = code >= SVM_EXIT_CR_WRITE_BASE ? CR_MOV_TO : CR_MOV_FROM;
		e->cr.cr = (uint8_t)(code & 0xf);
		e->cr.gpr = (svm_caps.decode_assists && (c->exitinfo1 & CR_INFO_VALID))
				    ? CR_INFO_GPR(c->exitinfo1) : CR_GPR_UNKNOWN;
		e->next_rip = svm_caps.nrips ? c->next_rip : 0;
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = EXIT_HYPERCALL;
		e->next_rip = next_rip(vmcb, LEN_VMMCALL);
		break;
	case SVM_EXIT_MSR:
		e->reason = c->exitinfo1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->next_rip = next_rip(vmcb, LEN_RDWRMSR);
		break;
	case SVM_EXIT_IOIO:
		/* EXITINFO2 holds the next RIP for IOIO with or without NRIPS. */
		e->reason = EXIT_IO;
		e->io.port = IOIO_PORT(c->exitinfo1);
		e->io.in = c->exitinfo1 & IOIO_IN;
		e->io.size = (c->exitinfo1 & IOIO_SZ8) ? 1 : (c->exitinfo1 & IOIO_SZ16) ? 2 : 4;
		e->io.string = c->exitinfo1 & IOIO_STR;
		e->io.rep = c->exitinfo1 & IOIO_REP;
		e->next_rip = c->exitinfo2;
		break;
	case SVM_EXIT_NPF:
		e->reason = EXIT_NESTED_FAULT;
		e->npf.gpa = c->exitinfo2;
		e->npf.present = c->exitinfo1 & NPF_P;
		e->npf.write = c->exitinfo1 & NPF_W;
		e->npf.fetch = c->exitinfo1 & NPF_ID;
		e->npf.walk = c->exitinfo1 & NPF_WALK;
		e->npf.read = !e->npf.write && !e->npf.fetch;
		decode_intinfo(c->exitintinfo, e);
		break;
	case SVM_EXIT_INTR:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		/* The host's interrupt may have cut an injection short: it is redone. */
		e->reason = EXIT_INTERRUPT;
		decode_intinfo(c->exitintinfo, e);
		break;
	case SVM_EXIT_NMI:
		e->reason = EXIT_NMI;
		decode_intinfo(c->exitintinfo, e);
		break;
	case SVM_EXIT_VINTR:
		e->reason = EXIT_IRQ_WINDOW;
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = EXIT_TRIPLE_FAULT;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_ARMED:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_XSETBV:
		e->reason = EXIT_HIDDEN_INSN;
		break;
	case (uint64_t)SVM_EXIT_INVALID:
		e->reason = EXIT_INVALID_STATE;
		break;
	default:
		if (c->exitcode >= SVM_EXIT_EXCP_BASE && c->exitcode < SVM_EXIT_EXCP_BASE + 32) {
			/* Only #PF is intercepted, under the shadow MMU: EXITINFO1 is its error
			 * code, EXITINFO2 its address (APM 15.12.15). */
			e->exc.vector = (uint8_t)(c->exitcode - SVM_EXIT_EXCP_BASE);
			e->reason = e->exc.vector == 14 ? EXIT_PAGE_FAULT : EXIT_EXCEPTION;
			if (e->reason == EXIT_PAGE_FAULT) {
				e->exc.has_error = true;
				e->exc.error = (uint32_t)c->exitinfo1;
				e->exc.addr = c->exitinfo2;
				decode_intinfo(c->exitintinfo, e);
				return;
			}
		}
		/* Named only here, off the path of the exits that are handled. */
		e->name = exit_name(code);
		break;
	}
}
