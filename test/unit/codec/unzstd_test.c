/* Tests of codec/unzstd.c: the window limit for a reader's output limit (at least 8 MiB, the
 * power of two at or above the limit, within libzstd's bounds), a decoder that takes a Go-sized
 * window and refuses a larger one before allocating it, and which errors count as window refusals. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/unzstd.h"

static void test_window_max(void **state)
{
    (void)state;
    assert_int_equal(oca_unzstd_window_max(0), (uint64_t)8 << 20);
    assert_int_equal(oca_unzstd_window_max(4 << 20), (uint64_t)8 << 20);
    assert_int_equal(oca_unzstd_window_max((8 << 20) + 1), (uint64_t)16 << 20);
    assert_int_equal(oca_unzstd_window_max((uint64_t)20 << 20), (uint64_t)32 << 20);
    assert_int_equal(oca_unzstd_window_max((uint64_t)64 << 20), (uint64_t)64 << 20);
    /* libzstd's own ceiling (2^31 on 64-bit) whatever the limit. */
    assert_int_equal(oca_unzstd_window_max(UINT64_MAX), (uint64_t)1 << ZSTD_dParam_getBounds(ZSTD_d_windowLogMax).upperBound);
}

/* A streamed frame of 1000 zeros declaring a window of 2^window_log bytes. */
static size_t frame_with_window(int window_log, uint8_t *out, size_t cap)
{
    static const uint8_t zeros[1000];
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log)));
    ZSTD_outBuffer o = { out, cap, 0 };
    ZSTD_inBuffer in = { zeros, sizeof(zeros), 0 };
    assert_false(ZSTD_isError(ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
    assert_int_equal(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0);
    ZSTD_freeCCtx(c);
    return o.pos;
}

/* Decodes frame with a decoder for max_out: the last return of ZSTD_decompressStream. */
static size_t decode(uint64_t max_out, const uint8_t *frame, size_t len, size_t *made, size_t *dstream_size)
{
    ZSTD_DStream *zs = oca_unzstd_new(max_out);
    uint8_t out[2000];
    ZSTD_inBuffer in = { frame, len, 0 };
    ZSTD_outBuffer o = { out, sizeof(out), 0 };
    size_t r = ZSTD_decompressStream(zs, &o, &in);
    *made = o.pos;
    *dstream_size = ZSTD_sizeof_DStream(zs);
    ZSTD_freeDStream(zs);
    return r;
}

static void test_decoder_window_bound(void **state)
{
    (void)state;
    uint8_t frame[256];
    size_t len = frame_with_window(23, frame, sizeof(frame)), made, size;
    size_t r = decode(1 << 20, frame, len, &made, &size);
    assert_int_equal(r, 0);
    assert_int_equal(made, 1000);
    assert_false(oca_unzstd_window_refused(r));
    len = frame_with_window(24, frame, sizeof(frame));
    r = decode(1 << 20, frame, len, &made, &size);
    assert_true(oca_unzstd_window_refused(r));
    assert_true(size < (1 << 20));                  /* refused before the window was allocated */
    /* A reader allowed 16 MiB takes it. */
    r = decode(16 << 20, frame, len, &made, &size);
    assert_int_equal(r, 0);
    /* Corrupt data is not a window refusal; success is not either. */
    frame[0] ^= 1;
    r = decode(16 << 20, frame, len, &made, &size);
    assert_true(ZSTD_isError(r));
    assert_false(oca_unzstd_window_refused(r));
    assert_false(oca_unzstd_window_refused(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_max),
        cmocka_unit_test(test_decoder_window_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
