/* Tests of codec/gzip.c: what it appends is one gzip stream that zlib inflates back to the input,
 * at every level the agent uses, an empty input included, and the level changes the output; the
 * gzip of pieces is that of their concatenation. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/gzip.h"

/* Inflates the gzip stream at out->data + off and checks it is exactly want. */
static void expect_inflates_to(const struct oca_buf *out, size_t off, const char *want, size_t want_len)
{
    assert_true(out->len >= off + 20);
    assert_int_equal((uint8_t)out->data[off], 0x1f);
    assert_int_equal((uint8_t)out->data[off + 1], 0x8b);
    assert_int_equal(out->data[out->len], '\0');
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    char *back = malloc(want_len + 100);
    zs.next_in = (Bytef *)out->data + off;
    zs.avail_in = (uInt)(out->len - off);
    zs.next_out = (Bytef *)back;
    zs.avail_out = (uInt)(want_len + 100);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);   /* nothing after the stream */
    assert_int_equal(zs.total_out, want_len);
    assert_memory_equal(back, want, want_len);
    inflateEnd(&zs);
    free(back);
}

static void test_round_trip_appends(void **state)
{
    (void)state;
    char in[5000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)('a' + i % 7);
    struct oca_buf out = { 0 };
    oca_buf_puts(&out, "prefix");
    assert_true(oca_gzip((const uint8_t *)in, sizeof(in), OCA_GZIP_LEVEL, &out));
    assert_true(out.len > 6 && out.len < sizeof(in));
    assert_memory_equal(out.data, "prefix", 6);
    expect_inflates_to(&out, 6, in, sizeof(in));
    /* An empty body is still a valid gzip stream. */
    oca_buf_reset(&out);
    assert_true(oca_gzip(NULL, 0, OCA_GZIP_LEVEL, &out));
    expect_inflates_to(&out, 0, "", 0);
    oca_buf_free(&out);
}

static void test_levels(void **state)
{
    (void)state;
    /* Text that compresses, but less well at level 1 than at 9. */
    size_t n = 200000;
    char *in = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = "abcdefgh ,.\n"[(x >> 16) % 12];
    }
    struct oca_buf fast = { 0 }, best = { 0 };
    assert_true(oca_gzip((const uint8_t *)in, n, 1, &fast));
    assert_true(oca_gzip((const uint8_t *)in, n, 9, &best));
    expect_inflates_to(&fast, 0, in, n);
    expect_inflates_to(&best, 0, in, n);
    assert_true(best.len < fast.len);
    assert_true(fast.len < n);
    oca_buf_free(&fast);
    oca_buf_free(&best);
    free(in);
}

/* Pieces gzipped as one stream inflate to their concatenation; empty pieces anywhere change
 * nothing. */
static void test_parts(void **state)
{
    (void)state;
    static const char want[] = "first piece, second piece, third";
    const struct oca_slice parts[] = {
        { NULL, 0 }, { (const uint8_t *)"first piece, ", 13 }, { NULL, 0 },
        { (const uint8_t *)"second piece, ", 14 }, { (const uint8_t *)"third", 5 }, { NULL, 0 },
    };
    struct oca_buf out = { 0 };
    oca_buf_puts(&out, "ab");
    assert_true(oca_gzipv(parts, sizeof(parts) / sizeof(parts[0]), OCA_GZIP_LEVEL, &out));
    expect_inflates_to(&out, 2, want, sizeof(want) - 1);
    oca_buf_reset(&out);
    assert_true(oca_gzipv(parts, 0, OCA_GZIP_LEVEL, &out));
    expect_inflates_to(&out, 0, "", 0);
    oca_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_appends),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
