/* sched.h: the preemptive round-robin scheduler of vCPUs on the one physical CPU. */
#ifndef VMM_SCHED_H
#define VMM_SCHED_H

#include <stdint.h>
#include "lib/error.h"

#define SCHED_SLICE_DEFAULT_US 5000u
#define SCHED_SLICE_MIN_US     100u
#define SCHED_SLICE_MAX_US     1000000u

struct sched_stats {
	uint64_t slice_cycles;   /* a time slice in TSC cycles */
	uint64_t switches;       /* a vCPU ran after another one */
	uint64_t idle_cycles;    /* spent halted with nothing to run */
	uint64_t started;        /* TSC when scheduling began */
};

extern struct sched_stats sched;

/* Sets the slice from "slice=" (microseconds, e.g. 5000 or 5ms); ERR_INVAL for a bad value. */
err_t sched_set_slice(const char *option);
/* Runs every VM until all have stopped, each for a slice at a time. */
void sched_run(void);

#endif
