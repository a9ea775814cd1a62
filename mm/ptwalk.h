/* ptwalk.h: the guest page-table walker every user shares (Intel SDM vol. 3A ch. 4, AMD APM vol. 2 ch. 5). */
#ifndef MM_PTWALK_H
#define MM_PTWALK_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

/*
 * Translates a linear address as the CPU would in the guest's current paging
 * mode: the reserved-bit checks of every level, the access rights of SDM 4.6
 * (CR0.WP, SMEP, SMAP with RFLAGS.AC, NX), the page-fault error code of SDM
 * 4.7 and the accessed/dirty updates of SDM 4.8.  The guest's memory is
 * reached only through the callbacks, so it builds on the host for tests.
 *
 * Not done: protection keys (PKRU is not consulted; with CR4.PKE the leaf's
 * key is only reported), shadow stacks, HLAT, LAM, SGX; canonical checks
 * (a non-canonical address raises #GP or #SS, not #PF, and is the caller's);
 * AMD's extra must-be-zero bit 8 of PML4Es (APM vol. 2, 5.3.3; Intel ignores
 * it), so the reserved bits are Intel's.
 */

/* The paging modes of SDM 4.1.1, table 4-1. */
enum ptwalk_paging {
	PTWALK_OFF,     /* CR0.PG = 0: linear = physical */
	PTWALK_32BIT,   /* CR4.PAE = 0 */
	PTWALK_PAE,     /* CR4.PAE = 1, EFER.LMA = 0 */
	PTWALK_4LEVEL,  /* EFER.LMA = 1, CR4.LA57 = 0 */
	PTWALK_5LEVEL,  /* EFER.LMA = 1, CR4.LA57 = 1 */
};

/* The guest state paging depends on, as the guest sees it. */
struct ptwalk_mode {
	bool pg, wp;                /* CR0 */
	bool pse, pae, pge, smep, smap, pke, la57; /* CR4 */
	bool nxe, lma;              /* EFER */
	uint64_t cr3;
	unsigned maxphyaddr;        /* the guest's CPUID 80000008H:EAX[7:0]; taken within 32..52 */
	bool gbpages;               /* 1 GiB pages (CPUID 80000001H:EDX[26]) */
	uint64_t pdpte[4];          /* PAE: the PDPTEs as loaded by the last CR3 load (SDM 4.4.1) */
};

enum ptwalk_kind { PTWALK_READ, PTWALK_WRITE, PTWALK_FETCH };

/*
 * One access.  A supervisor access is one at CPL < 3 or an implicit one (the
 * CPU's own reads of the GDT, LDT, IDT or TSS, at any CPL); all others are
 * user accesses (SDM 4.6).
 */
struct ptwalk_access {
	enum ptwalk_kind kind;
	bool cpl3;      /* the access is made at CPL 3 */
	bool implicit;  /* an implicit supervisor access: SMAP blocks it from user pages whatever AC says */
	bool ac;        /* RFLAGS.AC: lets explicit supervisor accesses reach user pages under SMAP */
	bool no_ad;     /* look only: set no accessed or dirty flag (diagnostics) */
};

/* How the walker reaches guest-physical memory. */
struct ptwalk_ops {
	void *ctx;
	/* Reads the size-byte (4 or 8) paging-structure entry at gpa; an error when it is not in RAM. */
	err_t (*read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);
	/*
	 * Replaces the entry at gpa by new_val if it still holds old_val (one
	 * atomic compare-and-exchange where other vCPUs may write it), saying
	 * in *swapped whether it did; an error when it is not in RAM.
	 */
	err_t (*update)(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val, uint64_t new_val,
			bool *swapped);
};

/* Page-fault error code bits (SDM 4.7, figure 4-12). */
#define PF_ERR_P    (1u << 0) /* a protection or reserved-bit fault; clear: not present */
#define PF_ERR_W    (1u << 1) /* a write */
#define PF_ERR_U    (1u << 2) /* a user-mode access */
#define PF_ERR_RSVD (1u << 3) /* a reserved bit set in an entry */
#define PF_ERR_ID   (1u << 4) /* an instruction fetch (with SMEP, or with PAE and NXE) */
#define PF_ERR_PK   (1u << 5) /* protection key (never set here) */

enum ptwalk_status {
	PTWALK_OK,       /* translated: gpa, page_size, rights */
	PTWALK_FAULT,    /* the CPU would raise #PF with error_code (CR2 = the linear address) */
	PTWALK_NOT_RAM,  /* the paging-structure entry at gpa is not in guest RAM (err from the callback) */
	PTWALK_RETRY,    /* other writers kept changing the entries: retry the instruction */
};

#define PTWALK_MAX_LEVELS 5

/* One paging-structure entry the walk used: level 1 = PTE ... 5 = PML5E. */
struct ptwalk_entry {
	uint64_t gpa;   /* where it is (PAE PDPTEs: where CR3 loaded them from) */
	uint64_t val;   /* its value, with the accessed/dirty flags the walk set */
};

struct ptwalk_result {
	enum ptwalk_status status;
	uint64_t gpa;            /* OK: the guest-physical address; NOT_RAM: the entry's address */
	err_t err;               /* NOT_RAM: the callback's error */
	uint32_t error_code;     /* FAULT: the #PF error code (PF_ERR_*) */
	uint64_t page_size;      /* OK: 4 KiB, 2 MiB, 4 MiB or 1 GiB (4 KiB with paging off) */
	bool writable, user, executable; /* OK: the rights every level grants (R/W, U/S, not XD) */
	bool global;             /* OK: the leaf is global (G with CR4.PGE) */
	unsigned pkey;           /* OK: the leaf's protection key with CR4.PKE, 4-/5-level; not checked */
	unsigned entry_size;     /* 4 (32-bit paging) or 8 */
	unsigned top_level;      /* entries top_level down to last_level are valid (0: paging off) */
	unsigned last_level;     /* OK: the leaf's level; FAULT/NOT_RAM: where the walk stopped */
	struct ptwalk_entry entry[PTWALK_MAX_LEVELS + 1]; /* indexed by level; [0] unused */
};

/* The paging mode the registers in m select (combinations the CPU refuses are taken as the nearest). */
enum ptwalk_paging ptwalk_paging(const struct ptwalk_mode *m);

/*
 * Walks the guest's tables for an access to la (bits 31:0 outside IA-32e
 * mode, 47:0 or 56:0 in it).  On success, and unless a->no_ad, sets the
 * accessed flag of every entry used and, for a write, the leaf's dirty flag
 * (SDM 4.8); a fault or a missing entry sets none.  A lost
 * compare-and-exchange restarts the walk, a few times at most.
 */
enum ptwalk_status ptwalk(const struct ptwalk_mode *m, const struct ptwalk_ops *ops, uint64_t la,
			  const struct ptwalk_access *a, struct ptwalk_result *r);

/*
 * Whether a PAE PDPTE may be loaded (SDM 4.4.1): a present one with a
 * reserved bit set makes the MOV to CR3 (CR0, CR4) that loads it raise #GP(0).
 */
bool ptwalk_pdpte_valid(uint64_t pdpte, unsigned maxphyaddr);

#endif
