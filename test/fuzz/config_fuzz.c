/* libFuzzer harness for config/: loads the input as a collector config against a small fake
 * registry (every field kind, an optional section, listen endpoints, a validate rule) and frees
 * everything. Input holding "\n#--\n" is split into two sources so merging is exercised too; the
 * input is also fed to the duration, size and endpoint parsers. Must never crash or leak. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/errors.h"
#include "config/collector.h"
#include "config/decode.h"
#include "config/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tls_config {
    char *cert_file;
    bool insecure;
};

struct http_config {
    struct oca_endpoint endpoint;
    struct tls_config tls;
    struct oca_strmap headers;
};

struct recv_config {
    struct oca_endpoint endpoint;
    struct http_config http;
    bool http_on;
    int64_t timeout;
    uint64_t max_size;
    struct oca_strlist include;
};

struct exp_config {
    struct oca_endpoint endpoint;
    int verbosity;
    double ratio;
    int64_t retries;
    uint32_t workers;
};

static const struct oca_enum_name verbosity_names[] = {
    { "basic", 0 }, { "normal", 1 }, { "detailed", 2 }, { NULL, 0 },
};
static const struct oca_field tls_fields[] = {
    OCA_FIELD_STRING(struct tls_config, cert_file, NULL, "Certificate."),
    OCA_FIELD_BOOL(struct tls_config, insecure, "false", "Skip checks."),
    OCA_FIELD_END,
};
static const struct oca_field http_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct http_config, endpoint, "0.0.0.0:4318", "HTTP address."),
    OCA_FIELD_SECTION(struct http_config, tls, struct tls_config, tls_fields, "TLS."),
    OCA_FIELD_STRING_MAP(struct http_config, headers, "Headers."),
    OCA_FIELD_END,
};
static const struct oca_field recv_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct recv_config, endpoint, "0.0.0.0:4317", "gRPC address."),
    OCA_FIELD_OPT_SECTION(struct recv_config, http, struct http_config, http_fields, http_on, "HTTP."),
    OCA_FIELD_DURATION(struct recv_config, timeout, "1s", 0, 3600 * OCA_NS_PER_S, "Timeout."),
    OCA_FIELD_SIZE(struct recv_config, max_size, "4MiB", 1, INT64_C(1) << 30, "Largest request."),
    OCA_FIELD_STRING_LIST(struct recv_config, include, "Globs."),
    OCA_FIELD_END,
};
static const struct oca_field exp_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct exp_config, endpoint, "localhost:8889", "Scrape address."),
    OCA_FIELD_ENUM(struct exp_config, verbosity, "basic", verbosity_names, "Detail."),
    OCA_FIELD_DOUBLE(struct exp_config, ratio, "1", 0, 1, "Ratio."),
    OCA_FIELD_INT(struct exp_config, retries, "3", -1, 100, "Retries."),
    OCA_FIELD_U32(struct exp_config, workers, "4", 1, 64, "Workers."),
    OCA_FIELD_END,
};

static int recv_validate(const void *cfg, struct oca_diag *diag)
{
    const struct recv_config *c = cfg;
    if (c->http_on && c->http.tls.insecure && !c->http.tls.cert_file) {
        oca_diag_field_error(diag, "http.tls.insecure", "needs cert_file");
        return OCA_ERR_CONFIG;
    }
    return OCA_OK;
}

static const struct oca_component_type recv_type = {
    .name = "otlp", .kind = OCA_RECEIVER, .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct recv_config), .fields = recv_fields, .validate = recv_validate,
};
static const struct oca_component_type logs_recv_type = {
    .name = "filelog", .kind = OCA_RECEIVER, .signals = OCA_LOGS,
};
static const struct oca_component_type proc_type = {
    .name = "batch", .kind = OCA_PROCESSOR, .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
};
static const struct oca_component_type exp_type = {
    .name = "debug", .kind = OCA_EXPORTER, .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct exp_config), .fields = exp_fields,
};
static const struct oca_component_type ext_type = {
    .name = "health_check", .kind = OCA_EXTENSION,
    .config_size = sizeof(struct http_config), .fields = http_fields,
};
static const struct oca_component_type *const registry[] = {
    &recv_type, &logs_recv_type, &proc_type, &exp_type, &ext_type, NULL,
};

static void fuzz_scalars(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ns;
    uint64_t bytes;
    const char *why;
    struct oca_endpoint ep;
    struct oca_arena *arena = oca_arena_new(256);
    (void)oca_config_parse_duration(s, &ns, &why);
    (void)oca_config_parse_size(s, &bytes, &why);
    (void)oca_config_parse_endpoint(arena, s, &ep, &why);
    oca_arena_destroy(arena);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n#--\n";
    const char *text = (const char *)data;
    const char *split = size >= sizeof(sep) - 1 ? memmem(text, size, sep, sizeof(sep) - 1) : NULL;
    struct oca_config_source src[2] = { { "a.yaml", text, size }, { "b.yaml", NULL, 0 } };
    size_t n = 1;
    if (split) {
        src[0].len = (size_t)(split - text);
        src[1].text = split + sizeof(sep) - 1;
        src[1].len = size - src[0].len - (sizeof(sep) - 1);
        n = 2;
    }
    struct oca_diag diag;
    oca_diag_init(&diag);
    struct oca_collector_config *cfg = oca_collector_config_load(src, n, registry, &diag);
    if (!cfg && diag.errors == 0)
        abort();    /* a failed load must always say why */
    if (cfg && diag.errors != 0)
        abort();
    oca_collector_config_free(cfg);
    oca_diag_free(&diag);
    fuzz_scalars(data, size);
    return 0;
}
