/* Tests for config/decode.c over a test-local table with every field kind, nested sections and an
 * optional section: defaults, each kind's parser, every error class with its exact message and
 * position, the shared scalar parsers and the `ocagent components` description. */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "config/decode.h"
#include "config/diag.h"
#include "config/yaml_tree.h"

enum mode { MODE_FAST = 7, MODE_SAFE = 9 };

struct tls_config {
    char *cert_file;
    bool insecure;
};

struct grpc_config {
    struct oca_endpoint endpoint;
    uint32_t max_streams;
    struct tls_config tls;
};

struct test_config {
    bool enabled;
    int64_t retries;
    uint32_t workers;
    double ratio;
    char *name;
    char *label;
    int64_t timeout;
    uint64_t limit;
    int mode;
    struct oca_endpoint endpoint;
    struct oca_strlist tags;
    struct oca_strmap headers;
    struct grpc_config grpc;
    bool grpc_on;
    struct tls_config tls;
};

static const struct oca_enum_name mode_names[] = { { "fast", MODE_FAST }, { "safe", MODE_SAFE }, { NULL, 0 } };

static const struct oca_field tls_fields[] = {
    OCA_FIELD_STRING(struct tls_config, cert_file, NULL, "Certificate file."),
    OCA_FIELD_BOOL(struct tls_config, insecure, "false", "Skip verification."),
    OCA_FIELD_END,
};

static const struct oca_field grpc_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct grpc_config, endpoint, "0.0.0.0:4317", "Where to listen."),
    OCA_FIELD_U32(struct grpc_config, max_streams, "100", 1, 1000, "Streams per connection."),
    OCA_FIELD_SECTION(struct grpc_config, tls, struct tls_config, tls_fields, "TLS."),
    OCA_FIELD_END,
};

static const struct oca_field test_fields[] = {
    OCA_FIELD_BOOL(struct test_config, enabled, "true", "On or off."),
    OCA_FIELD_INT(struct test_config, retries, "3", -5, 10, "Retries."),
    OCA_FIELD_U32(struct test_config, workers, "10", 1, 65535, "Workers."),
    OCA_FIELD_DOUBLE(struct test_config, ratio, "0.5", 0, 1, "Sampling ratio."),
    OCA_FIELD_STRING(struct test_config, name, "agent", "Name."),
    OCA_FIELD_STRING(struct test_config, label, NULL, "Label."),
    OCA_FIELD_DURATION(struct test_config, timeout, "5s", OCA_NS_PER_MS, 3600 * OCA_NS_PER_S, "Timeout."),
    OCA_FIELD_SIZE(struct test_config, limit, "4MiB", 1024, 1 << 30, "Limit."),
    OCA_FIELD_ENUM(struct test_config, mode, "fast", mode_names, "Mode."),
    OCA_FIELD_ENDPOINT(struct test_config, endpoint, "localhost:4317", "The address to send to."),
    OCA_FIELD_STRING_LIST(struct test_config, tags, "Tags."),
    OCA_FIELD_STRING_MAP(struct test_config, headers, "Headers."),
    OCA_FIELD_OPT_SECTION(struct test_config, grpc, struct grpc_config, grpc_fields, grpc_on, "gRPC server."),
    OCA_FIELD_SECTION(struct test_config, tls, struct tls_config, tls_fields, "Client TLS."),
    OCA_FIELD_END,
};

/* What the last decode() produced. */
static struct test_config decoded;

/* Decodes yaml into a fresh `decoded` under path "test"; returns the error count. */
static int decode(struct oca_test_fixture *f, const char *yaml)
{
    memset(&decoded, 0, sizeof(decoded));
    oca_diag_free(&f->diag);
    const struct oca_ynode *node = NULL;
    if (yaml) {
        node = oca_yaml_parse(f->arena, "d.yaml", yaml, strlen(yaml), &f->diag);
        assert_non_null(node);
    }
    int n = oca_config_decode(f->arena, test_fields, &decoded, node, "test", &f->diag);
    assert_int_equal(n, f->diag.errors);
    return n;
}

static void expect(struct oca_test_fixture *f, const char *yaml, const char *messages)
{
    assert_int_not_equal(decode(f, yaml), 0);
    assert_string_equal(f->diag.text.data, messages);
}

static void assert_defaults(const struct test_config *c)
{
    assert_true(c->enabled);
    assert_int_equal(c->retries, 3);
    assert_int_equal(c->workers, 10);
    assert_true(c->ratio == 0.5);
    assert_string_equal(c->name, "agent");
    assert_null(c->label);
    assert_int_equal(c->timeout, 5 * OCA_NS_PER_S);
    assert_int_equal(c->limit, 4 << 20);
    assert_int_equal(c->mode, MODE_FAST);
    assert_string_equal(c->endpoint.host, "localhost");
    assert_int_equal(c->endpoint.port, 4317);
    assert_string_equal(c->endpoint.text, "localhost:4317");
    assert_int_equal(c->tags.n, 0);
    assert_int_equal(c->headers.n, 0);
    assert_false(c->grpc_on);
    assert_string_equal(c->grpc.endpoint.host, "0.0.0.0");
    assert_int_equal(c->grpc.max_streams, 100);
    assert_false(c->grpc.tls.insecure);
    assert_null(c->tls.cert_file);
}

static void test_defaults(void **state)
{
    struct oca_test_fixture *f = *state;
    const char *empty[] = { NULL, "", "{}", "enabled:\nretries: ~\ntls:\n" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(decode(f, empty[i]), 0);
        assert_defaults(&decoded);
    }
}

static void test_every_kind(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "enabled: False\nretries: -5\nworkers: +65535\nratio: 1e-1\nname: 123\n"
                               "label: 'x y'\ntimeout: 1h\nlimit: 5KB\nmode: safe\nendpoint: \"[::1]:0\"\n"
                               "tags: [a, 'b']\nheaders: {k: v, n: 1}\ntls: {cert_file: c.pem}\n"),
                     0);
    const struct test_config *c = &decoded;
    assert_false(c->enabled);
    assert_int_equal(c->retries, -5);
    assert_int_equal(c->workers, 65535);
    assert_true(c->ratio == 0.1);
    assert_string_equal(c->name, "123");
    assert_string_equal(c->label, "x y");
    assert_int_equal(c->timeout, 3600 * OCA_NS_PER_S);
    assert_int_equal(c->limit, 5000);
    assert_int_equal(c->mode, MODE_SAFE);
    assert_string_equal(c->endpoint.host, "::1");
    assert_int_equal(c->endpoint.port, 0);
    assert_string_equal(c->endpoint.text, "[::1]:0");
    assert_int_equal(c->tags.n, 2);
    assert_string_equal(c->tags.items[0], "a");
    assert_string_equal(c->tags.items[1], "b");
    assert_int_equal(c->headers.n, 2);
    assert_string_equal(c->headers.keys[1], "n");
    assert_string_equal(c->headers.values[1], "1");
    assert_string_equal(c->tls.cert_file, "c.pem");
    assert_false(c->grpc_on);
}

static void test_bool(void **state)
{
    struct oca_test_fixture *f = *state;
    const char *yes[] = { "enabled: true", "enabled: True", "enabled: TRUE" };
    const char *no[] = { "enabled: false", "enabled: False", "enabled: FALSE" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(decode(f, yes[i]), 0);
        assert_true(decoded.enabled);
        assert_int_equal(decode(f, no[i]), 0);
        assert_false(decoded.enabled);
    }
    expect(f, "enabled: yes\n", "d.yaml:1:10: test.enabled: expected a boolean (true or false), got \"yes\"\n");
    expect(f, "enabled: 'true'\n",
           "d.yaml:1:10: test.enabled: expected a boolean (true or false), got a quoted string \"true\"\n");
}

static void test_integers(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "retries: +7\nworkers: 1\n"), 0);
    assert_int_equal(decoded.retries, 7);
    assert_int_equal(decoded.workers, 1);
    expect(f, "retries: 11\n", "d.yaml:1:10: test.retries: value 11 out of range [-5, 10]\n");
    expect(f, "workers: 70000\n", "d.yaml:1:10: test.workers: value 70000 out of range [1, 65535]\n");
    expect(f, "workers: -1\n", "d.yaml:1:10: test.workers: value -1 out of range [1, 65535]\n");
    expect(f, "retries: 99999999999999999999\n",
           "d.yaml:1:10: test.retries: value 99999999999999999999 out of range [-5, 10]\n");
    expect(f, "retries: 1.5\n", "d.yaml:1:10: test.retries: expected an integer, got \"1.5\"\n");
    expect(f, "retries: 0x10\n", "d.yaml:1:10: test.retries: expected an integer, got \"0x10\"\n");
    expect(f, "retries: \"3\"\n", "d.yaml:1:10: test.retries: expected an integer, got a quoted string \"3\"\n");
    expect(f, "retries: [3]\n", "d.yaml:1:10: test.retries: expected an integer, got a sequence\n");
    /* A value out of range keeps the default. */
    assert_int_equal(decoded.retries, 3);
}

static void test_double(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "ratio: 1\n"), 0);
    assert_true(decoded.ratio == 1.0);
    assert_int_equal(decode(f, "ratio: .25\n"), 0);
    assert_true(decoded.ratio == 0.25);
    expect(f, "ratio: 1.5\n", "d.yaml:1:8: test.ratio: value 1.5 out of range [0, 1]\n");
    expect(f, "ratio: half\n", "d.yaml:1:8: test.ratio: expected a number, got \"half\"\n");
    expect(f, "ratio: .nan\n", "d.yaml:1:8: test.ratio: expected a number, got \".nan\"\n");
    expect(f, "ratio: 0x1p-2\n", "d.yaml:1:8: test.ratio: expected a number, got \"0x1p-2\"\n");
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct { const char *in; int64_t ns; } ok[] = {
        { "0", 0 }, { "5s", 5 * OCA_NS_PER_S }, { "1.5s", 1500 * OCA_NS_PER_MS },
        { "1h30m", 5400 * OCA_NS_PER_S }, { "200ms", 200 * OCA_NS_PER_MS }, { "1us", 1000 },
        { "1\xc2\xb5s", 1000 }, { "3ns", 3 }, { "-1s", -OCA_NS_PER_S }, { "+2m", 120 * OCA_NS_PER_S },
        { ".5s", 500 * OCA_NS_PER_MS }, { "1m0.25s", 60250 * OCA_NS_PER_MS }, { "2562047h", INT64_C(2562047) * 3600 * OCA_NS_PER_S },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ns = -42;
        const char *why = NULL;
        assert_int_equal(oca_config_parse_duration(ok[i].in, &ns, &why), 0);
        assert_int_equal(ns, ok[i].ns);
    }
    static const struct { const char *in, *why; } bad[] = {
        { "5", "missing unit (use ns, us, ms, s, m or h)" },
        { "5x", "unknown unit (use ns, us, ms, s, m or h)" },
        { "5 s", "unknown unit (use ns, us, ms, s, m or h)" },
        { "", "expected a number followed by a unit, like 5s or 1h30m" },
        { "s", "expected a number followed by a unit, like 5s or 1h30m" },
        { "1h-5m", "unknown unit (use ns, us, ms, s, m or h)" },
        { "2562048h", "too large" },
        { "99999999999999999999s", "too large" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns;
        const char *why = NULL;
        assert_int_equal(oca_config_parse_duration(bad[i].in, &ns, &why), -1);
        assert_string_equal(why, bad[i].why);
    }
}

static void test_duration_field(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "timeout: 250ms\n"), 0);
    assert_int_equal(decoded.timeout, 250 * OCA_NS_PER_MS);
    assert_int_equal(decode(f, "timeout: '1m'\n"), 0);
    expect(f, "timeout: 2h\n", "d.yaml:1:10: test.timeout: value 2h out of range [1ms, 1h]\n");
    expect(f, "timeout: 0\n", "d.yaml:1:10: test.timeout: value 0 out of range [1ms, 1h]\n");
    expect(f, "timeout: 5\n",
           "d.yaml:1:10: test.timeout: invalid duration \"5\": missing unit (use ns, us, ms, s, m or h)\n");
    expect(f, "timeout: {a: 1}\n", "d.yaml:1:10: test.timeout: expected a duration, got a mapping\n");
}

static void test_parse_size(void **state)
{
    (void)state;
    static const struct { const char *in; uint64_t bytes; } ok[] = {
        { "0", 0 }, { "1000", 1000 }, { "10B", 10 }, { "5KB", 5000 }, { "2MB", 2000000 },
        { "1GB", 1000000000 }, { "512KiB", 512 << 10 }, { "4MiB", 4 << 20 }, { "3GiB", UINT64_C(3) << 30 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t b = 42;
        const char *why = NULL;
        assert_int_equal(oca_config_parse_size(ok[i].in, &b, &why), 0);
        assert_int_equal(b, ok[i].bytes);
    }
    static const struct { const char *in, *why; } bad[] = {
        { "4mb", "unknown unit (use B, KB, MB, GB, KiB, MiB or GiB)" },
        { "1.5MiB", "unknown unit (use B, KB, MB, GB, KiB, MiB or GiB)" },
        { "-1", "expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB)" },
        { "MiB", "expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB)" },
        { "99999999999999999999", "too large" },
        { "17179869184GiB", "too large" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t b;
        const char *why = NULL;
        assert_int_equal(oca_config_parse_size(bad[i].in, &b, &why), -1);
        assert_string_equal(why, bad[i].why);
    }
}

static void test_size_field(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "limit: 1GiB\n"), 0);
    assert_int_equal(decoded.limit, 1 << 30);
    expect(f, "limit: 2GiB\n", "d.yaml:1:8: test.limit: value 2GiB out of range [1KiB, 1GiB]\n");
    expect(f, "limit: 1000\n", "d.yaml:1:8: test.limit: value 1000 out of range [1KiB, 1GiB]\n");
    expect(f, "limit: 4 MiB\n",
           "d.yaml:1:8: test.limit: invalid size \"4 MiB\": unknown unit (use B, KB, MB, GB, KiB, MiB or GiB)\n");
}

static void test_enum(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "mode: \"safe\"\n"), 0);
    assert_int_equal(decoded.mode, MODE_SAFE);
    expect(f, "mode: slow\n", "d.yaml:1:7: test.mode: invalid value \"slow\" (one of: fast, safe)\n");
    expect(f, "mode: Fast\n", "d.yaml:1:7: test.mode: invalid value \"Fast\" (one of: fast, safe)\n");
}

static void test_parse_endpoint(void **state)
{
    struct oca_test_fixture *f = *state;
    static const struct { const char *in, *host; unsigned port; } ok[] = {
        { "localhost:4317", "localhost", 4317 }, { "0.0.0.0:1", "0.0.0.0", 1 }, { "[::1]:65535", "::1", 65535 },
        { ":4318", "", 4318 }, { "host:0", "host", 0 }, { "[::]:80", "::", 80 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct oca_endpoint ep = { 0 };
        const char *why = NULL;
        assert_int_equal(oca_config_parse_endpoint(f->arena, ok[i].in, &ep, &why), 0);
        assert_string_equal(ep.host, ok[i].host);
        assert_int_equal(ep.port, ok[i].port);
        assert_string_equal(ep.text, ok[i].in);
    }
    static const struct { const char *in, *why; } bad[] = {
        { "localhost", "missing port (expected host:port)" },
        { "[::1]", "missing port (expected host:port)" },
        { "::1:4317", "IPv6 addresses must be in brackets, like [::1]:4317" },
        { "http://localhost:4317", "expected host:port, not a URL" },
        { "host:70000", "the port must be a number from 0 to 65535" },
        { "host:", "the port must be a number from 0 to 65535" },
        { "host:12ab", "the port must be a number from 0 to 65535" },
        { "[::1:4317", "expected [IPv6 address]:port" },
        { "a b:1", "invalid character in host" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct oca_endpoint ep = { 0 };
        const char *why = NULL;
        assert_int_equal(oca_config_parse_endpoint(f->arena, bad[i].in, &ep, &why), -1);
        assert_string_equal(why, bad[i].why);
        assert_null(ep.text);
    }
}

static void test_endpoint_field(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "endpoint: :9000\n"), 0);
    assert_string_equal(decoded.endpoint.host, "");
    assert_int_equal(decoded.endpoint.port, 9000);
    expect(f, "endpoint: localhost\n",
           "d.yaml:1:11: test.endpoint: invalid endpoint \"localhost\": missing port (expected host:port)\n");
}

static void test_strings_and_lists(void **state)
{
    struct oca_test_fixture *f = *state;
    expect(f, "name: {a: b}\n", "d.yaml:1:7: test.name: expected a string, got a mapping\n");
    expect(f, "tags: solo\n", "d.yaml:1:7: test.tags: expected a sequence of strings, got \"solo\"\n");
    expect(f, "tags:\n  - a\n  - [b]\n  - {c: d}\n",
           "d.yaml:3:5: test.tags: expected a string, got a sequence\n"
           "d.yaml:4:5: test.tags: expected a string, got a mapping\n");
    assert_int_equal(decoded.tags.n, 0);
    assert_int_equal(decode(f, "tags: []\n"), 0);
    assert_int_equal(decoded.tags.n, 0);
    expect(f, "headers: [a]\n", "d.yaml:1:10: test.headers: expected a mapping of strings to strings, got a sequence\n");
    expect(f, "headers:\n  a: [1]\n", "d.yaml:2:6: test.headers.a: expected a string, got a sequence\n");
}

static void test_sections(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "grpc:\n"), 0);
    assert_true(decoded.grpc_on);
    assert_int_equal(decoded.grpc.max_streams, 100);
    assert_string_equal(decoded.grpc.endpoint.text, "0.0.0.0:4317");
    assert_int_equal(decode(f, "grpc: {}\n"), 0);
    assert_true(decoded.grpc_on);
    assert_int_equal(decode(f, "grpc:\n  max_streams: 5\n  tls:\n    insecure: true\n"), 0);
    assert_true(decoded.grpc_on);
    assert_int_equal(decoded.grpc.max_streams, 5);
    assert_true(decoded.grpc.tls.insecure);
    assert_string_equal(decoded.grpc.endpoint.text, "0.0.0.0:4317");
    expect(f, "grpc:\n  tls:\n    insecure: 1\n",
           "d.yaml:3:15: test.grpc.tls.insecure: expected a boolean (true or false), got \"1\"\n");
    expect(f, "tls: x\n", "d.yaml:1:6: test.tls: expected a mapping, got \"x\"\n");
    expect(f, "- a\n", "d.yaml:1:1: test: expected a mapping, got a sequence\n");
}

static void test_unknown_keys(void **state)
{
    struct oca_test_fixture *f = *state;
    expect(f, "grpc:\n  endpont: :1\n", "d.yaml:2:3: test.grpc.endpont: unknown key (did you mean endpoint?)\n");
    expect(f, "nmae: x\n", "d.yaml:1:1: test.nmae: unknown key (did you mean name?)\n");
    expect(f, "grpc:\n  zzz: 1\n",
           "d.yaml:2:3: test.grpc.zzz: unknown key (valid keys: endpoint, max_streams, tls)\n");
}

static void test_many_errors(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "enabled: 2\nbogus: 1\nworkers: 0\ngrpc:\n  max_streams: 0\nmode: x\n"), 5);
    assert_string_equal(f->diag.text.data,
                        "d.yaml:1:10: test.enabled: expected a boolean (true or false), got \"2\"\n"
                        "d.yaml:2:1: test.bogus: unknown key (valid keys: enabled, retries, workers, ratio, "
                        "name, label, timeout, limit, mode, endpoint, tags, headers, grpc, tls)\n"
                        "d.yaml:3:10: test.workers: value 0 out of range [1, 65535]\n"
                        "d.yaml:5:16: test.grpc.max_streams: value 0 out of range [1, 1000]\n"
                        "d.yaml:6:7: test.mode: invalid value \"x\" (one of: fast, safe)\n");
    /* Everything that was fine is still decoded. */
    assert_true(decoded.grpc_on);
    assert_int_equal(decoded.workers, 10);
}

struct bad_default {
    int64_t timeout;
    struct oca_endpoint endpoint;
};

static void test_bad_default(void **state)
{
    struct oca_test_fixture *f = *state;
    static const struct oca_field fields[] = {
        OCA_FIELD_DURATION(struct bad_default, timeout, "5", 0, OCA_NS_PER_S, "Timeout."),
        OCA_FIELD_ENDPOINT(struct bad_default, endpoint, "nope", "Endpoint."),
        OCA_FIELD_END,
    };
    struct bad_default cfg = { 0 };
    assert_int_equal(oca_config_decode(f->arena, fields, &cfg, NULL, "x", &f->diag), 2);
    assert_string_equal(f->diag.text.data,
                        "x.timeout: invalid default: invalid duration \"5\": missing unit (use ns, us, ms, s, m or h)\n"
                        "x.endpoint: invalid default: invalid endpoint \"nope\": missing port (expected host:port)\n");
}

static void test_empty_table(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *node = oca_yaml_parse(f->arena, "d.yaml", "a: 1\n", 5, &f->diag);
    char cfg[1];
    assert_int_equal(oca_config_decode(f->arena, NULL, cfg, node, "extensions.x", &f->diag), 1);
    assert_string_equal(f->diag.text.data, "d.yaml:1:1: extensions.x.a: unknown key (this section takes no keys)\n");
}

static void test_describe(void **state)
{
    (void)state;
    struct oca_buf out = { 0 };
    oca_config_describe(test_fields, 2, &out);
    assert_string_equal(out.data,
                        "  enabled: bool = true  # On or off.\n"
                        "  retries: int [-5..10] = 3  # Retries.\n"
                        "  workers: uint32 [1..65535] = 10  # Workers.\n"
                        "  ratio: float [0..1] = 0.5  # Sampling ratio.\n"
                        "  name: string = agent  # Name.\n"
                        "  label: string  # Label.\n"
                        "  timeout: duration [1ms..1h] = 5s  # Timeout.\n"
                        "  limit: size [1KiB..1GiB] = 4MiB  # Limit.\n"
                        "  mode: enum (fast|safe) = fast  # Mode.\n"
                        "  endpoint: endpoint = localhost:4317  # The address to send to.\n"
                        "  tags: string list  # Tags.\n"
                        "  headers: string map  # Headers.\n"
                        "  grpc: optional section  # gRPC server.\n"
                        "    endpoint: endpoint = 0.0.0.0:4317  # Where to listen.\n"
                        "    max_streams: uint32 [1..1000] = 100  # Streams per connection.\n"
                        "    tls: section  # TLS.\n"
                        "      cert_file: string  # Certificate file.\n"
                        "      insecure: bool = false  # Skip verification.\n"
                        "  tls: section  # Client TLS.\n"
                        "    cert_file: string  # Certificate file.\n"
                        "    insecure: bool = false  # Skip verification.\n");
    oca_buf_free(&out);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(oca_field_kind_name(OCA_FIELD_KIND_DURATION), "duration");
    assert_string_equal(oca_field_kind_name(OCA_FIELD_KIND_ENDPOINT), "endpoint");
    assert_string_equal(oca_field_kind_name(OCA_FIELD_KIND_STRING_LIST), "string list");
    assert_string_equal(oca_field_kind_name((enum oca_field_kind)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OCA_TEST_WITH_FIXTURE(test_defaults),
        OCA_TEST_WITH_FIXTURE(test_every_kind),
        OCA_TEST_WITH_FIXTURE(test_bool),
        OCA_TEST_WITH_FIXTURE(test_integers),
        OCA_TEST_WITH_FIXTURE(test_double),
        OCA_TEST_WITH_FIXTURE(test_parse_duration),
        OCA_TEST_WITH_FIXTURE(test_duration_field),
        OCA_TEST_WITH_FIXTURE(test_parse_size),
        OCA_TEST_WITH_FIXTURE(test_size_field),
        OCA_TEST_WITH_FIXTURE(test_enum),
        OCA_TEST_WITH_FIXTURE(test_parse_endpoint),
        OCA_TEST_WITH_FIXTURE(test_endpoint_field),
        OCA_TEST_WITH_FIXTURE(test_strings_and_lists),
        OCA_TEST_WITH_FIXTURE(test_sections),
        OCA_TEST_WITH_FIXTURE(test_unknown_keys),
        OCA_TEST_WITH_FIXTURE(test_many_errors),
        OCA_TEST_WITH_FIXTURE(test_bad_default),
        OCA_TEST_WITH_FIXTURE(test_empty_table),
        OCA_TEST_WITH_FIXTURE(test_describe),
        OCA_TEST_WITH_FIXTURE(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
