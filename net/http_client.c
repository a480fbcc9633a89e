/* The outbound HTTP client (see http_client.h): one libcurl multi handle per client, driven by the
 * libuv loop through curl's multi-socket interface (a uv_poll_t per socket curl asks us to watch,
 * one uv_timer_t for curl's timeout), so exporters share connections and never block the loop.
 * Also the client tls section (configtls client keys) and how it maps onto curl's options. */
#include "net/http_client.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "net/curl_lazy.h"

#define MAX_HEADER_BYTES (256u * 1024)

const struct oca_field oca_tls_client_fields[] = {
    OCA_FIELD_BOOL(struct oca_tls_client_config, insecure, "false",
                   "gRPC exporters: plain text (h2c) instead of TLS. HTTP exporters follow the "
                   "endpoint's scheme (http:// or https://) instead."),
    OCA_FIELD_BOOL(struct oca_tls_client_config, insecure_skip_verify, "false",
                   "Use TLS but do not check the server's certificate chain nor its name."),
    OCA_FIELD_STRING(struct oca_tls_client_config, ca_file, NULL,
                     "PEM CA bundle to verify the server with, instead of the system's CAs."),
    OCA_FIELD_STRING(struct oca_tls_client_config, cert_file, NULL,
                     "PEM client certificate for mutual TLS (with key_file)."),
    OCA_FIELD_STRING(struct oca_tls_client_config, key_file, NULL, "PEM private key of cert_file."),
    OCA_FIELD_STRING(struct oca_tls_client_config, server_name_override, NULL,
                     "Name sent as SNI and checked in the server's certificate instead of the "
                     "endpoint's host (the connection still goes to the endpoint's address; the "
                     "Host / :authority header carries this name too, as grpc-go does)."),
    OCA_FIELD_ENUM(struct oca_tls_client_config, min_version, "1.2", oca_tls_version_names,
                   "Lowest TLS version offered: 1.0, 1.1, 1.2 or 1.3."),
    OCA_FIELD_END,
};

int oca_tls_client_config_validate(const struct oca_tls_client_config *cfg, const char *prefix,
                                   struct oca_diag *diag)
{
    char path[256];
    const char *p = prefix && *prefix ? prefix : NULL;
    int err = OCA_OK;
#define KEY(k) (snprintf(path, sizeof(path), "%s%s%s", p ? p : "", p ? "." : "", k), path)
    if (cfg->cert_file && !cfg->key_file) {
        oca_diag_field_error(diag, KEY("key_file"), "required when cert_file is set");
        err = OCA_ERR_CONFIG;
    }
    if (cfg->key_file && !cfg->cert_file) {
        oca_diag_field_error(diag, KEY("cert_file"), "required when key_file is set");
        err = OCA_ERR_CONFIG;
    }
    const struct { const char *key, *file; } files[] = {
        { "ca_file", cfg->ca_file }, { "cert_file", cfg->cert_file }, { "key_file", cfg->key_file },
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (files[i].file && access(files[i].file, R_OK) != 0) {
            oca_diag_field_error(diag, KEY(files[i].key), "cannot read %s", files[i].file);
            err = OCA_ERR_CONFIG;
        }
    }
    if (cfg->server_name_override && !*cfg->server_name_override) {
        oca_diag_field_error(diag, KEY("server_name_override"), "must not be empty");
        err = OCA_ERR_CONFIG;
    }
#undef KEY
    return err;
}

/* libcurl's global state (OpenSSL init among others) once per process, from any thread. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
/* libcurl before 8.0.0 breaks an h2c (prior knowledge) connection it reuses: it stacks a second
 * HTTP/2 layer on it and the request fails with "Error in the HTTP2 framing layer" (curl issue
 * #10634, fixed by PR #10643). There, every h2c request gets a connection of its own. */
static bool h2c_reuse;

static void global_cleanup(void)
{
    oca_curl.global_cleanup();
}

static void global_init(void)
{
    global_rc = oca_curl.global_init(CURL_GLOBAL_ALL);
    if (global_rc == CURLE_OK)
        atexit(global_cleanup);
    h2c_reuse = oca_curl.version_info(CURLVERSION_NOW)->version_num >= 0x080000;
}

/* A received header: offsets into the transfer's header text, resolved at the end. */
struct hdr_at {
    size_t name, name_len, value, value_len;
};

struct xfer {
    struct oca_http_client *c;
    struct xfer *prev, *next;
    CURL *easy;
    struct curl_slist *req_headers;
    char *url;                      /* owned when rewritten for server_name_override */
    struct curl_slist *connect_to;
    oca_http_done_cb done;
    void *arg;
    struct oca_buf htext;           /* every header name and value, NUL-separated */
    struct hdr_at *hdrs;
    size_t n_hdrs, cap_hdrs;
    struct oca_buf body;
    struct oca_slice *pieces;       /* a body in pieces (copied array), read by read_pieces_cb */
    size_t n_pieces, piece, piece_off;
    bool too_large;
    bool headers_too_large;
    int early_err;                  /* nonzero: failed before curl ran it (done deferred) */
    char errbuf[CURL_ERROR_SIZE];
};

/* A socket curl asked us to watch; its handle is closed (and this freed) when curl lets go. */
struct sock {
    uv_poll_t poll;
    struct oca_http_client *c;
    curl_socket_t fd;
};

struct oca_http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;               /* curl's timeout */
    uv_timer_t defer;               /* completes requests that failed before curl ran them */
    struct xfer *head;              /* in flight */
    struct xfer *failed;            /* early failures awaiting their done */
    size_t in_flight;
    int open_handles;               /* timer, defer and polls not closed yet */
    bool closing;
    void (*closed)(void *arg);
    void *closed_arg;
    char *who;
    struct oca_tls_client_config tls;
    bool has_tls;
};

const struct oca_http_header *oca_http_response_header(const struct oca_http_response *r, const char *name)
{
    const struct oca_http_header *found = NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name_len == n && strncasecmp(r->headers[i].name, name, n) == 0)
            found = &r->headers[i];
    return found;
}

size_t oca_http_client_in_flight(const struct oca_http_client *c)
{
    return c->in_flight;
}

static void list_add(struct xfer **head, struct xfer *x)
{
    x->prev = NULL;
    x->next = *head;
    if (*head)
        (*head)->prev = x;
    *head = x;
}

static void list_remove(struct xfer **head, struct xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        *head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void xfer_free(struct xfer *x)
{
    if (x->easy)
        oca_curl.easy_cleanup(x->easy);
    oca_curl.slist_free_all(x->req_headers);
    oca_curl.slist_free_all(x->connect_to);
    free(x->url);
    oca_buf_free(&x->htext);
    oca_buf_free(&x->body);
    free(x->pieces);
    free(x->hdrs);
    free(x);
}

/* Hands the outcome to the owner and frees the transfer (already out of every list). */
static void xfer_finish(struct xfer *x, int err, const char *detail)
{
    struct oca_http_response r = { .err = err, .detail = err == OCA_OK ? NULL : detail };
    struct oca_http_header *hv = NULL;
    if (err == OCA_OK) {
        long status = 0;
        oca_curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        r.status = (int)status;
        hv = oca_xcalloc(x->n_hdrs ? x->n_hdrs : 1, sizeof(*hv));
        for (size_t i = 0; i < x->n_hdrs; i++) {
            hv[i].name = x->htext.data + x->hdrs[i].name;
            hv[i].name_len = x->hdrs[i].name_len;
            hv[i].value = x->htext.data + x->hdrs[i].value;
            hv[i].value_len = x->hdrs[i].value_len;
        }
        r.headers = hv;
        r.n_headers = x->n_hdrs;
        r.body = (const uint8_t *)(x->body.data ? x->body.data : "");
        r.body_len = x->body.len;
    }
    x->done(x->arg, &r);
    free(hv);
    xfer_free(x);
}

static void finish_curl(struct oca_http_client *c, struct xfer *x, CURLcode rc)
{
    char detail[CURL_ERROR_SIZE + 64];
    int err = OCA_OK;
    if (x->too_large) {
        err = OCA_ERR_UNAVAILABLE;
        snprintf(detail, sizeof(detail), "response body larger than %u bytes", OCA_HTTP_CLIENT_MAX_RESPONSE);
    } else if (x->headers_too_large) {
        err = OCA_ERR_UNAVAILABLE;
        snprintf(detail, sizeof(detail), "response headers larger than %u bytes", MAX_HEADER_BYTES);
    } else if (rc != CURLE_OK) {
        err = rc == CURLE_OPERATION_TIMEDOUT ? OCA_ERR_TIMEOUT : OCA_ERR_UNAVAILABLE;
        snprintf(detail, sizeof(detail), "%s", x->errbuf[0] ? x->errbuf : oca_curl.easy_strerror(rc));
    }
    list_remove(&c->head, x);
    c->in_flight--;
    xfer_finish(x, err, detail);
}

/* Completes what curl has finished. A done callback may close the client: stop then. */
static void check_done(struct oca_http_client *c)
{
    CURLMsg *m;
    int left;
    while (!c->closing && (m = oca_curl.multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        struct xfer *x = NULL;
        oca_curl.easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        oca_curl.multi_remove_handle(c->multi, easy);
        finish_curl(c, x, rc);
    }
}

static void handle_closed(uv_handle_t *h)
{
    struct oca_http_client *c = h->data;
    if (h->type == UV_POLL)
        free(h);
    if (--c->open_handles > 0)
        return;
    void (*closed)(void *) = c->closed;
    void *arg = c->closed_arg;
    free(c->who);
    free(c->tls.ca_file);
    free(c->tls.cert_file);
    free(c->tls.key_file);
    free(c->tls.server_name_override);
    free(c);
    if (closed)
        closed(arg);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock *s = (struct sock *)p;
    struct oca_http_client *c = s->c;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    oca_curl.multi_socket_action(c->multi, s->fd, flags, &running);
    check_done(c);
}

static void on_timer(uv_timer_t *t)
{
    struct oca_http_client *c = t->data;
    int running;
    oca_curl.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd as curl asks; REMOVE comes before curl closes the socket. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct oca_http_client *c = userp;
    struct sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            if (!c->closing)
                oca_curl.multi_assign(c->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, handle_closed);
        }
        return 0;
    }
    if (!s) {
        s = oca_xcalloc(1, sizeof(*s));
        s->c = c;
        s->fd = fd;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = c;
        c->open_handles++;
        oca_curl.multi_assign(c->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle; -1 stops it. A 0 timeout still goes
 * through the loop: calling curl back from inside its own callback is not allowed. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct oca_http_client *c = userp;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* Response header lines, then (HTTP/2 and chunked HTTP/1.1) trailer lines, one per call. A status
 * line starts a new response (after 1xx interim ones), so only the final headers are kept. */
static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (x->htext.len + len > MAX_HEADER_BYTES) {
        x->headers_too_large = true;
        return 0;
    }
    size_t end = len;
    while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
        end--;
    if (end == 0)
        return len;
    if (end >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        oca_buf_reset(&x->htext);
        x->n_hdrs = 0;
        return len;
    }
    const char *colon = memchr(data, ':', end);
    if (!colon || colon == data)
        return len;
    size_t nl = (size_t)(colon - data);
    size_t v = nl + 1;
    while (v < end && (data[v] == ' ' || data[v] == '\t'))
        v++;
    size_t ve = end;
    while (ve > v && (data[ve - 1] == ' ' || data[ve - 1] == '\t'))
        ve--;
    if (x->n_hdrs == x->cap_hdrs) {
        x->cap_hdrs = x->cap_hdrs ? x->cap_hdrs * 2 : 16;
        x->hdrs = oca_xrealloc(x->hdrs, x->cap_hdrs * sizeof(*x->hdrs));
    }
    struct hdr_at *h = &x->hdrs[x->n_hdrs++];
    h->name = x->htext.len;
    h->name_len = nl;
    for (size_t i = 0; i < nl; i++)
        oca_buf_putc(&x->htext, (char)tolower((unsigned char)data[i]));
    oca_buf_putc(&x->htext, '\0');
    h->value = x->htext.len;
    h->value_len = ve - v;
    oca_buf_append(&x->htext, data + v, ve - v);
    oca_buf_putc(&x->htext, '\0');
    return len;
}

/* curl's reader of a body in pieces: copies the next bytes into its upload buffer. */
static size_t read_pieces_cb(char *to, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t room = size * n, got = 0;
    while (got < room && x->piece < x->n_pieces) {
        const struct oca_slice *p = &x->pieces[x->piece];
        size_t take = p->len - x->piece_off;
        if (take > room - got)
            take = room - got;
        memcpy(to + got, p->data + x->piece_off, take);
        got += take;
        x->piece_off += take;
        if (x->piece_off == p->len) {
            x->piece++;
            x->piece_off = 0;
        }
    }
    return got;
}

/* curl rewinds a body it must send again (a request retried on a fresh connection). */
static int seek_pieces_cb(void *arg, curl_off_t offset, int origin)
{
    struct xfer *x = arg;
    if (origin != SEEK_SET || offset < 0)
        return CURL_SEEKFUNC_CANTSEEK;
    size_t left = (size_t)offset;
    x->piece = 0;
    x->piece_off = 0;
    while (x->piece < x->n_pieces && left >= x->pieces[x->piece].len)
        left -= x->pieces[x->piece++].len;
    if (left > 0 && x->piece == x->n_pieces)
        return CURL_SEEKFUNC_FAIL;
    x->piece_off = left;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (x->body.len + len > OCA_HTTP_CLIENT_MAX_RESPONSE) {
        x->too_large = true;
        return 0;
    }
    oca_buf_append(&x->body, data, len);
    return len;
}

static void on_defer(uv_timer_t *t)
{
    struct oca_http_client *c = t->data;
    while (c->failed && !c->closing) {
        struct xfer *x = c->failed;
        list_remove(&c->failed, x);
        c->in_flight--;
        xfer_finish(x, x->early_err, x->errbuf);
    }
}

static void copy_tls(struct oca_tls_client_config *dst, const struct oca_tls_client_config *src)
{
    *dst = *src;
    dst->ca_file = src->ca_file ? oca_xstrdup(src->ca_file) : NULL;
    dst->cert_file = src->cert_file ? oca_xstrdup(src->cert_file) : NULL;
    dst->key_file = src->key_file ? oca_xstrdup(src->key_file) : NULL;
    dst->server_name_override = src->server_name_override ? oca_xstrdup(src->server_name_override) : NULL;
}

struct oca_http_client *oca_http_client_new(uv_loop_t *loop, const struct oca_tls_client_config *tls,
                                            const char *who)
{
    if (oca_curl_load(who) != OCA_OK)
        return NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        oca_log_error(who, "cannot initialise libcurl: %s", oca_curl.easy_strerror(global_rc));
        return NULL;
    }
    CURLM *multi = oca_curl.multi_init();
    if (!multi) {
        oca_log_error(who, "cannot initialise libcurl: curl_multi_init failed");
        return NULL;
    }
    struct oca_http_client *c = oca_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->multi = multi;
    c->who = oca_xstrdup(who ? who : "http client");
    if (tls) {
        copy_tls(&c->tls, tls);
        c->has_tls = true;
    } else {
        c->tls.min_version = OCA_TLS_1_2;
    }
    oca_curl.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    oca_curl.multi_setopt(multi, CURLMOPT_SOCKETDATA, c);
    oca_curl.multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    oca_curl.multi_setopt(multi, CURLMOPT_TIMERDATA, c);
    oca_curl.multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->defer);
    c->timer.data = c->defer.data = c;
    c->open_handles = 2;
    return c;
}

static bool is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

/* server_name_override: the URL names the override (so SNI, certificate check and Host carry it)
 * and CURLOPT_CONNECT_TO sends the connection to the URL's real host and port. */
static int apply_override(struct xfer *x, const char *url, const char *name)
{
    CURLU *u = oca_curl.url();
    char *host = NULL, *port = NULL, *out = NULL;
    int err = OCA_ERR_INVALID;
    if (oca_curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        oca_curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        oca_curl.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        oca_curl.url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
        oca_curl.url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
        goto fail;
    struct oca_buf entry = { 0 };
    oca_buf_printf(&entry, "%s:%s:%s:%s", name, port, host, port);
    x->connect_to = oca_curl.slist_append(NULL, entry.data);
    oca_buf_free(&entry);
    x->url = oca_xstrdup(out);
    err = OCA_OK;
fail:
    oca_curl.free(host);
    oca_curl.free(port);
    oca_curl.free(out);
    oca_curl.url_cleanup(u);
    return err;
}

static void set_tls(struct oca_http_client *c, struct xfer *x)
{
    static const long versions[] = { CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1, CURL_SSLVERSION_TLSv1_2,
                                     CURL_SSLVERSION_TLSv1_3 };
    const struct oca_tls_client_config *t = &c->tls;
    CURL *e = x->easy;
    int v = t->min_version >= OCA_TLS_1_0 && t->min_version <= OCA_TLS_1_3 ? t->min_version : OCA_TLS_1_2;
    oca_curl.easy_setopt(e, CURLOPT_SSLVERSION, versions[v]);
    if (!c->has_tls)
        return;
    if (t->insecure_skip_verify) {
        oca_curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        oca_curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (t->ca_file)
        oca_curl.easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    if (t->cert_file) {
        oca_curl.easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
        oca_curl.easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (t->key_file) {
        oca_curl.easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
        oca_curl.easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

static int set_headers(struct xfer *x, const struct oca_http_request *req)
{
    bool has_ct = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct oca_http_header *h = &req->headers[i];
        if (h->name_len == 12 && strncasecmp(h->name, "content-type", 12) == 0)
            has_ct = true;
        /* curl's syntax: "Name;" sends an empty value, "Name:" would remove the header. */
        struct oca_buf line = { 0 };
        if (h->value_len)
            oca_buf_printf(&line, "%.*s: %.*s", (int)h->name_len, h->name, (int)h->value_len, h->value);
        else
            oca_buf_printf(&line, "%.*s;", (int)h->name_len, h->name);
        struct curl_slist *l = oca_curl.slist_append(x->req_headers, line.data);
        oca_buf_free(&line);
        if (!l)
            return OCA_ERR_INVALID;
        x->req_headers = l;
    }
    /* curl would add "Expect: 100-continue" to large HTTP/1.1 bodies (a round trip lost, and some
     * servers never answer it) and a form content type to every POST. */
    x->req_headers = oca_curl.slist_append(x->req_headers, "Expect:");
    if (!has_ct)
        x->req_headers = oca_curl.slist_append(x->req_headers, "Content-Type:");
    return OCA_OK;
}

static int setup(struct oca_http_client *c, struct xfer *x, const struct oca_http_request *req)
{
    CURL *e = x->easy;
    const char *url = req->url;
    bool tls = is_https(url);
    if (tls && c->tls.server_name_override) {
        if (apply_override(x, url, c->tls.server_name_override) != OCA_OK) {
            snprintf(x->errbuf, sizeof(x->errbuf), "cannot apply server_name_override to URL %s", url);
            return OCA_ERR_UNAVAILABLE;
        }
        url = x->url;
        oca_curl.easy_setopt(e, CURLOPT_CONNECT_TO, x->connect_to);
    }
    oca_curl.easy_setopt(e, CURLOPT_URL, url);
    oca_curl.easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    oca_curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (getenv("OCA_CURL_VERBOSE"))
        oca_curl.easy_setopt(e, CURLOPT_VERBOSE, 1L);
    oca_curl.easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    oca_curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    oca_curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    oca_curl.easy_setopt(e, CURLOPT_WRITEDATA, x);
    oca_curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    oca_curl.easy_setopt(e, CURLOPT_HEADERDATA, x);
    oca_curl.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    long ver = CURL_HTTP_VERSION_1_1;
    if (req->version == OCA_HTTP_VERSION_2)
        ver = tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    oca_curl.easy_setopt(e, CURLOPT_HTTP_VERSION, ver);
    /* Proxies come from the environment (http_proxy, https_proxy, all_proxy, no_proxy), as libcurl
     * does by default. HTTP/2 (gRPC) goes through them in a CONNECT tunnel, as grpc-go does: curl
     * would otherwise drop prior knowledge and forward HTTP/1.1. */
    if (req->version == OCA_HTTP_VERSION_2)
        oca_curl.easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
    if (ver == CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE && !h2c_reuse) {
        oca_curl.easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        oca_curl.easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    } else {
        /* Wait for a connection being set up to the same host rather than opening another, so
         * HTTP/2 requests multiplex on one connection. */
        oca_curl.easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    }
    if (req->timeout_ns > 0) {
        int64_t ms = (req->timeout_ns + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS;
        oca_curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ms);
    }
    const char *method = req->method ? req->method : "POST";
    if (strcmp(method, "GET") == 0 && req->body_len == 0 && req->n_pieces == 0) {
        oca_curl.easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        oca_curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (req->n_pieces > 0) {
        x->pieces = oca_xmalloc(req->n_pieces * sizeof(*x->pieces));
        memcpy(x->pieces, req->pieces, req->n_pieces * sizeof(*x->pieces));
        x->n_pieces = req->n_pieces;
        curl_off_t total = 0;
        for (size_t i = 0; i < x->n_pieces; i++)
            total += (curl_off_t)x->pieces[i].len;
        oca_curl.easy_setopt(e, CURLOPT_POST, 1L);
        oca_curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, total);
        oca_curl.easy_setopt(e, CURLOPT_READFUNCTION, read_pieces_cb);
        oca_curl.easy_setopt(e, CURLOPT_READDATA, x);
        oca_curl.easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_pieces_cb);
        oca_curl.easy_setopt(e, CURLOPT_SEEKDATA, x);
        if (strcmp(method, "POST") != 0)
            oca_curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else {
        /* The body is borrowed: POSTFIELDS does not copy (COPYPOSTFIELDS would). */
        oca_curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        oca_curl.easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        if (strcmp(method, "POST") != 0)
            oca_curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    set_tls(c, x);
    if (set_headers(x, req) != OCA_OK) {
        snprintf(x->errbuf, sizeof(x->errbuf), "cannot build the request headers");
        return OCA_ERR_UNAVAILABLE;
    }
    oca_curl.easy_setopt(e, CURLOPT_HTTPHEADER, x->req_headers);
    return OCA_OK;
}

int oca_http_client_send(struct oca_http_client *c, const struct oca_http_request *req, oca_http_done_cb done,
                         void *arg)
{
    if (c->closing)
        return OCA_ERR_SHUTTING_DOWN;
    struct xfer *x = oca_xcalloc(1, sizeof(*x));
    x->c = c;
    x->done = done;
    x->arg = arg;
    x->easy = oca_curl.easy_init();
    c->in_flight++;
    int err = x->easy ? setup(c, x, req) : OCA_ERR_UNAVAILABLE;
    if (!x->easy)
        snprintf(x->errbuf, sizeof(x->errbuf), "curl_easy_init failed");
    if (err == OCA_OK) {
        CURLMcode mc = oca_curl.multi_add_handle(c->multi, x->easy);
        if (mc == CURLM_OK) {
            list_add(&c->head, x);
            return OCA_OK;
        }
        snprintf(x->errbuf, sizeof(x->errbuf), "%s", oca_curl.multi_strerror(mc));
        err = OCA_ERR_UNAVAILABLE;
    }
    /* done must not run inside send: the failure is handed over from the loop. */
    x->early_err = err;
    list_add(&c->failed, x);
    uv_timer_start(&c->defer, on_defer, 0, 0);
    return OCA_OK;
}

void oca_http_client_close(struct oca_http_client *c, void (*closed)(void *arg), void *arg)
{
    if (c->closing)
        return;
    c->closing = true;
    c->closed = closed;
    c->closed_arg = arg;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->defer);
    while (c->head) {
        struct xfer *x = c->head;
        list_remove(&c->head, x);
        c->in_flight--;
        oca_curl.multi_remove_handle(c->multi, x->easy);
        xfer_finish(x, OCA_ERR_SHUTTING_DOWN, "the client is closing");
    }
    while (c->failed) {
        struct xfer *x = c->failed;
        list_remove(&c->failed, x);
        c->in_flight--;
        xfer_finish(x, OCA_ERR_SHUTTING_DOWN, "the client is closing");
    }
    /* Closing the cached connections calls socket_cb with CURL_POLL_REMOVE for each, which closes
     * the polls; the client is freed once the last handle's close callback ran. */
    oca_curl.multi_cleanup(c->multi);
    c->multi = NULL;
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    uv_close((uv_handle_t *)&c->defer, handle_closed);
}
