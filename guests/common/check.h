/* check.h: the result lines of the self-checking guests (hostile, pagestress): "<guest>: <group>: <what>: ok|FAIL ...|skipped (...)" (check.c; also built for 32-bit code). */
#ifndef GUESTS_COMMON_CHECK_H
#define GUESTS_COMMON_CHECK_H

#include "guests/common/guest.h"

enum emulator { EMU_QEMU = 1u << 0, EMU_BOCHS = 1u << 1 };

/* Where the checks run: under hvmicrovisor, or natively in which emulator. */
void report_setup(bool under_hypervisor, enum harness harness);
/* "<guest>: <group>: <what>: ok", or "...: FAIL 0x<got> want 0x<want>". */
void check_value(const char *group, const char *what, uint64_t got, uint64_t want);
/* The same for an exception vector (-1: none), printed by name. */
void check_vector(const char *group, const char *what, int got, int want);
/* A vector and, when it is the one wanted, its error code. */
void check_fault(const char *group, const char *what, int got, uint64_t error, int want,
		 uint64_t want_error);
/* check_vector, but a wrong vector counts as skipped when running natively
 * on one of the emulators in lenient (an emulator that does not raise the
 * fault the manuals require). */
void check_vector_lenient(const char *group, const char *what, int got, int want,
			  unsigned lenient);
/* When running natively on one of the emulators in lenient: prints
 * "skipped (native <emulator> is lenient)" and returns true. */
bool skipped_if_lenient(const char *group, const char *what, unsigned lenient);
/* Whether we run natively on one of these emulators: a check that would be
 * unsafe on their lenient emulation is then not made. */
bool native_on(unsigned emulators);
/* "...: ok" or "...: FAIL <detail>"; detail says what was wrong. */
void check_true(const char *group, const char *what, bool ok, const char *detail);
/* "<guest>: <group>: <what>: skipped (<why>)". */
void skipped(const char *group, const char *what, const char *why);
/* A check whose result was recorded elsewhere (a 32-bit part's failures). */
void report_add_failures(unsigned n);
unsigned report_failures(void);
/* The name of an exception vector ("#GP"), "none" for -1. */
const char *vector_name(int vector, char buf[16]);
/* The harness report_setup() was given. */
enum harness report_harness(void);

/* Long mode only (finish.c): prints the env lines and "result PASS|FAIL" and
 * ends the run, status 0 for PASS; check_fatal() first prints "<group>:
 * <why>; cannot go on" and counts a failure. */
__attribute__((noreturn)) void check_finish(void);
__attribute__((noreturn)) void check_fatal(const char *group, const char *why);

#endif
