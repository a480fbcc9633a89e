/* Tests of base/arena.c: the metered allocator asks before every chunk and fails cleanly when
 * refused, chunks stop growing at 64 KiB, and freed chunks and blocks are reused from the cache
 * (plain builds) up to its cap. */
#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"

struct meter {
    size_t taken;       /* bytes allowed so far */
    size_t allow;       /* refuse once taken would pass this */
    int refusals;
};

static bool take(void *data, size_t bytes)
{
    struct meter *m = data;
    if (m->taken + bytes > m->allow) {
        m->refusals++;
        return false;
    }
    m->taken += bytes;
    return true;
}

static void test_metered_allocations_are_charged_per_chunk_and_refused_cleanly(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct meter m = { 0, 200 << 10, 0 };
    struct oca_arena_metered am = { a, take, &m };
    size_t got = 0;
    void *p;
    while ((p = oca_arena_metered_alloc_cb(&am, 100)) != NULL) {
        memset(p, 0xab, 100);
        got += 100;
    }
    /* Every byte the arena holds was asked for first, and nothing was added once refused. */
    assert_int_equal(m.taken, oca_arena_reserved(a));
    assert_int_equal(m.refusals, 1);
    assert_true(got > 150 << 10);
    assert_int_equal(oca_arena_used(a), got);
    /* A refused arena still serves what fits in its current chunk, and the plain allocator goes on. */
    assert_non_null(oca_arena_alloc(a, 100000));
    oca_arena_destroy(a);
}

static void test_chunks_stop_growing_at_64k(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    for (int i = 0; i < 40000; i++)
        oca_arena_alloc(a, 48);
    /* 1,920,000 bytes used: with chunks capped at 64 KiB the arena holds at most one chunk more
     * than it needs (with 1 MiB chunks it would have held up to twice the use). */
    assert_true(oca_arena_reserved(a) <= oca_arena_used(a) + (64 << 10) + 40000 * 16);
    oca_arena_destroy(a);
}

static void test_freed_chunks_and_blocks_are_reused(void **state)
{
    (void)state;
    uint8_t *b1 = oca_arena_block_new(56148);
    memset(b1, 1, 56148);
    oca_arena_block_free(b1);
#if OCA_ARENA_MALLOC_EACH
    assert_int_equal(oca_arena_cached(), 0);
#else
    size_t cached = oca_arena_cached();
    assert_true(cached >= 65536);
    /* The same size class comes back from the cache: the same memory, no malloc. */
    uint8_t *b2 = oca_arena_block_new(60000);
    assert_ptr_equal(b2, b1);
    assert_int_equal(oca_arena_cached(), cached - 65536);
    oca_arena_block_free(b2);
    /* Arenas give their chunks back, and the cache never holds more than 8 MiB. */
    for (int round = 0; round < 3; round++) {
        struct oca_arena *many[40];
        for (int i = 0; i < 40; i++) {
            many[i] = oca_arena_new(1024);
            for (int k = 0; k < 4000; k++)
                oca_arena_alloc(many[i], 64);
        }
        for (int i = 0; i < 40; i++)
            oca_arena_destroy(many[i]);
        assert_true(oca_arena_cached() <= (size_t)8 << 20);
        assert_true(oca_arena_cached() > (size_t)4 << 20);
    }
    /* A block beyond the cache's sizes is plain memory. */
    uint8_t *big = oca_arena_block_new((size_t)3 << 20);
    memset(big, 2, (size_t)3 << 20);
    oca_arena_block_free(big);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metered_allocations_are_charged_per_chunk_and_refused_cleanly),
        cmocka_unit_test(test_chunks_stop_growing_at_64k),
        cmocka_unit_test(test_freed_chunks_and_blocks_are_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
