/* decode.h: one x86 instruction decoded into a vendor-neutral form, for the instruction emulator. */
#ifndef VMM_EMUL_DECODE_H
#define VMM_EMUL_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/error.h"
#include "vmm/segment.h"

/*
 * The mode the code runs in, which sets the default operand and address
 * sizes (SDM vol. 1, 3.6): 64-bit mode (IA-32e with CS.L); 32-bit code
 * (protected or compatibility mode with CS.D = 1); 16-bit code (real mode,
 * virtual-8086 mode, or CS.D = 0).
 */
enum cpu_mode { CPU_MODE_16, CPU_MODE_32, CPU_MODE_64 };

#define INSN_MAX_LEN 15 /* SDM vol. 2A, 2.3.11: a longer instruction raises #GP */
#define INSN_MAX_OPS 10
#define INSN_NO_REG  0xff

/* The instructions the emulator handles; anything else is INSN_OTHER, named by insn.name. */
enum insn_mnemonic {
	INSN_OTHER,
	INSN_MOV,        /* every form: r/m, immediate, moffs, Sreg, CR, DR */
	INSN_XCHG,
	INSN_CMPXCHG,
	INSN_CMPXCHG8B,
	INSN_CMPXCHG16B,
	INSN_AND, INSN_OR, INSN_XOR, INSN_ADD, INSN_SUB,
	INSN_BTS, INSN_BTR, INSN_BTC,
	INSN_INC, INSN_DEC,
	INSN_STOS,       /* STOSB/W/D/Q: the element size is the operand size */
	INSN_MOVS,       /* MOVSB/W/D/Q (A4/A5), not SSE2's MOVSD */
	INSN_MOVZX,
	INSN_MOVSX,      /* MOVSX and MOVSXD: the source size is operand 1's */
	INSN_TEST, INSN_CMP,
	INSN_MNEMONIC_COUNT
};

/*
 * Prefixes (SDM vol. 2A, 2.1.1) the instruction takes, not those it ignores
 * (F3 on MOV, a REX before a legacy prefix).  op_size and addr_size already
 * hold their effect (REX.W overrides 66).
 */
#define INSN_PFX_LOCK     (1u << 0)
#define INSN_PFX_REP      (1u << 1) /* F3: REP, REPE/REPZ */
#define INSN_PFX_REPNE    (1u << 2) /* F2: REPNE/REPNZ (on MOVS and STOS the CPU repeats as for REP) */
#define INSN_PFX_SEG      (1u << 3) /* a segment override: insn.seg_override (none is reported for
                                       ES, CS, SS, DS in 64-bit mode, where they do nothing) */
#define INSN_PFX_OPSIZE   (1u << 4) /* 66 */
#define INSN_PFX_ADDRSIZE (1u << 5) /* 67 */
#define INSN_PFX_REX      (1u << 6)

enum insn_op_kind {
	INSN_OP_REG,
	INSN_OP_IMM,
	INSN_OP_MEM,     /* memory accessed at insn_mem_address() */
	INSN_OP_ADDR,    /* an address computed, memory not accessed (LEA) */
	INSN_OP_OTHER,   /* far pointers, vector-indexed memory, ... */
};

enum insn_reg_class {
	INSN_REG_GPR,    /* num: 0 RAX, 1 RCX ... 15 R15 (encoding order) */
	INSN_REG_SEG,    /* num: enum seg_reg */
	INSN_REG_CR,     /* num: CR0-CR15 */
	INSN_REG_DR,     /* num: DR0-DR15 */
	INSN_REG_IP,     /* RIP/EIP/IP */
	INSN_REG_OTHER,  /* x87, MMX, vector, mask, table registers */
};

struct insn_reg {
	enum insn_reg_class cls;
	uint8_t num;
	bool high8;      /* AH, CH, DH, BH: bits 15:8 of GPR num (0-3) */
};

struct insn_mem {
	enum seg_reg seg;   /* the segment used: the default (SS for rBP/rSP bases) or the override */
	uint8_t base;       /* a GPR number, or INSN_NO_REG */
	uint8_t index;      /* a GPR number, or INSN_NO_REG */
	uint8_t scale;      /* 1, 2, 4 or 8 */
	bool rip_relative;  /* base is the next instruction's RIP (EIP with 67 in 64-bit mode) */
	int64_t disp;       /* sign-extended */
};

#define INSN_ACC_READ  (1u << 0)
#define INSN_ACC_WRITE (1u << 1) /* possibly: CMPXCHG's destination, REP with a zero count */

struct insn_op {
	enum insn_op_kind kind;
	uint16_t size;      /* bytes: the register, the memory access, or the immediate as encoded */
	uint8_t access;     /* INSN_ACC_* */
	bool hidden;        /* implied by the opcode, not written in assembly (STOS's AL and [rDI]) */
	union {
		struct insn_reg reg;
		uint64_t imm;   /* sign-extended to 64 bits where the instruction sign-extends it */
		struct insn_mem mem;
	};
};

/*
 * A decoded instruction.  Operands are in Intel order (destination first),
 * written ones first, then hidden ones (the flags register left out); a
 * string instruction's pointer and count registers are hidden operands too.
 */
struct insn {
	uint8_t len;
	enum insn_mnemonic mnemonic;
	const char *name;           /* the mnemonic as text ("mov", "vaddps"), for reports */
	unsigned prefixes;          /* INSN_PFX_* */
	enum seg_reg seg_override;  /* with INSN_PFX_SEG */
	uint8_t op_size;            /* effective operand size, bytes */
	uint8_t addr_size;          /* effective address size, bytes */
	uint8_t op_count;
	struct insn_op ops[INSN_MAX_OPS];
	/* What insn_format() needs to decode it again. */
	enum cpu_mode mode;
	uint8_t bytes[INSN_MAX_LEN];
};

/*
 * Decodes the instruction at bytes[0..n) in mode; more than 15 bytes are
 * never read.  ERR_MISSING: the bytes end before the instruction does (fetch
 * more, e.g. across a page boundary); ERR_MALFORMED: no valid instruction
 * (the CPU raises #UD; #GP when longer than 15 bytes); ERR_INVAL: no such
 * mode.  Near branches with 66 in 64-bit mode decode as on Intel CPUs (a
 * 32-bit displacement); the instructions emulated do not differ by vendor.
 */
err_t insn_decode(const uint8_t *bytes, unsigned n, enum cpu_mode mode, struct insn *out);

/* What insn_mem_address() reads of the vCPU. */
struct insn_regs {
	uint64_t (*read_gpr)(void *ctx, unsigned gpr);  /* gpr in encoding order, all 64 bits */
	void *ctx;
	uint64_t rip;                   /* the instruction's own RIP (an offset in CS) */
	uint64_t seg_base[SEG_COUNT];   /* indexed by enum seg_reg */
};

/*
 * The effective address (offset in the segment) of memory operand m:
 * base + index * scale + disp, wrapped to the address size (SDM vol. 1,
 * 3.7.5); RIP-relative from the next instruction.
 */
uint64_t insn_mem_offset(const struct insn *in, const struct insn_mem *m, const struct insn_regs *r);

/*
 * The linear address of memory operand m: the segment base plus the
 * effective address (SDM vol. 3A, 3.4; in 64-bit mode only FS and GS have
 * a base, 3.2.4), wrapped to 32 bits outside 64-bit mode.  Limit, type and
 * canonical checks are the caller's.
 */
uint64_t insn_mem_address(const struct insn *in, const struct insn_mem *m, const struct insn_regs *r);

/* The instruction in Intel syntax into buf (always terminated); rip: its address, for targets. */
err_t insn_format(const struct insn *in, uint64_t rip, char *buf, size_t size);

#endif
