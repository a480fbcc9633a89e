/* A growable byte buffer for building output (JSON lines, log lines, exposition text). The bytes
 * are always NUL-terminated so text can be passed on as a C string. */
#ifndef OCA_BASE_BUF_H
#define OCA_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Bytes that live elsewhere, borrowed: a piece of a message sent or compressed in pieces. */
struct oca_slice {
    const uint8_t *data;
    size_t len;
};

struct oca_buf {
    char *data;
    size_t len, cap;
};

void oca_buf_reserve(struct oca_buf *b, size_t extra);
void oca_buf_append(struct oca_buf *b, const void *p, size_t n);
void oca_buf_puts(struct oca_buf *b, const char *s);
void oca_buf_putc(struct oca_buf *b, char c);
void oca_buf_printf(struct oca_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oca_buf_reset(struct oca_buf *b);   /* len = 0, keeps the memory */
void oca_buf_free(struct oca_buf *b);    /* releases the memory; the buffer is empty and reusable */

#endif
