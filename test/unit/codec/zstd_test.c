/* Tests of codec/zstd.c: what it appends after what out held is one zstd frame, declaring its
 * content size, that libzstd decompresses back to the concatenation of the pieces (empty pieces,
 * no pieces and a large input included), and the level changes the output. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/zstd.h"

/* Decompresses the frame at out->data + off and checks it is exactly want. */
static void expect_frame_of(const struct oca_buf *out, size_t off, const uint8_t *want, size_t want_len)
{
    assert_int_equal(out->data[out->len], '\0');
    const uint8_t *f = (const uint8_t *)out->data + off;
    size_t flen = out->len - off;
    assert_int_equal(ZSTD_findFrameCompressedSize(f, flen), flen);     /* one frame, nothing after */
    assert_int_equal(ZSTD_getFrameContentSize(f, flen), want_len);
    uint8_t *back = malloc(want_len + 1);
    assert_int_equal(ZSTD_decompress(back, want_len + 1, f, flen), want_len);
    assert_memory_equal(back, want, want_len);
    free(back);
}

static void test_pieces_make_one_frame(void **state)
{
    (void)state;
    size_t n = 300000;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)((i * 2654435761u) >> 13);    /* not very compressible */
    struct oca_slice parts[] = { { big, 1 }, { big + 1, 0 }, { big + 1, 70000 }, { big + 70001, n - 70001 } };
    struct oca_buf out = { 0 };
    oca_buf_puts(&out, "head");
    assert_true(oca_zstdv(parts, 4, OCA_ZSTD_LEVEL, &out));
    assert_memory_equal(out.data, "head", 4);
    expect_frame_of(&out, 4, big, n);

    /* No pieces, and only an empty one: an empty frame each. */
    size_t at = out.len;
    assert_true(oca_zstdv(NULL, 0, OCA_ZSTD_LEVEL, &out));
    expect_frame_of(&out, at, big, 0);
    at = out.len;
    assert_true(oca_zstdv(parts + 1, 1, OCA_ZSTD_LEVEL, &out));
    expect_frame_of(&out, at, big, 0);
    oca_buf_free(&out);
    free(big);
}

static void test_level_matters(void **state)
{
    (void)state;
    char text[20000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = "spans attributes service.name "[(i * 7 + i / 13) % 30];
    struct oca_slice part = { (const uint8_t *)text, sizeof(text) };
    struct oca_buf fast = { 0 }, small = { 0 };
    assert_true(oca_zstdv(&part, 1, 1, &fast));
    assert_true(oca_zstdv(&part, 1, 19, &small));
    expect_frame_of(&fast, 0, part.data, part.len);
    expect_frame_of(&small, 0, part.data, part.len);
    assert_true(fast.len < sizeof(text) / 4);
    assert_true(fast.len != small.len || memcmp(fast.data, small.data, fast.len) != 0);
    oca_buf_free(&fast);
    oca_buf_free(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_make_one_frame),
        cmocka_unit_test(test_level_matters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
