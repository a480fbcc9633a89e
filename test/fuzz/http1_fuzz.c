/* libFuzzer harness for the HTTP/1.1 request path: the input goes, cut into chunks the first byte
 * chooses, into a connection without a socket (net/conn.h's memory connection), so http-parser,
 * the limits (small here: 4 KiB of headers, 16 KiB of body), pipelining, early answers, chunked
 * answers, streaming with pause and resume, and the handler calls all run as for a socket. Input
 * that starts with the HTTP/2 preface reaches the nghttp2 session the same way. Must never crash,
 * leak, or call the handler out of order. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/log.h"
#include "net/conn.h"
#include "net/http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
    int open;                       /* streams between on_headers and on_close */
    struct oca_http_stream *paused;
};

static const struct oca_http_header text[] = { { "content-type", 12, "text/plain", 10 } };

static void on_headers(struct oca_http_stream *s)
{
    struct state *st = oca_http_stream_handler_data(s);
    st->open++;
    const char *p = oca_http_stream_path(s);
    (void)oca_http_stream_header(s, "content-type");
    (void)oca_http_stream_query(s);
    if (p[0] && p[1] == 'e')
        oca_http_respond(s, 404, text, 1, "no", 2);
    else if (p[0] && (p[1] == 's' || p[1] == 'p'))
        oca_http_stream_stream_body(s);
    else if (p[0] && p[1] == 'r')
        oca_http_stream_reset(s);
}

static void on_body(struct oca_http_stream *s, const uint8_t *data, size_t len)
{
    struct state *st = oca_http_stream_handler_data(s);
    (void)data;
    (void)len;
    if (oca_http_stream_path(s)[1] == 'p' && !st->paused) {
        st->paused = s;
        oca_http_stream_pause(s);
    }
}

static void on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    const char *p = oca_http_stream_path(s);
    if (p[0] && p[1] == 'c') {
        static const struct oca_http_header tr[] = { { "x-t", 3, "1", 1 } };
        oca_http_send_headers(s, 200, text, 1);
        oca_http_send_data(s, body ? body : (const uint8_t *)"", len);
        oca_http_send_end(s, tr, 1);
    } else if (!(p[0] && p[1] == 'n')) {
        oca_http_respond(s, 200, text, 1, body, len);
    }
}

static void on_close(struct oca_http_stream *s)
{
    struct state *st = oca_http_stream_handler_data(s);
    if (st->open <= 0)
        abort();
    st->open--;
    if (st->paused == s)
        st->paused = NULL;
}

static const struct oca_http_handler handler = {
    .on_headers = on_headers, .on_body = on_body, .on_end = on_end, .on_close = on_close,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    oca_log_set_level(OCA_LOG_NONE);
    uint8_t ctl = data[0];
    data++;
    size--;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oca_http_server_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.endpoint.host = "127.0.0.1";
    cfg.max_header_bytes = 4096;
    cfg.max_request_body_size = 16384;
    struct state st = { 0 };
    struct oca_http_server *srv = oca_http_server_new(&loop, &cfg, &handler, &st, "fuzz");
    struct oca_conn *c = oca_conn_new_memory(srv);
    uint32_t seed = ctl * 2654435761u + 7;
    size_t off = 0;
    while (off < size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (ctl & 0x80) ? size : 1 + (seed >> 16) % 97;
        if (n > size - off)
            n = size - off;
        oca_conn_feed(c, data + off, n);
        off += n;
        if (st.paused && (seed & 0x100)) {
            struct oca_http_stream *s = st.paused;
            st.paused = NULL;
            oca_http_stream_resume(s);
            oca_conn_feed(c, (const uint8_t *)"", 0);
        }
    }
    if (ctl & 0x40)
        oca_conn_feed(c, NULL, 0);
    oca_conn_free_memory(c);
    if (st.open != 0)
        abort();
    oca_http_server_free(srv);
    uv_loop_close(&loop);
    return 0;
}
