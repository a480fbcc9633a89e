/* Tests of receivers/otlp/walk.c: the walk accepts what protobuf-c's unpack (with the receiver's id
 * rule) accepts and counts the items the decoder counts, for every signal, a metric whose data
 * member is given twice, unknown fields and packed arrays, singular message fields given twice
 * at every level of a nest (each byte checked for a merge once); and it refuses each class of bad
 * input: bad tags, unterminated varints, lengths past the end, group and unknown wire types, wire
 * types that do not match the field, truncated fixed values, packed arrays of a bad length, ids of
 * the wrong length, and nesting past its depth limit. Every verdict is checked against unpack. */
#include "harness.h"

#include "receivers/otlp/otlp.h"

/* A byte string under construction. */
struct w {
    uint8_t b[4096];
    size_t n;
};

static void put(struct w *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof(w->b));
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void varint(struct w *w, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(w, &c, 1);
    } while (v);
}

static void tag(struct w *w, uint32_t field, unsigned wt) { varint(w, ((uint64_t)field << 3) | wt); }

static void bytes_field(struct w *w, uint32_t field, const struct w *v)
{
    tag(w, field, 2);
    varint(w, v->n);
    put(w, v->b, v->n);
}

/* Appends to req a resource entry (field 1) of one scope entry (its field 2) holding item (the
 * scope's field 2: a span, metric or log record alike). */
static void wrap_item(struct w *req, const struct w *item)
{
    struct w scope = { .n = 0 }, res = { .n = 0 };
    bytes_field(&scope, 2, item);
    bytes_field(&res, 2, &scope);
    bytes_field(req, 1, &res);
}

/* The walk's verdict and count on data, checked against protobuf-c plus the id rule (through the
 * receiver's decoding path, oca_otlp_decode); returns the walk's error. */
static int verdict(enum oca_signal sig, const uint8_t *data, size_t len, uint64_t *items)
{
    char why[200];
    int err = oca_otlp_walk(sig, data, len, items, why, sizeof(why));
    struct oca_batch *b;
    struct oca_otlp_result res;
    int derr = oca_otlp_decode(sig, OCA_ENCODING_PROTO, data, len, 0, NULL, &b, &res);
    if ((err == OCA_OK) != (derr == OCA_OK))
        fail_msg("walk says %s (%s), decoding says %s (%s)", oca_err_name(err), why, oca_err_name(derr), res.message);
    if (b) {
        assert_int_equal(*items, b->items);
        oca_batch_unref(b);
    } else {
        assert_true(why[0] != '\0');
    }
    return err;
}

static void expect_ok(enum oca_signal sig, const struct w *w, uint64_t want)
{
    uint64_t items;
    assert_int_equal(verdict(sig, w->b, w->n, &items), OCA_OK);
    assert_int_equal(items, want);
}

static void expect_bad(enum oca_signal sig, const struct w *w)
{
    uint64_t items = 99;
    assert_int_equal(verdict(sig, w->b, w->n, &items), OCA_ERR_DECODE);
    assert_int_equal(items, 0);
}

static void expect_json(enum oca_signal sig, const char *json, uint64_t want)
{
    struct oca_batch *b;
    char detail[256];
    if (oca_batch_decode(sig, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json), &b, detail, sizeof(detail)))
        fail_msg("%s", detail);
    struct w w = { .n = 0 };
    size_t len;
    uint8_t *wire = oca_batch_pack(b, &len);
    put(&w, wire, len);
    free(wire);
    assert_int_equal(b->items, want);
    expect_ok(sig, &w, want);
    oca_batch_unref(b);
}

static void test_counts_equal_the_decoder(void **state)
{
    (void)state;
    size_t len;
    uint8_t *wire = h_traces_proto(300, &len);
    uint64_t items;
    assert_int_equal(verdict(OCA_SIGNAL_TRACES, wire, len, &items), OCA_OK);
    assert_int_equal(items, 300);
    free(wire);
    expect_json(OCA_SIGNAL_METRICS, h_metrics_json, 2);
    expect_json(OCA_SIGNAL_LOGS, h_logs_json, 1);
    expect_json(OCA_SIGNAL_METRICS,
                "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
                "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\"},{\"asInt\":\"2\"}]}},"
                "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"count\":\"3\",\"bucketCounts\":[\"1\",\"2\"],"
                "\"explicitBounds\":[1.5]}]}},"
                "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":[{},{},{}]}},"
                "{\"name\":\"s\",\"summary\":{\"dataPoints\":[{}]}},"
                "{\"name\":\"none\"}]},{\"metrics\":[{\"name\":\"x\",\"sum\":{\"dataPoints\":[{}]}}]}]},"
                "{\"resourceMetrics_not\":1}]}", 8);
    expect_json(OCA_SIGNAL_TRACES,
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\",\"traceId\":"
                "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\",\"links\":[{\"traceId\":"
                "\"0102030405060708090a0b0c0d0e0f10\"}]},{}]},{}]},{}]}", 2);
    struct w empty = { .n = 0 };
    expect_ok(OCA_SIGNAL_LOGS, &empty, 0);
}

/* Metric (traces of level 3): the last data member replaces the earlier one, as in protobuf-c. */
static void test_metric_data_member_given_twice(void **state)
{
    (void)state;
    struct w point = { .n = 0 }, gauge = { .n = 0 }, sum = { .n = 0 }, metric = { .n = 0 }, req = { .n = 0 };
    struct w empty = { .n = 0 };
    bytes_field(&gauge, 1, &empty);
    bytes_field(&gauge, 1, &empty);
    bytes_field(&gauge, 1, &empty);             /* a gauge of 3 points */
    bytes_field(&sum, 1, &point);               /* a sum of 1 */
    bytes_field(&metric, 5, &gauge);
    bytes_field(&metric, 7, &sum);
    wrap_item(&req, &metric);
    expect_ok(OCA_SIGNAL_METRICS, &req, 1);
    metric.n = req.n = 0;
    bytes_field(&metric, 7, &sum);
    bytes_field(&metric, 5, &gauge);
    wrap_item(&req, &metric);
    expect_ok(OCA_SIGNAL_METRICS, &req, 3);
}


static void test_unknown_fields_and_odd_but_valid_input(void **state)
{
    (void)state;
    struct w span = { .n = 0 }, req = { .n = 0 };
    tag(&span, 99, 0);                          /* unknown fields of every wire type */
    varint(&span, 1234567);
    tag(&span, 98, 1);
    put(&span, "12345678", 8);
    tag(&span, 97, 5);
    put(&span, "1234", 4);
    struct w blob = { .n = 0 };
    put(&blob, "\xff\xff", 2);
    bytes_field(&span, 96, &blob);
    put(&span, "\x80\x00", 2);                 /* field 0 in a two-byte tag: an unknown field to protobuf-c */
    varint(&span, 1);
    uint8_t long_tag[] = { 0x8a, 0x80, 0x80, 0x80, 0x00 };   /* field 1 (trace_id) in 5 bytes */
    put(&span, long_tag, sizeof(long_tag));
    varint(&span, 0);
    wrap_item(&req, &span);
    expect_ok(OCA_SIGNAL_TRACES, &req, 1);

    /* HistogramDataPoint.bucket_counts (fixed64, 6) packed and unpacked, explicit_bounds (double, 7). */
    struct w dp = { .n = 0 }, packed = { .n = 0 };
    put(&packed, "1234567812345678", 16);
    bytes_field(&dp, 6, &packed);
    tag(&dp, 6, 1);
    put(&dp, "12345678", 8);
    tag(&dp, 7, 1);
    put(&dp, "12345678", 8);
    struct w hist = { .n = 0 }, metric = { .n = 0 }, mreq = { .n = 0 };
    bytes_field(&hist, 1, &dp);
    bytes_field(&metric, 9, &hist);
    wrap_item(&mreq, &metric);
    expect_ok(OCA_SIGNAL_METRICS, &mreq, 1);

    /* A bool (AnyValue.bool_value, 2) is read from any wire type. */
    struct w any = { .n = 0 }, kv = { .n = 0 }, lrec = { .n = 0 }, lreq = { .n = 0 };
    tag(&any, 2, 5);
    put(&any, "\1\0\0\0", 4);
    struct w key = { .n = 0 };
    put(&key, "k", 1);
    bytes_field(&kv, 1, &key);
    bytes_field(&kv, 2, &any);
    bytes_field(&lrec, 6, &kv);
    wrap_item(&lreq, &lrec);
    expect_ok(OCA_SIGNAL_LOGS, &lreq, 1);
}

static void test_rejections(void **state)
{
    (void)state;
    struct w w = { .n = 0 };
    put(&w, "\x8a\x80\x80\x80\x80\x01", 6);     /* a tag of more than 5 bytes */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    put(&w, "\x00\x01", 2);                     /* field 0 in a one-byte tag */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    put(&w, "\x8a", 1);                         /* a tag cut short */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 99, 0);
    put(&w, "\xff\xff", 2);                     /* unterminated varint */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 99, 0);
    put(&w, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);   /* varint of 11 bytes */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 1, 2);
    varint(&w, 10);
    put(&w, "abc", 3);                          /* length past the end */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 1, 2);
    put(&w, "\xff\xff\xff\xff\xff\x01", 6);     /* a length prefix of more than 5 bytes */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 1, 2);
    put(&w, "\x80\x80\x80\x80\x30", 5);         /* a length of 3 << 32, 0 if it wrapped */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    for (unsigned wt = 3; wt <= 7; wt++) {
        if (wt == 5)
            continue;
        w.n = 0;
        tag(&w, 99, wt);                        /* groups and wire types that do not exist */
        put(&w, "\0\0\0\0\0\0\0\0", 8);
        expect_bad(OCA_SIGNAL_TRACES, &w);
    }
    w.n = 0;
    tag(&w, 1, 0);                              /* resource_spans (a message) as a varint */
    varint(&w, 1);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 99, 1);
    put(&w, "1234567", 7);                      /* truncated 64-bit value */
    expect_bad(OCA_SIGNAL_TRACES, &w);
    w.n = 0;
    tag(&w, 99, 5);
    put(&w, "123", 3);                          /* truncated 32-bit value */
    expect_bad(OCA_SIGNAL_TRACES, &w);

    /* Inside a span: start_time_unix_nano (fixed64, 7) as a varint, kind (enum, 6) as fixed32. */
    struct w span = { .n = 0 };
    tag(&span, 7, 0);
    varint(&span, 5);
    w.n = 0;
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    span.n = 0;
    tag(&span, 6, 5);
    put(&span, "1234", 4);
    w.n = 0;
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    span.n = 0;
    tag(&span, 5, 0);                           /* name (a string) as a varint */
    varint(&span, 5);
    w.n = 0;
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    span.n = 0;
    struct w inner = { .n = 0 };
    put(&inner, "\x08", 1);                     /* a sub-message cut inside its tag's value */
    bytes_field(&span, 11, &inner);             /* events */
    w.n = 0;
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
}

/* A singular message field given twice is merged by protobuf-c, which refuses two AnyValues
 * without a value; other merges pass. */
static void test_merged_fields(void **state)
{
    (void)state;
    struct w kv = { .n = 0 }, span = { .n = 0 }, w = { .n = 0 }, empty = { .n = 0 }, key = { .n = 0 };
    put(&key, "k", 1);
    bytes_field(&kv, 1, &key);
    bytes_field(&kv, 2, &empty);
    bytes_field(&kv, 2, &empty);
    bytes_field(&span, 9, &kv);                 /* attributes */
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    struct w status = { .n = 0 };
    tag(&status, 3, 0);
    varint(&status, 2);
    span.n = w.n = 0;
    bytes_field(&span, 15, &status);            /* status twice */
    bytes_field(&span, 15, &empty);
    wrap_item(&w, &span);
    expect_ok(OCA_SIGNAL_TRACES, &w, 1);
}

/* A KeyValue nesting levels KeyValues: KeyValue{key, value: AnyValue{kvlist_value: KeyValueList{
 * values: the next KeyValue}}}, each value given a second time (an AnyValue of an empty kvlist,
 * before the first when small_first) when twice, and the innermost KeyValue's value being
 * AnyValue{kvlist_value: innermost}. */
static void nested_values(struct w *kv, int levels, bool twice, bool small_first, const struct w *innermost)
{
    static struct w any, kvl, small, empty, key;
    key.n = empty.n = small.n = any.n = 0;
    put(&key, "k", 1);
    bytes_field(&small, 6, &empty);
    bytes_field(&any, 6, innermost);
    for (int d = 0; d < levels; d++) {
        kv->n = 0;
        bytes_field(kv, 1, &key);
        if (twice && small_first)
            bytes_field(kv, 2, &small);
        bytes_field(kv, 2, &any);
        if (twice && !small_first)
            bytes_field(kv, 2, &small);
        kvl.n = any.n = 0;
        bytes_field(&kvl, 1, kv);
        bytes_field(&any, 6, &kvl);
    }
}

/* Sets req to a request of one span with the attribute kv. */
static void span_with(struct w *req, const struct w *kv)
{
    struct w span = { .n = 0 };
    bytes_field(&span, 9, kv);                  /* attributes */
    req->n = 0;
    wrap_item(req, &span);
}

/* Sets req to a request whose attribute has 5 values AnyValue{string_value: ""} then one that
 * nests levels KeyValues (nested_values). */
static void values_then_nest(struct w *req, int levels)
{
    static struct w top, deep, any, small, kv, empty;
    empty.n = deep.n = any.n = small.n = kv.n = 0;
    nested_values(&top, levels, false, false, &empty);
    bytes_field(&deep, 1, &top);
    bytes_field(&any, 6, &deep);
    bytes_field(&small, 1, &empty);
    put(&kv, "\x0a\x01k", 3);                  /* key "k" */
    for (int i = 0; i < 5; i++)
        bytes_field(&kv, 2, &small);
    bytes_field(&kv, 2, &any);
    span_with(req, &kv);
}

/* The walk refuses req, as decoding does, for a reason containing reason. */
static void expect_refused(const struct w *req, const char *reason)
{
    uint64_t items;
    char why[200];
    assert_int_equal(verdict(OCA_SIGNAL_TRACES, req->b, req->n, &items), OCA_ERR_DECODE);
    assert_int_equal(oca_otlp_walk(OCA_SIGNAL_TRACES, req->b, req->n, &items, why, sizeof(why)), OCA_ERR_DECODE);
    if (!strstr(why, reason))
        fail_msg("refused for \"%s\", not \"%s\"", why, reason);
}

/* A KeyValue's value given twice at each of 30 levels of nesting: protobuf-c merges it at each
 * level, and so must the walk's verdict, but each byte goes to protobuf-c for a merge at most
 * once (checking each level's merge was depth x size: 12 G instructions for a 1.35 MB request).
 * A merge that fails deep inside is still found, by the outermost merge's unpack. */
static void test_nested_merges_checked_once(void **state)
{
    (void)state;
    static struct w req, top, list, kv, key, av, empty;
    key.n = list.n = av.n = 0;
    put(&key, "k", 1);
    tag(&av, 3, 0);
    varint(&av, 7);                             /* int_value 7 */
    for (int i = 0; i < 100; i++) {
        kv.n = 0;
        bytes_field(&kv, 1, &key);
        bytes_field(&kv, 2, &av);
        bytes_field(&list, 1, &kv);
    }
    for (int small_first = 0; small_first < 2; small_first++) {
        nested_values(&top, 30, true, small_first, &list);
        span_with(&req, &top);
        size_t before = oca_otlp_walk_merge_bytes();
        expect_ok(OCA_SIGNAL_TRACES, &req, 1);
        size_t merged = oca_otlp_walk_merge_bytes() - before;
        assert_true(merged > 0);
        assert_true(merged <= req.n);           /* it was 25 times req.n, merging at each level */
    }

    /* The innermost KeyValue has two values that cannot be merged: refused, given twice above or not. */
    kv.n = empty.n = 0;
    bytes_field(&kv, 1, &key);
    bytes_field(&kv, 2, &empty);
    bytes_field(&kv, 2, &empty);
    bytes_field(&list, 1, &kv);
    for (int twice = 0; twice < 2; twice++) {
        nested_values(&top, 30, twice, false, &list);
        span_with(&req, &top);
        expect_refused(&req, "cannot be merged");
    }

    /* A value given 6 times, the last nesting too deeply: refused, before protobuf-c's unpack for
     * the merge would recurse into it; 30 levels are accepted. */
    values_then_nest(&req, 40);
    expect_refused(&req, "nested");
    values_then_nest(&req, 30);
    expect_ok(OCA_SIGNAL_TRACES, &req, 1);

    /* The look for a value's later occurrences does not report what it meets: the first bad
     * value (int_value as bytes) is the reason, not the bad tag after it. */
    struct w bad = { .n = 0 };
    bytes_field(&bad, 3, &empty);
    kv.n = 0;
    bytes_field(&kv, 1, &key);
    bytes_field(&kv, 2, &bad);
    put(&kv, "\x00\x01", 2);                  /* field 0 in a one-byte tag */
    span_with(&req, &kv);
    expect_refused(&req, "wire type");
}

static void test_packed_array_of_bad_length(void **state)
{
    (void)state;
    struct w dp = { .n = 0 }, packed = { .n = 0 };
    put(&packed, "123456781234", 12);           /* 12 bytes of fixed64 */
    bytes_field(&dp, 6, &packed);
    struct w hist = { .n = 0 }, metric = { .n = 0 }, req = { .n = 0 };
    bytes_field(&hist, 1, &dp);
    bytes_field(&metric, 9, &hist);
    wrap_item(&req, &metric);
    expect_bad(OCA_SIGNAL_METRICS, &req);
    /* ExponentialHistogram buckets' bucket_counts (uint64, 2) packed, with a varint cut short. */
    struct w buckets = { .n = 0 }, counts = { .n = 0 }, edp = { .n = 0 }, eh = { .n = 0 };
    put(&counts, "\x01\x81", 2);
    bytes_field(&buckets, 2, &counts);
    bytes_field(&edp, 8, &buckets);             /* positive */
    bytes_field(&eh, 1, &edp);
    metric.n = req.n = 0;
    bytes_field(&metric, 10, &eh);
    wrap_item(&req, &metric);
    expect_bad(OCA_SIGNAL_METRICS, &req);
}

static void test_ids(void **state)
{
    (void)state;
    struct w id5 = { .n = 0 }, id16 = { .n = 0 }, span = { .n = 0 }, w = { .n = 0 };
    put(&id5, "12345", 5);
    put(&id16, "1234567890123456", 16);
    bytes_field(&span, 1, &id5);                /* trace_id of 5 bytes */
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    bytes_field(&span, 1, &id16);               /* ... replaced by one of 16: the last wins */
    w.n = 0;
    wrap_item(&w, &span);
    expect_ok(OCA_SIGNAL_TRACES, &w, 1);
    span.n = 0;
    bytes_field(&span, 4, &id16);               /* parent_span_id of 16 */
    w.n = 0;
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    span.n = 0;
    struct w link = { .n = 0 };
    bytes_field(&link, 2, &id5);                /* a link's span_id of 5 */
    bytes_field(&span, 13, &link);
    w.n = 0;
    wrap_item(&w, &span);
    expect_bad(OCA_SIGNAL_TRACES, &w);
    /* An exemplar's bad span_id inside a gauge that a sum replaces is gone in the decoding. */
    struct w ex = { .n = 0 }, dp = { .n = 0 }, gauge = { .n = 0 }, sum = { .n = 0 }, metric = { .n = 0 },
             req = { .n = 0 }, empty = { .n = 0 };
    bytes_field(&ex, 4, &id5);
    bytes_field(&dp, 5, &ex);
    bytes_field(&gauge, 1, &dp);
    bytes_field(&sum, 1, &empty);
    bytes_field(&metric, 5, &gauge);
    bytes_field(&metric, 7, &sum);
    wrap_item(&req, &metric);
    expect_ok(OCA_SIGNAL_METRICS, &req, 1);
    metric.n = req.n = 0;
    bytes_field(&metric, 5, &gauge);            /* ... and kept when nothing replaces it */
    wrap_item(&req, &metric);
    expect_bad(OCA_SIGNAL_METRICS, &req);
}

/* AnyValue kvlists nested past the walk's limit: refused (protobuf-c would recurse on). */
static void test_nesting_limit(void **state)
{
    (void)state;
    static uint8_t buf[2][1 << 16];
    size_t n = 0;
    int cur = 0;
    for (int d = 0; d < 150; d++) {
        /* value = AnyValue{kvlist_value(6): KeyValueList{values(1): KeyValue{value(2): value}}} */
        uint8_t *out = buf[!cur];
        size_t m = 0;
        uint8_t hdr[16];
        size_t h;
        /* KeyValue{2: AnyValue} */
        struct w kv = { .n = 0 };
        tag(&kv, 2, 2);
        varint(&kv, n);
        h = kv.n;
        memcpy(hdr, kv.b, h);
        /* KeyValueList{1: KeyValue} then AnyValue{6: KeyValueList} */
        struct w kvl = { .n = 0 }, any = { .n = 0 };
        tag(&kvl, 1, 2);
        varint(&kvl, h + n);
        tag(&any, 6, 2);
        varint(&any, kvl.n + h + n);
        memcpy(out + m, any.b, any.n);
        m += any.n;
        memcpy(out + m, kvl.b, kvl.n);
        m += kvl.n;
        memcpy(out + m, hdr, h);
        m += h;
        memcpy(out + m, buf[cur], n);
        m += n;
        n = m;
        cur = !cur;
    }
    struct w span = { .n = 0 };
    tag(&span, 9, 2);                           /* attributes: KeyValue{value: the nest} */
    struct w kv = { .n = 0 };
    tag(&kv, 2, 2);
    varint(&kv, n);
    varint(&span, kv.n + n);
    put(&span, kv.b, kv.n);
    uint8_t *big = malloc(span.n + n);
    memcpy(big, span.b, span.n);
    memcpy(big + span.n, buf[cur], n);
    /* Build the request around the span by hand (it is larger than struct w). */
    size_t slen = span.n + n;
    struct w pre = { .n = 0 };
    struct w s1 = { .n = 0 };
    tag(&s1, 2, 2);
    varint(&s1, slen);
    struct w r1 = { .n = 0 };
    tag(&r1, 2, 2);
    varint(&r1, s1.n + slen);
    tag(&pre, 1, 2);
    varint(&pre, r1.n + s1.n + slen);
    put(&pre, r1.b, r1.n);
    put(&pre, s1.b, s1.n);
    uint8_t *req = malloc(pre.n + slen);
    memcpy(req, pre.b, pre.n);
    memcpy(req + pre.n, big, slen);
    uint64_t items;
    char why[200];
    assert_int_equal(oca_otlp_walk(OCA_SIGNAL_TRACES, req, pre.n + slen, &items, why, sizeof(why)), OCA_ERR_DECODE);
    assert_non_null(strstr(why, "nested"));
    free(big);
    free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_equal_the_decoder),
        cmocka_unit_test(test_metric_data_member_given_twice),
        cmocka_unit_test(test_unknown_fields_and_odd_but_valid_input),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_merged_fields),
        cmocka_unit_test(test_nested_merges_checked_once),
        cmocka_unit_test(test_packed_array_of_bad_length),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_nesting_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
