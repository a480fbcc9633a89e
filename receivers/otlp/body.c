/* The otlp receiver's request bodies (see otlp.h): which media type and Content-Encoding a request
 * has, and its bytes as they arrive, inflated incrementally with zlib into one buffer that never
 * grows past max_request_body_size and is charged to the agent's memory budget as it grows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/budget.h"
#include "base/errors.h"
#include "base/mem.h"
#include "receivers/otlp/otlp.h"

/* The first buffer of a body of unknown size, and the most one inflate step may add. */
#define FIRST_CAP ((size_t)16 << 10)

/* The token before any ';' parameters, with surrounding blanks trimmed: [*start, *start + *len). */
static void media_token(const char *v, const char **start, size_t *len)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strcspn(v, ";,");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *start = v;
    *len = n;
}

static bool token_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(tok, word, len) == 0;
}

int oca_otlp_parse_media_type(const char *content_type, enum oca_encoding *enc)
{
    const char *tok;
    size_t len;
    if (!content_type)
        return OCA_ERR_MEDIA_TYPE;
    media_token(content_type, &tok, &len);
    if (token_is(tok, len, "application/x-protobuf")) {
        *enc = OCA_ENCODING_PROTO;
        return OCA_OK;
    }
    if (token_is(tok, len, "application/json")) {
        *enc = OCA_ENCODING_JSON;
        return OCA_OK;
    }
    return OCA_ERR_MEDIA_TYPE;
}

int oca_otlp_parse_coding(const char *content_encoding, enum oca_otlp_coding *coding)
{
    const char *tok;
    size_t len;
    *coding = OCA_OTLP_IDENTITY;
    if (!content_encoding)
        return OCA_OK;
    media_token(content_encoding, &tok, &len);
    /* A list of codings ("gzip, br") is not something OTLP clients send; the whole value must be
     * one coding. */
    if (tok[len] != '\0' && tok[len + strspn(tok + len, " \t")] != '\0')
        return OCA_ERR_INVALID;
    if (len == 0 || token_is(tok, len, "identity"))
        return OCA_OK;
    if (token_is(tok, len, "gzip") || token_is(tok, len, "x-gzip")) {
        *coding = OCA_OTLP_GZIP;
        return OCA_OK;
    }
    if (token_is(tok, len, "deflate")) {
        *coding = OCA_OTLP_DEFLATE;
        return OCA_OK;
    }
    return OCA_ERR_INVALID;
}

void oca_otlp_body_init(struct oca_otlp_body *b, enum oca_otlp_coding coding, uint64_t max)
{
    memset(b, 0, sizeof(*b));
    b->coding = coding;
    b->max = max;
}

void oca_otlp_body_count_refused(struct oca_otlp_body *b, enum oca_signal sig, enum oca_encoding enc)
{
    b->count_refused = true;
    oca_otlp_counter_init(&b->counter, sig, enc);
}

static void drop_buffer(struct oca_otlp_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    oca_budget_release(b->charged);
    b->charged = 0;
}

void oca_otlp_body_free(struct oca_otlp_body *b)
{
    if (b->z_live)
        inflateEnd(&b->z);
    b->z_live = false;
    drop_buffer(b);
    free(b->window);
    b->window = NULL;
}

static int fail(struct oca_otlp_body *b, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct oca_otlp_body *b, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->why, sizeof(b->why), fmt, ap);
    va_end(ap);
    oca_otlp_body_free(b);
    b->counting = false;
    b->err = err;
    return err;
}

static int too_large(struct oca_otlp_body *b)
{
    return fail(b, OCA_ERR_TOO_LARGE, "request body is larger than max_request_body_size (%llu bytes)",
                (unsigned long long)b->max);
}

/* The budget cannot ever hold a request whose body reaches n bytes. */
static bool beyond_budget(uint64_t n)
{
    size_t limit = oca_budget_limit();
    return limit && oca_budget_request_need(n) > limit;
}

static int over_budget(struct oca_otlp_body *b, uint64_t n)
{
    return fail(b, OCA_ERR_TOO_LARGE,
                "request body of %llu bytes or more needs more memory than the whole memory budget "
                "(service.memory_budget = %zu bytes)", (unsigned long long)n, oca_budget_limit());
}

/* The budget is spent: without counting, the body ends here; with it, what was kept so far goes
 * through the counter, the buffer goes, and the rest will be counted as it comes. */
static int budget_spent(struct oca_otlp_body *b)
{
    if (!b->count_refused)
        return fail(b, OCA_ERR_MEMORY_LIMIT, "memory budget exhausted (%zu of %zu bytes in use); retry later",
                    oca_budget_used(), oca_budget_limit());
    snprintf(b->why, sizeof(b->why), "memory budget exhausted (%zu of %zu bytes in use); retry later",
             oca_budget_used(), oca_budget_limit());
    if (b->len)
        oca_otlp_counter_feed(&b->counter, b->data, b->len);
    drop_buffer(b);
    b->counting = true;
    b->err = OCA_ERR_MEMORY_LIMIT;
    return b->err;
}

/* Makes room for at least want bytes in total (want <= max + 1), charging the growth. (realloc of a
 * large block moves pages with mremap rather than copying into a second allocation, so the old and
 * the new capacity do not both cost memory.) */
static int grow(struct oca_otlp_body *b, size_t want)
{
    if (want <= b->cap)
        return OCA_OK;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < want)
        cap *= 2;
    if (cap > b->max + 1)
        cap = (size_t)b->max + 1;
    int err = oca_budget_charge(cap - b->cap);
    if (err == OCA_ERR_TOO_LARGE || (err && cap > oca_budget_limit()))
        return over_budget(b, want);
    if (err)
        return budget_spent(b);
    b->data = oca_xrealloc(b->data, cap);
    b->charged += cap - b->cap;
    b->cap = cap;
    return OCA_OK;
}

int oca_otlp_body_expect(struct oca_otlp_body *b, uint64_t raw_len)
{
    if (b->err)
        return b->err;
    if (raw_len > b->max)
        return too_large(b);
    if (b->coding != OCA_OTLP_IDENTITY) {
        /* The decompressed size is unknown; refuse only what is sure to fail now. */
        return oca_budget_admit() == OCA_OK ? OCA_OK : budget_spent(b);
    }
    if (beyond_budget(raw_len))
        return over_budget(b, raw_len);
    if (raw_len == 0)
        return OCA_OK;
    if (oca_budget_charge((size_t)raw_len) != OCA_OK)
        return budget_spent(b);
    b->data = oca_xmalloc((size_t)raw_len);
    b->charged = b->cap = (size_t)raw_len;
    return OCA_OK;
}

static int feed_identity(struct oca_otlp_body *b, const uint8_t *p, size_t n)
{
    b->total += n;
    if (b->counting) {
        oca_otlp_counter_feed(&b->counter, p, n);
        return b->err;
    }
    if (b->len + n > b->max)
        return too_large(b);
    if (beyond_budget(b->len + n))
        return over_budget(b, b->len + n);
    int err = grow(b, b->len + n);
    if (err == OCA_ERR_MEMORY_LIMIT && b->counting) {
        oca_otlp_counter_feed(&b->counter, p, n);
        return err;
    }
    if (err)
        return err;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return OCA_OK;
}

static int start_inflate(struct oca_otlp_body *b)
{
    memset(&b->z, 0, sizeof(b->z));
    /* gzip: the gzip wrapper only (16 + 15); deflate: the zlib wrapper, as HTTP's "deflate" is and
     * as the Collector reads it. */
    int bits = b->coding == OCA_OTLP_GZIP ? 16 + MAX_WBITS : MAX_WBITS;
    if (inflateInit2(&b->z, bits) != Z_OK)
        return fail(b, OCA_ERR_INVALID, "cannot start decompression");
    b->z_live = true;
    return OCA_OK;
}

/* Where the next inflated bytes go: the buffer (grown as needed) or, while counting, the window.
 * Returns OCA_OK with z's output set, or an error. */
static int set_output(struct oca_otlp_body *b)
{
    if (!b->counting && b->len == b->cap) {
        size_t want = b->cap ? b->cap + 1 : FIRST_CAP;
        if (want > b->max + 1)
            want = (size_t)b->max + 1;
        if (want <= b->cap)
            return too_large(b);
        int err = grow(b, want);
        if (err && !(err == OCA_ERR_MEMORY_LIMIT && b->counting))
            return err;
    }
    if (b->counting) {
        if (!b->window)
            b->window = oca_xmalloc(FIRST_CAP);
        b->z.next_out = b->window;
        b->z.avail_out = (uInt)FIRST_CAP;
    } else {
        b->z.next_out = b->data + b->len;
        b->z.avail_out = (uInt)(b->cap - b->len);
    }
    return OCA_OK;
}

static int feed_compressed(struct oca_otlp_body *b, const uint8_t *p, size_t n)
{
    if (!b->z_live && !b->z_end) {
        int err = start_inflate(b);
        if (err)
            return err;
    }
    b->z.next_in = (Bytef *)(uintptr_t)p;
    b->z.avail_in = (uInt)n;
    while (b->z.avail_in > 0) {
        if (b->z_end) {
            /* Another gzip member follows (gzip readers take concatenated members, as Go's does);
             * after a zlib stream the rest is ignored, as Go's zlib reader does. */
            if (b->coding != OCA_OTLP_GZIP)
                break;
            inflateReset(&b->z);
            b->z_end = false;
        }
        int err = set_output(b);
        if (err)
            return err;
        uInt room = b->z.avail_out;
        const uint8_t *out = b->z.next_out;
        int zr = inflate(&b->z, Z_NO_FLUSH);
        size_t made = room - b->z.avail_out;
        b->total += made;
        if (b->counting)
            oca_otlp_counter_feed(&b->counter, out, made);
        else
            b->len += made;
        if (b->total > b->max)
            return too_large(b);
        if (!b->counting && beyond_budget(b->len))
            return over_budget(b, b->len);
        if (zr == Z_STREAM_END) {
            b->z_end = true;
        } else if (zr == Z_BUF_ERROR && b->z.avail_out > 0) {
            /* No progress possible with this input: it is used up. */
            break;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return fail(b, OCA_ERR_INVALID, "malformed %s body: %s",
                        b->coding == OCA_OTLP_GZIP ? "gzip" : "deflate", b->z.msg ? b->z.msg : "corrupt data");
        }
    }
    return b->err;
}

int oca_otlp_body_feed(struct oca_otlp_body *b, const uint8_t *p, size_t n)
{
    if (b->err && !b->counting)
        return b->err;
    if (n == 0)
        return b->err;
    b->raw += n;
    if (b->raw > b->max)
        return too_large(b);
    return b->coding == OCA_OTLP_IDENTITY ? feed_identity(b, p, n) : feed_compressed(b, p, n);
}

int oca_otlp_body_finish(struct oca_otlp_body *b)
{
    if (b->err)
        return b->err;
    if (b->coding != OCA_OTLP_IDENTITY && !b->z_end)
        return fail(b, OCA_ERR_INVALID, "malformed %s body: unexpected end of compressed data",
                    b->coding == OCA_OTLP_GZIP ? "gzip" : "deflate");
    if (b->z_live) {
        inflateEnd(&b->z);
        b->z_live = false;
    }
    return OCA_OK;
}
