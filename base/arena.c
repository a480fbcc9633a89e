/* Chunked bump allocator behind arena.h. Chunks grow geometrically up to a cap; an allocation
 * larger than a quarter of the chunk size gets a chunk of its own so it wastes nothing. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"
#include <stdlib.h>

#ifndef OCA_ARENA_MALLOC_EACH
#define OCA_ARENA_MALLOC_EACH 0
#endif

#define ALIGN alignof(max_align_t)
#define MAX_CHUNK (1u << 20)

struct chunk {
    struct chunk *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
};

struct oca_arena {
    struct chunk *head;
    size_t next_size, used, reserved;
};

struct oca_arena *oca_arena_new(size_t first_chunk)
{
    struct oca_arena *a = oca_xcalloc(1, sizeof(*a));
    a->next_size = first_chunk < 256 ? 256 : first_chunk;
    return a;
}

void oca_arena_destroy(struct oca_arena *a)
{
    if (!a)
        return;
    for (struct chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

static struct chunk *add_chunk(struct oca_arena *a, size_t size, int in_front)
{
    struct chunk *c = oca_xmalloc(sizeof(*c) + size);
    c->size = size;
    c->used = 0;
    a->reserved += size;
    if (in_front || !a->head) {
        c->next = a->head;
        a->head = c;
    } else {
        /* A dedicated chunk for one big object goes behind the current one so the current
         * chunk's free space stays in use. */
        c->next = a->head->next;
        a->head->next = c;
    }
    return c;
}

void *oca_arena_alloc(struct oca_arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0)
        need = ALIGN;
    a->used += n;
    if (OCA_ARENA_MALLOC_EACH) {
        struct chunk *c = add_chunk(a, n, 1);
        c->used = n;
        return c->data;
    }
    struct chunk *c = a->head;
    if (c && c->size - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        return p;
    }
    if (need > a->next_size / 4) {
        c = add_chunk(a, need, 0);
        c->used = need;
        return c->data;
    }
    c = add_chunk(a, a->next_size, 1);
    if (a->next_size < MAX_CHUNK)
        a->next_size *= 2;
    c->used = need;
    return c->data;
}

void *oca_arena_zalloc(struct oca_arena *a, size_t n)
{
    void *p = oca_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *oca_arena_strndup(struct oca_arena *a, const char *s, size_t n)
{
    char *p = oca_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *oca_arena_strdup(struct oca_arena *a, const char *s)
{
    return oca_arena_strndup(a, s, strlen(s));
}

void *oca_arena_memdup(struct oca_arena *a, const void *p, size_t n)
{
    void *q = oca_arena_alloc(a, n);
    if (n)
        memcpy(q, p, n);
    return q;
}

char *oca_arena_printf(struct oca_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t size = n > 0 ? (size_t)n + 1 : 1;
    char *s = oca_arena_alloc(a, size);
    s[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(s, size, fmt, ap);
    va_end(ap);
    return s;
}

size_t oca_arena_used(const struct oca_arena *a) { return a->used; }
size_t oca_arena_reserved(const struct oca_arena *a) { return a->reserved; }

void *oca_arena_alloc_cb(void *arena, size_t n) { return oca_arena_alloc(arena, n); }
void oca_arena_free_cb(void *arena, void *p) { (void)arena; (void)p; }
