/* The otlp receiver's request bodies (see otlp.h): which media type and Content-Encoding a request
 * has, and its bytes as they arrive, decompressed incrementally (zlib for gzip and deflate, libzstd
 * for zstd) into one buffer that never grows past max_request_body_size and is charged to the
 * agent's memory budget as it grows, as is libzstd's window. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/budget.h"
#include "base/errors.h"
#include "base/mem.h"
#include "codec/unzstd.h"
#include "receivers/otlp/otlp.h"

/* The first buffer of a body of unknown size, and the most one inflate step may add. */
#define FIRST_CAP ((size_t)16 << 10)

/* While a zstd body refused for memory is counted, how much of libzstd's buffers may be written
 * beyond what was charged before the refusal (a small frame's window and block fit). */
#define COUNT_DECODER ((size_t)1 << 20)

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
    if (token_is(tok, len, "zstd")) {
        *coding = OCA_OTLP_ZSTD;
        return OCA_OK;
    }
    return OCA_ERR_INVALID;
}

void oca_otlp_body_init(struct oca_otlp_body *b, enum oca_otlp_coding coding, uint64_t max)
{
    memset(b, 0, sizeof(*b));
    b->coding = coding;
    b->max = max;
    /* No zstd frame is partly read yet: an empty zstd body is an empty body, as Go's zstd reader
     * (klauspost/compress, the Collector's) reads it; an empty gzip or zlib stream is truncated. */
    b->z_end = coding == OCA_OTLP_ZSTD;
}

static const char *coding_name(const struct oca_otlp_body *b)
{
    return b->coding == OCA_OTLP_GZIP ? "gzip" : b->coding == OCA_OTLP_ZSTD ? "zstd" : "deflate";
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

static void free_decoder(struct oca_otlp_body *b)
{
    if (b->z_live)
        inflateEnd(&b->z);
    b->z_live = false;
    ZSTD_freeDStream(b->zs);
    b->zs = NULL;
    oca_budget_release(b->zs_charged);
    b->zs_charged = 0;
}

void oca_otlp_body_free(struct oca_otlp_body *b)
{
    free_decoder(b);
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

/* Where the next decompressed bytes go: the buffer (grown as needed) or, while counting, the
 * window. Returns OCA_OK with *dst and *room (at least 1) set, or an error. */
static int set_output(struct oca_otlp_body *b, uint8_t **dst, size_t *room)
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
        *dst = b->window;
        *room = FIRST_CAP;
    } else {
        *dst = b->data + b->len;
        *room = b->cap - b->len;
    }
    return OCA_OK;
}

/* made bytes came out of the decompressor at out: kept, or counted while counting. */
static int took_output(struct oca_otlp_body *b, const uint8_t *out, size_t made)
{
    b->total += made;
    if (b->counting)
        oca_otlp_counter_feed(&b->counter, out, made);
    else
        b->len += made;
    if (b->total > b->max)
        return too_large(b);
    if (!b->counting && beyond_budget(b->len))
        return over_budget(b, b->len);
    return OCA_OK;
}

static int feed_inflate(struct oca_otlp_body *b, const uint8_t *p, size_t n)
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
        uint8_t *out;
        size_t room;
        int err = set_output(b, &out, &room);
        if (err)
            return err;
        b->z.next_out = out;
        b->z.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt given = b->z.avail_out;
        int zr = inflate(&b->z, Z_NO_FLUSH);
        err = took_output(b, out, given - b->z.avail_out);
        if (err)
            return err;
        if (zr == Z_STREAM_END) {
            b->z_end = true;
        } else if (zr == Z_BUF_ERROR && b->z.avail_out > 0) {
            /* No progress possible with this input: it is used up. */
            break;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return fail(b, OCA_ERR_INVALID, "malformed %s body: %s", coding_name(b),
                        b->z.msg ? b->z.msg : "corrupt data");
        }
    }
    return b->err;
}

/* Charges libzstd's buffers (its window and input block) beyond its bare context, as far as they
 * can have been written: a window fills as output is made, so no further than the bytes made so
 * far plus a block of input and one of output, however large a window the frame declared (a Go
 * sender declares 8 MiB for any body over one block). Called after each step, which makes at most
 * one block. While counting, the decoder may go COUNT_DECODER bytes past its charge; beyond that
 * the body is refused without counting the rest. Returns OCA_OK when the body goes on (perhaps
 * counting from now), else the error. */
static int charge_decoder(struct oca_otlp_body *b)
{
    size_t alloc = ZSTD_sizeof_DStream(b->zs);
    alloc = alloc > b->zs_base ? alloc - b->zs_base : 0;
    uint64_t written = b->total + 2 * (uint64_t)ZSTD_BLOCKSIZE_MAX;
    size_t need = written < alloc ? (size_t)written : alloc;
    if (need <= b->zs_charged)
        return OCA_OK;
    if (b->counting) {
        if (need - b->zs_charged <= COUNT_DECODER)
            return OCA_OK;
        b->count_refused = false;       /* the counting ends here: budget_spent fails the body */
        return budget_spent(b);
    }
    int err = oca_budget_charge(need - b->zs_charged);
    if (err == OCA_ERR_TOO_LARGE || (err && need > oca_budget_limit()))
        return over_budget(b, b->total);
    if (err) {
        err = budget_spent(b);
        return b->counting ? OCA_OK : err;
    }
    b->zs_charged = need;
    return OCA_OK;
}

/* Concatenated frames are read one after the other (libzstd starts the next frame by itself), as
 * Go's zstd reader and the zstd tool read them; skippable frames are skipped. */
static int feed_zstd(struct oca_otlp_body *b, const uint8_t *p, size_t n)
{
    if (!b->zs) {
        b->zs = oca_unzstd_new(b->max);
        b->zs_base = ZSTD_sizeof_DStream(b->zs);
    }
    ZSTD_inBuffer in = { p, n, 0 };
    bool full = false;          /* the last step filled its output: libzstd may hold more */
    while (in.pos < in.size || full) {
        uint8_t *dst;
        size_t room;
        int err = set_output(b, &dst, &room);
        if (err)
            return err;
        if (room > ZSTD_BLOCKSIZE_MAX)
            room = ZSTD_BLOCKSIZE_MAX;
        ZSTD_outBuffer out = { dst, room, 0 };
        size_t zr = ZSTD_decompressStream(b->zs, &out, &in);
        if (oca_unzstd_window_refused(zr))
            return fail(b, OCA_ERR_TOO_LARGE,
                        "zstd frame needs a window larger than %llu bytes, the most this receiver allows "
                        "(max_request_body_size, at least 8 MiB)",
                        (unsigned long long)oca_unzstd_window_max(b->max));
        if (ZSTD_isError(zr))
            return fail(b, OCA_ERR_INVALID, "malformed zstd body: %s", ZSTD_getErrorName(zr));
        err = took_output(b, dst, out.pos);
        if (err)
            return err;
        b->z_end = zr == 0;
        full = out.pos == room && zr != 0;
        err = charge_decoder(b);
        if (err)
            return err;
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
    if (b->coding == OCA_OTLP_IDENTITY)
        return feed_identity(b, p, n);
    return b->coding == OCA_OTLP_ZSTD ? feed_zstd(b, p, n) : feed_inflate(b, p, n);
}

int oca_otlp_body_finish(struct oca_otlp_body *b)
{
    if (b->err)
        return b->err;
    if (b->coding != OCA_OTLP_IDENTITY && !b->z_end)
        return fail(b, OCA_ERR_INVALID, "malformed %s body: unexpected end of compressed data", coding_name(b));
    free_decoder(b);
    return OCA_OK;
}
