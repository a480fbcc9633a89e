/* Table-driven config decoding (see decode.h): applies each oca_field's default, then checks and
 * stores every key written in a YAML section, reporting unknown keys with a hint, wrong types and
 * out-of-range values. Defaults go through the same scalar parsers as user values. Also describes
 * a table for `ocagent components`. */
#include "config/decode.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/yaml_tree.h"

struct decoder {
    struct oca_arena *arena;
    struct oca_diag *diag;
};

/* Where one value comes from: a node of the user's file, or a field's default (at == NULL). */
struct site {
    const struct decoder *d;
    const struct oca_ynode *at;
    const char *path;
    bool is_default;
};

static const char *const kind_names[] = {
    [OCA_FIELD_KIND_END] = "end",           [OCA_FIELD_KIND_BOOL] = "bool",
    [OCA_FIELD_KIND_INT] = "int",           [OCA_FIELD_KIND_U32] = "uint32",
    [OCA_FIELD_KIND_DOUBLE] = "float",      [OCA_FIELD_KIND_STRING] = "string",
    [OCA_FIELD_KIND_DURATION] = "duration", [OCA_FIELD_KIND_SIZE] = "size",
    [OCA_FIELD_KIND_ENUM] = "enum",         [OCA_FIELD_KIND_ENDPOINT] = "endpoint",
    [OCA_FIELD_KIND_STRING_LIST] = "string list", [OCA_FIELD_KIND_STRING_MAP] = "string map",
    [OCA_FIELD_KIND_SECTION] = "section",
};

/* What a message says was expected, by kind. */
static const char *const expected[] = {
    [OCA_FIELD_KIND_END] = "nothing",          [OCA_FIELD_KIND_BOOL] = "a boolean",
    [OCA_FIELD_KIND_INT] = "an integer",       [OCA_FIELD_KIND_U32] = "an integer",
    [OCA_FIELD_KIND_DOUBLE] = "a number",      [OCA_FIELD_KIND_STRING] = "a string",
    [OCA_FIELD_KIND_DURATION] = "a duration",  [OCA_FIELD_KIND_SIZE] = "a size",
    [OCA_FIELD_KIND_ENUM] = "a string",        [OCA_FIELD_KIND_ENDPOINT] = "an endpoint (host:port)",
    [OCA_FIELD_KIND_STRING_LIST] = "a sequence of strings",
    [OCA_FIELD_KIND_STRING_MAP] = "a mapping of strings to strings",
    [OCA_FIELD_KIND_SECTION] = "a mapping",
};

const char *oca_field_kind_name(enum oca_field_kind kind)
{
    return (unsigned)kind <= OCA_FIELD_KIND_SECTION ? kind_names[kind] : "unknown";
}

static void report(const struct site *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(const struct site *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = oca_xvasprintf(fmt, ap);
    va_end(ap);
    oca_diag_error(s->d->diag, s->at, s->path, "%s%s", s->is_default ? "invalid default: " : "", msg);
    free(msg);
}

static char *join_path(struct oca_arena *arena, const char *path, const char *key)
{
    if (!path || !*path)
        return oca_arena_strdup(arena, key);
    size_t a = strlen(path), b = strlen(key);
    char *s = oca_arena_alloc(arena, a + b + 2);
    memcpy(s, path, a);
    s[a] = '.';
    memcpy(s + a + 1, key, b + 1);
    return s;
}

/* "a mapping", "a sequence", "null" or the scalar in quotes; arena text. */
static const char *describe_node(struct oca_arena *arena, const struct oca_ynode *n)
{
    switch (n->kind) {
    case OCA_YNODE_MAP: return "a mapping";
    case OCA_YNODE_SEQ: return "a sequence";
    case OCA_YNODE_NULL: return "null";
    case OCA_YNODE_SCALAR: break;
    }
    char *s = oca_arena_alloc(arena, n->scalar_len + 3);
    s[0] = '"';
    memcpy(s + 1, n->scalar, n->scalar_len);
    memcpy(s + 1 + n->scalar_len, "\"", 2);
    return s;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Human-readable durations for messages and docs: "0s", "250ms", "1h30m", "1m1.5s". */
static void format_duration(int64_t ns, char *out, size_t cap)
{
    uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
    const uint64_t s = (uint64_t)OCA_NS_PER_S, ms = (uint64_t)OCA_NS_PER_MS;
    int n = snprintf(out, cap, "%s", ns < 0 ? "-" : "");
    if (u == 0) {
        snprintf(out, cap, "0s");
    } else if (u < s) {
        const char *unit = u % ms == 0 ? "ms" : u % 1000 == 0 ? "us" : "ns";
        uint64_t div = u % ms == 0 ? ms : u % 1000 == 0 ? 1000 : 1;
        snprintf(out + n, cap - (size_t)n, "%" PRIu64 "%s", u / div, unit);
    } else {
        uint64_t h = u / (3600 * s), m = u / (60 * s) % 60, sec = u / s % 60, frac = u % s;
        if (h)
            n += snprintf(out + n, cap - (size_t)n, "%" PRIu64 "h", h);
        if (m)
            n += snprintf(out + n, cap - (size_t)n, "%" PRIu64 "m", m);
        if (sec || frac) {
            char digits[16];
            snprintf(digits, sizeof(digits), ".%09" PRIu64, frac);
            for (size_t i = strlen(digits); i > 1 && digits[i - 1] == '0'; i--)
                digits[i - 1] = '\0';
            snprintf(out + n, cap - (size_t)n, "%" PRIu64 "%ss", sec, frac ? digits : "");
        }
    }
}

/* Sizes in the largest unit that divides them evenly: "4MiB", "5KB", "1500". */
static void format_size(uint64_t b, char *out, size_t cap)
{
    static const struct { const char *name; uint64_t mult; } units[] = {
        { "GiB", 1u << 30 }, { "MiB", 1u << 20 }, { "KiB", 1u << 10 },
        { "GB", 1000000000u }, { "MB", 1000000u }, { "KB", 1000u },
    };
    for (size_t i = 0; b && i < sizeof(units) / sizeof(units[0]); i++) {
        if (b % units[i].mult == 0) {
            snprintf(out, cap, "%" PRIu64 "%s", b / units[i].mult, units[i].name);
            return;
        }
    }
    snprintf(out, cap, "%" PRIu64, b);
}

static uint64_t duration_unit(const char *u, size_t len)
{
    static const struct { const char *name; uint64_t mult; } units[] = {
        { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
        { "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000 }, { "h", 3600000000000 },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == len && memcmp(u, units[i].name, len) == 0)
            return units[i].mult;
    return 0;
}

/* One "<number><unit>" term of a duration at *p, in ns; -1 with *why on error. */
static int duration_term(const char **p, uint64_t *ns, const char **why)
{
    const char *s = *p;
    uint64_t whole = 0, frac = 0, scale = 1;
    bool digits = false;
    for (; is_digit(*s); s++, digits = true) {
        if (whole > (UINT64_MAX - 9) / 10)
            goto too_large;
        whole = whole * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.')
        for (s++; is_digit(*s); s++, digits = true)
            if (scale < UINT64_C(1000000000000000000)) {
                frac = frac * 10 + (uint64_t)(*s - '0');
                scale *= 10;
            }
    if (!digits) {
        *why = "expected a number followed by a unit, like 5s or 1h30m";
        return -1;
    }
    const char *unit = s;
    while (*s && !is_digit(*s) && *s != '.')
        s++;
    uint64_t mult = duration_unit(unit, (size_t)(s - unit));
    if (!mult) {
        *why = unit == s ? "missing unit (use ns, us, ms, s, m or h)"
                         : "unknown unit (use ns, us, ms, s, m or h)";
        return -1;
    }
    if (whole > (uint64_t)INT64_MAX / mult)
        goto too_large;
    *ns = whole * mult + (uint64_t)((double)frac * ((double)mult / (double)scale));
    *p = s;
    return 0;
too_large:
    *why = "too large";
    return -1;
}

/* Go's time.ParseDuration syntax: [-+]?(<number><unit>)+ or "0". */
int oca_config_parse_duration(const char *s, int64_t *ns, const char **why)
{
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*s) {
        *why = "expected a number followed by a unit, like 5s or 1h30m";
        return -1;
    }
    uint64_t total = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while (*s) {
        uint64_t term;
        if (duration_term(&s, &term, why) != 0)
            return -1;
        if (term > limit - total) {
            *why = "too large";
            return -1;
        }
        total += term;
    }
    *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
}

int oca_config_parse_size(const char *s, uint64_t *bytes, const char **why)
{
    static const struct { const char *name; uint64_t mult; } units[] = {
        { "", 1 }, { "B", 1 }, { "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
        { "KiB", 1u << 10 }, { "MiB", 1u << 20 }, { "GiB", 1u << 30 },
    };
    uint64_t v = 0;
    if (!is_digit(*s)) {
        *why = "expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB)";
        return -1;
    }
    for (; is_digit(*s); s++) {
        if (v > (UINT64_MAX - 9) / 10)
            goto too_large;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s, units[i].name) != 0)
            continue;
        if (v > UINT64_MAX / units[i].mult)
            goto too_large;
        *bytes = v * units[i].mult;
        return 0;
    }
    *why = "unknown unit (use B, KB, MB, GB, KiB, MiB or GiB)";
    return -1;
too_large:
    *why = "too large";
    return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -1;
    for (; *s; s++) {
        if (!is_digit(*s))
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* Splits "host:port", "[v6]:port" or ":port" into host and port text; -1 with *why. */
static int split_endpoint(const char *s, const char **host, size_t *host_len, const char **port,
                          const char **why)
{
    if (strstr(s, "://")) {
        *why = "expected host:port, not a URL";
        return -1;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1) {
            *why = "expected [IPv6 address]:port";
            return -1;
        }
        *host = s + 1;
        *host_len = (size_t)(close - s - 1);
        *port = close + 1;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon && memchr(s, ':', (size_t)(colon - s))) {
            *why = "IPv6 addresses must be in brackets, like [::1]:4317";
            return -1;
        }
        *host = s;
        *host_len = colon ? (size_t)(colon - s) : strlen(s);
        *port = colon ? colon : "";
    }
    if (**port != ':') {
        *why = "missing port (expected host:port)";
        return -1;
    }
    (*port)++;
    return 0;
}

int oca_config_parse_endpoint(struct oca_arena *arena, const char *s, struct oca_endpoint *ep,
                              const char **why)
{
    const char *host, *port_text;
    size_t host_len;
    uint16_t port;
    if (split_endpoint(s, &host, &host_len, &port_text, why) != 0)
        return -1;
    for (size_t i = 0; i < host_len; i++) {
        if ((unsigned char)host[i] <= ' ' || strchr("/[]@?#", host[i])) {
            *why = "invalid character in host";
            return -1;
        }
    }
    if (parse_port(port_text, &port) != 0) {
        *why = "the port must be a number from 0 to 65535";
        return -1;
    }
    ep->host = oca_arena_strndup(arena, host, host_len);
    ep->port = port;
    ep->text = oca_arena_strdup(arena, s);
    return 0;
}

/* Decimal integer with an optional sign; 1 when it does not fit in int64. */
static int parse_int(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (*s == '-' || *s == '+')
        s++;
    if (!is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (limit - d) / 10)
            return 1;
        v = v * 10 + d;
    }
    if (*s)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* YAML 1.2 core floats, without .inf and .nan: digits, one '.', an exponent. */
static int parse_double(const char *s, double *out)
{
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s) || !strpbrk(s, "0123456789"))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static void store_bool(const struct site *s, void *dst, const char *v, bool quoted)
{
    static const char *const yes[] = { "true", "True", "TRUE" }, *const no[] = { "false", "False", "FALSE" };
    for (size_t i = 0; i < 3 && !quoted; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *(bool *)dst = strcmp(v, yes[i]) == 0;
            return;
        }
    }
    report(s, "expected a boolean (true or false), got %s\"%s\"", quoted ? "a quoted string " : "", v);
}

static void store_integer(const struct site *s, const struct oca_field *f, void *dst, const char *v,
                          bool quoted)
{
    int64_t min = f->min, max = f->max, n = 0;
    if (f->kind == OCA_FIELD_KIND_U32) {
        min = min < 0 ? 0 : min;
        max = max > (int64_t)UINT32_MAX ? (int64_t)UINT32_MAX : max;
    }
    int rc = quoted ? -1 : parse_int(v, &n);
    if (rc < 0) {
        report(s, "expected an integer, got %s\"%s\"", quoted ? "a quoted string " : "", v);
    } else if (rc > 0 || n < min || n > max) {
        report(s, "value %s out of range [%" PRId64 ", %" PRId64 "]", v, min, max);
    } else if (f->kind == OCA_FIELD_KIND_U32) {
        *(uint32_t *)dst = (uint32_t)n;
    } else {
        *(int64_t *)dst = n;
    }
}

static void store_double(const struct site *s, const struct oca_field *f, void *dst, const char *v,
                         bool quoted)
{
    double x = 0;
    if (quoted || parse_double(v, &x) != 0)
        report(s, "expected a number, got %s\"%s\"", quoted ? "a quoted string " : "", v);
    else if (x < f->dmin || x > f->dmax)
        report(s, "value %s out of range [%g, %g]", v, f->dmin, f->dmax);
    else
        *(double *)dst = x;
}

static void store_duration(const struct site *s, const struct oca_field *f, void *dst, const char *v)
{
    int64_t ns;
    const char *why;
    char lo[48], hi[48];
    if (oca_config_parse_duration(v, &ns, &why) != 0) {
        report(s, "invalid duration \"%s\": %s", v, why);
    } else if (ns < f->min || ns > f->max) {
        format_duration(f->min, lo, sizeof(lo));
        format_duration(f->max, hi, sizeof(hi));
        report(s, "value %s out of range [%s, %s]", v, lo, hi);
    } else {
        *(int64_t *)dst = ns;
    }
}

static void store_size(const struct site *s, const struct oca_field *f, void *dst, const char *v)
{
    uint64_t b;
    const char *why;
    char lo[32], hi[32];
    uint64_t min = f->min < 0 ? 0 : (uint64_t)f->min, max = f->max < 0 ? 0 : (uint64_t)f->max;
    if (oca_config_parse_size(v, &b, &why) != 0) {
        report(s, "invalid size \"%s\": %s", v, why);
    } else if (b < min || b > max) {
        format_size(min, lo, sizeof(lo));
        format_size(max, hi, sizeof(hi));
        report(s, "value %s out of range [%s, %s]", v, lo, hi);
    } else {
        *(uint64_t *)dst = b;
    }
}

static void put_enum_names(struct oca_buf *b, const struct oca_enum_name *e, const char *sep)
{
    for (size_t i = 0; e && e[i].name; i++) {
        if (i)
            oca_buf_puts(b, sep);
        oca_buf_puts(b, e[i].name);
    }
}

static void store_enum(const struct site *s, const struct oca_field *f, void *dst, const char *v)
{
    for (const struct oca_enum_name *e = f->enums; e && e->name; e++) {
        if (strcmp(e->name, v) == 0) {
            *(int *)dst = e->value;
            return;
        }
    }
    struct oca_buf names = { 0 };
    put_enum_names(&names, f->enums, ", ");
    report(s, "invalid value \"%s\" (one of: %s)", v, names.data ? names.data : "");
    oca_buf_free(&names);
}

static void store_endpoint(const struct site *s, void *dst, const char *v)
{
    const char *why;
    if (oca_config_parse_endpoint(s->d->arena, v, dst, &why) != 0)
        report(s, "invalid endpoint \"%s\": %s", v, why);
}

/* Parses text (a default, or a scalar the user wrote) as the field's kind and stores it at dst. */
static void store_scalar(const struct site *s, const struct oca_field *f, void *dst, const char *v,
                         bool quoted)
{
    switch (f->kind) {
    case OCA_FIELD_KIND_BOOL: store_bool(s, dst, v, quoted); break;
    case OCA_FIELD_KIND_INT:
    case OCA_FIELD_KIND_U32: store_integer(s, f, dst, v, quoted); break;
    case OCA_FIELD_KIND_DOUBLE: store_double(s, f, dst, v, quoted); break;
    case OCA_FIELD_KIND_STRING: *(char **)dst = oca_arena_strdup(s->d->arena, v); break;
    case OCA_FIELD_KIND_DURATION: store_duration(s, f, dst, v); break;
    case OCA_FIELD_KIND_SIZE: store_size(s, f, dst, v); break;
    case OCA_FIELD_KIND_ENUM: store_enum(s, f, dst, v); break;
    case OCA_FIELD_KIND_ENDPOINT: store_endpoint(s, dst, v); break;
    default: report(s, "a %s cannot be written as one value", oca_field_kind_name(f->kind)); break;
    }
}

static void apply_defaults(const struct decoder *d, const struct oca_field *fields, void *cfg,
                           const char *path)
{
    for (const struct oca_field *f = fields; f && f->name; f++) {
        void *dst = (char *)cfg + f->offset;
        if (f->kind == OCA_FIELD_KIND_SECTION) {
            if (f->has_present)
                *(bool *)((char *)cfg + f->present_offset) = false;
            apply_defaults(d, f->sub, dst, join_path(d->arena, path, f->name));
        } else if (f->def) {
            struct site s = { d, NULL, join_path(d->arena, path, f->name), true };
            store_scalar(&s, f, dst, f->def, false);
        }
    }
}

static void decode_map(const struct decoder *d, const struct oca_field *fields, void *cfg,
                       const struct oca_ynode *node, const char *path);

static void decode_list(const struct site *s, struct oca_strlist *out, const struct oca_ynode *node)
{
    struct oca_arena *arena = s->d->arena;
    char **items = oca_arena_alloc(arena, node->n * sizeof(*items));
    bool ok = true;
    for (size_t i = 0; i < node->n; i++) {
        const struct oca_ynode *item = node->values[i];
        if (item->kind != OCA_YNODE_SCALAR) {
            struct site at = { s->d, item, s->path, false };
            report(&at, "expected a string, got %s", describe_node(arena, item));
            ok = false;
            continue;
        }
        items[i] = oca_arena_strndup(arena, item->scalar, item->scalar_len);
    }
    if (ok) {
        out->items = items;
        out->n = node->n;
    }
}

static void decode_strmap(const struct site *s, struct oca_strmap *out, const struct oca_ynode *node)
{
    struct oca_arena *arena = s->d->arena;
    char **keys = oca_arena_alloc(arena, node->n * sizeof(*keys));
    char **values = oca_arena_alloc(arena, node->n * sizeof(*values));
    bool ok = true;
    for (size_t i = 0; i < node->n; i++) {
        const struct oca_ynode *v = node->values[i];
        if (v->kind != OCA_YNODE_SCALAR) {
            struct site at = { s->d, v, join_path(arena, s->path, node->keys[i]->scalar), false };
            report(&at, "expected a string, got %s", describe_node(arena, v));
            ok = false;
            continue;
        }
        keys[i] = oca_arena_strndup(arena, node->keys[i]->scalar, node->keys[i]->scalar_len);
        values[i] = oca_arena_strndup(arena, v->scalar, v->scalar_len);
    }
    if (ok) {
        out->keys = keys;
        out->values = values;
        out->n = node->n;
    }
}

static enum oca_ynode_kind node_kind_of(enum oca_field_kind kind)
{
    switch (kind) {
    case OCA_FIELD_KIND_STRING_LIST: return OCA_YNODE_SEQ;
    case OCA_FIELD_KIND_STRING_MAP:
    case OCA_FIELD_KIND_SECTION: return OCA_YNODE_MAP;
    default: return OCA_YNODE_SCALAR;
    }
}

/* One written key: value is its node, cfg the struct holding the field. A null value keeps the
 * default (and turns an optional section on). */
static void decode_field(const struct decoder *d, const struct oca_field *f, void *cfg,
                         const struct oca_ynode *value, const char *path)
{
    void *dst = (char *)cfg + f->offset;
    struct site s = { d, value, path, false };
    if (f->kind == OCA_FIELD_KIND_SECTION && f->has_present)
        *(bool *)((char *)cfg + f->present_offset) = true;
    if (value->kind == OCA_YNODE_NULL)
        return;
    if (value->kind != node_kind_of(f->kind)) {
        report(&s, "expected %s, got %s", expected[f->kind], describe_node(d->arena, value));
        return;
    }
    switch (f->kind) {
    case OCA_FIELD_KIND_SECTION: decode_map(d, f->sub, dst, value, path); break;
    case OCA_FIELD_KIND_STRING_LIST: decode_list(&s, dst, value); break;
    case OCA_FIELD_KIND_STRING_MAP: decode_strmap(&s, dst, value); break;
    default: store_scalar(&s, f, dst, value->scalar, value->quoted); break;
    }
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (lb >= 64 || (la > lb ? la - lb : lb - la) > 2)
        return 3;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
    }
    return prev[lb];
}

void oca_config_unknown_key(struct oca_diag *diag, const struct oca_ynode *key, const char *path,
                            const char *const *names)
{
    const char *best = NULL;
    size_t best_dist = 3;
    for (size_t i = 0; names && names[i]; i++) {
        size_t dist = edit_distance(key->scalar, names[i]);
        if (dist < best_dist) {
            best = names[i];
            best_dist = dist;
        }
    }
    if (best) {
        oca_diag_error(diag, key, path, "unknown key (did you mean %s?)", best);
        return;
    }
    if (!names || !names[0]) {
        oca_diag_error(diag, key, path, "unknown key (this section takes no keys)");
        return;
    }
    struct oca_buf list = { 0 };
    for (size_t i = 0; names[i]; i++)
        oca_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
    oca_diag_error(diag, key, path, "unknown key (valid keys: %s)", list.data);
    oca_buf_free(&list);
}

static void unknown_field(const struct decoder *d, const struct oca_field *fields,
                          const struct oca_ynode *key, const char *path)
{
    size_t n = 0;
    while (fields && fields[n].name)
        n++;
    const char **names = oca_arena_alloc(d->arena, (n + 1) * sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = fields[i].name;
    names[n] = NULL;
    oca_config_unknown_key(d->diag, key, path, names);
}

static const struct oca_field *find_field(const struct oca_field *fields, const struct oca_ynode *key)
{
    for (const struct oca_field *f = fields; f && f->name; f++)
        if (strlen(f->name) == key->scalar_len && memcmp(f->name, key->scalar, key->scalar_len) == 0)
            return f;
    return NULL;
}

static void decode_map(const struct decoder *d, const struct oca_field *fields, void *cfg,
                       const struct oca_ynode *node, const char *path)
{
    if (!node || node->kind == OCA_YNODE_NULL)
        return;
    if (node->kind != OCA_YNODE_MAP) {
        oca_diag_error(d->diag, node, path, "expected a mapping, got %s", describe_node(d->arena, node));
        return;
    }
    for (size_t i = 0; i < node->n; i++) {
        const struct oca_ynode *key = node->keys[i];
        const char *key_path = join_path(d->arena, path, key->scalar);
        const struct oca_field *f = find_field(fields, key);
        if (f)
            decode_field(d, f, cfg, node->values[i], key_path);
        else
            unknown_field(d, fields, key, key_path);
    }
}

int oca_config_decode(struct oca_arena *arena, const struct oca_field *fields, void *cfg,
                      const struct oca_ynode *node, const char *path, struct oca_diag *diag)
{
    struct decoder d = { arena, diag };
    int before = diag->errors;
    apply_defaults(&d, fields, cfg, path);
    decode_map(&d, fields, cfg, node, path);
    return diag->errors - before;
}

/* " [1..10000]", " [1ms..1h]", " (basic|detailed)" or nothing. */
static void describe_bounds(const struct oca_field *f, struct oca_buf *out)
{
    char lo[48], hi[48];
    switch (f->kind) {
    case OCA_FIELD_KIND_INT:
    case OCA_FIELD_KIND_U32:
        oca_buf_printf(out, " [%" PRId64 "..%" PRId64 "]", f->min, f->max);
        break;
    case OCA_FIELD_KIND_DOUBLE:
        oca_buf_printf(out, " [%g..%g]", f->dmin, f->dmax);
        break;
    case OCA_FIELD_KIND_DURATION:
        format_duration(f->min, lo, sizeof(lo));
        format_duration(f->max, hi, sizeof(hi));
        oca_buf_printf(out, " [%s..%s]", lo, hi);
        break;
    case OCA_FIELD_KIND_SIZE:
        format_size(f->min < 0 ? 0 : (uint64_t)f->min, lo, sizeof(lo));
        format_size(f->max < 0 ? 0 : (uint64_t)f->max, hi, sizeof(hi));
        oca_buf_printf(out, " [%s..%s]", lo, hi);
        break;
    case OCA_FIELD_KIND_ENUM:
        oca_buf_puts(out, " (");
        put_enum_names(out, f->enums, "|");
        oca_buf_putc(out, ')');
        break;
    default:
        break;
    }
}

void oca_config_describe(const struct oca_field *fields, int indent, struct oca_buf *out)
{
    for (const struct oca_field *f = fields; f && f->name; f++) {
        bool optional = f->kind == OCA_FIELD_KIND_SECTION && f->has_present;
        oca_buf_printf(out, "%*s%s: %s%s", indent, "", f->name, optional ? "optional " : "",
                       oca_field_kind_name(f->kind));
        describe_bounds(f, out);
        if (f->def)
            oca_buf_printf(out, " = %s", *f->def ? f->def : "\"\"");
        if (f->doc)
            oca_buf_printf(out, "  # %s", f->doc);
        oca_buf_putc(out, '\n');
        if (f->kind == OCA_FIELD_KIND_SECTION)
            oca_config_describe(f->sub, indent + 2, out);
    }
}
