/* Tests of receivers/otlp/body.c: media types and Content-Encoding values, bodies fed in any
 * chunking (identity, gzip with several members, zlib deflate, zstd with several frames and with
 * a Go-sized window), corrupt and truncated compressed data, the max_request_body_size limit
 * before and after decompressing (a gzip or zstd bomb costs at most the limit; a zstd window over
 * what the limit allows is refused before it is allocated), and the memory budget: charged as the
 * buffer and libzstd's window grow, refused now (retryable) or for good (more than the whole
 * budget), counted when refused, and all given back. */
#include "harness.h"

static int reset(void **state)
{
    (void)state;
    oca_budget_reset_stats();
    return 0;
}

static int check_budget(void **state)
{
    (void)state;
    assert_int_equal(oca_budget_used(), 0);
    return 0;
}

static void test_media_types(void **state)
{
    (void)state;
    enum oca_encoding e;
    assert_int_equal(oca_otlp_parse_media_type("application/x-protobuf", &e), OCA_OK);
    assert_int_equal(e, OCA_ENCODING_PROTO);
    assert_int_equal(oca_otlp_parse_media_type("Application/JSON; charset=utf-8", &e), OCA_OK);
    assert_int_equal(e, OCA_ENCODING_JSON);
    assert_int_equal(oca_otlp_parse_media_type(" application/json ;charset=UTF-8", &e), OCA_OK);
    assert_int_equal(oca_otlp_parse_media_type("application/x-protobuf;proto=x", &e), OCA_OK);
    assert_int_equal(e, OCA_ENCODING_PROTO);
    assert_int_equal(oca_otlp_parse_media_type("application/jsonx", &e), OCA_ERR_MEDIA_TYPE);
    assert_int_equal(oca_otlp_parse_media_type("application/protobuf", &e), OCA_ERR_MEDIA_TYPE);
    assert_int_equal(oca_otlp_parse_media_type("text/plain", &e), OCA_ERR_MEDIA_TYPE);
    assert_int_equal(oca_otlp_parse_media_type("", &e), OCA_ERR_MEDIA_TYPE);
    assert_int_equal(oca_otlp_parse_media_type(NULL, &e), OCA_ERR_MEDIA_TYPE);
    assert_int_equal(oca_err_http_status(OCA_ERR_MEDIA_TYPE), 415);
}

static void test_codings(void **state)
{
    (void)state;
    enum oca_otlp_coding c;
    assert_int_equal(oca_otlp_parse_coding(NULL, &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_IDENTITY);
    assert_int_equal(oca_otlp_parse_coding("", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_IDENTITY);
    assert_int_equal(oca_otlp_parse_coding("identity", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_IDENTITY);
    assert_int_equal(oca_otlp_parse_coding("GZIP", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_GZIP);
    assert_int_equal(oca_otlp_parse_coding("x-gzip", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_GZIP);
    assert_int_equal(oca_otlp_parse_coding(" deflate ", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_DEFLATE);
    assert_int_equal(oca_otlp_parse_coding("zstd", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_ZSTD);
    assert_int_equal(oca_otlp_parse_coding("ZStd ", &c), OCA_OK);
    assert_int_equal(c, OCA_OTLP_ZSTD);
    assert_int_equal(oca_otlp_parse_coding("br", &c), OCA_ERR_INVALID);
    assert_int_equal(oca_otlp_parse_coding("zstd, gzip", &c), OCA_ERR_INVALID);
    assert_int_equal(oca_otlp_parse_coding("gzip, br", &c), OCA_ERR_INVALID);
    assert_int_equal(oca_err_http_status(OCA_ERR_INVALID), 400);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 24) % 13;         /* compressible, not trivially */
    }
    return p;
}

/* Feeds data in pieces of step bytes. */
static int feed_all(struct oca_otlp_body *b, const uint8_t *data, size_t len, size_t step)
{
    for (size_t off = 0; off < len; off += step) {
        int err = oca_otlp_body_feed(b, data + off, len - off < step ? len - off : step);
        if (err)
            return err;
    }
    return oca_otlp_body_finish(b);
}

static void test_identity_with_and_without_length(void **state)
{
    (void)state;
    size_t n = 100000;
    uint8_t *src = pattern(n);
    struct oca_otlp_body b;
    oca_otlp_body_init(&b, OCA_OTLP_IDENTITY, 1 << 20);
    assert_int_equal(oca_otlp_body_expect(&b, n), OCA_OK);
    assert_int_equal(b.charged, n);                         /* one charge for the announced length */
    assert_int_equal(oca_budget_used(), n);
    assert_int_equal(feed_all(&b, src, n, 777), OCA_OK);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, src, n);
    assert_int_equal(b.cap, n);
    oca_otlp_body_free(&b);
    assert_int_equal(oca_budget_used(), 0);

    oca_otlp_body_init(&b, OCA_OTLP_IDENTITY, 1 << 20);
    assert_int_equal(feed_all(&b, src, n, 4096), OCA_OK);
    assert_memory_equal(b.data, src, n);
    assert_int_equal(b.charged, b.cap);
    assert_int_equal(oca_budget_used(), b.cap);
    oca_otlp_body_free(&b);
    free(src);
}

static void test_gzip_deflate_and_members(void **state)
{
    (void)state;
    size_t n = 300000, zlen, zlen2;
    uint8_t *src = pattern(n);
    uint8_t *gz = h_compress(src, n, 31, &zlen);
    struct oca_otlp_body b;
    for (size_t step = 1; step <= 65536; step *= 64) {
        oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
        assert_int_equal(feed_all(&b, gz, zlen, step), OCA_OK);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, src, n);
        assert_true(b.charged >= n);
        oca_otlp_body_free(&b);
    }
    /* Two gzip members one after the other read as their concatenation. */
    uint8_t *gz2 = h_compress(src, 1000, 31, &zlen2);
    uint8_t *both = malloc(zlen + zlen2);
    memcpy(both, gz, zlen);
    memcpy(both + zlen, gz2, zlen2);
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(feed_all(&b, both, zlen + zlen2, 5000), OCA_OK);
    assert_int_equal(b.len, n + 1000);
    assert_memory_equal(b.data + n, src, 1000);
    oca_otlp_body_free(&b);

    uint8_t *zl = h_compress(src, n, 15, &zlen);
    oca_otlp_body_init(&b, OCA_OTLP_DEFLATE, 1 << 20);
    assert_int_equal(feed_all(&b, zl, zlen, 1000), OCA_OK);
    assert_memory_equal(b.data, src, n);
    oca_otlp_body_free(&b);
    /* gzip data sent as deflate is corrupt. */
    oca_otlp_body_init(&b, OCA_OTLP_DEFLATE, 1 << 20);
    assert_int_equal(feed_all(&b, gz, 100, 100), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "deflate"));
    oca_otlp_body_free(&b);
    free(zl);
    free(both);
    free(gz2);
    free(gz);
    free(src);
}

static void test_corrupt_and_truncated(void **state)
{
    (void)state;
    size_t n = 50000, zlen;
    uint8_t *src = pattern(n);
    uint8_t *gz = h_compress(src, n, 31, &zlen);
    struct oca_otlp_body b;
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(feed_all(&b, gz, zlen - 10, 1000), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "unexpected end"));
    assert_null(b.data);
    assert_int_equal(b.charged, 0);
    /* Once failed, always failed. */
    assert_int_equal(oca_otlp_body_feed(&b, gz, 10), OCA_ERR_INVALID);
    oca_otlp_body_free(&b);

    gz[zlen / 2] ^= 0xff;
    gz[zlen / 2 + 1] ^= 0x5a;
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(feed_all(&b, gz, zlen, 1000), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "malformed gzip body"));
    oca_otlp_body_free(&b);

    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(oca_otlp_body_finish(&b), OCA_ERR_INVALID);     /* gzip with no bytes at all */
    oca_otlp_body_free(&b);
    free(gz);
    free(src);
}

static void test_limits_and_the_bomb(void **state)
{
    (void)state;
    struct oca_otlp_body b;
    uint8_t chunk[4096] = { 0 };
    oca_otlp_body_init(&b, OCA_OTLP_IDENTITY, 10000);
    assert_int_equal(oca_otlp_body_expect(&b, 10001), OCA_ERR_TOO_LARGE);
    assert_non_null(strstr(b.why, "max_request_body_size (10000 bytes)"));
    oca_otlp_body_free(&b);
    oca_otlp_body_init(&b, OCA_OTLP_IDENTITY, 10000);
    assert_int_equal(oca_otlp_body_feed(&b, chunk, 4096), OCA_OK);
    assert_int_equal(oca_otlp_body_feed(&b, chunk, 4096), OCA_OK);
    assert_int_equal(oca_otlp_body_feed(&b, chunk, 4096), OCA_ERR_TOO_LARGE);
    assert_int_equal(oca_budget_used(), 0);
    oca_otlp_body_free(&b);

    /* 256 MiB of zeros: inflating must stop at the limit, and memory never goes past it. */
    size_t bomb_n = (size_t)256 << 20, zlen;
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t *bomb = malloc(1 << 20);
    z.next_out = bomb;
    z.avail_out = 1 << 20;
    for (size_t left = bomb_n; left > 0;) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        z.next_in = chunk;
        z.avail_in = (uInt)n;
        left -= n;
        assert_int_equal(deflate(&z, left ? Z_NO_FLUSH : Z_FINISH), left ? Z_OK : Z_STREAM_END);
    }
    zlen = (1 << 20) - z.avail_out;
    deflateEnd(&z);
    oca_budget_reset_stats();
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    int err = feed_all(&b, bomb, zlen, 8192);
    free(bomb);
    assert_int_equal(err, OCA_ERR_TOO_LARGE);
    assert_true(oca_budget_peak() <= (1 << 20) + 1);
    assert_int_equal(oca_budget_used(), 0);
    oca_otlp_body_free(&b);
}

static void test_zstd_frames_and_chunkings(void **state)
{
    (void)state;
    size_t n = 300000, zlen, zlen2;
    uint8_t *src = pattern(n);
    uint8_t *zs = h_zstd(src, n, 0, &zlen);
    struct oca_otlp_body b;
    for (size_t step = 1; step <= 65536; step *= 64) {
        oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
        assert_int_equal(feed_all(&b, zs, zlen, step), OCA_OK);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, src, n);
        assert_true(b.charged >= n);
        /* The decoder went with its charge at the end; the buffer's stays for the job. */
        assert_null(b.zs);
        assert_int_equal(oca_budget_used(), b.charged);
        oca_otlp_body_free(&b);
    }
    /* Frames one after the other, a skippable frame between them, read as their concatenation. */
    uint8_t *zs2 = h_zstd(src, 1000, 0, &zlen2);
    static const uint8_t skip[] = { 0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c' };
    uint8_t *all = malloc(zlen + sizeof(skip) + zlen2);
    memcpy(all, zs, zlen);
    memcpy(all + zlen, skip, sizeof(skip));
    memcpy(all + zlen + sizeof(skip), zs2, zlen2);
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, all, zlen + sizeof(skip) + zlen2, 5000), OCA_OK);
    assert_int_equal(b.len, n + 1000);
    assert_memory_equal(b.data, src, n);
    assert_memory_equal(b.data + n, src, 1000);
    oca_otlp_body_free(&b);
    /* A body with no bytes at all is an empty body, as Go's reader reads it. */
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(oca_otlp_body_finish(&b), OCA_OK);
    assert_int_equal(b.len, 0);
    oca_otlp_body_free(&b);
    free(all);
    free(zs2);
    free(zs);
    free(src);
}

/* A streamed frame declares the encoder's window (Go's: 8 MiB) and no size: accepted under a
 * smaller limit, and libzstd's window is charged as far as it was written, not as allocated. */
static void test_zstd_go_window_charged_as_written(void **state)
{
    (void)state;
    size_t n = 300000, zlen;
    uint8_t *src = pattern(n);
    uint8_t *zs = h_zstd(src, n, 23, &zlen);
    assert_int_equal(ZSTD_getFrameContentSize(zs, zlen), ZSTD_CONTENTSIZE_UNKNOWN);
    struct oca_otlp_body b;
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    size_t most = 0;
    for (size_t off = 0; off < zlen; off += 4096) {
        assert_int_equal(oca_otlp_body_feed(&b, zs + off, zlen - off < 4096 ? zlen - off : 4096), OCA_OK);
        assert_true(ZSTD_sizeof_DStream(b.zs) > ((size_t)8 << 20));     /* the window as declared */
        assert_int_equal(oca_budget_used(), b.charged + b.zs_charged);
        assert_true(b.zs_charged <= b.total + 2 * ZSTD_BLOCKSIZE_MAX);
        most = b.zs_charged > most ? b.zs_charged : most;
    }
    assert_true(most >= n);                 /* the window was charged as it filled */
    assert_int_equal(oca_otlp_body_finish(&b), OCA_OK);
    assert_memory_equal(b.data, src, n);
    assert_int_equal(oca_budget_used(), b.charged);
    oca_otlp_body_free(&b);
    free(zs);
    free(src);
}

static void test_zstd_corrupt_truncated_and_window(void **state)
{
    (void)state;
    size_t n = 50000, zlen;
    uint8_t *src = pattern(n);
    uint8_t *zs = h_zstd(src, n, 0, &zlen);
    struct oca_otlp_body b;
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, zs, zlen - 3, 1000), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "malformed zstd body: unexpected end"));
    assert_null(b.data);
    assert_null(b.zs);
    assert_int_equal(oca_budget_used(), 0);
    assert_int_equal(oca_otlp_body_feed(&b, zs, 10), OCA_ERR_INVALID);     /* once failed, always */
    oca_otlp_body_free(&b);
    /* A frame cut inside its header. */
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, zs, 5, 5), OCA_ERR_INVALID);
    oca_otlp_body_free(&b);
    /* Bytes after the frame that start no frame. */
    uint8_t *tail = malloc(zlen + 8);
    memcpy(tail, zs, zlen);
    memcpy(tail + zlen, "trailing", 8);
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, tail, zlen + 8, 4096), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "malformed zstd body"));
    oca_otlp_body_free(&b);
    free(tail);
    /* Flipped bytes inside: the checksum, if nothing before it, says so. */
    zs[zlen / 2] ^= 0xff;
    zs[zlen / 2 + 1] ^= 0x5a;
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, zs, zlen, 1000), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "malformed zstd body"));
    oca_otlp_body_free(&b);
    /* gzip sent as zstd. */
    size_t glen;
    uint8_t *gz = h_compress(src, 1000, 31, &glen);
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, gz, glen, 100), OCA_ERR_INVALID);
    assert_non_null(strstr(b.why, "zstd"));
    oca_otlp_body_free(&b);
    free(gz);
    /* A 30-byte frame asking for a 128 MiB window: refused for size, before libzstd allocates it. */
    static const uint8_t zeros[1000];
    uint8_t *wide = h_zstd(zeros, sizeof(zeros), 27, &zlen);
    assert_true(zlen < 40);
    oca_budget_reset_stats();
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    assert_int_equal(feed_all(&b, wide, zlen, 4096), OCA_ERR_TOO_LARGE);
    assert_non_null(strstr(b.why, "window larger than 8388608 bytes"));
    assert_true(oca_budget_peak() <= (16 << 10));          /* the body's first buffer only */
    oca_otlp_body_free(&b);
    free(wide);
    free(zs);
    free(src);
}

/* zstd of total zero bytes, streamed a chunk at a time: a bomb of a few KiB. */
static uint8_t *zstd_zeros(size_t total, size_t *zlen)
{
    static const uint8_t zeros[65536];
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, total)));
    size_t cap = 1 << 20;
    uint8_t *out = malloc(cap);
    ZSTD_outBuffer o = { out, cap, 0 };
    for (size_t left = total; left > 0;) {
        ZSTD_inBuffer in = { zeros, left < sizeof(zeros) ? left : sizeof(zeros), 0 };
        left -= in.size;
        size_t r;
        do {
            r = ZSTD_compressStream2(c, &o, &in, left ? ZSTD_e_continue : ZSTD_e_end);
            assert_false(ZSTD_isError(r));
        } while (in.pos < in.size || (!left && r != 0));
    }
    ZSTD_freeCCtx(c);
    *zlen = o.pos;
    return out;
}

static void test_zstd_bomb(void **state)
{
    (void)state;
    size_t zlen;
    uint8_t *bomb = zstd_zeros((size_t)64 << 20, &zlen);
    assert_true(zlen < (16 << 10));
    struct oca_otlp_body b;
    oca_budget_reset_stats();
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    int err = feed_all(&b, bomb, zlen, 8192);
    assert_int_equal(err, OCA_ERR_TOO_LARGE);
    assert_non_null(strstr(b.why, "max_request_body_size"));
    /* The buffer stopped at the limit, libzstd's window as far as it was written. */
    assert_true(oca_budget_peak() <= 2 * ((1 << 20) + 1) + 2 * ZSTD_BLOCKSIZE_MAX);
    assert_int_equal(oca_budget_used(), 0);
    oca_otlp_body_free(&b);
    /* The frame declares 64 MiB: under a limit of 64 MiB its window would be allowed, and the
     * decompressed bytes still stop at the limit. */
    oca_budget_reset_stats();
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, (64 << 20) - 1);
    assert_int_equal(feed_all(&b, bomb, zlen, 65536), OCA_ERR_TOO_LARGE);
    assert_true(oca_budget_peak() <= 2 * ((size_t)64 << 20) + 2 * ZSTD_BLOCKSIZE_MAX);
    oca_otlp_body_free(&b);
    free(bomb);
}

/* zstd bodies refused for memory are counted as gzip ones are, while libzstd's window stays small;
 * one whose window would go far past its charge is refused without counting the rest. */
static void test_zstd_counted_when_refused(void **state)
{
    (void)state;
    size_t len, zlen;
    uint8_t *wire = h_traces_proto(20, &len);
    uint8_t *zs = h_zstd(wire, len, 0, &zlen);
    size_t spent = oca_budget_limit();
    oca_budget_force(spent);
    struct oca_otlp_body b;
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 1 << 20);
    oca_otlp_body_count_refused(&b, OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO);
    assert_int_equal(oca_otlp_body_expect(&b, zlen), OCA_ERR_MEMORY_LIMIT);
    assert_true(b.counting);
    for (size_t off = 0; off < zlen; off += 100)
        assert_int_equal(oca_otlp_body_feed(&b, zs + off, zlen - off < 100 ? zlen - off : 100), OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(oca_otlp_body_finish(&b), OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(b.counter.items, 20);
    assert_int_equal(oca_budget_used(), spent);
    oca_otlp_body_free(&b);
    free(zs);
    /* 3 MB through an 8 MiB window: counting stops after about COUNT_DECODER written. */
    size_t n = 3 << 20;
    uint8_t *src = pattern(n);
    zs = h_zstd(src, n, 23, &zlen);
    oca_otlp_body_init(&b, OCA_OTLP_ZSTD, 4 << 20);
    oca_otlp_body_count_refused(&b, OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO);
    assert_int_equal(oca_otlp_body_expect(&b, zlen), OCA_ERR_MEMORY_LIMIT);
    int err = OCA_ERR_MEMORY_LIMIT;
    for (size_t off = 0; off < zlen && b.counting; off += 4096)
        err = oca_otlp_body_feed(&b, zs + off, zlen - off < 4096 ? zlen - off : 4096);
    assert_int_equal(err, OCA_ERR_MEMORY_LIMIT);
    assert_false(b.counting);
    assert_null(b.zs);
    assert_true(b.total < ((size_t)3 << 19));
    assert_non_null(strstr(b.why, "memory budget"));
    oca_otlp_body_free(&b);
    oca_budget_release(spent);
    free(zs);
    free(src);
    free(wire);
}

static void test_budget_refusals(void **state)
{
    (void)state;
    struct oca_otlp_body b;
    oca_budget_set_limit(100000);
    /* 30000 bytes would need 4 x 30000 + 256 at their peak: never, so 413. */
    oca_otlp_body_init(&b, OCA_OTLP_IDENTITY, 1 << 20);
    assert_int_equal(oca_otlp_body_expect(&b, 30000), OCA_ERR_TOO_LARGE);
    assert_non_null(strstr(b.why, "memory budget"));
    oca_otlp_body_free(&b);
    /* 10000 bytes fit, unless the budget is taken by others right now: then 503. */
    oca_budget_force(95000);
    oca_otlp_body_init(&b, OCA_OTLP_IDENTITY, 1 << 20);
    assert_int_equal(oca_otlp_body_expect(&b, 10000), OCA_ERR_MEMORY_LIMIT);
    assert_non_null(strstr(b.why, "retry later"));
    oca_otlp_body_free(&b);
    /* Compressed bodies: refused at once while the budget is full... */
    oca_budget_force(5000);
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(oca_otlp_body_expect(&b, 100), OCA_ERR_MEMORY_LIMIT);
    oca_otlp_body_free(&b);
    oca_budget_release(100000);
    /* ... and by their inflated size as it grows. */
    size_t n = 40000, zlen;
    uint8_t *src = pattern(n);
    uint8_t *gz = h_compress(src, n, 31, &zlen);
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(feed_all(&b, gz, zlen, 512), OCA_ERR_TOO_LARGE);
    oca_otlp_body_free(&b);
    oca_budget_set_limit(1 << 20);
    oca_otlp_body_init(&b, OCA_OTLP_GZIP, 1 << 20);
    assert_int_equal(feed_all(&b, gz, zlen, 512), OCA_OK);
    oca_otlp_body_free(&b);
    free(gz);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_media_types, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_codings, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_identity_with_and_without_length, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_gzip_deflate_and_members, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_corrupt_and_truncated, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_limits_and_the_bomb, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_zstd_frames_and_chunkings, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_zstd_go_window_charged_as_written, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_zstd_corrupt_truncated_and_window, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_zstd_bomb, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_zstd_counted_when_refused, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_budget_refusals, reset, check_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
