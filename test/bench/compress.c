/* The compressors' cost on a forwarded batch: gzip (zlib, level 6: the otlp exporters' default, as
 * the Collector's) and zstd (level 1, the Collector's zstd default) of batch.pb from gen (8200
 * spans, all different), through the exporters' own codec functions, one core. Prints MB/s of
 * input, the output's share of the input, and CPU seconds per million spans (thread CPU time,
 * best of 5). Usage: compress DIR (where gen wrote batch.pb). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "codec/gzip.h"
#include "codec/zstd.h"

#define SPANS_IN_BATCH 8200

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/batch.pb", argv[1]);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    struct oca_buf in = { 0 };
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        oca_buf_append(&in, chunk, got);
    fclose(f);
    struct oca_slice whole = { (const uint8_t *)in.data, in.len };
    static const char *const names[] = { "gzip level 6", "zstd level 1" };
    for (int c = 0; c < 2; c++) {
        double best = 1e9;
        size_t out_len = 0;
        for (int r = 0; r < 5; r++) {
            struct oca_buf out = { 0 };
            double t0 = thread_cpu();
            bool ok = c == 0 ? oca_gzipv(&whole, 1, OCA_GZIP_LEVEL, &out) : oca_zstdv(&whole, 1, OCA_ZSTD_LEVEL, &out);
            double t = thread_cpu() - t0;
            if (!ok)
                return 1;
            out_len = out.len;
            if (t < best)
                best = t;
            oca_buf_free(&out);
        }
        printf("%s: %.1f MB/s, output %.1f%% of %zu bytes, %.2f CPU s per million spans\n", names[c],
               (double)in.len / best / 1e6, 100.0 * (double)out_len / (double)in.len, in.len,
               best / (SPANS_IN_BATCH / 1e6));
    }
    oca_buf_free(&in);
    return 0;
}
