/* emulate.h: performs a decoded instruction that writes memory, as the CPU would, through callbacks for guest memory and registers. */
#ifndef VMM_EMUL_EMULATE_H
#define VMM_EMUL_EMULATE_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/emul/decode.h"

/* The exceptions the emulator raises itself or passes on (SDM vol. 3A, 6.15). */
enum emu_vector { EMU_VEC_UD = 6, EMU_VEC_GP = 13, EMU_VEC_PF = 14 };

/* An exception for the caller to inject. */
struct emu_fault {
	uint8_t vector;         /* enum emu_vector */
	bool has_error_code;    /* #GP and #PF push one, #UD none */
	uint32_t error_code;    /* #PF: P, W/R, U/S, ... as the walker found them */
	uint64_t cr2;           /* #PF: the faulting linear address */
};

/* What one guest memory access came to. */
enum emu_mem {
	EMU_MEM_OK,
	EMU_MEM_FAULT,          /* *f filled: nothing was read or written */
	EMU_MEM_NOT_RAM,        /* no RAM there (MMIO, a hole): nothing was read or written */
};

/*
 * The vCPU and guest memory as the emulator sees them.  Memory is by linear
 * address; each access is all or nothing (a check of every page it touches,
 * then the copy).  cmpxchg writes new_val only if memory still holds
 * old_val, as one atomic step against the other vCPUs (LOCK CMPXCHG on the
 * host); *swapped says which.  It is used for every locked read-modify-write
 * (a LOCK prefix, or XCHG with memory, which locks by itself).
 */
struct emu_ops {
	void *ctx;
	uint64_t (*get_gpr)(void *ctx, unsigned n);           /* encoding order, all 64 bits */
	void (*set_gpr)(void *ctx, unsigned n, uint64_t v);
	uint64_t (*get_rflags)(void *ctx);
	void (*set_rflags)(void *ctx, uint64_t v);
	enum emu_mem (*read)(void *ctx, uint64_t la, void *dst, unsigned len, struct emu_fault *f);
	enum emu_mem (*write)(void *ctx, uint64_t la, const void *src, unsigned len,
			      struct emu_fault *f);
	enum emu_mem (*cmpxchg)(void *ctx, uint64_t la, const void *old_val, const void *new_val,
				unsigned len, bool *swapped, struct emu_fault *f);
};

enum emu_status {
	EMU_DONE,          /* performed: add res.rip_delta to RIP */
	EMU_FAULT,         /* inject res.fault; registers, flags and memory are as before */
	EMU_UNSUPPORTED,   /* res.why names what; nothing changed */
	EMU_NOT_RAM,       /* res.la / res.len / res.write: the access that found no RAM; nothing changed */
	EMU_RETRY,         /* a locked update lost EMU_CMPXCHG_TRIES races: re-enter the guest at the same RIP */
};

/* How often a locked read-modify-write is retried when another vCPU changed memory under it. */
#define EMU_CMPXCHG_TRIES 16

struct emu_result {
	uint8_t rip_delta;       /* EMU_DONE: insn.len, or 0 when a REP string instruction has iterations left */
	struct emu_fault fault;  /* EMU_FAULT */
	const char *why;         /* EMU_UNSUPPORTED */
	uint64_t la;             /* EMU_NOT_RAM */
	unsigned len;
	bool write;
};

/*
 * Performs in (decoded by insn_decode; addresses from addr_regs, whose
 * register reads must agree with ops->get_gpr) as the CPU would (SDM vol. 2
 * under each mnemonic):
 *   MOV r/m <- reg / imm, moffs <- rAX, and reg <- r/m (a load);
 *   XCHG with memory (always locked);
 *   CMPXCHG, CMPXCHG8B, CMPXCHG16B (#GP(0) unless 16-byte aligned);
 *   ADD, SUB, AND, OR, XOR with a memory destination, register or immediate source;
 *   BTS, BTR, BTC on memory (a register offset addresses a bit string, signed);
 *   INC, DEC on memory (CF kept);
 *   STOS, MOVS, with or without REP: one element per call; while the count
 *   is not exhausted rip_delta is 0 and the guest re-executes the instruction.
 * Flags the SDM leaves undefined are set as current Intel and AMD CPUs do:
 * AF cleared by AND/OR/XOR; OF, SF, AF, PF kept by BTS/BTR/BTC.
 * A LOCK prefix on anything else, or with a register destination, is #UD.
 * Registers and flags are written only after every memory access succeeded.
 * Segment limits, canonical checks and alignment checking (#AC) are the
 * caller's, as for insn_mem_address().
 */
enum emu_status emu_run(const struct insn *in, const struct insn_regs *addr_regs,
			const struct emu_ops *ops, struct emu_result *res);

#endif
