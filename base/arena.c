/* Chunked bump allocator behind arena.h. Chunks grow geometrically up to a cap; an allocation
 * larger than a quarter of the chunk size gets a chunk of its own so it wastes nothing. Freed
 * chunks of the usual sizes are kept in a small cache shared by all threads. */
#include "base/arena.h"

#include <pthread.h>
#include <stddef.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"
#include <stdlib.h>

#ifndef OCA_ARENA_MALLOC_EACH
#define OCA_ARENA_MALLOC_EACH 0
#endif

#define ALIGN alignof(max_align_t)
#define MAX_CHUNK (1u << 16)

struct chunk {
    struct chunk *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
};

struct oca_arena {
    struct chunk *head;
    size_t next_size, used, reserved;
};

/* The chunk cache. Requests are decoded into arenas on libuv's worker threads and freed on the loop
 * thread; given back to malloc, their chunks made glibc trim the workers' heaps and fault the same
 * pages in again for the next request (about 45 page faults per 100-span request, half of the
 * agent's CPU time spent in the kernel). Chunks whose size is a power of two from 1 KiB to
 * MAX_CHUNK (an arena's growth sequence from a power-of-two start) are kept here instead, per
 * size, up to CACHE_MAX bytes in all, for whichever thread needs one next. Memory kept here is not
 * charged to the budget (base/budget.h): it bounds the agent's memory beyond the budget by
 * CACHE_MAX. Sanitizer builds bypass it so AddressSanitizer sees every use after free. */
#define CACHE_MIN_SHIFT 10
#define CACHE_MAX_SHIFT 20
#define CACHE_MAX ((size_t)8 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *cache[CACHE_MAX_SHIFT - CACHE_MIN_SHIFT + 1];
static size_t cache_bytes;

static int cache_class(size_t size)
{
    if (OCA_ARENA_MALLOC_EACH || (size & (size - 1)) != 0)
        return -1;
    for (int shift = CACHE_MIN_SHIFT; shift <= CACHE_MAX_SHIFT; shift++)
        if (size == (size_t)1 << shift)
            return shift - CACHE_MIN_SHIFT;
    return -1;
}

static struct chunk *cache_take(size_t size)
{
    int k = cache_class(size);
    if (k < 0)
        return NULL;
    pthread_mutex_lock(&cache_lock);
    struct chunk *c = cache[k];
    if (c) {
        cache[k] = c->next;
        cache_bytes -= size;
    }
    pthread_mutex_unlock(&cache_lock);
    return c;
}

static bool cache_put(struct chunk *c)
{
    int k = cache_class(c->size);
    if (k < 0)
        return false;
    pthread_mutex_lock(&cache_lock);
    bool kept = cache_bytes + c->size <= CACHE_MAX;
    if (kept) {
        c->next = cache[k];
        cache[k] = c;
        cache_bytes += c->size;
    }
    pthread_mutex_unlock(&cache_lock);
    return kept;
}

/* The size of the cached chunk that holds n bytes, or 0 when n is beyond the cache's sizes. */
static size_t cache_size_for(size_t n)
{
    for (int shift = CACHE_MIN_SHIFT; shift <= CACHE_MAX_SHIFT; shift++)
        if (n <= (size_t)1 << shift)
            return (size_t)1 << shift;
    return 0;
}

void *oca_arena_block_new(size_t n)
{
    size_t size = cache_size_for(n);
    struct chunk *c = size ? cache_take(size) : NULL;
    if (!c) {
        size = size ? size : n;
        c = oca_xmalloc(sizeof(*c) + size);
    }
    c->size = size;
    c->used = n;
    c->next = NULL;
    return c->data;
}

void oca_arena_block_free(void *p)
{
    if (!p)
        return;
    struct chunk *c = (struct chunk *)(void *)((unsigned char *)p - offsetof(struct chunk, data));
    if (!cache_put(c))
        free(c);
}

size_t oca_arena_cached(void)
{
    pthread_mutex_lock(&cache_lock);
    size_t n = cache_bytes;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

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
        if (!cache_put(c))
            free(c);
    }
    free(a);
}

static struct chunk *add_chunk(struct oca_arena *a, size_t size, int in_front)
{
    struct chunk *c = cache_take(size);
    if (!c)
        c = oca_xmalloc(sizeof(*c) + size);
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

static size_t rounded(size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    return need ? need : ALIGN;
}

/* The bytes of the chunk an allocation of n (need when rounded) will take when the current chunk
 * has no room. */
static size_t next_chunk_size(const struct oca_arena *a, size_t n, size_t need)
{
    if (OCA_ARENA_MALLOC_EACH)
        return n;
    return need > a->next_size / 4 ? need : a->next_size;
}

/* From the current chunk, or NULL when it has no room (always, in sanitizer builds). */
static void *alloc_in_head(struct oca_arena *a, size_t need)
{
    struct chunk *c = a->head;
    if (OCA_ARENA_MALLOC_EACH || !c || c->size - c->used < need)
        return NULL;
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

/* From a new chunk, sized as next_chunk_size says. */
static void *alloc_in_new_chunk(struct oca_arena *a, size_t n, size_t need)
{
    struct chunk *c;
    if (OCA_ARENA_MALLOC_EACH) {
        c = add_chunk(a, n, 1);
        c->used = n;
        return c->data;
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

void *oca_arena_alloc(struct oca_arena *a, size_t n)
{
    size_t need = rounded(n);
    a->used += n;
    void *p = alloc_in_head(a, need);
    return p ? p : alloc_in_new_chunk(a, n, need);
}

void *oca_arena_metered_alloc_cb(void *metered, size_t n)
{
    struct oca_arena_metered *m = metered;
    struct oca_arena *a = m->arena;
    size_t need = rounded(n);
    void *p = alloc_in_head(a, need);
    if (!p) {
        if (!m->take(m->data, next_chunk_size(a, n, need)))
            return NULL;
        p = alloc_in_new_chunk(a, n, need);
    }
    a->used += n;
    return p;
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
