/* vmcs.h: VMCS field encodings, control bits and exit reasons (Intel SDM vol. 3D, appendices B and C; vol. 3C, ch. 25). */
#ifndef ARCH_X86_VMX_VMCS_H
#define ARCH_X86_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field {
	/* 16-bit (B.1) */
	VMCS_VPID               = 0x0000,
	GUEST_ES_SEL            = 0x0800, GUEST_CS_SEL = 0x0802, GUEST_SS_SEL = 0x0804,
	GUEST_DS_SEL            = 0x0806, GUEST_FS_SEL = 0x0808, GUEST_GS_SEL = 0x080a,
	GUEST_LDTR_SEL          = 0x080c, GUEST_TR_SEL = 0x080e,
	HOST_ES_SEL             = 0x0c00, HOST_CS_SEL = 0x0c02, HOST_SS_SEL = 0x0c04,
	HOST_DS_SEL             = 0x0c06, HOST_FS_SEL = 0x0c08, HOST_GS_SEL = 0x0c0a,
	HOST_TR_SEL             = 0x0c0c,
	/* 64-bit (B.2) */
	IO_BITMAP_A             = 0x2000,
	IO_BITMAP_B             = 0x2002,
	MSR_BITMAP              = 0x2004,
	EXIT_MSR_STORE_ADDR     = 0x2006,
	EXIT_MSR_LOAD_ADDR      = 0x2008,
	ENTRY_MSR_LOAD_ADDR     = 0x200a,
	TSC_OFFSET              = 0x2010,
	EPT_POINTER             = 0x201a,
	ENCLS_EXITING_BITMAP    = 0x202e,
	GUEST_PHYSICAL_ADDRESS  = 0x2400,
	VMCS_LINK_POINTER       = 0x2800,
	GUEST_IA32_DEBUGCTL     = 0x2802,
	GUEST_IA32_PAT          = 0x2804,
	GUEST_IA32_EFER         = 0x2806,
	GUEST_PDPTE0            = 0x280a,
	HOST_IA32_PAT           = 0x2c00,
	HOST_IA32_EFER          = 0x2c02,
	/* 32-bit (B.3) */
	PIN_CONTROLS            = 0x4000,
	PROC_CONTROLS           = 0x4002,
	EXCEPTION_BITMAP        = 0x4004,
	PF_ERROR_CODE_MASK      = 0x4006,
	PF_ERROR_CODE_MATCH     = 0x4008,
	CR3_TARGET_COUNT        = 0x400a,
	EXIT_CONTROLS           = 0x400c,
	EXIT_MSR_STORE_COUNT    = 0x400e,
	EXIT_MSR_LOAD_COUNT     = 0x4010,
	ENTRY_CONTROLS          = 0x4012,
	ENTRY_MSR_LOAD_COUNT    = 0x4014,
	ENTRY_INTR_INFO         = 0x4016,
	ENTRY_EXCEPTION_ERROR   = 0x4018,
	ENTRY_INSTRUCTION_LEN   = 0x401a,
	PROC_CONTROLS2          = 0x401e,
	VM_INSTRUCTION_ERROR    = 0x4400,
	EXIT_REASON             = 0x4402,
	EXIT_INTR_INFO          = 0x4404,
	EXIT_INTR_ERROR         = 0x4406,
	IDT_VECTORING_INFO      = 0x4408,
	IDT_VECTORING_ERROR     = 0x440a,
	EXIT_INSTRUCTION_LEN    = 0x440c,
	GUEST_ES_LIMIT          = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT          = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT        = 0x480c, GUEST_TR_LIMIT = 0x480e,
	GUEST_GDTR_LIMIT        = 0x4810, GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR             = 0x4814, GUEST_CS_AR = 0x4816, GUEST_SS_AR = 0x4818,
	GUEST_DS_AR             = 0x481a, GUEST_FS_AR = 0x481c, GUEST_GS_AR = 0x481e,
	GUEST_LDTR_AR           = 0x4820, GUEST_TR_AR = 0x4822,
	GUEST_INTERRUPTIBILITY  = 0x4824,
	GUEST_ACTIVITY_STATE    = 0x4826,
	GUEST_SYSENTER_CS       = 0x482a,
	HOST_SYSENTER_CS        = 0x4c00,
	/* natural width (B.4) */
	CR0_GUEST_HOST_MASK     = 0x6000,
	CR4_GUEST_HOST_MASK     = 0x6002,
	CR0_READ_SHADOW         = 0x6004,
	CR4_READ_SHADOW         = 0x6006,
	EXIT_QUALIFICATION      = 0x6400,
	GUEST_LINEAR_ADDRESS    = 0x640a,
	GUEST_CR0               = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
	GUEST_ES_BASE           = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE           = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE         = 0x6812, GUEST_TR_BASE = 0x6814,
	GUEST_GDTR_BASE         = 0x6816, GUEST_IDTR_BASE = 0x6818,
	GUEST_DR7               = 0x681a,
	GUEST_RSP               = 0x681c,
	GUEST_RIP               = 0x681e,
	GUEST_RFLAGS            = 0x6820,
	GUEST_PENDING_DEBUG     = 0x6822,
	GUEST_SYSENTER_ESP      = 0x6824,
	GUEST_SYSENTER_EIP      = 0x6826,
	HOST_CR0                = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04,
	HOST_FS_BASE            = 0x6c06, HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a,
	HOST_GDTR_BASE          = 0x6c0c, HOST_IDTR_BASE = 0x6c0e,
	HOST_SYSENTER_ESP       = 0x6c10, HOST_SYSENTER_EIP = 0x6c12,
	HOST_RSP                = 0x6c14,
	HOST_RIP                = 0x6c16,
};

/* Pin-based controls (25.6.1). */
#define PIN_EXTINT_EXITING    (1u << 0)
#define PIN_NMI_EXITING       (1u << 3)
/* Primary processor-based controls (25.6.2). */
#define PROC_INTR_WINDOW      (1u << 2)
#define PROC_TSC_OFFSETTING   (1u << 3)
#define PROC_HLT_EXITING      (1u << 7)
#define PROC_INVLPG_EXITING   (1u << 9)
#define PROC_MWAIT_EXITING    (1u << 10)
#define PROC_RDPMC_EXITING    (1u << 11)
#define PROC_CR3_LOAD_EXITING (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_IO_BITMAPS       (1u << 25)
#define PROC_MSR_BITMAPS      (1u << 28)
#define PROC_MONITOR_EXITING  (1u << 29)
#define PROC_SECONDARY        (1u << 31)
/* Secondary processor-based controls. */
#define PROC2_EPT             (1u << 1)
#define PROC_SHADOW_EXITS     (PROC_INVLPG_EXITING | PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING)
#define PROC2_RDTSCP          (1u << 3)
#define PROC2_VPID            (1u << 5)
#define PROC2_UNRESTRICTED    (1u << 7)
#define PROC2_WBINVD_EXITING  (1u << 6)
#define PROC2_INVPCID         (1u << 12)
#define PROC2_ENCLS_EXITING   (1u << 15)
/* VM-exit controls (25.7.1). */
#define EXIT_SAVE_DEBUG       (1u << 2)
#define EXIT_HOST_64BIT       (1u << 9)
#define EXIT_SAVE_PAT         (1u << 18)
#define EXIT_LOAD_PAT         (1u << 19)
#define EXIT_SAVE_EFER        (1u << 20)
#define EXIT_LOAD_EFER        (1u << 21)
/* VM-entry controls (25.8.1). */
#define ENTRY_LOAD_DEBUG      (1u << 2)
#define ENTRY_IA32E_GUEST     (1u << 9)
#define ENTRY_LOAD_PAT        (1u << 14)
#define ENTRY_LOAD_EFER       (1u << 15)

/* Segment access rights in the VMCS (25.4.1). */
#define AR_CODE32  0xc09b  /* G, D, P, S, execute/read, accessed */
#define AR_DATA32  0xc093  /* G, D/B, P, S, read/write, accessed */
#define AR_TSS32   0x008b  /* P, busy 32-bit TSS */
#define AR_UNUSABLE (1u << 16)

/* VM-entry interruption information (25.8.3). */
#define INTR_INFO_VALID      (1u << 31)
#define INTR_INFO_HAS_ERROR  (1u << 11)

/* Basic exit reasons (appendix C); vmx_exit.c names every one. */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI   = 0,
	VMX_EXIT_EXTINT          = 1,
	VMX_EXIT_TRIPLE_FAULT    = 2,
	VMX_EXIT_INIT            = 3,
	VMX_EXIT_SIPI            = 4,
	VMX_EXIT_IO_SMI          = 5,
	VMX_EXIT_OTHER_SMI       = 6,
	VMX_EXIT_INTR_WINDOW     = 7,
	VMX_EXIT_TASK_SWITCH     = 9,
	VMX_EXIT_CPUID           = 10,
	VMX_EXIT_GETSEC          = 11,
	VMX_EXIT_HLT             = 12,
	VMX_EXIT_INVD            = 13,
	VMX_EXIT_INVLPG          = 14,
	VMX_EXIT_RDPMC           = 15,
	VMX_EXIT_RSM             = 17,
	VMX_EXIT_VMCALL          = 18,
	VMX_EXIT_VMCLEAR         = 19,
	VMX_EXIT_VMXON           = 27,
	VMX_EXIT_CR_ACCESS       = 28,
	VMX_EXIT_IO              = 30,
	VMX_EXIT_RDMSR           = 31,
	VMX_EXIT_WRMSR           = 32,
	VMX_EXIT_INVALID_STATE   = 33,
	VMX_EXIT_MSR_LOADING     = 34,
	VMX_EXIT_MWAIT           = 36,
	VMX_EXIT_MONITOR         = 39,
	VMX_EXIT_MACHINE_CHECK   = 41,
	VMX_EXIT_EPT_VIOLATION   = 48,
	VMX_EXIT_EPT_MISCONFIG   = 49,
	VMX_EXIT_INVEPT          = 50,
	VMX_EXIT_PREEMPT_TIMER   = 52,
	VMX_EXIT_INVVPID         = 53,
	VMX_EXIT_WBINVD          = 54,
	VMX_EXIT_XSETBV          = 55,
	VMX_EXIT_INVPCID         = 58,
	VMX_EXIT_ENCLS           = 60,
	VMX_EXIT_REASONS         = 78,  /* one past the last the SDM defines */
};
#define VMX_EXIT_ENTRY_FAILURE (1u << 31)

static inline uint64_t vmread(enum vmcs_field f)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)f) : "cc");
	return v;
}

/* False when the CPU refused the write (VMfailInvalid or VMfailValid). */
static inline bool vmwrite(enum vmcs_field f, uint64_t v)
{
	uint8_t failed;
	__asm__ volatile("vmwrite %2, %1; setna %0" : "=r"(failed) : "r"((uint64_t)f), "r"(v) : "cc");
	return !failed;
}

#endif
