/* AnyValue to string as the Collector's pcommon Value.AsString (see anyvalue.h). Written by hand
 * rather than with json-c because the output must match Go's encoding/json byte for byte (sorted
 * map keys, Go's float format and escapes), which json-c has no settings for. */
#include "codec/anyvalue.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/mem.h"
#include "codec/otlp_json.h"

char *oca_anyvalue_format_double(double d, char buf[32])
{
    if (d == 0) {
        strcpy(buf, signbit(d) ? "-0" : "0");
        return buf;
    }
    /* The shortest digits that read back as d, as Go's strconv does with precision -1. */
    char e[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, d);
        if (strtod(e, NULL) == d)
            break;
    }
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    size_t n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    int exp10 = atoi(p + 1);
    char *o = buf;
    if (neg)
        *o++ = '-';
    double a = fabs(d);
    if (a < 1e-6 || a >= 1e21) {
        *o++ = digits[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, n - 1);
            o += n - 1;
        }
        snprintf(o, (size_t)(buf + 32 - o), "e%c%d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        return buf;
    }
    if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > exp10; i--)
            *o++ = '0';
        memcpy(o, digits, n);
        o += n;
    } else {
        for (int i = 0; i <= exp10; i++)
            *o++ = (size_t)i < n ? digits[i] : '0';
        if (n > (size_t)exp10 + 1) {
            *o++ = '.';
            memcpy(o, digits + exp10 + 1, n - (size_t)exp10 - 1);
            o += n - (size_t)exp10 - 1;
        }
    }
    *o = '\0';
    return buf;
}

static void put_base64(struct oca_buf *out, const ProtobufCBinaryData *b)
{
    if (b->len == 0)
        return;
    size_t need = 4 * ((b->len + 2) / 3) + 1;
    oca_buf_reserve(out, need);
    int n = EVP_EncodeBlock((unsigned char *)out->data + out->len, b->data, (int)b->len);
    out->len += (size_t)n;
    out->data[out->len] = '\0';
}

size_t oca_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c < 0xf0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else {
        len = 4, v = c & 0x07, min = 0x10000;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static bool plain_ascii(unsigned char c, bool escape_html)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && !(escape_html && (c == '<' || c == '>' || c == '&'));
}

/* A JSON string as Go's encoder writes it; escape_html also escapes <, > and & (json.Marshal does,
 * pcommon's AsString does not). */
static void put_json_string(struct oca_buf *out, const char *str, size_t n, bool escape_html)
{
    const unsigned char *s = (const unsigned char *)str;
    oca_buf_putc(out, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (plain_ascii(c, escape_html)) {
            size_t j = i + 1;
            while (j < n && plain_ascii(s[j], escape_html))
                j++;
            oca_buf_append(out, s + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            oca_otlp_json_put_escape(out, c);
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = oca_utf8_next(s + i, n - i, &cp);
        if (len == 0) {
            oca_buf_puts(out, "\\ufffd");
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            oca_buf_puts(out, cp == 0x2028 ? "\\u2028" : "\\u2029");
            i += len;
        } else {
            oca_buf_append(out, s + i, len);
            i += len;
        }
    }
    oca_buf_putc(out, '"');
}

static bool put_json_value(struct oca_buf *out, const Opentelemetry__Proto__Common__V1__AnyValue *v, bool escape_html);

struct entry {
    const char *key;
    const Opentelemetry__Proto__Common__V1__AnyValue *value;
    size_t pos;
};

static int compare_entries(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    /* Equal keys stay in list order, so the last one can win below. */
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

bool oca_anyvalue_append_json_map(struct oca_buf *out, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
                                  size_t n, bool escape_html)
{
    struct entry *e = oca_xmalloc((n ? n : 1) * sizeof(*e));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (kvs[i])
            e[m++] = (struct entry){ kvs[i]->key ? kvs[i]->key : "", kvs[i]->value, i };
    qsort(e, m, sizeof(*e), compare_entries);
    bool ok = true, first = true;
    oca_buf_putc(out, '{');
    for (size_t i = 0; i < m && ok; i++) {
        if (i + 1 < m && strcmp(e[i].key, e[i + 1].key) == 0)
            continue;
        if (!first)
            oca_buf_putc(out, ',');
        first = false;
        put_json_string(out, e[i].key, strlen(e[i].key), escape_html);
        oca_buf_putc(out, ':');
        ok = put_json_value(out, e[i].value, escape_html);
    }
    oca_buf_putc(out, '}');
    free(e);
    return ok;
}

/* Returns false on a value Go's encoder refuses (NaN, infinities). */
static bool put_json_value(struct oca_buf *out, const Opentelemetry__Proto__Common__V1__AnyValue *v, bool escape_html)
{
    char num[32];
    switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        put_json_string(out, v->string_value, strlen(v->string_value), escape_html);
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        oca_buf_puts(out, v->bool_value ? "true" : "false");
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        oca_buf_printf(out, "%" PRId64, v->int_value);
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (!isfinite(v->double_value))
            return false;
        oca_buf_puts(out, oca_anyvalue_format_double(v->double_value, num));
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        oca_buf_putc(out, '"');
        put_base64(out, &v->bytes_value);
        oca_buf_putc(out, '"');
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        bool ok = true;
        oca_buf_putc(out, '[');
        size_t n = v->array_value ? v->array_value->n_values : 0;
        for (size_t i = 0; i < n && ok; i++) {
            if (i > 0)
                oca_buf_putc(out, ',');
            ok = put_json_value(out, v->array_value->values[i], escape_html);
        }
        oca_buf_putc(out, ']');
        return ok;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        return oca_anyvalue_append_json_map(out, v->kvlist_value ? v->kvlist_value->values : NULL,
                                            v->kvlist_value ? v->kvlist_value->n_values : 0, escape_html);
    default:
        oca_buf_puts(out, "null");
        return true;
    }
}

void oca_anyvalue_append_string(struct oca_buf *out, const Opentelemetry__Proto__Common__V1__AnyValue *v)
{
    char num[32];
    if (!v)
        return;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        oca_buf_puts(out, v->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        oca_buf_puts(out, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        oca_buf_printf(out, "%" PRId64, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(v->double_value))
            oca_buf_puts(out, "json: unsupported value: NaN");
        else if (isinf(v->double_value))
            oca_buf_puts(out, v->double_value > 0 ? "json: unsupported value: +Inf" : "json: unsupported value: -Inf");
        else
            oca_buf_puts(out, oca_anyvalue_format_double(v->double_value, num));
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        put_base64(out, &v->bytes_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        size_t start = out->len;
        if (!put_json_value(out, v, false)) {
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
        }
        break;
    }
    default:
        break;
    }
}
