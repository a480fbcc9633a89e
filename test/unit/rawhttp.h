/* A raw HTTP/1.1 client for unit tests of the agent's own endpoints: writes the request text as
 * given to 127.0.0.1:port on the test's loop, reads until the response is complete (by
 * Content-Length or end of stream) and runs the loop until then or a 5 s deadline, so the server
 * under test runs on the same loop. Header-only. */
#ifndef OCA_TEST_UNIT_RAWHTTP_H
#define OCA_TEST_UNIT_RAWHTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"

struct rawhttp_response {
    int status;             /* 0 when nothing came back */
    struct oca_buf raw;     /* everything read */
    const char *body;       /* into raw */
    size_t body_len;
};

struct rawhttp_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_timer_t deadline;
    uv_buf_t out;
    struct rawhttp_response *resp;
    int open_handles;
    bool finished;
    bool timed_out;
    int connect_status;
};

static inline void rawhttp_on_close(uv_handle_t *h)
{
    struct rawhttp_conn *c = h->data;
    c->open_handles--;
}

static inline void rawhttp_finish(struct rawhttp_conn *c)
{
    if (c->finished)
        return;
    c->finished = true;
    uv_timer_stop(&c->deadline);
    uv_close((uv_handle_t *)&c->tcp, rawhttp_on_close);
    uv_close((uv_handle_t *)&c->deadline, rawhttp_on_close);
}

/* The value of header name in the response head, copied into out; false when absent. */
static inline bool rawhttp_header(const struct rawhttp_response *r, const char *name, char *out, size_t size)
{
    const char *p = r->raw.data ? strstr(r->raw.data, "\r\n") : NULL;
    size_t n = strlen(name);
    while (p && p[2] != '\r') {
        const char *line = p + 2;
        p = strstr(line, "\r\n");
        if (p && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)(p - v);
            if (len >= size)
                len = size - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

/* Complete once the head is in and Content-Length bytes of body follow it. */
static inline void rawhttp_check_complete(struct rawhttp_conn *c)
{
    struct rawhttp_response *r = c->resp;
    const char *end = r->raw.data ? strstr(r->raw.data, "\r\n\r\n") : NULL;
    if (!end)
        return;
    r->body = end + 4;
    r->body_len = r->raw.len - (size_t)(r->body - r->raw.data);
    if (sscanf(r->raw.data, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = -1;
    char cl[32];
    if (rawhttp_header(r, "content-length", cl, sizeof(cl)) && r->body_len >= strtoull(cl, NULL, 10))
        rawhttp_finish(c);
}

static inline void rawhttp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static inline void rawhttp_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct rawhttp_conn *c = s->data;
    if (n > 0 && !c->finished) {
        oca_buf_append(&c->resp->raw, buf->base, (size_t)n);
        rawhttp_check_complete(c);
    }
    free(buf->base);
    if (n < 0 && !c->finished) {
        rawhttp_check_complete(c);
        rawhttp_finish(c);
    }
}

static inline void rawhttp_on_write(uv_write_t *w, int status)
{
    (void)w;
    (void)status;
}

static inline void rawhttp_on_connect(uv_connect_t *req, int status)
{
    struct rawhttp_conn *c = req->data;
    c->connect_status = status;
    if (status < 0) {
        rawhttp_finish(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, rawhttp_alloc, rawhttp_on_read);
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->out, 1, rawhttp_on_write);
}

static inline void rawhttp_on_deadline(uv_timer_t *t)
{
    struct rawhttp_conn *c = t->data;
    c->timed_out = true;
    rawhttp_finish(c);
}

/* Sends request (the whole text, head and body) and fills resp; returns 0, or -1 when the
 * connection failed or the deadline passed. Free resp->raw with oca_buf_free. */
static inline int rawhttp_exchange(uv_loop_t *loop, uint16_t port, const char *request, struct rawhttp_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    struct rawhttp_conn c;
    memset(&c, 0, sizeof(c));
    c.resp = resp;
    c.out = uv_buf_init((char *)(uintptr_t)request, (unsigned)strlen(request));
    uv_tcp_init(loop, &c.tcp);
    uv_timer_init(loop, &c.deadline);
    c.open_handles = 2;
    c.tcp.data = c.deadline.data = c.connect.data = &c;
    uv_timer_start(&c.deadline, rawhttp_on_deadline, 5000, 0);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, rawhttp_on_connect);
    while (c.open_handles > 0)
        uv_run(loop, UV_RUN_ONCE);
    oca_buf_reserve(&resp->raw, 0);
    if (resp->raw.data && !resp->body)
        resp->body = resp->raw.data + resp->raw.len;
    return c.timed_out || c.connect_status < 0 ? -1 : 0;
}

/* GET path with Connection: close; the status, or -1. */
static inline int rawhttp_get(uv_loop_t *loop, uint16_t port, const char *path, struct rawhttp_response *resp)
{
    char req[512];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    return rawhttp_exchange(loop, port, req, resp) == 0 ? resp->status : -1;
}

/* A port that was free a moment ago on 127.0.0.1 (bound to 0 and released), for components whose
 * bound port a test cannot ask for. */
static inline uint16_t rawhttp_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

#endif
