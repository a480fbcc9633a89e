/* Growable byte buffer; see buf.h. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void oca_buf_reserve(struct oca_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = oca_xrealloc(b->data, cap);
    b->cap = cap;
}

void oca_buf_append(struct oca_buf *b, const void *p, size_t n)
{
    oca_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void oca_buf_puts(struct oca_buf *b, const char *s) { oca_buf_append(b, s, strlen(s)); }

void oca_buf_putc(struct oca_buf *b, char c) { oca_buf_append(b, &c, 1); }

void oca_buf_printf(struct oca_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    oca_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void oca_buf_reset(struct oca_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void oca_buf_free(struct oca_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
