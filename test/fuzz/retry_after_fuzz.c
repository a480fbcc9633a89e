/* libFuzzer harness for oca_retry_after_parse (exporters/exporterhelper/retry_policy.c), which reads
 * a backend's Retry-After header. The input is the header value; its first byte, when present,
 * also picks the clock among a few (1970, now-ish, near the year 9999, out of range). Must never
 * crash, read past the value, or return anything but -1 or a delay in whole seconds within
 * [0, OCA_RETRY_AFTER_MAX_NS]. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/exporterhelper/exporterhelper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t clocks[] = { 0, INT64_C(784111777), INT64_C(1763700000), INT64_C(253402300000),
                                      INT64_MIN, INT64_MAX, -1 };
    int64_t now = clocks[size ? data[0] % (sizeof(clocks) / sizeof(clocks[0])) : 1];
    /* An exact-size copy, so ASan catches a read beyond the terminator. */
    char *value = malloc(size + 1);
    if (!value)
        return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    int64_t d = oca_retry_after_parse(value, now);
    if (d != -1 && (d < 0 || d > OCA_RETRY_AFTER_MAX_NS || d % OCA_NS_PER_S != 0))
        abort();
    free(value);
    return 0;
}
