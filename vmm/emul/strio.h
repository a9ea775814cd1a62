/* strio.h: decodes INS and OUTS (with REP) from their bytes: what the I/O exit does not say. */
#ifndef VMM_EMUL_STRIO_H
#define VMM_EMUL_STRIO_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/segment.h"

struct strio {
	bool in;              /* INS (6C/6D); else OUTS (6E/6F) */
	bool rep;             /* an F3 or F2 prefix: repeat RCX times */
	enum seg_reg seg;     /* OUTS's source segment (DS or an override); INS always writes ES */
	unsigned addr_size;   /* 2, 4 or 8 bytes: which part of RSI/RDI/RCX counts */
	uint8_t len;          /* the instruction's length */
};

/*
 * Decodes the bytes at CS:RIP as INS or OUTS (SDM vol. 2B "INS", "OUTS",
 * "REP"; vol. 2A 2.1.1 prefixes).  mode64: 64-bit mode; cs_d: CS.D outside
 * it (32-bit default address size).  False for anything else.
 */
bool strio_decode(const uint8_t *bytes, unsigned n, bool mode64, bool cs_d, struct strio *out);

#endif
