/* libFuzzer harness for what the OTLP exporters read from a backend (exporters/otlp/wire.c): the
 * input is a response body, read as the partial_success of every signal's export response in
 * protobuf and JSON, and as the message of an error response under each content type the exporter
 * distinguishes. Must never crash, leak, or leave a message that is not one printable line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/otlp/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        for (int enc = OCA_ENCODING_PROTO; enc <= OCA_ENCODING_JSON; enc++) {
            struct oca_otlpexp_partial p;
            oca_otlpexp_parse_partial((enum oca_signal)sig, (enum oca_encoding)enc, data, size, &p);
            check_line(p.message);
        }
    }
    static const char *const types[] = { NULL, "application/x-protobuf", "application/json; charset=utf-8",
                                         "text/plain", "application/grpc" };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char out[256];
        oca_otlpexp_status_message(types[i], data, size, out, sizeof(out));
        if (strlen(out) >= sizeof(out))
            abort();
        check_line(out);
    }
    return 0;
}
