/* gmem.h: a VM's RAM: guest-physical [0, size) backed by buddy blocks as large as alignment allows. */
#ifndef VMM_GMEM_H
#define VMM_GMEM_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"
#include "mm/buddy.h"

struct gmem_block {
	uint64_t gpa, hpa;
	unsigned order;        /* 2^order pages */
};

struct gmem {
	uint64_t size;
	unsigned owner;        /* buddy owner of every block */
	struct buddy *buddy;
	void *(*hpa_to_ptr)(uint64_t hpa); /* how the hypervisor reaches machine memory */
	struct gmem_block *blocks;
	unsigned nblocks, cap;
	uint64_t blocks_by_order[BUDDY_ORDERS];
};

/*
 * Allocates size bytes (a multiple of 4 KiB) of guest RAM from buddy for
 * owner, each block as large as the guest-physical alignment, max_order and
 * the free memory allow; the cap entries at blocks record them.  Zeroes it.
 * ERR_NOMEM (nothing kept) when memory or the block list runs out.
 */
err_t gmem_create(struct gmem *g, struct buddy *buddy, unsigned owner, uint64_t size,
		  unsigned max_order, struct gmem_block *blocks, unsigned cap,
		  void *(*hpa_to_ptr)(uint64_t hpa));
/* Returns every block to the allocator. */
void gmem_destroy(struct gmem *g);
/* Machine address of gpa and how many bytes from there stay contiguous; ERR_INVAL outside RAM. */
err_t gmem_translate(const struct gmem *g, uint64_t gpa, uint64_t *hpa, uint64_t *contiguous);
/* Copies into / out of guest RAM; ERR_INVAL when any byte is outside it. */
err_t gmem_write(const struct gmem *g, uint64_t gpa, const void *src, uint64_t len);
err_t gmem_read(const struct gmem *g, uint64_t gpa, void *dst, uint64_t len);
err_t gmem_zero(const struct gmem *g, uint64_t gpa, uint64_t len);
/*
 * Writes the size-byte (1 to 8) value new_val at gpa if it still holds
 * old_val; *swapped says whether it did.  The VM's one vCPU is not running
 * meanwhile, so the compare and the write cannot be torn apart.
 */
err_t gmem_cmpxchg(const struct gmem *g, uint64_t gpa, unsigned size, uint64_t old_val,
		   uint64_t new_val, bool *swapped);

#endif
