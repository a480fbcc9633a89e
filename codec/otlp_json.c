/* OTLP/JSON encoder and decoder driven by protobuf-c descriptors (see otlp_json.h). Receivers call
 * the decoder on HTTP JSON bodies (json-c builds a tree, which is walked into arena-allocated
 * messages laid out as protobuf_c_message_unpack lays them out); exporters call the encoder, which
 * writes JSON text straight into an oca_buf. */
#include "codec/otlp_json.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json_object.h>
#include <json-c/json_object_iterator.h>
#include <json-c/json_tokener.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/mem.h"

#define MAX_DEPTH 64
#define MAX_FRAMES (MAX_DEPTH + 8)

/* Shared by both directions. */

size_t oca_otlp_id_size(const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_BYTES)
        return 0;
    if (strcmp(f->name, "trace_id") == 0)
        return 16;
    if (strcmp(f->name, "span_id") == 0 || strcmp(f->name, "parent_span_id") == 0)
        return 8;
    return 0;
}

/* Size of one element of a repeated field, as protobuf-c stores it. */
static size_t value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static bool is_pointer_type(ProtobufCType type)
{
    return type == PROTOBUF_C_TYPE_STRING || type == PROTOBUF_C_TYPE_MESSAGE;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or code
 * points past U+10FFFF), or 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = utf8_seq_len(p, (size_t)(end - p));
        if (k == 0)
            return false;
        p += k;
    }
    return true;
}

/* The encoder. */

static void encode_message(const ProtobufCMessage *m, struct oca_buf *b);

/* Direct writes into the buffer: reserve, write through the returned pointer, then commit. */
static char *put_begin(struct oca_buf *b, size_t n)
{
    oca_buf_reserve(b, n);
    return b->data + b->len;
}

static void put_end(struct oca_buf *b, char *p)
{
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
}

/* "name": with the proto field name turned into its lowerCamelCase json_name. */
static void put_key(struct oca_buf *b, const char *name)
{
    char *p = put_begin(b, strlen(name) + 3);
    bool upper = false;
    *p++ = '"';
    for (; *name; name++) {
        char c = *name;
        if (c == '_') {
            upper = true;
            continue;
        }
        *p++ = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        upper = false;
    }
    *p++ = '"';
    *p++ = ':';
    put_end(b, p);
}

void oca_otlp_json_put_escape(struct oca_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
    size_t n = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default: n = 6; break;
    }
    oca_buf_append(b, esc, n);
}

/* A JSON string. Runs of plain ASCII and well-formed UTF-8 are copied as they are; invalid bytes
 * become U+FFFD so the output stays valid JSON whatever the message holds. */
static void put_string(struct oca_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    oca_buf_reserve(b, n + 2);
    oca_buf_putc(b, '"');
    while (p < end) {
        const unsigned char *run = p;
        size_t k;
        while (p < end) {
            if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                p++;
            else if (*p >= 0x80 && (k = utf8_seq_len(p, (size_t)(end - p))) != 0)
                p += k;
            else
                break;
        }
        oca_buf_append(b, run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p < 0x80)
            oca_otlp_json_put_escape(b, *p);
        else
            oca_buf_append(b, "\xEF\xBF\xBD", 3);
        p++;
    }
    oca_buf_putc(b, '"');
}

/* Decimal digits of v, written backwards ending at end; returns the first digit. */
static char *format_u64(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void put_int(struct oca_buf *b, bool neg, uint64_t mag, bool quoted)
{
    char tmp[24], *end = tmp + sizeof(tmp) - 1, *start = format_u64(end, mag);
    if (quoted)
        *end++ = '"';
    if (neg)
        *--start = '-';
    if (quoted)
        *--start = '"';
    oca_buf_append(b, start, (size_t)(end - start));
}

static void put_signed(struct oca_buf *b, int64_t v, bool quoted)
{
    /* Negating INT64_MIN overflows, so the magnitude is computed in unsigned arithmetic. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    put_int(b, v < 0, mag, quoted);
}

/* The shortest %g text that reads back as the same value; 15 digits are enough for any double
 * that came from a decimal of 15 digits or fewer, and 17 for every double. */
static int format_real(char *buf, size_t size, double v, bool is_float)
{
    /* Subnormals carry fewer digits, so their shortest form may be much shorter. */
    bool subnormal = fabs(v) < (is_float ? FLT_MIN : DBL_MIN);
    int lo = subnormal ? 1 : is_float ? 6 : 15, hi = is_float ? 9 : 17;
    if (!is_float && v == trunc(v) && fabs(v) < 1e15)
        return snprintf(buf, size, "%.0f", v);
    for (int prec = lo; prec < hi; prec++) {
        int n = snprintf(buf, size, "%.*g", prec, v);
        if (is_float ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            return n;
    }
    return snprintf(buf, size, "%.*g", hi, v);
}

static void put_real(struct oca_buf *b, double v, bool is_float)
{
    char tmp[40];
    if (isnan(v)) {
        oca_buf_append(b, "\"NaN\"", 5);
    } else if (isinf(v)) {
        oca_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
        int n = format_real(tmp, sizeof(tmp), v, is_float);
        oca_buf_append(b, tmp, (size_t)n);
    }
}

static void put_hex(struct oca_buf *b, const ProtobufCBinaryData *bd)
{
    static const char hex[] = "0123456789abcdef";
    char *p = put_begin(b, 2 * bd->len + 2);
    *p++ = '"';
    for (size_t i = 0; i < bd->len; i++) {
        *p++ = hex[bd->data[i] >> 4];
        *p++ = hex[bd->data[i] & 15];
    }
    *p++ = '"';
    put_end(b, p);
}

static void put_base64(struct oca_buf *b, const ProtobufCBinaryData *bd)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *s = bd->data;
    size_t n = bd->len, i = 0;
    char *p = put_begin(b, (n + 2) / 3 * 4 + 2);
    *p++ = '"';
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = alphabet[v >> 6 & 63];
        *p++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        *p++ = '=';
    }
    *p++ = '"';
    put_end(b, p);
}

static void encode_bytes(struct oca_buf *b, const ProtobufCFieldDescriptor *f,
                         const ProtobufCBinaryData *bd)
{
    if (oca_otlp_id_size(f))
        put_hex(b, bd);
    else
        put_base64(b, bd);
}

/* One value of field f stored at p (the member itself, or one element of a repeated field). */
static void encode_value(struct oca_buf *b, const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: put_signed(b, *(const int32_t *)p, false); break;
    case PROTOBUF_C_TYPE_ENUM: put_signed(b, *(const int *)p, false); break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: put_int(b, false, *(const uint32_t *)p, false); break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: put_signed(b, *(const int64_t *)p, true); break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: put_int(b, false, *(const uint64_t *)p, true); break;
    case PROTOBUF_C_TYPE_FLOAT: put_real(b, *(const float *)p, true); break;
    case PROTOBUF_C_TYPE_DOUBLE: put_real(b, *(const double *)p, false); break;
    case PROTOBUF_C_TYPE_BOOL: oca_buf_puts(b, *(const protobuf_c_boolean *)p ? "true" : "false"); break;
    case PROTOBUF_C_TYPE_BYTES: encode_bytes(b, f, p); break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        put_string(b, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
        if (sub)
            encode_message(sub, b);
        else
            oca_buf_append(b, "{}", 2);
        break;
    }
    }
}

/* protobuf-c's own rule for leaving a proto3 field off the wire, so that JSON and protobuf agree
 * on which fields a message has. */
static bool is_zeroish(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return s == NULL || *s == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(const void *const *)p == NULL;
    default: return value_size(f->type) == 8 ? *(const uint64_t *)p == 0 : *(const uint32_t *)p == 0;
    }
}

/* Whether field f of m is written, mirroring what protobuf_c_message_pack writes. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    const void *member = base + f->offset, *quant = base + f->quantifier_offset;
    const void *ptr = is_pointer_type(f->type) ? *(const void *const *)member : NULL;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)quant > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)quant != f->id)
            return false;
        return !is_pointer_type(f->type) || (ptr && ptr != f->default_value);
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (is_pointer_type(f->type))
            return ptr && ptr != f->default_value;
        return *(const protobuf_c_boolean *)quant != 0;
    }
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return !is_pointer_type(f->type) || ptr;
    return !is_zeroish(f, member);
}

static void encode_field(struct oca_buf *b, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *member = (const char *)m + f->offset;
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        encode_value(b, f, member);
        return;
    }
    size_t n = *(const size_t *)((const char *)m + f->quantifier_offset), size = value_size(f->type);
    const char *elems = *(const char *const *)member;
    oca_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            oca_buf_putc(b, ',');
        encode_value(b, f, elems + i * size);
    }
    oca_buf_putc(b, ']');
}

static void encode_message(const ProtobufCMessage *m, struct oca_buf *b)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    bool first = true;
    oca_buf_putc(b, '{');
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!field_present(m, f))
            continue;
        if (!first)
            oca_buf_putc(b, ',');
        first = false;
        put_key(b, f->name);
        encode_field(b, m, f);
    }
    oca_buf_putc(b, '}');
}

void oca_otlp_json_encode(const ProtobufCMessage *msg, struct oca_buf *out)
{
    encode_message(msg, out);
}

/* Reading the JSON text. */

/* json-c clamps integer literals beyond 64 bits to the nearest bound and reads "-0" as the integer
 * 0, losing information either way. Such literals get ".0" appended before parsing, which makes
 * json-c keep them as doubles together with their original text. */
static bool needs_point(const char *digits, size_t n, bool neg)
{
    if (n == 1 && digits[0] == '0')
        return neg;
    if (n == 0 || digits[0] == '0')
        return false;
    if (neg)
        return n > 19 || (n == 19 && memcmp(digits, "9223372036854775808", 19) > 0);
    return n > 20 || (n == 20 && memcmp(digits, "18446744073709551615", 20) > 0);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool in_number(char c)
{
    return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* What a pass over the text outside strings finds: where ".0" goes (ascending offsets, the first
 * max of them stored) and the first single quote, which json-c accepts around keys even in strict
 * mode although JSON has none. */
struct scan {
    size_t *pos, max, count, quote;
};

/* Returns the end of the number token that starts at s[i]. */
static size_t scan_number_token(const char *s, size_t n, size_t i, struct scan *sc)
{
    bool neg = s[i] == '-';
    size_t digits = i + neg, digits_end = digits, end;
    while (digits_end < n && is_digit(s[digits_end]))
        digits_end++;
    for (end = digits_end; end < n && in_number(s[end]); end++)
        ;
    if (end == digits_end && needs_point(s + digits, digits_end - digits, neg)) {
        if (sc->count < sc->max)
            sc->pos[sc->count] = digits_end;
        sc->count++;
    }
    return end;
}

static void scan_text(const char *s, size_t n, struct scan *sc)
{
    bool in_string = false;
    sc->count = 0;
    sc->quote = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '\'') {
            sc->quote = i;
            return;
        } else if (c == '-' || is_digit(c)) {
            i = scan_number_token(s, n, i, sc) - 1;
        }
    }
}

struct text {
    const char *data;
    size_t len;
    size_t *points, n_points;
    char *owned;
};

/* Returns false, with the offset of the offending quote in *bad, for text json-c must not see. */
static bool text_prepare(struct text *t, const char *json, size_t len, size_t *bad)
{
    struct scan sc = { 0 };
    *t = (struct text){ .data = json, .len = len };
    scan_text(json, len, &sc);
    *bad = sc.quote;
    if (sc.quote != SIZE_MAX)
        return false;
    if (sc.count == 0)
        return true;
    size_t n = sc.count;
    sc.pos = t->points = oca_xmalloc(n * sizeof(*t->points));
    sc.max = t->n_points = n;
    scan_text(json, len, &sc);
    t->owned = oca_xmalloc(len + 2 * n + 1);
    size_t from = 0, to = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(t->owned + to, json + from, t->points[k] - from);
        to += t->points[k] - from;
        memcpy(t->owned + to, ".0", 2);
        to += 2;
        from = t->points[k];
    }
    memcpy(t->owned + to, json + from, len - from);
    t->data = t->owned;
    t->len = len + 2 * n;
    return true;
}

/* Maps an offset in the prepared text back to the caller's input. */
static size_t text_offset(const struct text *t, size_t off)
{
    size_t shift = 0;
    for (size_t k = 0; k < t->n_points; k++) {
        size_t at = t->points[k] + 2 * k;
        if (off < at)
            break;
        if (off < at + 2)
            return t->points[k];
        shift = 2 * (k + 1);
    }
    return off - shift;
}

static void text_release(struct text *t)
{
    free(t->points);
    free(t->owned);
}

static bool only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static const char *tokener_message(enum json_tokener_error e)
{
    if (e == json_tokener_continue)
        return "unexpected end of input";
    if (e == json_tokener_error_depth)
        return "nesting deeper than 64 levels";
    return json_tokener_error_desc(e);
}

static int parse_text(const struct text *t, struct json_object **root, char *err, size_t err_size)
{
    struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    *root = json_tokener_parse_ex(tok, t->data, (int)t->len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (e == json_tokener_continue) {
        /* A top-level scalar ends only where json-c sees a terminator; it reads a NUL as one. */
        *root = json_tokener_parse_ex(tok, "", 1);
        e = json_tokener_get_error(tok) == json_tokener_success ? json_tokener_success : json_tokener_continue;
        end = t->len;
    }
    json_tokener_free(tok);
    if (e == json_tokener_success && only_space(t->data + end, t->len - end))
        return OCA_OK;
    const char *why = e == json_tokener_success ? "unexpected data after the top-level value"
                                                : tokener_message(e);
    if (err_size)
        snprintf(err, err_size, "invalid JSON at offset %zu: %s", text_offset(t, end), why);
    json_object_put(*root);
    *root = NULL;
    return OCA_ERR_JSON;
}

static int parse_json(const char *json, size_t len, struct json_object **root, char *err, size_t err_size)
{
    struct text t;
    if (len > INT_MAX / 2) {
        if (err_size)
            snprintf(err, err_size, "invalid JSON: document of %zu bytes is too large", len);
        return OCA_ERR_JSON;
    }
    size_t bad;
    int rc = OCA_ERR_JSON;
    if (text_prepare(&t, json, len, &bad))
        rc = parse_text(&t, root, err, err_size);
    else if (err_size)
        snprintf(err, err_size, "invalid JSON at offset %zu: unexpected character", bad);
    text_release(&t);
    return rc;
}

/* The decoder: walks the json-c tree along the descriptors. */

struct frame {
    const char *key;
    size_t index;
    bool indexed;
};

struct dec {
    struct oca_arena *arena;
    char *err;
    size_t err_size;
    unsigned depth;
    struct frame frames[MAX_FRAMES];
    bool gateway;           /* OpenCensus via grpc-gateway: base64 ids, maps as objects, WKTs */
};

static void push_key(struct dec *d, const char *key)
{
    if (d->depth < MAX_FRAMES)
        d->frames[d->depth] = (struct frame){ .key = key };
    d->depth++;
}

static void set_index(struct dec *d, size_t index)
{
    if (d->depth - 1 < MAX_FRAMES) {
        d->frames[d->depth - 1].index = index;
        d->frames[d->depth - 1].indexed = true;
    }
}

static void pop_key(struct dec *d) { d->depth--; }

static size_t render_path(const struct dec *d)
{
    size_t n = 0, size = d->err_size;
    for (unsigned i = 0; i < d->depth && i < MAX_FRAMES && n < size; i++) {
        const struct frame *fr = &d->frames[i];
        int w = snprintf(d->err + n, size - n, "%s%s", i ? "." : "", fr->key);
        if (w > 0)
            n += (size_t)w;
        if (fr->indexed && n < size && (w = snprintf(d->err + n, size - n, "[%zu]", fr->index)) > 0)
            n += (size_t)w;
    }
    return n < size ? n : size - 1;
}

/* Writes "path: message" into the caller's error buffer and returns OCA_ERR_JSON. */
__attribute__((format(printf, 2, 3))) static int fail(struct dec *d, const char *fmt, ...)
{
    if (d->err_size == 0)
        return OCA_ERR_JSON;
    size_t n = render_path(d);
    if (n > 0 && n + 2 < d->err_size) {
        memcpy(d->err + n, ": ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err + n, d->err_size - n, fmt, ap);
    va_end(ap);
    return OCA_ERR_JSON;
}

static int decode_message(struct dec *d, const ProtobufCMessageDescriptor *desc, struct json_object *v,
                          void *dst);

/* Integers: JSON numbers or strings, checked exactly against the field's range. */

enum int_parse { INT_OK, INT_SYNTAX, INT_FRACTION, INT_RANGE };

struct digits {
    const char *s;
    size_t n;
};

/* Reads JSON number syntax: sign, integer digits, fraction digits and exponent (capped, since any
 * exponent past a few dozen is out of range anyway). Returns false on a syntax error. */
static bool scan_number(const char *s, size_t n, bool *neg, struct digits *ip, struct digits *fp, long *exp)
{
    size_t i = 0;
    *neg = i < n && s[i] == '-';
    i += *neg;
    ip->s = s + i;
    for (ip->n = 0; i < n && is_digit(s[i]); i++)
        ip->n++;
    fp->s = s + i + 1;
    fp->n = 0;
    if (i < n && s[i] == '.')
        for (i++; i < n && is_digit(s[i]); i++)
            fp->n++;
    *exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = ++i < n && s[i] == '-';
        size_t start = i += (i < n && (s[i] == '-' || s[i] == '+'));
        for (; i < n && is_digit(s[i]); i++)
            *exp = *exp < 100000 ? *exp * 10 + (s[i] - '0') : *exp;
        if (i == start)
            return false;
        *exp = eneg ? -*exp : *exp;
    }
    return i == n && ip->n > 0;
}

static char digit_at(const struct digits *ip, const struct digits *fp, size_t k)
{
    return k < ip->n ? ip->s[k] : fp->s[k - ip->n];
}

/* Exact integer value of JSON number text: 1.5e1 is 15, 1.05e1 is a fraction. */
static enum int_parse parse_integer(const char *s, size_t n, bool *neg, uint64_t *mag)
{
    struct digits ip, fp;
    long exp;
    if (!scan_number(s, n, neg, &ip, &fp, &exp))
        return INT_SYNTAX;
    size_t first = 0, last = ip.n + fp.n;
    while (first < last && digit_at(&ip, &fp, first) == '0')
        first++;
    while (last > first && digit_at(&ip, &fp, last - 1) == '0')
        last--;
    *mag = 0;
    if (first == last)
        return INT_OK;
    /* The value is digits[first, last) times 10^scale. */
    long scale = exp - (long)fp.n + (long)(ip.n + fp.n - last);
    if (scale < 0)
        return INT_FRACTION;
    if ((long)(last - first) + scale > 20)
        return INT_RANGE;
    for (size_t k = first; k < last; k++) {
        uint64_t digit = (uint64_t)(digit_at(&ip, &fp, k) - '0');
        if (*mag > (UINT64_MAX - digit) / 10)
            return INT_RANGE;
        *mag = *mag * 10 + digit;
    }
    for (long k = 0; k < scale; k++) {
        if (*mag > UINT64_MAX / 10)
            return INT_RANGE;
        *mag *= 10;
    }
    return INT_OK;
}

static const char *type_name(ProtobufCType type)
{
    static const char *const names[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
        [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
        [PROTOBUF_C_TYPE_ENUM] = "enum",
    };
    return (size_t)type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "integer";
}

static bool in_range(ProtobufCType type, bool neg, uint64_t mag)
{
    uint64_t max_pos, max_neg;
    switch (type) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: max_pos = UINT32_MAX, max_neg = 0; break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: max_pos = UINT64_MAX, max_neg = 0; break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: max_pos = INT64_MAX, max_neg = (uint64_t)INT64_MAX + 1; break;
    default: max_pos = INT32_MAX, max_neg = (uint64_t)INT32_MAX + 1; break;
    }
    return mag <= (neg ? max_neg : max_pos);
}

/* Length of a number's text as the caller wrote it, without the ".0" that text_prepare appends. */
static int written_len(const char *text, size_t len)
{
    size_t neg = text[0] == '-';
    if (len <= 2 + neg || memcmp(text + len - 2, ".0", 2) != 0)
        return (int)len;
    size_t digits = len - 2 - neg;
    for (size_t i = 0; i < digits; i++)
        if (!is_digit(text[neg + i]))
            return (int)len;
    return needs_point(text + neg, digits, neg) ? (int)(len - 2) : (int)len;
}

/* How v appears in an error message. */
static void show_value(struct json_object *v, bool neg, uint64_t mag, char *out, size_t size)
{
    enum json_type jt = json_object_get_type(v);
    const char *text = jt == json_type_int ? NULL : json_object_get_string(v);
    if (jt == json_type_int) {
        snprintf(out, size, "%s%" PRIu64, neg ? "-" : "", mag);
    } else if (jt == json_type_string) {
        snprintf(out, size, "\"%.40s\"", text);
    } else {
        int len = written_len(text, strlen(text));
        snprintf(out, size, "%.*s", len < 40 ? len : 40, text);
    }
}

/* The value of v as sign and magnitude, checked against the range of type. */
static int json_integer(struct dec *d, ProtobufCType type, struct json_object *v, bool *neg, uint64_t *mag)
{
    enum json_type jt = json_object_get_type(v);
    enum int_parse r = INT_OK;
    char shown[64];
    if (jt == json_type_int) {
        int64_t i = json_object_get_int64(v);
        *neg = i < 0;
        *mag = i < 0 ? (uint64_t)0 - (uint64_t)i : json_object_get_uint64(v);
    } else if (jt == json_type_double || jt == json_type_string) {
        const char *text = json_object_get_string(v);
        size_t len = jt == json_type_string ? (size_t)json_object_get_string_len(v) : strlen(text);
        r = parse_integer(text, len, neg, mag);
    } else {
        return fail(d, "expected an integer");
    }
    if (r == INT_OK && in_range(type, *neg, *mag))
        return OCA_OK;
    show_value(v, *neg, *mag, shown, sizeof(shown));
    if (r == INT_SYNTAX || r == INT_FRACTION)
        return fail(d, "expected an integer, got %s", shown);
    return fail(d, "%s is out of range for %s", shown, type_name(type));
}

static int decode_int(struct dec *d, ProtobufCType type, struct json_object *v, void *dst)
{
    bool neg;
    uint64_t mag;
    int err = json_integer(d, type, v, &neg, &mag);
    if (err)
        return err;
    /* Two's complement: the negated magnitude is the value for every signed type. */
    uint64_t u = neg ? (uint64_t)0 - mag : mag;
    if (value_size(type) == 8) {
        memcpy(dst, &u, 8);
    } else {
        uint32_t u32 = (uint32_t)u;
        memcpy(dst, &u32, 4);
    }
    return OCA_OK;
}

/* Enums: the number, or the value's name as written in the .proto file. */
static int decode_enum(struct dec *d, const ProtobufCEnumDescriptor *ed, struct json_object *v, void *dst)
{
    if (json_object_is_type(v, json_type_string)) {
        const char *name = json_object_get_string(v);
        const ProtobufCEnumValue *ev = NULL;
        if (strlen(name) == (size_t)json_object_get_string_len(v))
            ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
        if (!ev)
            return fail(d, "unknown %s value \"%.60s\"", ed->name, name);
        *(int *)dst = ev->value;
        return OCA_OK;
    }
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return fail(d, "expected an enum name or number");
    int32_t value;
    int err = decode_int(d, PROTOBUF_C_TYPE_INT32, v, &value);
    if (err == OCA_OK)
        *(int *)dst = value;
    return err;
}

static int decode_bool(struct dec *d, struct json_object *v, void *dst)
{
    if (!json_object_is_type(v, json_type_boolean))
        return fail(d, "expected true or false");
    *(protobuf_c_boolean *)dst = json_object_get_boolean(v) ? 1 : 0;
    return OCA_OK;
}

static bool is_infinity(const char *s)
{
    return strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0;
}

/* Doubles and floats: numbers, "NaN", "Infinity", "-Infinity" or a number in a string. */
static int parse_real(struct dec *d, struct json_object *v, double *out)
{
    enum json_type jt = json_object_get_type(v);
    if (jt == json_type_int) {
        int64_t i = json_object_get_int64(v);
        *out = i < 0 ? (double)i : (double)json_object_get_uint64(v);
        return OCA_OK;
    }
    if (jt == json_type_double) {
        /* json-c reads NaN and Infinity literals too; an infinity from a finite literal overflowed. */
        *out = json_object_get_double(v);
        if (isinf(*out) && !is_infinity(json_object_get_string(v)))
            return fail(d, "%.40s is out of range for a double", json_object_get_string(v));
        return OCA_OK;
    }
    if (jt != json_type_string)
        return fail(d, "expected a number");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    bool neg;
    struct digits ip, fp;
    long exp;
    if (strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (is_infinity(s))
        *out = s[0] == '-' ? -INFINITY : INFINITY;
    else if (strlen(s) != n || !scan_number(s, n, &neg, &ip, &fp, &exp))
        return fail(d, "expected a number, got \"%.40s\"", s);
    else if (isinf(*out = strtod(s, NULL)))
        return fail(d, "\"%.40s\" is out of range for a double", s);
    return OCA_OK;
}

static int decode_real(struct dec *d, ProtobufCType type, struct json_object *v, void *dst)
{
    double x = 0;
    int err = parse_real(d, v, &x);
    if (err)
        return err;
    /* One NaN, so that decoding, encoding and decoding again gives the same bits. */
    if (isnan(x))
        x = NAN;
    if (type == PROTOBUF_C_TYPE_DOUBLE) {
        *(double *)dst = x;
        return OCA_OK;
    }
    if (isfinite(x) && fabs(x) > FLT_MAX)
        return fail(d, "%g is out of range for a float", x);
    *(float *)dst = (float)x;
    return OCA_OK;
}

static int decode_string(struct dec *d, struct json_object *v, void *dst)
{
    if (!json_object_is_type(v, json_type_string))
        return fail(d, "expected a string");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    /* protobuf-c strings are NUL-terminated, so an embedded NUL would silently cut the value. */
    if (memchr(s, '\0', n))
        return fail(d, "string contains a NUL character");
    if (!utf8_valid(s, n))
        return fail(d, "string is not valid UTF-8");
    *(char **)dst = oca_arena_strndup(d->arena, s, n);
    return OCA_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int decode_hex(struct dec *d, const char *s, size_t n, size_t size, ProtobufCBinaryData *bd)
{
    if (n == 0)
        return OCA_OK;
    if (n != 2 * size)
        return fail(d, "expected %zu hex digits, got %zu", 2 * size, n);
    uint8_t *out = oca_arena_alloc(d->arena, size);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? i : i + 1;
            unsigned char c = (unsigned char)s[at];
            if (c > 0x20 && c < 0x7F)
                return fail(d, "invalid hex digit '%c' at position %zu", c, at);
            return fail(d, "invalid hex digit at position %zu", at);
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    bd->data = out;
    bd->len = size;
    return OCA_OK;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe alphabet, with or without padding. */
static int decode_base64(struct dec *d, const char *s, size_t n, ProtobufCBinaryData *bd)
{
    size_t pad = 0;
    while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
        pad++;
    if ((pad && n % 4) || (n - pad) % 4 == 1)
        return fail(d, "invalid base64");
    n -= pad;
    uint8_t *out = oca_arena_alloc(d->arena, n / 4 * 3 + 2);
    size_t len = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int v = base64_value(s[i]);
        if (v < 0)
            return fail(d, "invalid base64");
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[len++] = (uint8_t)(acc >> 16);
            out[len++] = (uint8_t)(acc >> 8);
            out[len++] = (uint8_t)acc;
        }
    }
    if (n % 4 >= 2)
        out[len++] = (uint8_t)(acc >> (n % 4 == 2 ? 4 : 10));
    if (n % 4 == 3)
        out[len++] = (uint8_t)(acc >> 2);
    bd->data = len ? out : NULL;
    bd->len = len;
    return OCA_OK;
}

static int decode_bytes(struct dec *d, const ProtobufCFieldDescriptor *f, struct json_object *v, void *dst)
{
    if (!json_object_is_type(v, json_type_string))
        return fail(d, "expected a string");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v), id_size = oca_otlp_id_size(f);
    /* grpc-gateway writes every bytes field in base64; hex ids are still taken at their exact length. */
    if (d->gateway && id_size && n != 2 * id_size)
        id_size = 0;
    ProtobufCBinaryData bd = { 0, NULL };
    int err = id_size ? decode_hex(d, s, n, id_size, &bd) : decode_base64(d, s, n, &bd);
    if (err == OCA_OK)
        *(ProtobufCBinaryData *)dst = bd;
    return err;
}

static int decode_value(struct dec *d, const ProtobufCFieldDescriptor *f, struct json_object *v, void *dst)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: return decode_bool(d, v, dst);
    case PROTOBUF_C_TYPE_ENUM: return decode_enum(d, f->descriptor, v, dst);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: return decode_real(d, f->type, v, dst);
    case PROTOBUF_C_TYPE_STRING: return decode_string(d, v, dst);
    case PROTOBUF_C_TYPE_BYTES: return decode_bytes(d, f, v, dst);
    case PROTOBUF_C_TYPE_MESSAGE: return decode_message(d, f->descriptor, v, dst);
    default: return decode_int(d, f->type, v, dst);
    }
}

static int decode_field(struct dec *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                        struct json_object *v);

/* A proto map field: a repeated message "...Entry" of two fields, key and value. */
static bool is_map_entry(const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *e = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
    size_t len = e ? strlen(e->name) : 0;
    return e && len > 5 && strcmp(e->name + len - 5, "Entry") == 0 && e->n_fields == 2 &&
           strcmp(e->fields[0].name, "key") == 0 && strcmp(e->fields[1].name, "value") == 0;
}

/* The protobuf JSON form of a map: an object whose members are the entries. */
static int decode_map(struct dec *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, struct json_object *v)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    size_t n = (size_t)json_object_object_length(v), i = 0;
    ProtobufCMessage **elems = n ? oca_arena_alloc(d->arena, n * sizeof(*elems)) : NULL;
    struct json_object_iterator it = json_object_iter_begin(v), end = json_object_iter_end(v);
    for (; !json_object_iter_equal(&it, &end) && i < n; json_object_iter_next(&it), i++) {
        const char *key = json_object_iter_peek_name(&it);
        ProtobufCMessage *entry = oca_arena_alloc(d->arena, e->sizeof_message);
        e->message_init(entry);
        if (e->fields[0].type != PROTOBUF_C_TYPE_STRING)
            return fail(d, "map keys other than strings are not supported");
        char *k = oca_arena_strdup(d->arena, key);
        memcpy((char *)entry + e->fields[0].offset, &k, sizeof(k));
        push_key(d, key);
        int err = decode_field(d, entry, &e->fields[1], json_object_iter_peek_value(&it));
        if (err)
            return err;
        pop_key(d);
        elems[i] = entry;
    }
    char *base = (char *)m;
    memcpy(base + f->quantifier_offset, &i, sizeof(i));
    memcpy(base + f->offset, &elems, sizeof(elems));
    return OCA_OK;
}

/* google.protobuf.Timestamp in its JSON form: RFC 3339 in UTC ("Z") or with an offset, 0 to 9
 * fraction digits. */
static int decode_timestamp(struct dec *d, const char *s, ProtobufCMessage *m)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return fail(d, "expected an RFC 3339 timestamp");
    int64_t nanos = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                nanos = nanos * 10 + (*p - '0');
        for (; digits < 9; digits++)
            nanos *= 10;
    }
    int64_t offset = 0;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return fail(d, "expected an RFC 3339 timestamp");
        offset = (*p == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
        p += 6;
    } else if (*p == 'Z' || *p == 'z') {
        p++;
    }
    if (*p != '\0')
        return fail(d, "expected an RFC 3339 timestamp");
    int64_t secs = (int64_t)timegm(&tm) - offset;
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (strcmp(desc->fields[i].name, "seconds") == 0)
            memcpy((char *)m + desc->fields[i].offset, &secs, sizeof(secs));
        else if (strcmp(desc->fields[i].name, "nanos") == 0) {
            int32_t n32 = (int32_t)nanos;
            memcpy((char *)m + desc->fields[i].offset, &n32, sizeof(n32));
        }
    }
    return OCA_OK;
}

static bool is_wrapper(const ProtobufCMessageDescriptor *desc)
{
    size_t n = strlen(desc->name);
    return strcmp(desc->package_name, "google.protobuf") == 0 && n > 5 && strcmp(desc->name + n - 5, "Value") == 0 &&
           desc->n_fields == 1 && strcmp(desc->fields[0].name, "value") == 0;
}

static int decode_repeated(struct dec *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                           struct json_object *v)
{
    if (d->gateway && json_object_is_type(v, json_type_object) && is_map_entry(f))
        return decode_map(d, m, f, v);
    if (!json_object_is_type(v, json_type_array))
        return fail(d, "expected an array");
    size_t n = json_object_array_length(v), size = value_size(f->type);
    char *elems = n ? oca_arena_alloc(d->arena, n * size) : NULL;
    for (size_t i = 0; i < n; i++) {
        set_index(d, i);
        int err = decode_value(d, f, json_object_array_get_idx(v, i), elems + i * size);
        if (err)
            return err;
    }
    char *base = (char *)m;
    memcpy(base + f->quantifier_offset, &n, sizeof(n));
    memcpy(base + f->offset, &elems, sizeof(elems));
    return OCA_OK;
}

/* A JSON null leaves the field at its default; a oneof member sets the oneof's case, so the last
 * member present wins. */
static int decode_field(struct dec *d, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                        struct json_object *v)
{
    char *base = (char *)m;
    if (v == NULL)
        return OCA_OK;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return decode_repeated(d, m, f, v);
    int err = decode_value(d, f, v, base + f->offset);
    if (err)
        return err;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t id = f->id;
        memcpy(base + f->quantifier_offset, &id, sizeof(id));
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !is_pointer_type(f->type)) {
        protobuf_c_boolean has = 1;
        memcpy(base + f->quantifier_offset, &has, sizeof(has));
    }
    return OCA_OK;
}

/* True when key is the lowerCamelCase json_name of the proto field name. */
static bool is_json_name(const char *name, const char *key)
{
    bool upper = false;
    for (;; name++) {
        char c = *name;
        if (c == '_') {
            upper = true;
            continue;
        }
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        upper = false;
        if (c != *key)
            return false;
        if (c == '\0')
            return true;
        key++;
    }
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc, const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (is_json_name(f->name, key) || strcmp(f->name, key) == 0)
            return f;
    }
    return NULL;
}

static int decode_message(struct dec *d, const ProtobufCMessageDescriptor *desc, struct json_object *v,
                          void *dst)
{
    if (d->gateway && !json_object_is_type(v, json_type_object)) {
        bool ts = strcmp(desc->package_name, "google.protobuf") == 0 && strcmp(desc->short_name, "Timestamp") == 0;
        if ((ts && json_object_is_type(v, json_type_string)) || is_wrapper(desc)) {
            ProtobufCMessage *w = oca_arena_alloc(d->arena, desc->sizeof_message);
            desc->message_init(w);
            int err = ts ? decode_timestamp(d, json_object_get_string(v), w) : decode_field(d, w, &desc->fields[0], v);
            if (err)
                return err;
            *(ProtobufCMessage **)dst = w;
            return OCA_OK;
        }
    }
    if (!json_object_is_type(v, json_type_object))
        return fail(d, "expected an object");
    ProtobufCMessage *m = oca_arena_alloc(d->arena, desc->sizeof_message);
    desc->message_init(m);
    struct json_object_iterator it = json_object_iter_begin(v), end = json_object_iter_end(v);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);
        const ProtobufCFieldDescriptor *f = find_field(desc, key);
        if (!f)
            continue;
        push_key(d, key);
        int err = decode_field(d, m, f, json_object_iter_peek_value(&it));
        if (err)
            return err;
        pop_key(d);
    }
    *(ProtobufCMessage **)dst = m;
    return OCA_OK;
}

int oca_otlp_json_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                         struct oca_arena *arena, ProtobufCMessage **out, char *err, size_t err_size)
{
    struct json_object *root;
    *out = NULL;
    if (err_size)
        err[0] = '\0';
    int rc = parse_json(json, len, &root, err, err_size);
    if (rc)
        return rc;
    struct dec d = { .arena = arena, .err = err, .err_size = err_size,
                     .gateway = strncmp(desc->package_name, "opencensus.", 11) == 0 };
    ProtobufCMessage *m = NULL;
    rc = decode_message(&d, desc, root, &m);
    json_object_put(root);
    if (rc == OCA_OK)
        *out = m;
    return rc;
}
