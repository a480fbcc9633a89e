/* Shared includes and harness for the cmocka unit tests. Each test file is one program named after
 * the source file it tests (test/unit/config/decode_test.c tests config/decode.c), linked with
 * testutil.c. The harness runs one component on its own loop with a fake next consumer; the
 * helpers run the loop until a condition or a deadline, decode a component's config from YAML,
 * capture stderr and build small requests. */
#ifndef OCA_TEST_UNIT_TESTUTIL_H
#define OCA_TEST_UNIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <uv.h>

#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

struct oca_arena;

/* Runs the loop until cond(arg) holds or ms milliseconds have passed; returns whether it held. A
 * guard timer wakes the loop at the deadline and is closed again before this returns. */
bool oca_test_run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, uint64_t ms);

/* Redirects stderr (where the agent logs) into a temporary file from start to end. */
struct oca_test_capture {
    FILE *f;
    int saved;
};
void oca_test_capture_start(struct oca_test_capture *c);
/* Restores stderr and returns what was written meanwhile (malloc'd, NUL-terminated). */
char *oca_test_capture_end(struct oca_test_capture *c);

/* The whole content of a file (malloc'd, NUL-terminated); *len gets its size. */
char *oca_test_read_file(const char *path, size_t *len);

/* Creates a new directory /tmp/<prefix>-XXXXXX and writes its name into dir (size bytes). */
void oca_test_make_dir(char *dir, size_t size, const char *prefix);
/* Removes a directory made by oca_test_make_dir and the files in it. */
void oca_test_remove_dir(const char *dir);

/* Decodes yaml (NULL: the section is absent) as the config of type t under the key path `path`
 * ("exporters.file") into a new zeroed config from a, stored in *cfg, and sets diag's context so
 * that t->validate(*cfg, diag) can be called next. Returns the number of decoding errors, whose
 * messages are in diag. */
int oca_test_decode_config(struct oca_arena *a, const struct oca_component_type *t, const char *yaml,
                           const char *path, struct oca_diag *diag, void **cfg);

/* A config that decodes but that t->validate must refuse (OCA_ERR_CONFIG) with a message containing
 * message; anything else fails the test. */
void oca_test_expect_invalid(const struct oca_component_type *t, const char *path, const char *yaml,
                             const char *message);

/* A config that must be valid: decoded as above, then validated; any error fails the test with
 * its messages. */
void *oca_test_valid_config(struct oca_arena *a, const struct oca_component_type *t, const char *yaml,
                            const char *path);

/* The state of a config test, for cmocka_unit_test_setup_teardown: an arena for trees and values
 * and the diagnostics gathered. setup makes *state a new fixture; teardown frees it. */
struct oca_test_fixture {
    struct oca_arena *arena;
    struct oca_diag diag;
};
int oca_test_fixture_setup(void **state);
int oca_test_fixture_teardown(void **state);
/* A test that gets a struct oca_test_fixture as *state. */
#define OCA_TEST_WITH_FIXTURE(f) \
    cmocka_unit_test_setup_teardown(f, oca_test_fixture_setup, oca_test_fixture_teardown)

#define OCA_TEST_FAKE_MAX 1024

/* A next consumer that keeps a reference to each batch it accepts, or refuses on demand. */
struct oca_test_fake {
    struct oca_consumer base;
    struct oca_batch *got[OCA_TEST_FAKE_MAX];   /* the batches accepted, in order */
    size_t n;                   /* batches accepted */
    size_t calls;               /* consume calls, refused ones included */
    int refuse_with;            /* returned while refuse_left > 0 */
    int refuse_left;
    unsigned refuse_sigs;       /* refuse only these signals (OCA_TRACES ...); 0: any */
    bool count_only;            /* count batches and items without keeping them */
    size_t items;               /* items accepted, when count_only */
};

/* One component under test on its own loop. Tests zero it, may make dir and path, then call
 * oca_test_harness_init. */
struct oca_test_harness {
    uv_loop_t loop;
    struct oca_arena *arena;        /* the config's */
    struct oca_component comp;
    struct oca_counters counters;
    struct oca_test_fake fake;      /* the next consumer of every signal (not for exporters) */
    int done_calls;                 /* how often shutdown's done has been called */
    char dir[64];                   /* a directory from oca_test_make_dir, or "" */
    char path[128];                 /* a file in dir, when the test needs one */
};

/* Creates an instance of t with id `id` and the valid config yaml (see oca_test_valid_config),
 * wired to h->fake unless t is an exporter, on h->loop; it is not started. */
void oca_test_harness_init(struct oca_test_harness *h, const struct oca_component_type *t, const char *id,
                           const char *yaml, const char *path);

/* A done callback for the component of a harness: counts into its done_calls. */
void oca_test_on_done(struct oca_component *self);
/* A run_until condition on a harness: done has been called. */
bool oca_test_done_called(void *harness);

/* Calls shutdown and runs the loop until done has been called. */
void oca_test_harness_shutdown(struct oca_test_harness *h);

/* Hands b to the component and drops the caller's reference; returns what consume returned. */
int oca_test_consume(struct oca_test_harness *h, struct oca_batch *b);

/* Shuts the component down (unless done was called already), destroys it, drops the batches the
 * fake kept, runs the loop until nothing is left, asserts that it closes, and removes dir. */
void oca_test_harness_free(struct oca_test_harness *h);

/* A KeyValue whose value is the string v. */
Opentelemetry__Proto__Common__V1__KeyValue *oca_test_string_attr(struct oca_arena *a, const char *k,
                                                                 const char *v);

/* The protobuf encoding of m (malloc'd); *len gets its size. */
uint8_t *oca_test_pack(const ProtobufCMessage *m, size_t *len);

/* zstd of len bytes of data with a checksum (as Go's encoder writes it), malloc'd; *zlen gets its
 * size. window_log 0: one frame that declares its size (libzstd's one-shot compression); otherwise
 * a streamed frame declaring that window and no size, as a streaming encoder writes it (Go's, for
 * any body over one block). */
uint8_t *oca_test_zstd(const void *data, size_t len, int window_log, size_t *zlen);

/* Fails unless a and b have the same protobuf encoding. */
void oca_test_assert_same_packing(const ProtobufCMessage *a, const ProtobufCMessage *b);

/* A new message of type d from a, initialised by its descriptor (defaults, nothing set). */
ProtobufCMessage *oca_test_new_message(struct oca_arena *a, const ProtobufCMessageDescriptor *d);

/* A new request of sig (refs = 1, items counted) of one resource entry with one scope entry that
 * holds n items (spans, metrics or log records) made by item(arena, k, arg) for k = 0 .. n-1. The
 * resource entry has a Resource with the attribute service.name=service, or none when service is
 * NULL; the scope entry has no InstrumentationScope. */
struct oca_batch *oca_test_make_batch(enum oca_signal sig, const char *service, size_t n,
                                      ProtobufCMessage *(*item)(struct oca_arena *a, size_t k, const void *arg),
                                      const void *arg);

#endif
