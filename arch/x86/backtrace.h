/* backtrace.h: symbolized stack backtraces along the frame-pointer chain. */
#ifndef ARCH_X86_BACKTRACE_H
#define ARCH_X86_BACKTRACE_H

#include <stdint.h>

/* Prints "  #n  addr  function+offset" for addr. */
void backtrace_print_addr(unsigned n, uint64_t addr);
/* Walks saved frame pointers from rbp, printing each return address numbered from first. */
void backtrace_print_chain(uintptr_t rbp, unsigned first);
/* The same under a "backtrace:" heading, numbered from 0. */
void backtrace_print(uintptr_t rbp);

#endif
