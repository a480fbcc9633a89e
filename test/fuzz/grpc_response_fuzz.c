/* libFuzzer harness for net/grpc_client.c's oca_grpc_read_response: the input is a readable
 * response, an HTTP status on the first line, then "name: value" header and trailer lines, an
 * empty line and the body bytes (seeds in corpus/grpc_response/ show the shape). Whatever the
 * bytes, reading must not crash or read out of bounds, the message stays within the client's
 * response cap and exists only for status 0, and grpc_message is always a string. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "net/grpc_client.h"

#define MAX_HEADERS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct oca_http_header h[MAX_HEADERS];
    size_t n = 0;
    int status = 0;
    const char *nl = memchr(p, '\n', size);
    if (!nl)
        return 0;
    for (const char *q = p; q < nl && *q >= '0' && *q <= '9' && status < 1000; q++)
        status = status * 10 + (*q - '0');
    p = nl + 1;
    /* Header lines until an empty one; each is cut at its first ':' (one blank skipped). */
    while (p < end && *p != '\n' && n < MAX_HEADERS) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon) {
            const char *v = colon + 1 < le && colon[1] == ' ' ? colon + 2 : colon + 1;
            h[n++] = (struct oca_http_header){ p, (size_t)(colon - p), v, (size_t)(le - v) };
        }
        p = nl ? nl + 1 : end;
    }
    if (p < end && *p == '\n')
        p++;
    struct oca_http_response r = {
        .err = OCA_OK, .status = status, .headers = h, .n_headers = n, .body = (const uint8_t *)p,
        .body_len = (size_t)(end - p),
    };
    struct oca_grpc_result res;
    void *scratch = NULL;
    oca_grpc_read_response(&r, &res, &scratch);
    if (!res.grpc_message || res.retry_delay_ns < -1)
        abort();
    volatile size_t k = strlen(res.grpc_message);
    if (res.detail)
        k += strlen(res.detail);
    (void)k;
    if (res.msg) {
        if (res.grpc_status != 0 || res.err != OCA_OK || res.msg_len > OCA_HTTP_CLIENT_MAX_RESPONSE)
            abort();
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < res.msg_len; i++)
            sum ^= res.msg[i];
        (void)sum;
    }
    free(scratch);
    return 0;
}
