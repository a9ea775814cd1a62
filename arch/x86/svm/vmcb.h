/* vmcb.h: the VMCB layout (AMD APM vol. 2, appendix B "Layout of VMCB"). */
#ifndef ARCH_X86_SVM_VMCB_H
#define ARCH_X86_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib; /* type 3:0, S 4, DPL 6:5, P 7, AVL 8, L 9, D/B 10, G 11 */
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

/* Control area, table B-1. */
struct vmcb_control {
	uint32_t intercept_cr;        /* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;        /* 0x004 */
	uint32_t intercept_exc;       /* 0x008: one bit per exception vector */
	uint32_t intercept_misc1;     /* 0x00c */
	uint32_t intercept_misc2;     /* 0x010 */
	uint32_t intercept_misc3;     /* 0x014 */
	uint8_t reserved1[0x03c - 0x018];
	uint16_t pause_filter_thresh; /* 0x03c */
	uint16_t pause_filter_count;  /* 0x03e */
	uint64_t iopm_base_pa;        /* 0x040 */
	uint64_t msrpm_base_pa;       /* 0x048 */
	uint64_t tsc_offset;          /* 0x050 */
	uint32_t asid;                /* 0x058 */
	uint8_t tlb_control;          /* 0x05c */
	uint8_t reserved2[3];
	uint64_t vintr;               /* 0x060 */
	uint64_t interrupt_shadow;    /* 0x068 */
	uint64_t exitcode;            /* 0x070 */
	uint64_t exitinfo1;           /* 0x078 */
	uint64_t exitinfo2;           /* 0x080 */
	uint64_t exitintinfo;         /* 0x088 */
	uint64_t np_enable;           /* 0x090 */
	uint64_t avic_apic_bar;       /* 0x098 */
	uint64_t ghcb_pa;             /* 0x0a0 */
	uint64_t eventinj;            /* 0x0a8 */
	uint64_t n_cr3;               /* 0x0b0 */
	uint64_t lbr_virt;            /* 0x0b8 */
	uint32_t clean;               /* 0x0c0 */
	uint32_t reserved3;
	uint64_t next_rip;            /* 0x0c8 */
	uint8_t insn_len;             /* 0x0d0 */
	uint8_t insn_bytes[15];
	uint8_t reserved4[0x400 - 0x0e0];
} __attribute__((packed));

/* State-save area, table B-2 (offsets from the VMCB start). */
struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
	uint8_t reserved1[0x4cb - 0x4a0];
	uint8_t cpl;                  /* 0x4cb */
	uint32_t reserved2;
	uint64_t efer;                /* 0x4d0 */
	uint8_t reserved3[0x548 - 0x4d8];
	uint64_t cr4;                 /* 0x548 */
	uint64_t cr3;                 /* 0x550 */
	uint64_t cr0;                 /* 0x558 */
	uint64_t dr7;                 /* 0x560 */
	uint64_t dr6;                 /* 0x568 */
	uint64_t rflags;              /* 0x570 */
	uint64_t rip;                 /* 0x578 */
	uint8_t reserved4[0x5d8 - 0x580];
	uint64_t rsp;                 /* 0x5d8 */
	uint64_t s_cet, ssp, isst_addr;
	uint64_t rax;                 /* 0x5f8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base; /* 0x600 */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;     /* 0x628 */
	uint64_t cr2;                 /* 0x640 */
	uint8_t reserved5[0x668 - 0x648];
	uint64_t g_pat;               /* 0x668 */
	uint64_t dbgctl;              /* 0x670 */
} __attribute__((packed));

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
	uint8_t reserved[4096 - 0x678];
} __attribute__((packed, aligned(4096)));

#define VMCB_OFF(f) (offsetof(struct vmcb, f))
_Static_assert(VMCB_OFF(control.iopm_base_pa) == 0x040, "APM table B-1");
_Static_assert(VMCB_OFF(control.asid) == 0x058, "APM table B-1");
_Static_assert(VMCB_OFF(control.exitcode) == 0x070, "APM table B-1");
_Static_assert(VMCB_OFF(control.np_enable) == 0x090, "APM table B-1");
_Static_assert(VMCB_OFF(control.eventinj) == 0x0a8, "APM table B-1");
_Static_assert(VMCB_OFF(control.n_cr3) == 0x0b0, "APM table B-1");
_Static_assert(VMCB_OFF(control.next_rip) == 0x0c8, "APM table B-1");
_Static_assert(VMCB_OFF(save.es) == 0x400, "APM table B-2");
_Static_assert(VMCB_OFF(save.tr) == 0x490, "APM table B-2");
_Static_assert(VMCB_OFF(save.cpl) == 0x4cb, "APM table B-2");
_Static_assert(VMCB_OFF(save.efer) == 0x4d0, "APM table B-2");
_Static_assert(VMCB_OFF(save.cr4) == 0x548, "APM table B-2");
_Static_assert(VMCB_OFF(save.rip) == 0x578, "APM table B-2");
_Static_assert(VMCB_OFF(save.rsp) == 0x5d8, "APM table B-2");
_Static_assert(VMCB_OFF(save.rax) == 0x5f8, "APM table B-2");
_Static_assert(VMCB_OFF(save.star) == 0x600, "APM table B-2");
_Static_assert(VMCB_OFF(save.cr2) == 0x640, "APM table B-2");
_Static_assert(VMCB_OFF(save.g_pat) == 0x668, "APM table B-2");
_Static_assert(sizeof(struct vmcb) == 4096, "a VMCB is one page");

/* Intercept bits (APM vol. 2, table B-1). */
#define INTERCEPT1_INTR     (1u << 0)
#define INTERCEPT1_NMI      (1u << 1)
#define INTERCEPT1_SMI      (1u << 2)
#define INTERCEPT1_INIT     (1u << 3)
#define INTERCEPT1_VINTR    (1u << 4)
#define INTERCEPT1_RDPMC    (1u << 15)
#define INTERCEPT1_CPUID    (1u << 18)
#define INTERCEPT1_INVD     (1u << 22)
#define INTERCEPT1_HLT      (1u << 24)
#define INTERCEPT1_INVLPG   (1u << 25)
#define INTERCEPT1_INVLPGA  (1u << 26)
#define INTERCEPT1_IOIO     (1u << 27)
#define INTERCEPT1_MSR      (1u << 28)
#define INTERCEPT1_TASK_SWITCH (1u << 29)
#define INTERCEPT1_SHUTDOWN (1u << 31)
#define INTERCEPT2_VMRUN    (1u << 0)
#define INTERCEPT2_VMMCALL  (1u << 1)
#define INTERCEPT2_VMLOAD   (1u << 2)
#define INTERCEPT2_VMSAVE   (1u << 3)
#define INTERCEPT2_STGI     (1u << 4)
#define INTERCEPT2_CLGI     (1u << 5)
#define INTERCEPT2_SKINIT   (1u << 6)
#define INTERCEPT2_WBINVD   (1u << 9)
#define INTERCEPT2_MONITOR  (1u << 10)  /* MONITOR and MONITORX */
#define INTERCEPT2_MWAIT    (1u << 11)  /* MWAIT and MWAITX, unconditionally */
#define INTERCEPT2_MWAIT_ARMED (1u << 12)
#define INTERCEPT2_XSETBV   (1u << 13)
#define INTERCEPT2_RDPRU    (1u << 14)
#define INTERCEPT3_INVPCID  (1u << 2)
/* CR intercepts (offset 0): reads in bits 15:0, writes in 31:16. */
#define INTERCEPT_CR_READ(n)  (1u << (n))
#define INTERCEPT_CR_WRITE(n) (1u << (16 + (n)))

/* TLB_CONTROL (APM 15.16.1). */
#define TLB_CONTROL_NONE      0
#define TLB_CONTROL_ALL       1
#define TLB_CONTROL_THIS_ASID 3
#define TLB_CONTROL_NONGLOBAL 7  /* this ASID's non-global entries */

/* V_TPR is bits 3:0 of the virtual-interrupt field (APM 15.21.1). */
#define VINTR_TPR_MASK      0xfull
#define VINTR_IRQ           (1ull << 8)   /* a virtual interrupt is pending */
#define VINTR_PRIO_SHIFT    16            /* ... of this priority class, checked against V_TPR */
#define VINTR_PRIO_MASK     (0xfull << VINTR_PRIO_SHIFT)
#define VINTR_IGN_TPR       (1ull << 20)

/* EVENTINJ (APM 15.20): vector 7:0, type 10:8, EV 11, V 31, error code 63:32. */
#define EVENTINJ_VALID     (1ull << 31)
#define EVENTINJ_HAS_ERROR (1ull << 11)
#define EVENTINJ_TYPE(t)   ((uint64_t)(t) << 8)  /* 0 INTR, 2 NMI, 3 exception, 4 INT n */

/* Exit codes (APM vol. 2, appendix C); svm_exit.c names every one. */
enum svm_exit_code {
	SVM_EXIT_CR_READ_BASE  = 0x00,
	SVM_EXIT_CR_WRITE_BASE = 0x10,
	SVM_EXIT_DR_READ_BASE  = 0x20,
	SVM_EXIT_DR_WRITE_BASE = 0x30,
	SVM_EXIT_EXCP_BASE = 0x40,
	SVM_EXIT_INTR      = 0x60,
	SVM_EXIT_NMI       = 0x61,
	SVM_EXIT_SMI       = 0x62,
	SVM_EXIT_INIT      = 0x63,
	SVM_EXIT_VINTR     = 0x64,
	SVM_EXIT_RDPMC     = 0x6f,
	SVM_EXIT_CPUID     = 0x72,
	SVM_EXIT_INVD      = 0x76,
	SVM_EXIT_HLT       = 0x78,
	SVM_EXIT_INVLPG    = 0x79,
	SVM_EXIT_INVLPGA   = 0x7a,
	SVM_EXIT_IOIO      = 0x7b,
	SVM_EXIT_MSR       = 0x7c,
	SVM_EXIT_TASK_SWITCH = 0x7d,
	SVM_EXIT_SHUTDOWN  = 0x7f,
	SVM_EXIT_VMRUN     = 0x80,
	SVM_EXIT_VMMCALL   = 0x81,
	SVM_EXIT_VMLOAD    = 0x82,
	SVM_EXIT_VMSAVE    = 0x83,
	SVM_EXIT_STGI      = 0x84,
	SVM_EXIT_CLGI      = 0x85,
	SVM_EXIT_SKINIT    = 0x86,
	SVM_EXIT_WBINVD    = 0x89,
	SVM_EXIT_MONITOR   = 0x8a,
	SVM_EXIT_MWAIT     = 0x8b,
	SVM_EXIT_MWAIT_ARMED = 0x8c,
	SVM_EXIT_XSETBV    = 0x8d,
	SVM_EXIT_RDPRU     = 0x8e,
	SVM_EXIT_INVPCID   = 0xa2,
	SVM_EXIT_NPF       = 0x400,
	SVM_EXIT_INVALID   = -1,
};

#endif
