/* The OpenCensus stream load for `make bench` (h2load cannot keep bidirectional gRPC streams open):
 * CONNS h2c connections with STREAMS TraceService/Export streams each, every stream sending the
 * framed messages build/bench/gen wrote (DIR/oc-first.grpc with the Node first, then
 * DIR/oc-next.grpc without, as the OpenCensus exporters do) back to back, as fast as HTTP/2 flow
 * control lets them through, until SECONDS pass or MESSAGES are sent in all; then every stream is
 * ended and its grpc-status awaited.
 * Usage: oc_load DIR HOST PORT CONNS STREAMS SECONDS [MESSAGES]
 * Prints "oc_load: N messages (N spans) sent in S s; streams: N ok, N failed". */
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define SPANS 100
#define PATH "/opencensus.proto.agent.trace.v1.TraceService/Export"

static uint8_t *first_msg, *next_msg;
static size_t first_len, next_len;

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (!f || n == 0) {
        perror(path);
        exit(2);
    }
    fclose(f);
    uint8_t *out = malloc(n);
    memcpy(out, buf, n);
    *len = n;
    return out;
}

struct conn;

struct stream {
    struct conn *c;
    int32_t id;
    uint64_t sent;              /* whole messages handed to nghttp2 */
    size_t off;                 /* bytes of the current message handed over */
    bool ending, closed;
    int grpc_status;
};

struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    nghttp2_session *session;
    struct stream *streams;
    int n_streams;
    bool dead;
};

static uv_loop_t *loop;
static struct conn *conns;
static int n_conns, streams_per_conn;
static uint64_t max_messages, total_sent;
static bool stopping;
static uv_timer_t deadline;
static uint64_t start_ns;

static void flush(struct conn *c);

static void write_done(uv_write_t *w, int status)
{
    struct conn *c = w->handle->data;
    free(w->data);
    free(w);
    if (status < 0)
        c->dead = true;
    else
        flush(c);
}

/* Writes what nghttp2 has to send while the socket's queue is short. */
static void flush(struct conn *c)
{
    while (!c->dead && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < (1 << 20)) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->session, &p);
        if (n <= 0)
            return;
        uv_write_t *w = malloc(sizeof(*w));
        w->data = malloc((size_t)n);
        memcpy(w->data, p, (size_t)n);
        uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
        if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_done) != 0) {
            free(w->data);
            free(w);
            c->dead = true;
            return;
        }
    }
}

static ssize_t source(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                      nghttp2_data_source *src, void *user)
{
    (void)s, (void)id, (void)user;
    struct stream *st = src->ptr;
    if (st->off == 0 && (stopping || (max_messages && total_sent >= max_messages))) {
        st->ending = true;
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
    }
    const uint8_t *msg = st->sent == 0 ? first_msg : next_msg;
    size_t len = st->sent == 0 ? first_len : next_len;
    size_t n = len - st->off < length ? len - st->off : length;
    memcpy(buf, msg + st->off, n);
    st->off += n;
    if (st->off == len) {
        st->off = 0;
        st->sent++;
        total_sent++;
    }
    return (ssize_t)n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    (void)s, (void)flags, (void)user;
    struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (st && nlen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        char v[16];
        snprintf(v, sizeof(v), "%.*s", (int)(vlen < 15 ? vlen : 15), (const char *)value);
        st->grpc_status = atoi(v);
    }
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    (void)code, (void)user;
    struct stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st)
        st->closed = true;
    return 0;
}

static bool all_closed(void)
{
    for (int i = 0; i < n_conns; i++)
        for (int k = 0; k < conns[i].n_streams; k++)
            if (!conns[i].streams[k].closed && !conns[i].dead)
                return false;
    return true;
}

static void read_cb(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = h->data;
    if (n < 0)
        c->dead = true;
    else if (n > 0 && nghttp2_session_mem_recv(c->session, (const uint8_t *)buf->base, (size_t)n) < 0)
        c->dead = true;
    free(buf->base);
    if (!c->dead)
        flush(c);
    if (all_closed())
        uv_stop(loop);
}

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(size);
    buf->len = size;
}

static void connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (status < 0) {
        fprintf(stderr, "oc_load: connect: %s\n", uv_strerror(status));
        exit(1);
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    flush(c);
}

/* At the deadline every stream sends its end; blocked ones resume to do so. */
static void on_deadline(uv_timer_t *t)
{
    (void)t;
    stopping = true;
    for (int i = 0; i < n_conns; i++) {
        for (int k = 0; k < conns[i].n_streams; k++)
            nghttp2_session_resume_data(conns[i].session, conns[i].streams[k].id);
        flush(&conns[i]);
    }
}

static void check_cb(uv_check_t *h)
{
    (void)h;
    if (max_messages && total_sent >= max_messages && !stopping)
        on_deadline(NULL);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s DIR HOST PORT CONNS STREAMS SECONDS [MESSAGES]\n", argv[0]);
        return 2;
    }
    first_msg = read_file(argv[1], "oc-first.grpc", &first_len);
    next_msg = read_file(argv[1], "oc-next.grpc", &next_len);
    argv++;
    argc--;
    n_conns = atoi(argv[3]);
    streams_per_conn = atoi(argv[4]);
    double seconds = atof(argv[5]);
    max_messages = argc > 6 ? strtoull(argv[6], NULL, 10) : 0;
    loop = uv_default_loop();
    struct sockaddr_in addr;
    if (uv_ip4_addr(argv[1], atoi(argv[2]), &addr) != 0)
        return 2;
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    conns = calloc((size_t)n_conns, sizeof(*conns));
    char authority[64];
    snprintf(authority, sizeof(authority), "%s:%s", argv[1], argv[2]);
    for (int i = 0; i < n_conns; i++) {
        struct conn *c = &conns[i];
        nghttp2_session_client_new(&c->session, cbs, c);
        /* A large connection window, as gRPC clients set, so streams are held back per stream. */
        nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 } };
        nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 1);
        c->n_streams = streams_per_conn;
        c->streams = calloc((size_t)streams_per_conn, sizeof(*c->streams));
        for (int k = 0; k < streams_per_conn; k++) {
            struct stream *st = &c->streams[k];
            st->c = c;
            st->grpc_status = -1;
            nghttp2_nv nva[] = {
#define NV(n, v) { (uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE }
                NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", authority), NV(":path", PATH),
                NV("content-type", "application/grpc"), NV("te", "trailers"),
#undef NV
            };
            nghttp2_data_provider prd = { .source = { .ptr = st }, .read_callback = source };
            st->id = nghttp2_submit_request(c->session, NULL, nva, sizeof(nva) / sizeof(nva[0]), &prd, st);
        }
        uv_tcp_init(loop, &c->tcp);
        uv_tcp_nodelay(&c->tcp, 1);
        c->tcp.data = c;
        c->connect.data = c;
        uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr, connected);
    }
    nghttp2_session_callbacks_del(cbs);
    uv_check_t check;
    uv_check_init(loop, &check);
    uv_check_start(&check, check_cb);
    uv_unref((uv_handle_t *)&check);
    uv_timer_init(loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
    uv_unref((uv_handle_t *)&deadline);
    start_ns = uv_hrtime();
    uv_run(loop, UV_RUN_DEFAULT);
    double took = (double)(uv_hrtime() - start_ns) / 1e9;
    int ok = 0, failed = 0;
    for (int i = 0; i < n_conns; i++)
        for (int k = 0; k < conns[i].n_streams; k++)
            conns[i].streams[k].grpc_status == 0 ? ok++ : failed++;
    printf("oc_load: %llu messages (%llu spans) sent in %.2f s; streams: %d ok, %d failed\n",
           (unsigned long long)total_sent, (unsigned long long)total_sent * SPANS, took, ok, failed);
    return failed ? 1 : 0;
}
