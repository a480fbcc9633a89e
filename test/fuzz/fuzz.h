/* What the libFuzzer harnesses share: a property that fails aborts (libFuzzer keeps the input as a
 * crash), and the exporters' translation harnesses read their input the same way. Header-only,
 * since each harness is its own program. */
#ifndef OCA_TEST_FUZZ_FUZZ_H
#define OCA_TEST_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/errors.h"
#include "base/log.h"
#include "pipeline/batch.h"

/* Aborts, saying what, unless ok. */
static inline void fuzz_check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "property failed: %s\n", what);
        abort();
    }
}

/* The OTLP request of sig that the input holds after its first byte: protobuf, or OTLP/JSON when
 * the first byte is odd. NULL when the input is empty or does not decode. Silences the log. */
static inline struct oca_batch *fuzz_request(enum oca_signal sig, const uint8_t *data, size_t size)
{
    oca_log_set_level(OCA_LOG_NONE);
    if (size < 1)
        return NULL;
    enum oca_encoding enc = (data[0] & 1) ? OCA_ENCODING_JSON : OCA_ENCODING_PROTO;
    struct oca_batch *b;
    if (oca_batch_decode(sig, enc, data + 1, size - 1, &b, NULL, 0) != OCA_OK)
        return NULL;
    return b;
}

#endif
