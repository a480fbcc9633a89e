/* The agent's outbound HTTP client, used by every exporter that pushes: libcurl's multi-socket
 * interface driven by the libuv loop (curl's sockets are watched with uv_poll, its timer is a
 * uv_timer), so requests never block the loop and connections are reused across requests. HTTP/1.1
 * and HTTP/2 (h2c with prior knowledge on http:// URLs, h2 chosen by ALPN on https://). libcurl also
 * honours the usual proxy environment variables (http_proxy, https_proxy, all_proxy, no_proxy);
 * HTTP/2 requests go through a proxy in a CONNECT tunnel. gRPC unary calls ride on this client
 * (net/grpc_client.h). Everything runs on the loop thread. */
#ifndef OCA_NET_HTTP_CLIENT_H
#define OCA_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "config/fields.h"
#include "net/http_server.h"    /* struct oca_http_header, enum oca_tls_version */

/* TLS of an outbound connection: the keys of the Collector's configtls client settings. */
struct oca_tls_client_config {
    bool insecure;              /* gRPC exporters: plain text (h2c) instead of TLS; the HTTP client
                                 * itself ignores it (the URL's scheme decides) */
    bool insecure_skip_verify;  /* TLS without checking the server's certificate and name */
    char *ca_file;              /* CA to verify the server with; unset: the system's CAs */
    char *cert_file;            /* client certificate (mutual TLS), with key_file */
    char *key_file;
    char *server_name_override; /* name checked in the server certificate and sent as SNI; the
                                 * Host / :authority header carries it too (curl connects to the
                                 * URL's address through CURLOPT_CONNECT_TO) */
    int min_version;            /* enum oca_tls_version; "1.2" by default */
    bool present;               /* the tls key was written */
};

/* The keys of a client tls section: insecure, insecure_skip_verify, ca_file, cert_file, key_file,
 * server_name_override, min_version. */
extern const struct oca_field oca_tls_client_fields[];

/* Rules across the fields: cert_file and key_file together; files must be readable;
 * server_name_override not empty. prefix is the dotted key path of the section ("tls"). Returns
 * OCA_OK or OCA_ERR_CONFIG. */
struct oca_diag;
int oca_tls_client_config_validate(const struct oca_tls_client_config *cfg, const char *prefix,
                                   struct oca_diag *diag);

enum oca_http_version {
    OCA_HTTP_VERSION_1_1,       /* HTTP/1.1 only, on http:// and https:// alike */
    /* HTTP/2: prior knowledge on http://; on https:// h2 offered by ALPN, HTTP/1.1 if the server
     * refuses it. With libcurl before 8.0.0 (Debian 12 has 7.88) an h2c connection carries one
     * request only: that libcurl breaks h2c connections it reuses (curl issue #10634). */
    OCA_HTTP_VERSION_2,
};

struct oca_http_request {
    const char *method;                 /* "POST" */
    const char *url;                    /* absolute: http://host:port/path or https://... */
    enum oca_http_version version;
    const struct oca_http_header *headers;  /* extra request headers, sent as given */
    size_t n_headers;
    const uint8_t *body;                /* borrowed until done has run */
    size_t body_len;
    /* Or a body in pieces (n_pieces > 0: body and body_len are ignored), sent one after the other
     * as one body without being joined first (curl reads them as it sends), each borrowed until
     * done has run: a raw batch's segments go out from where they lie. The array is copied. */
    const struct oca_slice *pieces;
    size_t n_pieces;
    int64_t timeout_ns;                 /* the whole exchange, connect included; 0: none */
};

struct oca_http_response {
    /* OCA_OK: a complete response arrived, whatever its status. Otherwise no usable response:
     * OCA_ERR_TIMEOUT (timeout_ns passed), OCA_ERR_UNAVAILABLE (resolve or connect failed, the
     * connection broke, TLS failed, a malformed response, a body over
     * OCA_HTTP_CLIENT_MAX_RESPONSE, a URL curl cannot use), OCA_ERR_SHUTTING_DOWN (cancelled by
     * oca_http_client_close). */
    int err;
    const char *detail;                 /* err != OCA_OK: what went wrong, curl's words */
    int status;                         /* HTTP status when err == OCA_OK */
    /* Response headers of the final response (1xx ones dropped), then the trailers (HTTP/2, or
     * chunked HTTP/1.1), names lower case, values trimmed. */
    const struct oca_http_header *headers;
    size_t n_headers;
    const uint8_t *body;                /* as received (no content decoding) */
    size_t body_len;
};

/* The largest response body read; a longer one fails with OCA_ERR_UNAVAILABLE ("response body
 * larger than ..."), so a hostile or broken backend cannot grow the agent's memory. */
#define OCA_HTTP_CLIENT_MAX_RESPONSE (4u * 1024 * 1024)

/* The last header (or trailer) named name (lower case), or NULL. */
const struct oca_http_header *oca_http_response_header(const struct oca_http_response *r, const char *name);

/* Called exactly once per request, on the loop thread, never inside oca_http_client_send. Every
 * pointer in resp is valid only during the call. */
typedef void (*oca_http_done_cb)(void *arg, const struct oca_http_response *resp);

struct oca_http_client;

/* A client whose connections use tls (copied; NULL: defaults, which verify https:// servers with
 * the system's CAs). who names the owner in log lines ("exporter otlphttp"). Returns NULL and logs
 * the reason when libcurl cannot be set up. curl_global_init runs once per process (the first
 * call, from any thread) and its cleanup at exit. */
struct oca_http_client *oca_http_client_new(uv_loop_t *loop, const struct oca_tls_client_config *tls,
                                            const char *who);

/* Starts req; url, method and headers are copied, body is borrowed until done. Returns OCA_OK
 * (done will run later, also for a request that could not even start) or OCA_ERR_SHUTTING_DOWN
 * after close was called (done will not run). curl's defaults stand otherwise: no redirects
 * followed, no content decoding, no "Expect: 100-continue", no invented content-type. */
int oca_http_client_send(struct oca_http_client *c, const struct oca_http_request *req,
                         oca_http_done_cb done, void *arg);

/* Requests started and not finished yet. */
size_t oca_http_client_in_flight(const struct oca_http_client *c);

/* Cancels what is in flight (each done gets OCA_ERR_SHUTTING_DOWN, before this returns), closes the
 * connections and handles, and frees the client; closed(arg) runs once that is done (may be NULL).
 * May be called from inside a done callback; not twice. */
void oca_http_client_close(struct oca_http_client *c, void (*closed)(void *arg), void *arg);

#endif
