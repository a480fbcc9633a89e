/* TLS termination for the HTTP server with OpenSSL over memory BIOs: the connection feeds the
 * ciphertext it reads and writes out the ciphertext this produces, so no socket is ever given to
 * OpenSSL. ALPN offers "h2" then "http/1.1"; with client_ca_file, clients must present a
 * certificate signed by it. */
#ifndef OCA_NET_TLS_H
#define OCA_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/http_server.h"

struct oca_tls_ctx;
struct oca_tls;

/* Loads the certificate, key and client CA of cfg. Logs the reason as `who` and returns
 * OCA_ERR_CONFIG when a file is missing or unusable. */
int oca_tls_ctx_new(const struct oca_tls_server_config *cfg, const char *who, struct oca_tls_ctx **out);
void oca_tls_ctx_free(struct oca_tls_ctx *ctx);

struct oca_tls *oca_tls_new(struct oca_tls_ctx *ctx);
void oca_tls_free(struct oca_tls *t);

enum oca_tls_state { OCA_TLS_HANDSHAKING, OCA_TLS_READY, OCA_TLS_CLOSED, OCA_TLS_FAILED };

/* Ciphertext from the peer. Runs the handshake as far as it goes; ciphertext to send back is
 * appended to out. Returns the state; after OCA_TLS_READY, read plaintext with oca_tls_read. */
enum oca_tls_state oca_tls_feed(struct oca_tls *t, const uint8_t *data, size_t len, struct oca_buf *out);
/* Decrypted bytes into buf: > 0 bytes, 0 when none are ready, -1 when the peer closed (close_notify)
 * or the stream failed. Ciphertext to send (key updates, alerts) is appended to out. */
long oca_tls_read(struct oca_tls *t, uint8_t *buf, size_t cap, struct oca_buf *out);
/* Encrypts plaintext and appends the records to out; false when the session failed. */
bool oca_tls_write(struct oca_tls *t, const void *data, size_t len, struct oca_buf *out);
/* The protocol ALPN chose ("h2", "http/1.1") or NULL when the client offered none. */
const char *oca_tls_alpn(const struct oca_tls *t);
/* Why the handshake failed, for the log (valid until the next call on t). */
const char *oca_tls_error(const struct oca_tls *t);

#endif
