/* Tests of exporters/exporterhelper/push.c's pure parts: the header check every push exporter's
 * validate runs (token names, no control characters in values). The lifecycle is exercised by each
 * exporter's own tests (test/unit/exporters/otlp, zipkin, jaeger) against real servers. */
#include "testutil.h"

#include <string.h>

#include "exporters/exporterhelper/push.h"

static void test_headers_ok(void **state)
{
    (void)state;
    char why[256];
    char *keys[] = { "authorization", "X-Tenant_1" }, *values[] = { "Bearer a b\tc", "" };
    struct oca_strmap good = { keys, values, 2 };
    assert_true(oca_push_headers_ok(&good, why, sizeof(why)));
    char *bad_key[] = { "x tenant" };
    struct oca_strmap bad = { bad_key, values, 1 };
    assert_false(oca_push_headers_ok(&bad, why, sizeof(why)));
    assert_string_equal(why, "\"x tenant\" is not a valid header name");
    char *empty_key[] = { "" };
    bad.keys = empty_key;
    assert_false(oca_push_headers_ok(&bad, why, sizeof(why)));
    char *smuggle[] = { "ok\r\nx-admin: 1" };
    bad.keys = keys;
    bad.values = smuggle;
    assert_false(oca_push_headers_ok(&bad, why, sizeof(why)));
    assert_string_equal(why, "the value of authorization may not contain control characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
