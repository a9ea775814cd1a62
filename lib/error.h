/* error.h: error values shared by every layer; errors are values, reported once. */
#ifndef LIB_ERROR_H
#define LIB_ERROR_H

typedef enum err {
	ERR_OK = 0,
	ERR_NOMEM,       /* no free block of the requested size */
	ERR_INVAL,       /* an argument is out of its range */
	ERR_DOUBLE_FREE, /* the block is already free */
	ERR_FOREIGN,     /* the block belongs to another owner or to no allocator */
	ERR_NOT_BLOCK,   /* the address is not the start of an allocated block */
	ERR_MALFORMED,   /* input violates its format */
	ERR_MISSING,     /* a required item is absent */
	ERR_UNSUPPORTED, /* the hardware or input asks for what we do not do */
	ERR_COUNT
} err_t;

const char *err_str(err_t e);

#endif
