/* Tests codec/anyvalue.c against what the Collector's pcommon Value.AsString writes: each value
 * (given as OTLP/JSON) and the exact string Go produces for it, byte for byte. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "codec/anyvalue.h"
#include "codec/otlp_json.h"

static void check(const char *json, const char *want)
{
    struct oca_arena *a = oca_arena_new(1024);
    ProtobufCMessage *m = NULL;
    char err[200] = "";
    if (oca_otlp_json_decode(&opentelemetry__proto__common__v1__any_value__descriptor, json, strlen(json), a, &m, err,
                             sizeof(err)) != OCA_OK)
        fail_msg("%s does not decode: %s", json, err);
    struct oca_buf out = { 0 };
    oca_anyvalue_append_string(&out, (const Opentelemetry__Proto__Common__V1__AnyValue *)m);
    const char *got = out.data ? out.data : "";
    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", json, got, want);
    oca_buf_free(&out);
    oca_arena_destroy(a);
}

static void test_scalars(void **state)
{
    (void)state;
    check("{\"stringValue\":\"a \\\"b\\\" <c>\"}", "a \"b\" <c>");
    check("{\"boolValue\":true}", "true");
    check("{\"boolValue\":false}", "false");
    check("{\"intValue\":\"-9223372036854775808\"}", "-9223372036854775808");
    check("{\"bytesValue\":\"AQIDBA==\"}", "AQIDBA==");
    check("{\"bytesValue\":\"\"}", "");
    check("{}", "");
}

/* Go's encoding/json float format: shortest round trip, 'e' below 1e-6 and from 1e21. */
static void test_doubles(void **state)
{
    (void)state;
    static const struct { double d; const char *want; } cases[] = {
        { 0.0, "0" }, { -0.0, "-0" }, { 1.0, "1" }, { -2.0, "-2" }, { 1.5, "1.5" }, { 0.1, "0.1" },
        { 1.23, "1.23" }, { 100.0, "100" }, { 123456789.0, "123456789" }, { 0.000001, "0.000001" },
        { 0.0000001, "1e-7" }, { 1.5e-7, "1.5e-7" }, { 1e-10, "1e-10" }, { 1e20, "100000000000000000000" },
        { 1e21, "1e+21" }, { 1.2345e22, "1.2345e+22" }, { 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
        { 0.30000000000000004, "0.30000000000000004" }, { 3.141592653589793, "3.141592653589793" },
        { 12.5, "12.5" }, { 0.001953125, "0.001953125" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        oca_anyvalue_format_double(cases[i].d, buf);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("%.17g: got %s want %s", cases[i].d, buf, cases[i].want);
    }
    check("{\"doubleValue\":2.5}", "2.5");
}

/* An array value of n items, built in the caller's storage. */
static Opentelemetry__Proto__Common__V1__AnyValue *array_of(Opentelemetry__Proto__Common__V1__AnyValue *av,
                                                           Opentelemetry__Proto__Common__V1__ArrayValue *arr,
                                                           Opentelemetry__Proto__Common__V1__AnyValue **items, size_t n)
{
    opentelemetry__proto__common__v1__array_value__init(arr);
    arr->n_values = n;
    arr->values = items;
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    av->array_value = arr;
    return av;
}

static void test_non_finite(void **state)
{
    (void)state;
    Opentelemetry__Proto__Common__V1__AnyValue v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    struct oca_buf out = { 0 };
    v.double_value = NAN;
    oca_anyvalue_append_string(&out, &v);
    assert_string_equal(out.data, "json: unsupported value: NaN");
    oca_buf_reset(&out);
    v.double_value = -INFINITY;
    oca_anyvalue_append_string(&out, &v);
    assert_string_equal(out.data, "json: unsupported value: -Inf");
    /* Inside an array Go's encoder fails, and the Collector keeps the empty result. */
    oca_buf_reset(&out);
    oca_buf_puts(&out, "x=");
    Opentelemetry__Proto__Common__V1__AnyValue one = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    one.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    one.int_value = 1;
    Opentelemetry__Proto__Common__V1__AnyValue *items[] = { &one, &v }, av;
    Opentelemetry__Proto__Common__V1__ArrayValue arr;
    oca_anyvalue_append_string(&out, array_of(&av, &arr, items, 2));
    assert_string_equal(out.data, "x=");
    assert_int_equal(out.len, 2);
    oca_buf_free(&out);
}

static void test_arrays_and_maps(void **state)
{
    (void)state;
    check("{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"1\"},{\"boolValue\":true},"
          "{\"doubleValue\":1.5},{},{\"bytesValue\":\"AQI=\"}]}}",
          "[\"a\",1,true,1.5,null,\"AQI=\"]");
    check("{\"arrayValue\":{}}", "[]");
    check("{\"kvlistValue\":{}}", "{}");
    /* Keys sorted bytewise; of equal keys the last wins; nested values. */
    check("{\"kvlistValue\":{\"values\":[{\"key\":\"z\",\"value\":{\"intValue\":\"1\"}},"
          "{\"key\":\"a\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"n\"}]}}},"
          "{\"key\":\"B\",\"value\":{\"arrayValue\":{\"values\":[{\"doubleValue\":1e-7}]}}},"
          "{\"key\":\"z\",\"value\":{\"stringValue\":\"last\"}}]}}",
          "{\"B\":[1e-7],\"a\":{\"n\":null},\"z\":\"last\"}");
}

/* Go escapes quotes, backslashes, control characters (\b \f \n \r \t by name), U+2028/2029 and
 * invalid UTF-8 (as U+FFFD), and leaves <, >, & and other UTF-8 alone. */
static void test_json_escapes(void **state)
{
    (void)state;
    static const char raw[] = "q\"b\\<>&\b\f\n\r\t\x01\x1f\x7f é \xe2\x80\xa8 \xff \xc3";
    Opentelemetry__Proto__Common__V1__AnyValue s = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    s.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    s.string_value = (char *)(uintptr_t)raw;
    Opentelemetry__Proto__Common__V1__AnyValue *items[] = { &s }, av;
    Opentelemetry__Proto__Common__V1__ArrayValue arr;
    struct oca_buf out = { 0 };
    oca_anyvalue_append_string(&out, array_of(&av, &arr, items, 1));
    assert_string_equal(out.data, "[\"q\\\"b\\\\<>&\\b\\f\\n\\r\\t\\u0001\\u001f\x7f é \\u2028 \\ufffd \\ufffd\"]");
    /* The same string at the top level is written as it is. */
    oca_buf_reset(&out);
    oca_anyvalue_append_string(&out, &s);
    assert_string_equal(out.data, raw);
    oca_buf_free(&out);
}

/* Attributes as a Go map: the Collector's zipkin translator writes event and link attributes with
 * json.Marshal, which also escapes <, > and &; AsString does not. A NaN fails the whole map. */
static void test_json_map(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    static const char json[] = "{\"kvlistValue\":{\"values\":[{\"key\":\"b<\",\"value\":{\"stringValue\":\"x&y>\"}},"
                               "{\"key\":\"a\",\"value\":{\"intValue\":\"1\"}}]}}";
    ProtobufCMessage *m = NULL;
    char err[200] = "";
    assert_int_equal(oca_otlp_json_decode(&opentelemetry__proto__common__v1__any_value__descriptor, json, strlen(json), a, &m,
                                          err, sizeof(err)), OCA_OK);
    const Opentelemetry__Proto__Common__V1__KeyValueList *kvl = ((const Opentelemetry__Proto__Common__V1__AnyValue *)m)->kvlist_value;
    struct oca_buf out = { 0 };
    assert_true(oca_anyvalue_append_json_map(&out, kvl->values, kvl->n_values, true));
    assert_string_equal(out.data, "{\"a\":1,\"b\\u003c\":\"x\\u0026y\\u003e\"}");
    oca_buf_reset(&out);
    assert_true(oca_anyvalue_append_json_map(&out, kvl->values, kvl->n_values, false));
    assert_string_equal(out.data, "{\"a\":1,\"b<\":\"x&y>\"}");
    oca_buf_reset(&out);
    assert_true(oca_anyvalue_append_json_map(&out, NULL, 0, true));
    assert_string_equal(out.data, "{}");
    kvl->values[1]->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    kvl->values[1]->value->double_value = NAN;
    oca_buf_reset(&out);
    assert_false(oca_anyvalue_append_json_map(&out, kvl->values, kvl->n_values, true));
    oca_buf_free(&out);
    oca_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_non_finite),
        cmocka_unit_test(test_arrays_and_maps),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
