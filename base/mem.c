/* Aborting allocators; see mem.h. */
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(size_t n)
{
    fprintf(stderr, "ocagent: out of memory allocating %zu bytes\n", n);
    abort();
}

void *oca_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(n);
    return p;
}

void *oca_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        die(count * size);
    return p;
}

void *oca_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die(n);
    return q;
}

char *oca_xstrdup(const char *s)
{
    return oca_xstrndup(s, strlen(s));
}

char *oca_xstrndup(const char *s, size_t n)
{
    char *p = oca_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *oca_xvasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    size_t size = n > 0 ? (size_t)n + 1 : 1;
    char *s = oca_xmalloc(size);
    s[0] = '\0';
    vsnprintf(s, size, fmt, ap);
    return s;
}
