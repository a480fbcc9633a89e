/* What HTTP/1.1 and HTTP/2 streams share: the request as handlers see it (method, path, headers,
 * body mode), the order in which handler callbacks are made, the response calls (passed on to the
 * stream's protocol), and the cross-field rules of a listener's config. */
#include "net/http_server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/mem.h"
#include "config/diag.h"
#include "net/conn.h"

int oca_http_server_config_validate(const struct oca_http_server_config *cfg, const char *prefix,
                                    struct oca_diag *diag)
{
    char path[256];
    const char *p = prefix && *prefix ? prefix : NULL;
    int err = OCA_OK;
    const struct oca_tls_server_config *t = &cfg->tls;
#define KEY(k) (snprintf(path, sizeof(path), "%s%s%s", p ? p : "", p ? "." : "", k), path)
    if (t->cert_file && !t->key_file) {
        oca_diag_field_error(diag, KEY("tls.key_file"), "required when tls.cert_file is set");
        err = OCA_ERR_CONFIG;
    }
    if (t->key_file && !t->cert_file) {
        oca_diag_field_error(diag, KEY("tls.cert_file"), "required when tls.key_file is set");
        err = OCA_ERR_CONFIG;
    }
    if (t->client_ca_file && !t->cert_file) {
        oca_diag_field_error(diag, KEY("tls.client_ca_file"), "needs tls.cert_file and tls.key_file");
        err = OCA_ERR_CONFIG;
    }
    if (t->present && !t->cert_file && !t->key_file && !t->client_ca_file) {
        oca_diag_field_error(diag, KEY("tls"), "needs cert_file and key_file (remove tls for plain text)");
        err = OCA_ERR_CONFIG;
    }
#undef KEY
    return err;
}

const char *oca_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 200 ? "Informational" : status < 300 ? "OK" : status < 400 ? "Redirect"
                  : status < 500 ? "Client Error" : "Server Error";
    }
}

struct oca_http_stream *oca_stream_new(struct oca_conn *c)
{
    struct oca_http_stream *s = oca_xcalloc(1, sizeof(*s));
    s->conn = c;
    s->arena = oca_arena_new(2048);
    s->handler = c->srv->handler;
    s->handler_data = c->srv->handler_data;
    s->method = "";
    s->path = "";
    s->query = "";
    s->content_length = UINT64_MAX;
    s->begin_ms = oca_conn_now(c);
    return s;
}

void oca_stream_free(struct oca_http_stream *s)
{
    if (!s)
        return;
    oca_arena_destroy(s->arena);
    oca_buf_free(&s->body);
    oca_buf_free(&s->rsp);
    oca_buf_free(&s->held);
    free(s);
}

bool oca_stream_add_header(struct oca_http_stream *s, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    /* As HTTP/2 counts a header list: name, value and 32 bytes of overhead each. */
    s->header_bytes += nlen + vlen + 32;
    if (s->header_bytes > s->conn->srv->cfg->max_header_bytes) {
        s->too_big = true;
        return false;
    }
    if (s->n_headers == s->cap_headers) {
        size_t cap = s->cap_headers ? s->cap_headers * 2 : 16;
        struct oca_http_header *h = oca_arena_alloc(s->arena, cap * sizeof(*h));
        if (s->n_headers)
            memcpy(h, s->headers, s->n_headers * sizeof(*h));
        s->headers = h;
        s->cap_headers = cap;
    }
    char *n = oca_arena_strndup(s->arena, name, nlen);
    for (size_t i = 0; i < nlen; i++)
        n[i] = (char)tolower((unsigned char)n[i]);
    s->headers[s->n_headers++] = (struct oca_http_header){
        .name = n, .name_len = nlen, .value = oca_arena_strndup(s->arena, value, vlen), .value_len = vlen,
    };
    return true;
}

void oca_stream_set_target(struct oca_http_stream *s, const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    s->path = oca_arena_strndup(s->arena, target, plen);
    s->query = q ? oca_arena_strndup(s->arena, q + 1, len - plen - 1) : "";
}

void oca_stream_call_headers(struct oca_http_stream *s)
{
    s->headers_done = true;
    s->handler_called = true;
    if (s->handler->on_headers)
        s->handler->on_headers(s);
    /* Answered in full before the body: whatever of it comes is dropped. */
    if (s->resp_ended && !s->req_ended)
        s->discard = true;
}

void oca_stream_call_body(struct oca_http_stream *s, const uint8_t *data, size_t len)
{
    if (s->closed || s->discard || !s->handler_called || len == 0)
        return;
    if (s->handler->on_body)
        s->handler->on_body(s, data, len);
    if (s->resp_ended && !s->req_ended)
        s->discard = true;
}

void oca_stream_call_end(struct oca_http_stream *s)
{
    if (s->closed || s->end_delivered || s->discard || !s->handler_called)
        return;
    s->end_delivered = true;
    if (!s->handler->on_end)
        return;
    if (s->streaming)
        s->handler->on_end(s, NULL, 0);
    else
        s->handler->on_end(s, (const uint8_t *)(s->body.data ? s->body.data : ""), s->body.len);
}

void oca_stream_call_close(struct oca_http_stream *s)
{
    if (s->closed)
        return;
    s->closed = true;
    if (s->handler_called && s->handler->on_close)
        s->handler->on_close(s);
}

void oca_stream_respond_text(struct oca_http_stream *s, int status, const char *text)
{
    static const struct oca_http_header h[] = {
        { "content-type", 12, "text/plain; charset=utf-8", 25 },
    };
    char body[256];
    int n = snprintf(body, sizeof(body), "%s\n", text ? text : oca_http_reason(status));
    s->conn->proto->respond(s, status, h, 1, body, (size_t)(n < 0 ? 0 : n));
}

/* Request side. */

void *oca_http_stream_handler_data(const struct oca_http_stream *s) { return s->handler_data; }
void oca_http_stream_set_user(struct oca_http_stream *s, void *user) { s->user = user; }
void *oca_http_stream_user(const struct oca_http_stream *s) { return s->user; }
int oca_http_stream_version(const struct oca_http_stream *s) { return s->conn->proto->version; }
const char *oca_http_stream_method(const struct oca_http_stream *s) { return s->method; }
const char *oca_http_stream_path(const struct oca_http_stream *s) { return s->path; }
const char *oca_http_stream_query(const struct oca_http_stream *s) { return s->query; }
size_t oca_http_stream_header_count(const struct oca_http_stream *s) { return s->n_headers; }
const char *oca_http_stream_peer(const struct oca_http_stream *s) { return s->conn->peer; }
bool oca_http_stream_is_tls(const struct oca_http_stream *s) { return s->conn->tls != NULL; }
uv_loop_t *oca_http_stream_loop(const struct oca_http_stream *s) { return s->conn->srv->loop; }

const char *oca_http_stream_header(const struct oca_http_stream *s, const char *name)
{
    for (size_t i = 0; i < s->n_headers; i++)
        if (strcasecmp(s->headers[i].name, name) == 0)
            return s->headers[i].value;
    return NULL;
}

const struct oca_http_header *oca_http_stream_header_at(const struct oca_http_stream *s, size_t i)
{
    return i < s->n_headers ? &s->headers[i] : NULL;
}

void oca_http_stream_set_handler(struct oca_http_stream *s, const struct oca_http_handler *h,
                                 void *handler_data)
{
    s->handler = h;
    s->handler_data = handler_data;
}

void oca_http_stream_stream_body(struct oca_http_stream *s)
{
    if (!s->req_ended || s->body.len == 0)
        s->streaming = true;
}

void oca_http_stream_pause(struct oca_http_stream *s)
{
    if (s->closed || s->paused)
        return;
    s->paused = true;
    s->conn->proto->pause(s);
}

void oca_http_stream_resume(struct oca_http_stream *s)
{
    if (s->closed || !s->paused)
        return;
    s->paused = false;
    s->conn->proto->resume(s);
}

/* Response side. */

int oca_http_respond(struct oca_http_stream *s, int status, const struct oca_http_header *headers,
                     size_t n_headers, const void *body, size_t len)
{
    if (s->closed || s->resp_started || s->reset_requested)
        return OCA_ERR_INVALID;
    return s->conn->proto->respond(s, status, headers, n_headers, body, len);
}

int oca_http_send_headers(struct oca_http_stream *s, int status, const struct oca_http_header *headers,
                          size_t n_headers)
{
    if (s->closed || s->resp_started || s->reset_requested)
        return OCA_ERR_INVALID;
    return s->conn->proto->send_headers(s, status, headers, n_headers);
}

int oca_http_send_data(struct oca_http_stream *s, const void *data, size_t len)
{
    if (s->closed || !s->resp_started || s->resp_ended || s->reset_requested)
        return OCA_ERR_INVALID;
    if (len == 0)
        return OCA_OK;
    return s->conn->proto->send_data(s, data, len);
}

int oca_http_send_end(struct oca_http_stream *s, const struct oca_http_header *trailers, size_t n_trailers)
{
    if (s->closed || !s->resp_started || s->resp_ended || s->reset_requested)
        return OCA_ERR_INVALID;
    return s->conn->proto->send_end(s, trailers, n_trailers);
}

void oca_http_stream_reset(struct oca_http_stream *s)
{
    if (s->closed || s->reset_requested)
        return;
    s->reset_requested = true;
    s->conn->proto->reset(s);
}
