/* Tests of exporters/exporterhelper/retry_policy.c: the OTLP specification's retry tables for HTTP
 * statuses and gRPC codes, and Retry-After in its delay-seconds and three HTTP-date forms. */
#include "testutil.h"

#include <string.h>

#include "base/errors.h"
#include "exporters/exporterhelper/exporterhelper.h"

/* opentelemetry-proto docs/specification.md, "OTLP/HTTP Response" / "Failures": "The requests that
 * receive a response status code listed in following table SHOULD be retried. All other 4xx or
 * 5xx response status codes MUST NOT be retried": 429 Too Many Requests, 502 Bad Gateway,
 * 503 Service Unavailable, 504 Gateway Timeout. 2xx is success (a full or partial one). */
static void test_http_status(void **state)
{
    (void)state;
    static const struct { int status, err; } table[] = {
        { 200, OCA_OK }, { 202, OCA_OK }, { 204, OCA_OK }, { 299, OCA_OK },
        { 429, OCA_ERR_THROTTLED },
        { 502, OCA_ERR_UNAVAILABLE }, { 503, OCA_ERR_UNAVAILABLE }, { 504, OCA_ERR_UNAVAILABLE },
        { 400, OCA_ERR_REJECTED }, { 401, OCA_ERR_REJECTED }, { 403, OCA_ERR_REJECTED },
        { 404, OCA_ERR_REJECTED }, { 408, OCA_ERR_REJECTED }, { 413, OCA_ERR_REJECTED },
        { 415, OCA_ERR_REJECTED }, { 500, OCA_ERR_REJECTED }, { 501, OCA_ERR_REJECTED },
        { 505, OCA_ERR_REJECTED }, { 599, OCA_ERR_REJECTED },
        /* Not 2xx and not in the table: a redirect or interim answer that reached the exporter. */
        { 100, OCA_ERR_REJECTED }, { 301, OCA_ERR_REJECTED }, { 304, OCA_ERR_REJECTED },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int err = oca_export_http_status_err(table[i].status);
        if (err != table[i].err)
            fail_msg("HTTP %d: got %s, want %s", table[i].status, oca_err_name(err), oca_err_name(table[i].err));
    }
    assert_true(oca_err_retryable(oca_export_http_status_err(429)));
    assert_false(oca_err_retryable(oca_export_http_status_err(400)));
}

/* opentelemetry-proto docs/specification.md, "OTLP/gRPC Response" / "Failures": the table of gRPC
 * codes, retryable: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS,
 * and RESOURCE_EXHAUSTED "only if the server can recover", which it signals with RetryInfo
 * ("If the server is unable to recover... the client SHOULD NOT retry" when RetryInfo is absent);
 * not retryable: UNKNOWN, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
 * FAILED_PRECONDITION, UNIMPLEMENTED, INTERNAL, UNAUTHENTICATED. */
static void test_grpc_status(void **state)
{
    (void)state;
    static const struct { int code; bool retry_info; int err; } table[] = {
        { 0, false, OCA_OK },
        { 1, false, OCA_ERR_UNAVAILABLE },      /* CANCELLED */
        { 2, false, OCA_ERR_REJECTED },         /* UNKNOWN */
        { 3, false, OCA_ERR_REJECTED },         /* INVALID_ARGUMENT */
        { 4, false, OCA_ERR_TIMEOUT },          /* DEADLINE_EXCEEDED */
        { 5, false, OCA_ERR_REJECTED },         /* NOT_FOUND */
        { 6, false, OCA_ERR_REJECTED },         /* ALREADY_EXISTS */
        { 7, false, OCA_ERR_REJECTED },         /* PERMISSION_DENIED */
        { 8, false, OCA_ERR_REJECTED },         /* RESOURCE_EXHAUSTED without RetryInfo */
        { 8, true, OCA_ERR_THROTTLED },         /* RESOURCE_EXHAUSTED with RetryInfo */
        { 9, false, OCA_ERR_REJECTED },         /* FAILED_PRECONDITION */
        { 10, false, OCA_ERR_UNAVAILABLE },     /* ABORTED */
        { 11, false, OCA_ERR_UNAVAILABLE },     /* OUT_OF_RANGE */
        { 12, false, OCA_ERR_REJECTED },        /* UNIMPLEMENTED */
        { 13, false, OCA_ERR_REJECTED },        /* INTERNAL */
        { 14, false, OCA_ERR_UNAVAILABLE },     /* UNAVAILABLE */
        { 14, true, OCA_ERR_UNAVAILABLE },
        { 15, false, OCA_ERR_UNAVAILABLE },     /* DATA_LOSS */
        { 16, false, OCA_ERR_REJECTED },        /* UNAUTHENTICATED */
        { 17, false, OCA_ERR_REJECTED },        /* not a code */
        { -1, false, OCA_ERR_REJECTED },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int err = oca_export_grpc_status_err(table[i].code, table[i].retry_info);
        if (err != table[i].err)
            fail_msg("gRPC %d%s: got %s, want %s", table[i].code, table[i].retry_info ? " +RetryInfo" : "",
                     oca_err_name(err), oca_err_name(table[i].err));
        if (err != OCA_OK)
            assert_int_equal(oca_err_retryable(err), table[i].err != OCA_ERR_REJECTED);
    }
}

#define S OCA_NS_PER_S
/* 1994-11-06T08:49:37Z, the RFC's example date. */
#define EXAMPLE_T INT64_C(784111777)

static void test_retry_after(void **state)
{
    (void)state;
    static const struct { const char *value; int64_t now; int64_t want; } table[] = {
        /* delay-seconds */
        { "0", EXAMPLE_T, 0 },
        { "1", EXAMPLE_T, 1 * S },
        { "120", EXAMPLE_T, 120 * S },
        { "  30\t", EXAMPLE_T, 30 * S },
        { "0030", EXAMPLE_T, 30 * S },
        { "3600", EXAMPLE_T, 3600 * S },
        { "3601", EXAMPLE_T, OCA_RETRY_AFTER_MAX_NS },
        { "99999999999999999999999999999", EXAMPLE_T, OCA_RETRY_AFTER_MAX_NS },
        /* IMF-fixdate */
        { "Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_T, 0 },
        { "Sun, 06 Nov 1994 08:50:07 GMT", EXAMPLE_T, 30 * S },
        { "Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_T - 90, 90 * S },
        { "Sat, 05 Nov 1994 08:49:37 GMT", EXAMPLE_T, 0 },            /* past */
        { "Mon, 07 Nov 1994 08:49:37 GMT", EXAMPLE_T, OCA_RETRY_AFTER_MAX_NS },
        { "Thu, 01 Jan 1970 00:00:00 GMT", EXAMPLE_T, 0 },
        { "Tue, 29 Feb 2000 12:00:00 GMT", INT64_C(951825600) - 5, 5 * S },   /* leap day */
        { "Fri, 31 Dec 9999 23:59:59 GMT", EXAMPLE_T, OCA_RETRY_AFTER_MAX_NS },
        { " Sun, 06 Nov 1994 08:50:07 GMT ", EXAMPLE_T, 30 * S },
        /* obsolete RFC 850 form; the two-digit year is taken relative to now */
        { "Sunday, 06-Nov-94 08:50:07 GMT", EXAMPLE_T, 30 * S },
        { "Sunday, 06-Nov-94 08:49:37 GMT", INT64_C(1700000000), 0 },   /* 1994, not 2094 */
        { "Friday, 01-Jan-49 00:00:10 GMT", INT64_C(2493072000), 10 * S }, /* now 2049: 2049 */
        /* obsolete asctime form */
        { "Sun Nov  6 08:50:07 1994", EXAMPLE_T, 30 * S },
        { "Wed Nov 16 08:49:37 1994", EXAMPLE_T - 10, OCA_RETRY_AFTER_MAX_NS },
        /* garbage */
        { "", EXAMPLE_T, -1 },
        { "   ", EXAMPLE_T, -1 },
        { "-5", EXAMPLE_T, -1 },
        { "+5", EXAMPLE_T, -1 },
        { "1.5", EXAMPLE_T, -1 },
        { "5s", EXAMPLE_T, -1 },
        { "1 2", EXAMPLE_T, -1 },
        { "soon", EXAMPLE_T, -1 },
        { "Sun, 06 Nov 1994 08:49:37", EXAMPLE_T, -1 },                 /* no zone */
        { "Sun, 06 Nov 1994 08:49:37 UTC", EXAMPLE_T, -1 },
        { "Sun, 06 Nov 1994 08:49:37 GMTx", EXAMPLE_T, -1 },
        { "Sun, 6 Nov 1994 08:49:37 GMT", EXAMPLE_T, -1 },              /* one-digit day */
        { "Sun, 06 Nov 94 08:49:37 GMT", EXAMPLE_T, -1 },
        { "Sun, 06 Xyz 1994 08:49:37 GMT", EXAMPLE_T, -1 },
        { "Sun, 31 Nov 1994 08:49:37 GMT", EXAMPLE_T, -1 },             /* no such day */
        { "Mon, 29 Feb 1900 08:49:37 GMT", EXAMPLE_T, -1 },             /* 1900 is not leap */
        { "Sun, 00 Nov 1994 08:49:37 GMT", EXAMPLE_T, -1 },
        { "Sun, 06 Nov 1994 24:00:00 GMT", EXAMPLE_T, -1 },
        { "Sun, 06 Nov 1994 08:60:00 GMT", EXAMPLE_T, -1 },
        { "Sun, 06 Nov 1994 08:49:61 GMT", EXAMPLE_T, -1 },
        { "Sun, 06 Nov 1994 8:49:37 GMT", EXAMPLE_T, -1 },
        { "Sunday, 06 Nov 1994 08:49:37 GMT", EXAMPLE_T, -1 },
        { "Sun, 06-Nov-94 08:49:37 GMT", EXAMPLE_T, -1 },
        { "Sun Nov 6 08:49:37 1994", EXAMPLE_T, -1 },
        { "Sun Nov  6 08:49:37 94", EXAMPLE_T, -1 },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int64_t got = oca_retry_after_parse(table[i].value, table[i].now);
        if (got != table[i].want)
            fail_msg("\"%s\": got %lld, want %lld", table[i].value, (long long)got, (long long)table[i].want);
    }
    assert_int_equal(oca_retry_after_parse(NULL, EXAMPLE_T), -1);
    /* Any clock, however odd, gives a delay within the bounds. */
    int64_t d = oca_retry_after_parse("Fri, 31 Dec 9999 23:59:59 GMT", INT64_MIN);
    assert_int_equal(d, OCA_RETRY_AFTER_MAX_NS);
    assert_int_equal(oca_retry_after_parse("Thu, 01 Jan 1970 00:00:00 GMT", INT64_MAX), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_grpc_status),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
