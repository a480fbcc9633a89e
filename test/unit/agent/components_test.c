/* The generic test over every entry of the registry (agent/components.c): its defaults (plus the
 * few keys a type requires) validate; create then shutdown works without start; create, start,
 * consume a batch of every signal it declares, shutdown, destroy works and leaves the loop clean. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/components.h"
#include "base/arena.h"
#include "base/errors.h"
#include "config/diag.h"
#include "pipeline/batch.h"

/* Keys some types require, in YAML; everything else is the type's default. Listeners get port 0:
 * their default ports may be taken on the machine running the tests. */
static const struct { enum oca_kind kind; const char *type; const char *yaml; } required[] = {
    { OCA_EXPORTER, "file", "path: ${env:OCA_TEST_DIR}/components-test-out.jsonl" },
    /* not the default 13133: it may be taken */
    { OCA_EXTENSION, "health_check", "endpoint: 127.0.0.1:0" },
    { OCA_RECEIVER, "otlpjsonfile", "include: [\"${env:OCA_TEST_DIR}/none/*.jsonl\"]" },
    { OCA_RECEIVER, "otlp", "protocols: {grpc: {endpoint: \"127.0.0.1:0\"}, http: {endpoint: \"127.0.0.1:0\"}}" },
    /* Nothing listens on port 1: each batch fails once (no retries) so that shutdown drains. */
    { OCA_EXPORTER, "otlp", "{endpoint: \"127.0.0.1:1\", tls: {insecure: true}, retry_on_failure: {enabled: false}}" },
    { OCA_EXPORTER, "otlphttp", "{endpoint: \"http://127.0.0.1:1\", retry_on_failure: {enabled: false}}" },
    { OCA_RECEIVER, "opencensus", "endpoint: 127.0.0.1:0" },
    { OCA_EXPORTER, "prometheus", "endpoint: 127.0.0.1:0" },
    { OCA_EXPORTER, "zipkin", "endpoint: http://127.0.0.1:9/api/v2/spans" },
    /* Far above any agent, so batches pass. */
    { OCA_PROCESSOR, "memory_limiter", "{check_interval: 1s, limit_mib: 1000000}" },
};

static char tmpdir[256];

static int null_consume(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *b)
{
    (void)c; (void)sig; (void)b;
    return OCA_OK;
}

static struct oca_consumer sink = { .consume = null_consume };

static void *decode_config(struct oca_arena *arena, const struct oca_component_type *t)
{
    const char *yaml = "{}";
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (required[i].kind == t->kind && strcmp(required[i].type, t->name) == 0)
            yaml = required[i].yaml;
    return oca_test_valid_config(arena, t, yaml, t->name);
}

static int done_calls;
static void on_done(struct oca_component *self) { (void)self; done_calls++; }

static void init_component(struct oca_component *c, const struct oca_component_type *t, const void *cfg)
{
    memset(c, 0, sizeof(*c));
    c->type = t;
    c->id = t->name;
    c->config = cfg;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        c->next[s] = &sink;
}

static bool done_reached(void *want) { return done_calls >= *(const int *)want; }

static void run_until_done(uv_loop_t *loop, int want)
{
    oca_test_run_until(loop, done_reached, &want, 10000);
    assert_int_equal(done_calls, want);
}

static void test_create_shutdown_without_start(void **state)
{
    (void)state;
    for (const struct oca_component_type *const *t = oca_components; *t; t++) {
        struct oca_arena *arena = oca_arena_new(1024);
        struct oca_component c;
        init_component(&c, *t, decode_config(arena, *t));
        struct oca_diag diag;
        oca_diag_init(&diag);
        if ((*t)->create)
            assert_int_equal((*t)->create(&c, &diag), OCA_OK);
        done_calls = 0;
        if ((*t)->shutdown) {
            (*t)->shutdown(&c, on_done);
            assert_int_equal(done_calls, 1);
        }
        if ((*t)->destroy)
            (*t)->destroy(&c);
        oca_diag_free(&diag);
        oca_arena_destroy(arena);
    }
}

static void test_full_lifecycle_with_every_signal(void **state)
{
    (void)state;
    for (const struct oca_component_type *const *t = oca_components; *t; t++) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        struct oca_arena *arena = oca_arena_new(1024);
        struct oca_component c;
        init_component(&c, *t, decode_config(arena, *t));
        c.loop = &loop;
        struct oca_diag diag;
        oca_diag_init(&diag);
        if ((*t)->create)
            assert_int_equal((*t)->create(&c, &diag), OCA_OK);
        if ((*t)->start)
            assert_int_equal((*t)->start(&c, &loop), OCA_OK);
        for (int s = 0; s < OCA_SIGNAL_COUNT && (*t)->consume; s++) {
            if (!((*t)->signals & (1u << s)))
                continue;
            struct oca_batch *b = oca_batch_new((enum oca_signal)s);
            assert_int_equal((*t)->consume(&c, (enum oca_signal)s, b), OCA_OK);
            oca_batch_unref(b);
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        done_calls = 0;
        if ((*t)->shutdown)
            (*t)->shutdown(&c, on_done);
        run_until_done(&loop, (*t)->shutdown ? 1 : 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        if ((*t)->destroy)
            (*t)->destroy(&c);
        assert_int_equal(uv_loop_close(&loop), 0);
        oca_diag_free(&diag);
        oca_arena_destroy(arena);
    }
}

static void test_registry_names_are_unique_and_complete(void **state)
{
    (void)state;
    for (const struct oca_component_type *const *t = oca_components; *t; t++) {
        assert_non_null((*t)->name);
        assert_non_null((*t)->fields);
        assert_true((*t)->kind == OCA_EXTENSION || (*t)->signals != 0);
        for (const struct oca_component_type *const *u = t + 1; *u; u++) {
            if ((*u)->kind != (*t)->kind)
                continue;
            const char *tn[2] = { (*t)->name, (*t)->alias }, *un[2] = { (*u)->name, (*u)->alias };
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    assert_false(tn[i] && un[j] && strcmp(tn[i], un[j]) == 0);
        }
        assert_false((*t)->alias && strcmp((*t)->alias, (*t)->name) == 0);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/oca-components-%d", (int)getpid());
    mkdir(tmpdir, 0755);
    setenv("OCA_TEST_DIR", tmpdir, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_names_are_unique_and_complete),
        cmocka_unit_test(test_create_shutdown_without_start),
        cmocka_unit_test(test_full_lifecycle_with_every_signal),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return rc;
}
