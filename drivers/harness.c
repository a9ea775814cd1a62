/* harness.c: ends a run: through QEMU's isa-debug-exit or Bochs' shutdown port, else by halting. */
#include "arch/x86/cpu.h"
#include "drivers/console.h"
#include "drivers/harness.h"
#include "drivers/uart16550.h"
#include "lib/cmdline.h"

enum harness { HARNESS_NONE, HARNESS_QEMU, HARNESS_BOCHS };

/* QEMU: -device isa-debug-exit,iobase=0xf4 makes QEMU exit with (v << 1) | 1. */
#define QEMU_DEBUG_EXIT_PORT 0xf4
/* Bochs: the bytes of "Shutdown" written to this port end the simulation. */
#define BOCHS_SHUTDOWN_PORT  0x8900

static enum harness harness = HARNESS_NONE;
static const char *const harness_names[] = { "none", "qemu", "bochs", NULL };

bool harness_set(const char *option)
{
	unsigned idx;
	if (cmdline_parse_choice(option, harness_names, &idx) != ERR_OK)
		return false;
	harness = (enum harness)idx;
	return true;
}

void machine_end(bool success)
{
	__asm__ volatile("cli");
	kprintf("hv: end of run: %s\n", success ? "PASS" : "FAIL");
	/* Bytes still in the transmitter are lost when the emulator stops. */
	uart_flush();
	if (harness == HARNESS_QEMU) {
		outb(QEMU_DEBUG_EXIT_PORT, success ? 0 : 1);
	} else if (harness == HARNESS_BOCHS) {
		for (const char *p = "Shutdown"; *p; p++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
	}
	halt_forever();
}
