/* Allocation that never returns NULL: on failure the process aborts with a message, as the agent
 * cannot do anything sensible without memory. Memory stays bounded by configured limits instead. */
#ifndef OCA_BASE_MEM_H
#define OCA_BASE_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *oca_xmalloc(size_t n);
void *oca_xcalloc(size_t count, size_t size);
void *oca_xrealloc(void *p, size_t n);
char *oca_xstrdup(const char *s);
char *oca_xstrndup(const char *s, size_t n);
/* A formatted string in a new malloc'd buffer. */
char *oca_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
