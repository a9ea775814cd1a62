/* harness.h: how a run ends: halt, or exit an emulator with a verdict for the test harness. */
#ifndef DRIVERS_HARNESS_H
#define DRIVERS_HARNESS_H

#include <stdbool.h>

/* Selects the exit device from "harness=" (none, qemu, bochs); false when unknown. */
bool harness_set(const char *option);

/* Prints the verdict line, drains the console and stops the machine. */
__attribute__((noreturn)) void machine_end(bool success);

#endif
