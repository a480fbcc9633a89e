/* Pieces the bench payload generators (gen.c, prom_gen.c) share: a string attribute in an arena,
 * gRPC's 5-byte message prefix, and writing a file into the output directory. Header-only. */
#ifndef OCA_TEST_BENCH_PAYLOAD_H
#define OCA_TEST_BENCH_PAYLOAD_H

#include <stdint.h>
#include <stdio.h>

#include "base/arena.h"
#include "opentelemetry/proto/common/v1/common.pb-c.h"

static inline Opentelemetry__Proto__Common__V1__KeyValue *bench_string_kv(struct oca_arena *a, const char *k,
                                                                          const char *v)
{
    Opentelemetry__Proto__Common__V1__KeyValue *kv = oca_arena_alloc(a, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = oca_arena_strdup(a, k);
    kv->value = oca_arena_alloc(a, sizeof(*kv->value));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = oca_arena_strdup(a, v);
    return kv;
}

/* The gRPC prefix of an uncompressed message of n bytes, written into p[0..5). */
static inline void bench_grpc_prefix(uint8_t *p, size_t n)
{
    p[0] = 0;
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
}

/* dir/name with the n bytes at p; 0, or 1 after printing why not. */
static inline int bench_write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

#endif
