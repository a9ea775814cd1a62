/* console.h: kernel printing with log levels, and the one way to stop on a fatal error. */
#ifndef DRIVERS_CONSOLE_H
#define DRIVERS_CONSOLE_H

#include <stdbool.h>
#include "lib/printf.h"

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN  = 1,
	LOG_INFO  = 2,
	LOG_DEBUG = 3,
};

/* Sets up the console from "console=" (com1, com2 or an I/O port number). */
void console_init(const char *option);
/* Sets the level from "loglevel=" (error, warn, info, debug or 0-3); false when unknown. */
bool console_set_level(const char *option);
enum log_level console_level(void);

/* Prints unconditionally. */
int kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void klog(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_error(...) klog(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  klog(LOG_WARN, __VA_ARGS__)
#define log_info(...)  klog(LOG_INFO, __VA_ARGS__)
#define log_debug(...) klog(LOG_DEBUG, __VA_ARGS__)

/* Prints "PANIC: ...", a backtrace, and ends the run as a failure. */
__attribute__((noreturn)) void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
