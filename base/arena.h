/* A region allocator: many small allocations, one free. A decoded request, a config tree or a
 * stream's scratch space lives in one arena and is released with oca_arena_destroy().
 * Built with -DOCA_ARENA_MALLOC_EACH=1 (the sanitizer builds) every allocation is its own malloc,
 * so AddressSanitizer sees overflows between neighbouring objects. */
#ifndef OCA_BASE_ARENA_H
#define OCA_BASE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct oca_arena;

struct oca_arena *oca_arena_new(size_t first_chunk);
void oca_arena_destroy(struct oca_arena *a);

/* Never NULL; aligned for any type. Memory is uninitialised unless the name says zero. */
void *oca_arena_alloc(struct oca_arena *a, size_t n);
void *oca_arena_zalloc(struct oca_arena *a, size_t n);
char *oca_arena_strdup(struct oca_arena *a, const char *s);
char *oca_arena_strndup(struct oca_arena *a, const char *s, size_t n);
void *oca_arena_memdup(struct oca_arena *a, const void *p, size_t n);
char *oca_arena_printf(struct oca_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* protobuf-c's allocator over an arena that asks before it grows: take(data, bytes) is called with
 * the size of every chunk the arena is about to add (what oca_arena_reserved will grow by), and when
 * it returns false the allocation fails (NULL) and nothing is added. The memory budget meters a
 * decoding this way, once per chunk rather than once per allocation. allocator_data is the struct,
 * which must outlive the allocations. */
struct oca_arena_metered {
    struct oca_arena *arena;
    bool (*take)(void *data, size_t bytes);
    void *data;
};
void *oca_arena_metered_alloc_cb(void *metered, size_t n);

/* Bytes handed out so far and bytes held from the system. */
size_t oca_arena_used(const struct oca_arena *a);
size_t oca_arena_reserved(const struct oca_arena *a);

/* A block of n bytes outside any arena, from the same chunk cache, for bytes that one thread
 * writes and another reads (a request handed to the thread pool); freed with oca_arena_block_free
 * by any thread. Never NULL. */
void *oca_arena_block_new(size_t n);
void oca_arena_block_free(void *p);

/* Bytes of freed chunks kept for reuse by any arena (at most 8 MiB; 0 in sanitizer builds). Any
 * thread may create, use and destroy arenas, one arena by one thread at a time. */
size_t oca_arena_cached(void);

/* Adapters with the shape protobuf-c's ProtobufCAllocator wants (allocator_data is the arena);
 * the free is a no-op because the arena frees everything at once. */
void *oca_arena_alloc_cb(void *arena, size_t n);
void oca_arena_free_cb(void *arena, void *p);

#endif
