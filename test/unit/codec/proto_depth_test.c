/* Tests of codec/proto_depth.c: a logs request whose record body nests ArrayValues n deep passes
 * the bound exactly when its message depth is within it, unpacks when it passes, and a request
 * nested 20,000 deep (which overflowed the stack inside protobuf-c's unpack before the bound
 * existed) is refused by oca_batch_decode without being unpacked; the raw walk has the same bound. Bytes that are not protobuf are
 * left to unpack to judge. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/errors.h"
#include "codec/proto_depth.h"
#include "pipeline/batch.h"
#include "receivers/otlp/otlp.h"

/* Wraps inner as length-delimited field `field` (the length as a varint). */
static void wrap(struct oca_buf *out, unsigned field, const struct oca_buf *inner)
{
    oca_buf_putc(out, (char)(field << 3 | 2));
    size_t n = inner->len;
    do {
        oca_buf_putc(out, (char)((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
        n >>= 7;
    } while (n);
    oca_buf_append(out, inner->data, inner->len);
}

/* ExportLogsServiceRequest{resource_logs{scope_logs{log_records{body: AnyValue}}}} where the body
 * is n ArrayValues nested in each other around a string. Message depth: 5 for the body + 2 per
 * array level. */
static struct oca_buf deep_request(int n)
{
    struct oca_buf cur = { 0 }, next = { 0 };
    oca_buf_append(&cur, "\x0a\x01x", 3);                 /* AnyValue{string_value: "x"} */
    for (int i = 0; i < n; i++) {
        oca_buf_reset(&next);
        struct oca_buf arr = { 0 };
        wrap(&arr, 1, &cur);                              /* ArrayValue.values */
        wrap(&next, 5, &arr);                             /* AnyValue.array_value */
        oca_buf_free(&arr);
        struct oca_buf t = cur; cur = next; next = t;
    }
    static const unsigned path[] = { 5, 2, 2, 1 };        /* body, log_records, scope_logs, resource_logs */
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        oca_buf_reset(&next);
        wrap(&next, path[i], &cur);
        struct oca_buf t = cur; cur = next; next = t;
    }
    oca_buf_free(&next);
    return cur;
}

static const ProtobufCMessageDescriptor *logs_desc(void) { return oca_batch_descriptor(OCA_SIGNAL_LOGS); }

static void test_bound_is_exact(void **state)
{
    (void)state;
    /* n array levels: depth 5 + 2n. */
    struct oca_buf b = deep_request(10);
    assert_true(oca_proto_depth_ok(logs_desc(), (const uint8_t *)b.data, b.len, 25));
    assert_false(oca_proto_depth_ok(logs_desc(), (const uint8_t *)b.data, b.len, 24));
    struct oca_batch *batch = NULL;
    char detail[256];
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_LOGS, OCA_ENCODING_PROTO, (const uint8_t *)b.data, b.len,
                                      &batch, detail, sizeof(detail)), OCA_OK);
    assert_int_equal(batch->items, 1);
    oca_batch_unref(batch);
    oca_buf_free(&b);
}

static void test_deep_request_refused_not_unpacked(void **state)
{
    (void)state;
    struct oca_buf b = deep_request(20000);
    assert_false(oca_proto_depth_ok(logs_desc(), (const uint8_t *)b.data, b.len, OCA_PROTO_MAX_DEPTH));
    struct oca_batch *batch = NULL;
    char detail[256];
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_LOGS, OCA_ENCODING_PROTO, (const uint8_t *)b.data, b.len,
                                      &batch, detail, sizeof(detail)), OCA_ERR_DECODE);
    assert_null(batch);
    oca_buf_free(&b);
}

/* The receiver's raw walk refuses exactly the nesting the decoding path refuses: 47 array levels
 * (99 messages deep) pass both, 48 (101) neither. */
static void test_walk_has_the_same_bound(void **state)
{
    (void)state;
    for (int n = 47; n <= 48; n++) {
        struct oca_buf b = deep_request(n);
        bool ok = oca_proto_depth_ok(logs_desc(), (const uint8_t *)b.data, b.len, OCA_PROTO_MAX_DEPTH);
        assert_int_equal(ok, n == 47);
        uint64_t items;
        char why[200];
        assert_int_equal(oca_otlp_walk(OCA_SIGNAL_LOGS, (const uint8_t *)b.data, b.len, &items, why, sizeof(why)),
                         ok ? OCA_OK : OCA_ERR_DECODE);
        oca_buf_free(&b);
    }
}

static void test_malformed_left_to_unpack(void **state)
{
    (void)state;
    static const uint8_t cut[] = { 0x0a, 0x05, 0x12 };    /* a length past the end */
    static const uint8_t group[] = { 0x0b, 0x0c };        /* wire types 3 and 4 */
    assert_true(oca_proto_depth_ok(logs_desc(), cut, sizeof(cut), 2));
    assert_true(oca_proto_depth_ok(logs_desc(), group, sizeof(group), 2));
    assert_false(oca_proto_depth_ok(logs_desc(), cut, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_is_exact),
        cmocka_unit_test(test_deep_request_refused_not_unpacked),
        cmocka_unit_test(test_walk_has_the_same_bound),
        cmocka_unit_test(test_malformed_left_to_unpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
