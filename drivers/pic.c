/* pic.c: masks the host's 8259A PICs (Intel 8259A data sheet, OCW1). */
#include "arch/x86/cpu.h"
#include "drivers/pic.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

void pic_mask_all(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}
