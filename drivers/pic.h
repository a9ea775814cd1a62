/* pic.h: the legacy 8259A interrupt controllers of the host. */
#ifndef DRIVERS_PIC_H
#define DRIVERS_PIC_H

/* Masks every line: the hypervisor takes no device interrupts yet, and a
 * pending one would otherwise end every VM entry at once. */
void pic_mask_all(void);

#endif
