/* libFuzzer target: the otlp receiver's walk (receivers/otlp/walk.c), which lets requests through
 * undecoded, against the decoding it stands in for (protobuf-c's unpack plus the id rule, through
 * oca_otlp_decode). The first byte picks the signal; the rest is the request. Both must accept
 * the same inputs and count the same items, and an accepted request concatenated with itself must
 * be accepted with twice the items, which is what the batch processor's raw concatenation relies
 * on (the raw batch decodes to the merge). Seeds: test/fuzz/corpus/otlp_walk/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "pipeline/batch.h"
#include "receivers/otlp/otlp.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        oca_log_set_level(OCA_LOG_NONE);
        oca_budget_set_limit(0);
        init = true;
    }
    if (size < 1)
        return 0;
    enum oca_signal sig = (enum oca_signal)(data[0] % OCA_SIGNAL_COUNT);
    const uint8_t *req = data + 1;
    size_t len = size - 1;
    uint64_t items;
    char why[200];
    int err = oca_otlp_walk(sig, req, len, &items, why, sizeof(why));
    struct oca_batch *b;
    struct oca_otlp_result res;
    int derr = oca_otlp_decode(sig, OCA_ENCODING_PROTO, req, len, 0, NULL, &b, &res);
    if ((err == OCA_OK) != (derr == OCA_OK)) {
        fprintf(stderr, "walk: %s (%s); decoding: %s (%s)\n", oca_err_name(err), why, oca_err_name(derr), res.message);
        fuzz_check(false, "the walk and the decoding disagree");
    }
    if (b) {
        fuzz_check(items == b->items, "item counts differ");
        oca_batch_unref(b);
        /* Two requests concatenated are one request of both. */
        uint8_t *twice = malloc(2 * len + 1);
        memcpy(twice, req, len);
        memcpy(twice + len, req, len);
        uint64_t items2;
        fuzz_check(oca_otlp_walk(sig, twice, 2 * len, &items2, why, sizeof(why)) == OCA_OK, "concatenation refused");
        fuzz_check(items2 == 2 * items, "concatenation does not count twice the items");
        struct oca_batch *raw = oca_batch_new_raw(sig);
        oca_batch_add_raw(raw, req, len);
        oca_batch_add_raw(raw, req, len);
        raw->items = (size_t)items2;
        struct oca_batch *dec = oca_batch_decoded(raw);
        fuzz_check(dec->items == items2, "the raw batch decodes to another count");
        oca_batch_unref(dec);
        oca_batch_unref(raw);
        free(twice);
    }
    fuzz_check(oca_budget_used() == 0, "budget not given back");
    return 0;
}
