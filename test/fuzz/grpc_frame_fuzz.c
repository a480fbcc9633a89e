/* libFuzzer harness for net/grpc.c's message deframer: the input's first byte picks the encoding
 * (bit 0: compressed, gzip or with bit 3 zstd), the message limit and how the rest is cut into
 * chunks; the rest is fed as a request body and every message is drained, as a call would. The deframer must never crash, read out of bounds, return a
 * message over the limit, or hold more than one message plus one chunk. The grpc-timeout parser
 * and the grpc-message encoder get the input too. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    enum oca_grpc_encoding enc = !(ctl & 1) ? OCA_GRPC_ENC_IDENTITY : (ctl & 8) ? OCA_GRPC_ENC_ZSTD : OCA_GRPC_ENC_GZIP;
    static const uint64_t limits[] = { 16, 1024, 65536, 4u * 1024 * 1024 };
    uint64_t max = limits[(ctl >> 1) & 3];
    struct oca_grpc_deframer d;
    oca_grpc_deframer_init(&d, enc, max);
    /* Chunk sizes from a small generator seeded by the control byte: 1 byte up to all at once. */
    uint32_t seed = ctl * 2654435761u + 1;
    size_t off = 0;
    int err = 0;
    while (off < size && !err) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (ctl & 0x80) ? size : 1 + (seed >> 16) % 257;
        if (n > size - off)
            n = size - off;
        oca_grpc_deframer_feed(&d, data + off, n);
        off += n;
        for (;;) {
            const uint8_t *msg;
            size_t len;
            const char *why;
            int r = oca_grpc_deframer_next(&d, &msg, &len, &why);
            if (r == 0)
                break;
            if (r < 0) {
                if (!why || !*why)
                    abort();
                err = r;
                break;
            }
            if (len > max)
                abort();
            /* Touch every byte so ASan sees a bad pointer. */
            volatile uint8_t sum = 0;
            for (size_t i = 0; i < len; i++)
                sum ^= msg[i];
            (void)sum;
        }
        if (!err && oca_grpc_deframer_pending(&d) > max + 5 + 257 && !(ctl & 0x80))
            abort();
    }
    oca_grpc_deframer_free(&d);

    char text[64];
    size_t tn = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, tn);
    text[tn] = '\0';
    int64_t ns;
    if (oca_grpc_parse_timeout(text, &ns) && ns < 0)
        abort();
    char *enc_msg = oca_grpc_percent_encode(text);
    for (const char *p = enc_msg; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            abort();
    free(enc_msg);
    return 0;
}
