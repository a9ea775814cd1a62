/* shadow.h: the shadow MMU: guest-linear to machine tables built from the guest's own, kept in step by write protection. */
#ifndef VMM_MMU_SHADOW_H
#define VMM_MMU_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/error.h"

/*
 * The CPU runs on tables the hypervisor builds: they map what the guest's own
 * tables map, straight to machine addresses, with the rights the guest's
 * entries combine to at every level (SDM vol. 3A 4.6).  A guest with
 * EFER.LMA = 1 gets 4-level shadows; every other guest (32-bit or PAE
 * paging, or paging off) gets PAE shadows, the CPU running in PAE paging.
 * Shadow tables are cached by role (the guest table, its level and quadrant,
 * the rights inherited from above and the mode bits that change an entry) and
 * kept across CR3 loads.  Every guest page that a shadow table was built
 * from is write-protected in all shadows, so each edit traps, is emulated by
 * the caller and reported here: the shadows are never behind guest memory,
 * and a guest TLB flush needs nothing but the hardware flush.  Nothing here
 * names a vendor; one vCPU per shadow.  Not done: out-of-sync (unprotected)
 * leaf tables, prefetching neighbouring entries, refilling an entry from
 * the written value (a written entry is zapped and refilled on use).
 */

/* How the shadow MMU reaches the VM: its RAM, and machine pages for its tables. */
struct shadow_env {
	void *ctx;
	/* Reads the size-byte (4 or 8) guest-physical entry at gpa; an error outside RAM. */
	err_t (*read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);
	/* Compare-and-exchange of a guest entry (A/D updates), as ptwalk_ops.update. */
	err_t (*update)(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val, uint64_t new_val,
			bool *swapped);
	/*
	 * The machine address of the guest RAM page at gpa (4 KiB aligned) and
	 * how many bytes from there are machine-contiguous RAM; an error where
	 * there is no RAM.  Nothing else is ever mapped.
	 */
	err_t (*translate)(void *ctx, uint64_t gpa, uint64_t *ma, uint64_t *contiguous);
	/* A zeroed 4 KiB machine page owned by the VM; below_4g: below 4 GiB (a PAE root is loaded by a 32-bit CR3). */
	err_t (*alloc_page)(void *ctx, bool below_4g, uint64_t *ma);
	void (*free_page)(void *ctx, uint64_t ma);
	/* The hypervisor's pointer to a page alloc_page gave. */
	void *(*page_ptr)(void *ctx, uint64_t ma);
};

#define SHADOW_MIN_PAGES 16     /* roots and one fault's path always fit */
#define SHADOW_MAX_PAGES 16384  /* 64 MiB of tables (and as much bookkeeping) */

struct shadow_config {
	unsigned max_pages;  /* shadow_pages=: shadow table pages at most, roots included */
	bool large;          /* large host leaves (2 MiB; 1 GiB with gbpages) may back guest large pages */
	bool gbpages;        /* 1 GiB pages: the guest's CPUID shows them and the host has them */
	unsigned maxphyaddr; /* the guest's CPUID 80000008H:EAX[7:0] (reserved bits of its entries) */
};

/* A default shadow_pages= for a VM with ram bytes of RAM: 1 page per 64 of RAM, within the limits. */
unsigned shadow_default_pages(uint64_t ram);

/*
 * What to flush from the VM's TLB tag (VPID / ASID) before it runs again,
 * weakest first, each for every PCID.  LA: every translation of that linear
 * address, global ones too (INVVPID individual-address, INVLPGA).
 * NONGLOBAL: every non-global translation (what a CR3 load flushes;
 * INVVPID single-context-retaining-globals, TLB_CONTROL 7).  ALL:
 * everything the tag holds, global translations and paging-structure
 * caches included (INVVPID single-context, TLB_CONTROL 3).  Once the caller
 * has done what every operation returned, the TLB holds nothing the guest's
 * tables do not say now.
 */
enum shadow_flush { SHADOW_FLUSH_NONE, SHADOW_FLUSH_LA, SHADOW_FLUSH_NONGLOBAL, SHADOW_FLUSH_ALL };

/* The guest's paging registers, as the guest sees them, after the architectural checks. */
struct shadow_regs {
	uint64_t cr0, cr3, cr4, efer; /* cr3 as loaded: bit 63 is the no-flush hint with CR4.PCIDE */
	uint64_t pdpte[4];            /* PAE paging: the PDPTEs the load read (SDM 4.4.1) */
	bool cr3_load;                /* a MOV to CR3 (or a task switch's CR3 load) brought these */
};

/* What the CPU must run on. */
struct shadow_root {
	uint64_t cr3;              /* the real CR3: the shadow root (with the guest's PCID under CR4.PCIDE) */
	uint64_t cr0, cr4, efer;   /* the guest's values with the paging bits the shadows need (see set_mode) */
	bool long_mode;            /* 4-level shadows (EFER.LMA = 1); else PAE */
	enum shadow_flush flush;
};

enum shadow_fault_status {
	SHADOW_FIXED,        /* the shadows were behind: filled; re-execute the instruction */
	SHADOW_GUEST_FAULT,  /* the guest's tables fault: inject #PF with error_code, CR2 = the address */
	SHADOW_PT_WRITE,     /* a write the shadows cannot let through (see shadow_page_fault) */
	SHADOW_NOT_RAM,      /* gpa has no RAM: the guest's access, or its tables (table = true) */
	SHADOW_ERROR,        /* no machine page for a shadow table (err) */
};

struct shadow_fault {
	enum shadow_fault_status status;
	uint32_t error_code;     /* GUEST_FAULT: PF_ERR_* (mm/ptwalk.h) */
	uint64_t gpa;            /* PT_WRITE: where the write goes; NOT_RAM: the address without RAM */
	bool table;              /* NOT_RAM: gpa is one of the guest's paging-structure entries */
	err_t err;               /* ERROR */
	enum shadow_flush flush; /* FLUSH_LA means the faulting address */
};

/* Counters, for the VM's statistics. */
struct shadow_stats {
	uint64_t faults_fixed;     /* #PF exits the shadows explained (filled, retried) */
	uint64_t faults_spurious;  /* ... of which nothing was missing: a stale TLB entry */
	uint64_t faults_guest;     /* #PF exits reflected to the guest */
	uint64_t faults_pt_write;  /* #PF exits handed back for emulation */
	uint64_t faults_not_ram;
	uint64_t fills;            /* shadow leaves written */
	uint64_t pt_writes;        /* emulated writes reported to shadowed page-table pages */
	uint64_t pt_zaps;          /* shadow entries those writes zapped */
	uint64_t write_protects;   /* writable shadow leaves made read-only as their page became a table */
	uint64_t cr3_switches;     /* set_mode calls that (re)selected a root */
	uint64_t root_hits;        /* ... whose root was in the cache */
	uint64_t root_misses;
	uint64_t pages;            /* shadow table pages in use */
	uint64_t peak;
	uint64_t reclaimed;        /* pages zapped to stay under shadow_pages= */
	uint64_t unprotected;      /* guest pages unshadowed as written often but not walked */
	uint64_t large_mapped;     /* guest large-page pieces shadowed by one host large leaf */
	uint64_t large_split;      /* ... split into smaller shadow entries */
	uint64_t invlpgs;
	uint64_t flush_la, flush_nonglobal, flush_all; /* flushes asked of the caller */
};

/* Headers (64 a page), two hash pages, reverse-map buckets (one page per 128 table pages). */
#define SHADOW_META_PAGES (SHADOW_MAX_PAGES / 64 + 1 + 2 + SHADOW_MAX_PAGES / 128)

/* One vCPU's shadow MMU.  The fields past stats are private to vmm/mmu/shadow*.c. */
struct shadow {
	struct shadow_env env;
	struct shadow_config cfg;
	struct shadow_stats stats;

	struct shadow_mode_state {
		bool valid;
		bool pg, wp, pse, pae, pge, smep, smap, nxe, lma, pcide;
		uint64_t cr3;
		uint64_t pdpte[4];
	} mode;
	uint32_t role_mode;          /* the mode bits of the current roles */
	uint32_t root;               /* the current root's page (0: none) */
	uint32_t free_head;          /* unused page headers */
	uint32_t nfree;
	uint32_t op;                 /* counts operations: pages touched by the one in progress are kept */
	enum shadow_flush pending;   /* what the operation in progress must have flushed */
	bool spurious;               /* the last fault was spurious at spurious_la / spurious_ec */
	uint64_t spurious_la;
	uint32_t spurious_ec;
	unsigned meta_pages;
	uint32_t rmap_buckets;       /* a power of two */
	uint64_t meta_ma[SHADOW_META_PAGES];
	void *meta[SHADOW_META_PAGES];
};

/*
 * Allocates the bookkeeping: about 1/40 of max_pages in pages, and a
 * companion page per shadow table later.
 * ERR_INVAL for max_pages outside [SHADOW_MIN_PAGES, SHADOW_MAX_PAGES].
 */
err_t shadow_init(struct shadow *s, const struct shadow_env *env, const struct shadow_config *cfg);

/* Frees every page: shadow tables, roots, bookkeeping. */
void shadow_destroy(struct shadow *s);

/*
 * The guest's paging registers changed, or it loaded CR3: selects (or
 * builds) the root for them and says what the CPU must run with.  Every
 * CR3 load must come here, even of the value already there.  Out: the real
 * CR3; the real CR0 (PG, PE and WP forced on: the shadows need write
 * protection), CR4 (PAE forced on, PSE off; PGE, SMEP and SMAP the guest's
 * with its paging on, else off; PCIDE the guest's; LA57 off) and EFER (NXE
 * forced on; LME = LMA = the guest's LMA); the flush: ALL when a paging
 * bit changed (mode, WP, PSE, PGE, SMEP, SMAP, NXE, PCIDE), NONGLOBAL for
 * a CR3 load (NONE when CR4.PCIDE and bit 63), else NONE.
 * ERR_UNSUPPORTED for 5-level paging; ERR_NOMEM when no root can be had.
 */
err_t shadow_set_mode(struct shadow *s, const struct shadow_regs *regs, struct shadow_root *out);

/*
 * A #PF exit at la with the hardware's error_code, the guest at cpl with
 * RFLAGS.AC = ac.  The guest's tables are walked (mm/ptwalk.c, setting
 * their A/D flags as the CPU would) and the shadows filled for the access.
 *
 * PT_WRITE: the access is a write the guest may make but the shadows must
 * not let through: to a page-table page shadowed here (gpa), or (CR0.WP = 0
 * with CR4.SMAP) a supervisor write to a read-only user page.  The caller
 * emulates the instruction (its writes going to guest memory as the guest's
 * tables say), reports every write with shadow_pt_written and resumes after
 * it; where it cannot emulate, shadow_unprotect(gpa) and re-executing may do
 * (not for a table that maps itself: that would fault again).
 *
 * The exit does not tell an implicit supervisor access (the CPU reading the
 * GDT, IDT or TSS) at CPL < 3 from an explicit one, so such an access to a
 * user page under SMAP with RFLAGS.AC = 1 is first taken as allowed: the
 * CPU faults again and that fault is reflected, but the walk has set the
 * entries' A (and for a write D) flags, and what handles PT_WRITE or
 * NOT_RAM must walk again knowing the access (and inject its #PF).
 */
void shadow_page_fault(struct shadow *s, uint64_t la, uint32_t error_code, unsigned cpl, bool ac,
		       struct shadow_fault *out);

/*
 * Guest-physical [gpa, gpa + len) was written by someone other than the
 * CPU running on the shadows: an emulated instruction, the hypervisor
 * (string I/O, a task switch, a loader), a device.  Every such write must
 * come here; it zaps the shadow entries built from those bytes and is cheap
 * where nothing was.  A page written this way FLOOD_LIMIT (3) times without
 * a walk through it stops being shadowed (unprotected) until walked again.
 */
enum shadow_flush shadow_pt_written(struct shadow *s, uint64_t gpa, uint64_t len);

/*
 * The guest's INVLPG (or INVPCID individual-address) of la: only the
 * hardware flush, as the shadows never lag guest memory.
 */
enum shadow_flush shadow_invlpg(struct shadow *s, uint64_t la);

/* The guest flushed its whole TLB (INVPCID all-context, or single-context): the hardware must too. */
enum shadow_flush shadow_flush_all(struct shadow *s);

/* Drops every shadow table but the current root's (emptied), e.g. after the RAM map changed. */
enum shadow_flush shadow_reset(struct shadow *s);

/* Stops shadowing the page at gpa (zaps every table built from it) unless the current root needs it; whether it did. */
bool shadow_unprotect(struct shadow *s, uint64_t gpa, enum shadow_flush *flush);

/*
 * Checks every present shadow entry against the guest's tables and RAM map
 * (rights, machine address, A/D, write protection), and the bookkeeping;
 * changes nothing.  True when all agree; else msg holds the first
 * disagreement.
 */
bool shadow_audit(struct shadow *s, char *msg, size_t len);

/*
 * For the audit's own test: flips the PWT bit of the first present leaf
 * under the current root (a caching hint only, so the guest is no worse
 * off), a disagreement the next audit must report.  Whether there was one.
 */
bool shadow_selftest_corrupt(struct shadow *s);

#endif
