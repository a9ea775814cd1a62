/* selftest.h: deliberate faults that show the exception reporting works (selftest=). */
#ifndef ARCH_X86_SELFTEST_H
#define ARCH_X86_SELFTEST_H

/* Runs the named fault; an unknown name is reported and ignored. */
void selftest_run(const char *name);

#endif
