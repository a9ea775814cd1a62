/* insn.h: the instruction at the guest's RIP, decoded and performed on its registers and memory by linear address. */
#ifndef VMM_INSN_H
#define VMM_INSN_H

#include "lib/error.h"
#include "vmm/emul/decode.h"
#include "vmm/emul/emulate.h"

struct vm;
struct vm_exit;

/*
 * Fetches and decodes the instruction at CS:RIP in the vCPU's mode, and the
 * registers its addresses are computed from.  ERR_MISSING: it could not be
 * fetched; else as insn_decode().
 */
err_t vm_decode_insn(struct vm *vm, struct insn *in, struct insn_regs *regs);

/*
 * Performs it (emu_run) on the vCPU's registers and its memory by linear
 * address (vmm/guest_mem.c, so every write is reported to the MMU); on
 * EMU_DONE RIP has moved on.  What faulted or is unsupported is the caller's.
 */
enum emu_status vm_emulate_insn(struct vm *vm, const struct insn *in, const struct insn_regs *regs,
				struct emu_result *res);

/*
 * The outcomes of vm_emulate_insn every caller treats alike: EMU_DONE and
 * EMU_RETRY need nothing more, EMU_FAULT is injected, EMU_NOT_RAM stops the
 * VM naming the access (e is the exit being handled).  False for
 * EMU_UNSUPPORTED, which each caller handles its own way (res->why says why).
 */
bool vm_emulate_settle(struct vm *vm, const struct vm_exit *e, enum emu_status st,
		       const struct emu_result *res);

#endif
