/* What a pushing exporter retries and how long a backend asks it to wait: the OTLP
 * specification's retryable HTTP statuses and gRPC codes, and the Retry-After header (RFC 9110
 * section 10.2.3: delay-seconds or an HTTP-date in any of its three forms). Pure functions,
 * declared in exporterhelper.h; the Retry-After parser reads network input and has a fuzz harness
 * (test/fuzz/retry_after_fuzz.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/errors.h"
#include "exporters/exporterhelper/exporterhelper.h"

int oca_export_http_status_err(int status)
{
    if (status >= 200 && status <= 299)
        return OCA_OK;
    switch (status) {
    case 429: return OCA_ERR_THROTTLED;
    case 502: case 503: case 504: return OCA_ERR_UNAVAILABLE;
    default: return OCA_ERR_REJECTED;
    }
}

enum {
    GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_DEADLINE_EXCEEDED = 4, GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11, GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15,
};

int oca_export_grpc_status_err(int code, bool has_retry_info)
{
    switch (code) {
    case GRPC_OK: return OCA_OK;
    case GRPC_DEADLINE_EXCEEDED: return OCA_ERR_TIMEOUT;
    case GRPC_CANCELLED: case GRPC_ABORTED: case GRPC_OUT_OF_RANGE: case GRPC_UNAVAILABLE: case GRPC_DATA_LOSS:
        return OCA_ERR_UNAVAILABLE;
    case GRPC_RESOURCE_EXHAUSTED:
        /* Without RetryInfo the server says it cannot recover (a message too large, a quota). */
        return has_retry_info ? OCA_ERR_THROTTLED : OCA_ERR_REJECTED;
    default: return OCA_ERR_REJECTED;
    }
}

/* A cursor over the header value. */
struct cur {
    const char *p, *end;
};

static bool at_end(const struct cur *c) { return c->p == c->end; }

/* Consumes s if the input continues with it; letters compare without case. */
static bool lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = c->p[i], b = s[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    c->p += n;
    return true;
}

/* Exactly n digits. */
static bool digits(struct cur *c, int n, int *out)
{
    if (c->end - c->p < n)
        return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return false;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *out = v;
    return true;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const days_short[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const days_long[] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                         "Saturday", "Sunday" };

/* One of the names; returns its index or -1. */
static int name(struct cur *c, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (lit(c, names[i]))
            return i;
    return -1;
}

/* hour ":" minute ":" second, two digits each. */
static bool time_of_day(struct cur *c, int *h, int *m, int *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12), and the reverse for the year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static int days_in_month(int64_t y, int m)
{
    static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

struct date {
    int64_t year;
    int month, day, hour, min, sec;     /* month 1..12 */
};

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static bool imf_fixdate(struct cur c, struct date *d)
{
    int y;
    if (name(&c, days_short, 7) < 0 || !lit(&c, ", ") || !digits(&c, 2, &d->day) || !lit(&c, " "))
        return false;
    d->month = name(&c, months, 12) + 1;
    if (d->month == 0 || !lit(&c, " ") || !digits(&c, 4, &y) || !lit(&c, " ") ||
        !time_of_day(&c, &d->hour, &d->min, &d->sec) || !lit(&c, " GMT") || !at_end(&c))
        return false;
    d->year = y;
    return true;
}

/* The obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". Its two-digit year is read as the
 * RFC says: one that would be more than 50 years in the future is in the past century. */
static bool rfc850_date(struct cur c, int64_t now_year, struct date *d)
{
    int yy;
    if (name(&c, days_long, 7) < 0 || !lit(&c, ", ") || !digits(&c, 2, &d->day) || !lit(&c, "-"))
        return false;
    d->month = name(&c, months, 12) + 1;
    if (d->month == 0 || !lit(&c, "-") || !digits(&c, 2, &yy) || !lit(&c, " ") ||
        !time_of_day(&c, &d->hour, &d->min, &d->sec) || !lit(&c, " GMT") || !at_end(&c))
        return false;
    d->year = now_year - now_year % 100 + yy;
    if (d->year > now_year + 50)
        d->year -= 100;
    return true;
}

/* The obsolete asctime form: "Sun Nov  6 08:49:37 1994" (a one-digit day follows a space). */
static bool asctime_date(struct cur c, struct date *d)
{
    int y;
    if (name(&c, days_short, 7) < 0 || !lit(&c, " "))
        return false;
    d->month = name(&c, months, 12) + 1;
    if (d->month == 0 || !lit(&c, " "))
        return false;
    if (!(lit(&c, " ") ? digits(&c, 1, &d->day) : digits(&c, 2, &d->day)))
        return false;
    if (!lit(&c, " ") || !time_of_day(&c, &d->hour, &d->min, &d->sec) || !lit(&c, " ") ||
        !digits(&c, 4, &y) || !at_end(&c))
        return false;
    d->year = y;
    return true;
}

static bool valid_date(const struct date *d)
{
    return d->day >= 1 && d->day <= days_in_month(d->year, d->month) && d->hour <= 23 && d->min <= 59 &&
           d->sec <= 60;
}

/* Far beyond any real clock, yet far from overflowing the arithmetic below. */
#define LATEST_UNIX_S INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static int64_t delay_ns(int64_t seconds)
{
    int64_t max_s = OCA_RETRY_AFTER_MAX_NS / OCA_NS_PER_S;
    return (seconds > max_s ? max_s : seconds) * OCA_NS_PER_S;
}

int64_t oca_retry_after_parse(const char *value, int64_t now_unix_s)
{
    if (!value)
        return -1;
    struct cur c = { value, value + strlen(value) };
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (at_end(&c))
        return -1;

    if (*c.p >= '0' && *c.p <= '9') {
        int64_t s = 0;
        for (const char *p = c.p; p < c.end; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            /* Saturate: only the cap matters for anything this long. */
            if (s <= LATEST_UNIX_S)
                s = s * 10 + (*p - '0');
        }
        return delay_ns(s);
    }

    if (now_unix_s < 0)
        now_unix_s = 0;
    if (now_unix_s > LATEST_UNIX_S)
        now_unix_s = LATEST_UNIX_S;
    struct date d;
    if (!imf_fixdate(c, &d) && !rfc850_date(c, year_of_days(now_unix_s / 86400), &d) && !asctime_date(c, &d))
        return -1;
    if (!valid_date(&d))
        return -1;
    int64_t t = days_from_civil(d.year, d.month, d.day) * 86400 + d.hour * 3600 + d.min * 60 + d.sec;
    return t <= now_unix_s ? 0 : delay_ns(t - now_unix_s);
}
