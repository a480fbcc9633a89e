/* The harness and helpers every unit test program is linked with; see testutil.h. Failures are
 * reported through cmocka's assertions, so a helper that fails ends the test that called it. */
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "base/arena.h"
#include "base/errors.h"
#include "config/decode.h"
#include "config/yaml_tree.h"

static void on_guard(uv_timer_t *t) { (void)t; }

struct until {
    bool (*cond)(void *);
    void *arg;
};

/* Runs just before the loop would block for I/O: when a callback earlier in this iteration (a
 * timer, say) made the condition true, stop the loop instead of sleeping until the guard. */
static void on_prepare(uv_prepare_t *p)
{
    struct until *u = p->data;
    if (u->cond(u->arg))
        uv_stop(p->loop);
}

bool oca_test_run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, uint64_t ms)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, on_guard, ms, 0);
    struct until u = { cond, arg };
    uv_prepare_t prepare;
    uv_prepare_init(loop, &prepare);
    prepare.data = &u;
    uv_prepare_start(&prepare, on_prepare);
    uint64_t deadline = uv_hrtime() + ms * 1000000;
    bool ok;
    while (!(ok = cond(arg)) && uv_hrtime() < deadline) {
        /* The loop's cached clock may lag, so the guard can fire before the deadline: re-arm it,
         * or UV_RUN_ONCE would block with nothing left to wake it. */
        if (!uv_is_active((uv_handle_t *)&guard))
            uv_timer_start(&guard, on_guard, (deadline - uv_hrtime()) / 1000000 + 1, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&prepare, NULL);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

/* Everything from the start of f to its end (malloc'd, NUL-terminated). */
static char *read_stream(FILE *f, size_t *len)
{
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    if (len)
        *len = (size_t)n;
    return text;
}

void oca_test_capture_start(struct oca_test_capture *c)
{
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

char *oca_test_capture_end(struct oca_test_capture *c)
{
    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    char *text = read_stream(c->f, NULL);
    fclose(c->f);
    c->f = NULL;
    return text;
}

char *oca_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = read_stream(f, len);
    fclose(f);
    return data;
}

void oca_test_make_dir(char *dir, size_t size, const char *prefix)
{
    snprintf(dir, size, "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(dir));
}

void oca_test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int oca_test_decode_config(struct oca_arena *a, const struct oca_component_type *t, const char *yaml,
                           const char *path, struct oca_diag *diag, void **cfg)
{
    const struct oca_ynode *node = NULL;
    if (yaml) {
        node = oca_yaml_parse(a, "t.yaml", yaml, strlen(yaml), diag);
        assert_non_null(node);
    }
    *cfg = oca_arena_zalloc(a, t->config_size ? t->config_size : 1);
    int errors = oca_config_decode(a, t->fields, *cfg, node, path, diag);
    diag->ctx = node;
    diag->ctx_path = path;
    return errors;
}

void oca_test_expect_invalid(const struct oca_component_type *t, const char *path, const char *yaml,
                             const char *message)
{
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    oca_diag_init(&diag);
    void *cfg;
    assert_int_equal(oca_test_decode_config(a, t, yaml, path, &diag, &cfg), 0);
    assert_int_equal(t->validate(cfg, &diag), OCA_ERR_CONFIG);
    if (!diag.text.data || !strstr(diag.text.data, message))
        fail_msg("\"%s\" lacks \"%s\"", diag.text.data ? diag.text.data : "", message);
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

void *oca_test_valid_config(struct oca_arena *a, const struct oca_component_type *t, const char *yaml,
                            const char *path)
{
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    int errors = oca_test_decode_config(a, t, yaml, path, &diag, &cfg);
    int err = errors == 0 && t->validate ? t->validate(cfg, &diag) : OCA_OK;
    if (errors || err != OCA_OK || diag.errors)
        fail_msg("%s: %s", path, diag.text.data ? diag.text.data : "invalid config");
    oca_diag_free(&diag);
    return cfg;
}

int oca_test_fixture_setup(void **state)
{
    struct oca_test_fixture *f = calloc(1, sizeof(*f));
    f->arena = oca_arena_new(1024);
    oca_diag_init(&f->diag);
    *state = f;
    return 0;
}

int oca_test_fixture_teardown(void **state)
{
    struct oca_test_fixture *f = *state;
    oca_diag_free(&f->diag);
    oca_arena_destroy(f->arena);
    free(f);
    return 0;
}

static int fake_consume(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *b)
{
    struct oca_test_fake *f = (struct oca_test_fake *)c;
    f->calls++;
    assert_int_equal(sig, b->signal);
    if (f->refuse_left > 0 && (!f->refuse_sigs || (f->refuse_sigs & (1u << sig)))) {
        f->refuse_left--;
        return f->refuse_with;
    }
    if (f->count_only) {
        f->items += b->items;
        f->n++;
        return OCA_OK;
    }
    assert_true(f->n < OCA_TEST_FAKE_MAX);
    f->got[f->n++] = oca_batch_ref(b);
    return OCA_OK;
}

void oca_test_harness_init(struct oca_test_harness *h, const struct oca_component_type *t, const char *id,
                           const char *yaml, const char *path)
{
    assert_int_equal(uv_loop_init(&h->loop), 0);
    h->arena = oca_arena_new(4096);
    h->fake.base.consume = fake_consume;
    h->comp.type = t;
    h->comp.id = id;
    h->comp.config = oca_test_valid_config(h->arena, t, yaml, path);
    h->comp.counters = &h->counters;
    h->comp.loop = &h->loop;
    if (t->kind != OCA_EXPORTER)
        for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
            h->comp.next[s] = &h->fake.base;
    assert_int_equal(t->create(&h->comp, NULL), OCA_OK);
}

void oca_test_on_done(struct oca_component *self)
{
    struct oca_test_harness *h = (struct oca_test_harness *)((char *)self - offsetof(struct oca_test_harness, comp));
    h->done_calls++;
}

bool oca_test_done_called(void *harness) { return ((struct oca_test_harness *)harness)->done_calls > 0; }

void oca_test_harness_shutdown(struct oca_test_harness *h)
{
    h->comp.type->shutdown(&h->comp, oca_test_on_done);
    assert_true(oca_test_run_until(&h->loop, oca_test_done_called, h, 10000));
}

int oca_test_consume(struct oca_test_harness *h, struct oca_batch *b)
{
    int err = h->comp.type->consume(&h->comp, b->signal, b);
    oca_batch_unref(b);
    return err;
}

void oca_test_harness_free(struct oca_test_harness *h)
{
    if (h->done_calls == 0)
        oca_test_harness_shutdown(h);
    h->comp.type->destroy(&h->comp);
    for (size_t k = 0; k < h->fake.n && !h->fake.count_only; k++)
        oca_batch_unref(h->fake.got[k]);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    oca_arena_destroy(h->arena);
    if (h->dir[0])
        oca_test_remove_dir(h->dir);
}

Opentelemetry__Proto__Common__V1__KeyValue *oca_test_string_attr(struct oca_arena *a, const char *k,
                                                                 const char *v)
{
    Opentelemetry__Proto__Common__V1__KeyValue *kv = oca_arena_zalloc(a, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = oca_arena_strdup(a, k);
    kv->value = oca_arena_zalloc(a, sizeof(*kv->value));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = oca_arena_strdup(a, v);
    return kv;
}

uint8_t *oca_test_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len + 1);
    assert_int_equal(protobuf_c_message_pack(m, p), *len);
    return p;
}

uint8_t *oca_test_zstd(const void *data, size_t len, int window_log, size_t *zlen)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
    if (window_log)
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log)));
    size_t cap = ZSTD_compressBound(len) + 64;
    uint8_t *out = malloc(cap);
    ZSTD_outBuffer o = { out, cap, 0 };
    ZSTD_inBuffer in = { data, len, 0 };
    /* A first step that only continues leaves the size unknown, so the window stays as set. */
    if (window_log)
        while (in.pos < in.size)
            assert_false(ZSTD_isError(ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
    size_t left;
    do {
        left = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
        assert_false(ZSTD_isError(left));
    } while (left != 0);
    ZSTD_freeCCtx(c);
    *zlen = o.pos;
    return out;
}

void oca_test_assert_same_packing(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la, lb;
    uint8_t *pa = oca_test_pack(a, &la), *pb = oca_test_pack(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
}

ProtobufCMessage *oca_test_new_message(struct oca_arena *a, const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = oca_arena_zalloc(a, d->sizeof_message);
    d->message_init(m);
    return m;
}

/* An array of one pointer, from the arena. */
static ProtobufCMessage **one(struct oca_arena *a, ProtobufCMessage *m)
{
    return oca_arena_memdup(a, &m, sizeof(m));
}

struct oca_batch *oca_test_make_batch(enum oca_signal sig, const char *service, size_t n,
                                      ProtobufCMessage *(*item)(struct oca_arena *a, size_t k, const void *arg),
                                      const void *arg)
{
    struct oca_batch *b = oca_batch_new(sig);
    struct oca_arena *a = b->arena;
    const struct oca_otlp_level *lv = oca_batch_levels(sig);
    ProtobufCMessage *res = oca_test_new_message(a, lv[OCA_LEVEL_RESOURCES].child);
    ProtobufCMessage *scope = oca_test_new_message(a, lv[OCA_LEVEL_SCOPES].child);
    ProtobufCMessage **items = oca_arena_zalloc(a, n * sizeof(*items));
    for (size_t k = 0; k < n; k++)
        items[k] = item(a, k, arg);
    oca_batch_set_children(&lv[OCA_LEVEL_ITEMS], scope, items, n);
    oca_batch_set_children(&lv[OCA_LEVEL_SCOPES], res, one(a, scope), 1);
    oca_batch_set_children(&lv[OCA_LEVEL_RESOURCES], b->msg, one(a, res), 1);
    if (service) {
        Opentelemetry__Proto__Resource__V1__Resource *r = oca_arena_zalloc(a, sizeof(*r));
        opentelemetry__proto__resource__v1__resource__init(r);
        r->n_attributes = 1;
        r->attributes = oca_arena_zalloc(a, sizeof(*r->attributes));
        r->attributes[0] = oca_test_string_attr(a, "service.name", service);
        *oca_batch_entry_head(&lv[OCA_LEVEL_RESOURCES], res) = &r->base;
    }
    b->items = oca_batch_count_items(sig, b->msg);
    return b;
}
