/* libFuzzer target for the otlp receiver's request path without sockets (receivers/otlp/body.c,
 * count.c, export.c): the input as a gRPC message of each signal, then (after a first byte that
 * picks signal, content type, encoding, chunking and budget) as an OTLP/HTTP body, decompressed
 * (gzip, deflate, zstd), charged, counted when refused, decoded. Decoded requests must count to the decoder's items and
 * the budget must end at zero, never past its limit. Seeds: test/fuzz/corpus/otlp_request/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/budget.h"
#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "codec/otlp_json.h"
#include "pipeline/batch.h"
#include "receivers/otlp/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT_BODY ((uint64_t)1 << 20)
#define LIMIT_BUDGET ((size_t)8 << 20)
#define TINY_BUDGET ((size_t)4096)

static const char *const content_types[] = {
    "application/x-protobuf", "application/json", "application/json; charset=utf-8", "text/plain",
};
/* Unknown codings are refused by oca_otlp_parse_coding before any body, like unknown media types. */
static const char *const encodings[] = { NULL, "gzip", "deflate", "zstd" };
static const size_t steps[] = { 1, 7, 4096, (size_t)1 << 30 };

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "otlp_request_fuzz: %s\n", what);
        abort();
    }
}

/* Answers a decoded request as the receiver would, and the batch goes. Its canonical encodings
 * must count, without decoding, to the decoder's item count. */
static void answer(struct oca_batch *b, enum oca_signal sig, enum oca_encoding enc)
{
    check(b->items == oca_batch_count_items(sig, b->msg), "item count");
    check(b->charged > 0 && oca_budget_used() >= b->charged, "batch charge");
    size_t len;
    uint8_t *wire = oca_batch_pack(b, &len);
    check(oca_otlp_count_items(sig, OCA_ENCODING_PROTO, wire, len) == b->items, "protobuf item count differs");
    free(wire);
    struct oca_buf json = { 0 };
    oca_otlp_json_encode(b->msg, &json);
    check(oca_otlp_count_items(sig, OCA_ENCODING_JSON, (const uint8_t *)json.data, json.len) == b->items,
          "JSON item count differs");
    oca_buf_free(&json);
    struct oca_otlp_result res = { .err = OCA_OK };
    struct oca_buf out = { 0 };
    oca_otlp_encode_response(sig, enc, &res, &out);
    oca_buf_free(&out);
    oca_batch_unref(b);
}

static void answer_failure(const struct oca_otlp_result *res, enum oca_encoding enc)
{
    check(res->err != OCA_OK && res->message[0] != '\0', "failure without a message");
    int http = oca_otlp_http_status(res);
    check(http == 400 || http == 413 || http == 503, "unexpected HTTP status");
    struct oca_buf out = { 0 };
    oca_otlp_encode_status(res, enc, oca_otlp_retryable(res), &out);
    oca_buf_free(&out);
}

/* The gRPC path: the message is someone else's buffer (held = 0). */
static void as_grpc_message(const uint8_t *data, size_t size)
{
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        struct oca_batch *b;
        struct oca_otlp_result res;
        if (oca_otlp_decode((enum oca_signal)sig, OCA_ENCODING_PROTO, data, size, 0, NULL, &b, &res) == OCA_OK)
            answer(b, (enum oca_signal)sig, OCA_ENCODING_PROTO);
        else
            answer_failure(&res, OCA_ENCODING_PROTO);
        /* Any bytes, counted as either encoding: no crash, no reading past the end. */
        (void)oca_otlp_count_items((enum oca_signal)sig, OCA_ENCODING_PROTO, data, size);
        (void)oca_otlp_count_items((enum oca_signal)sig, OCA_ENCODING_JSON, data, size);
    }
}

/* The OTLP/HTTP path, steered by the first byte. */
static void as_http_body(uint8_t mode, const uint8_t *data, size_t size)
{
    enum oca_signal sig = (enum oca_signal)((mode & 3) % OCA_SIGNAL_COUNT);
    const char *ct = content_types[(mode >> 2) & 3];
    const char *ce = encodings[(mode >> 4) & 3];
    size_t step = steps[(mode >> 6) & 3];
    enum oca_encoding enc;
    enum oca_otlp_coding coding;
    if (oca_otlp_parse_media_type(ct, &enc) != OCA_OK || oca_otlp_parse_coding(ce, &coding) != OCA_OK)
        return;
    struct oca_otlp_body body;
    oca_otlp_body_init(&body, coding, LIMIT_BODY);
    oca_otlp_body_count_refused(&body, sig, enc);
    if (mode & 0x40)
        oca_budget_set_limit(TINY_BUDGET);
    int err = (mode & 0x80) ? oca_otlp_body_expect(&body, size) : OCA_OK;
    for (size_t off = 0; (err == OCA_OK || body.counting) && off < size; off += step)
        err = oca_otlp_body_feed(&body, data + off, size - off < step ? size - off : step);
    if (err == OCA_OK || body.counting)
        err = oca_otlp_body_finish(&body);
    check(!body.counting || (err == OCA_ERR_MEMORY_LIMIT && body.data == NULL && body.charged == 0),
          "a body counted after a refusal still holds memory");
    check(body.len <= LIMIT_BODY && body.charged <= LIMIT_BODY + 1, "body past its limit");
    if (err == OCA_OK) {
        struct oca_batch *b;
        struct oca_otlp_result res;
        if (oca_otlp_decode(sig, enc, body.data ? body.data : (const uint8_t *)"", body.len, body.charged, NULL, &b,
                            &res) == OCA_OK)
            answer(b, sig, enc);
        else
            answer_failure(&res, enc);
    } else {
        check(body.why[0] != '\0' && body.data == NULL && body.charged == 0, "failed body still held");
    }
    oca_otlp_body_free(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        oca_log_set_level(OCA_LOG_NONE);
        init = true;
    }
    oca_budget_reset_stats();
    oca_budget_set_limit(LIMIT_BUDGET);
    as_grpc_message(data, size);
    check(oca_budget_used() == 0, "budget not given back");
    check(oca_budget_peak() <= LIMIT_BUDGET, "budget past its limit");
    if (size > 0) {
        oca_budget_reset_stats();
        oca_budget_set_limit(LIMIT_BUDGET);
        as_http_body(data[0], data + 1, size - 1);
        check(oca_budget_used() == 0, "budget not given back");
        check(oca_budget_peak() <= oca_budget_limit(), "budget past its limit");
    }
    return 0;
}
