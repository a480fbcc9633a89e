/* TLS termination with OpenSSL over memory BIOs (see tls.h), and the tls config section shared by
 * every listener (cert_file, key_file, client_ca_file, min_version). A failed handshake costs only
 * its own connection; tcp.c logs the reason this file gives. */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/fields.h"

const struct oca_enum_name oca_tls_version_names[] = {
    { "1.0", OCA_TLS_1_0 },
    { "1.1", OCA_TLS_1_1 },
    { "1.2", OCA_TLS_1_2 },
    { "1.3", OCA_TLS_1_3 },
    { NULL, 0 },
};

const struct oca_field oca_tls_server_fields[] = {
    OCA_FIELD_STRING(struct oca_tls_server_config, cert_file, NULL,
                     "PEM certificate chain of the server; setting it turns TLS on."),
    OCA_FIELD_STRING(struct oca_tls_server_config, key_file, NULL,
                     "PEM private key of cert_file (required with it)."),
    OCA_FIELD_STRING(struct oca_tls_server_config, client_ca_file, NULL,
                     "PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)."),
    OCA_FIELD_ENUM(struct oca_tls_server_config, min_version, "1.2", oca_tls_version_names,
                   "Lowest TLS version accepted: 1.0, 1.1, 1.2 or 1.3 (OpenSSL's security level may "
                   "still refuse 1.0 and 1.1)."),
    OCA_FIELD_END,
};

struct oca_tls_ctx {
    SSL_CTX *ctx;
};

struct oca_tls {
    SSL *ssl;
    BIO *rbio, *wbio;               /* owned by ssl */
    enum oca_tls_state state;
    char why[256];
};

/* The reasons OpenSSL queued, joined, for the log. */
static void error_text(char *out, size_t cap, const char *fallback)
{
    unsigned long e;
    size_t n = 0;
    out[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[200];
        ERR_error_string_n(e, one, sizeof(one));
        int w = snprintf(out + n, cap - n, "%s%s", n ? "; " : "", one);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(out, cap, "%s", fallback);
}

/* Chooses h2, else http/1.1, among what the client offers; none of them: go on without ALPN
 * (the connection is then sniffed), as Go's crypto/tls does. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    static const unsigned char prefs[] = "\x02h2\x08http/1.1";
    (void)ssl;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, prefs, sizeof(prefs) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static const int version_codes[] = { TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION };

int oca_tls_ctx_new(const struct oca_tls_server_config *cfg, const char *who, struct oca_tls_ctx **out)
{
    char why[512];
    *out = NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        error_text(why, sizeof(why), "cannot create a TLS context");
        oca_log_error(who, "tls: %s", why);
        return OCA_ERR_CONFIG;
    }
    int v = cfg->min_version >= OCA_TLS_1_0 && cfg->min_version <= OCA_TLS_1_3 ? cfg->min_version : OCA_TLS_1_2;
    SSL_CTX_set_min_proto_version(ctx, version_codes[v]);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        error_text(why, sizeof(why), "unreadable");
        oca_log_error(who, "tls.cert_file %s: %s", cfg->cert_file, why);
        goto fail;
    }
    if (!cfg->key_file || SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        error_text(why, sizeof(why), "unreadable");
        oca_log_error(who, "tls.key_file %s: %s", cfg->key_file ? cfg->key_file : "(unset)", why);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        error_text(why, sizeof(why), "does not match the certificate");
        oca_log_error(who, "tls.key_file %s: %s", cfg->key_file, why);
        goto fail;
    }
    if (cfg->client_ca_file) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            error_text(why, sizeof(why), "no certificate in it");
            oca_log_error(who, "tls.client_ca_file %s: %s", cfg->client_ca_file, why);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    struct oca_tls_ctx *t = oca_xcalloc(1, sizeof(*t));
    t->ctx = ctx;
    *out = t;
    return OCA_OK;
fail:
    SSL_CTX_free(ctx);
    return OCA_ERR_CONFIG;
}

void oca_tls_ctx_free(struct oca_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ctx);
    free(ctx);
}

struct oca_tls *oca_tls_new(struct oca_tls_ctx *ctx)
{
    struct oca_tls *t = oca_xcalloc(1, sizeof(*t));
    t->ssl = SSL_new(ctx->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        fprintf(stderr, "ocagent: out of memory (TLS)\n");
        abort();
    }
    /* An empty read BIO means "no data yet", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    t->state = OCA_TLS_HANDSHAKING;
    return t;
}

void oca_tls_free(struct oca_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

static void drain(struct oca_tls *t, struct oca_buf *out)
{
    char *p;
    long n = BIO_get_mem_data(t->wbio, &p);
    if (n > 0) {
        oca_buf_append(out, p, (size_t)n);
        (void)BIO_reset(t->wbio);
    }
}

static void fail(struct oca_tls *t, int ret, const char *what)
{
    int e = SSL_get_error(t->ssl, ret);
    char lib[200];
    error_text(lib, sizeof(lib), e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ? "connection closed"
                                                                                   : "protocol error");
    long vr = SSL_get_verify_result(t->ssl);
    if (vr != X509_V_OK)
        snprintf(t->why, sizeof(t->why), "%s: %s (certificate: %s)", what, lib, X509_verify_cert_error_string(vr));
    else
        snprintf(t->why, sizeof(t->why), "%s: %s", what, lib);
    t->state = OCA_TLS_FAILED;
}

enum oca_tls_state oca_tls_feed(struct oca_tls *t, const uint8_t *data, size_t len, struct oca_buf *out)
{
    if (t->state == OCA_TLS_FAILED || t->state == OCA_TLS_CLOSED)
        return t->state;
    if (len > 0 && BIO_write(t->rbio, data, (int)len) != (int)len) {
        snprintf(t->why, sizeof(t->why), "cannot buffer ciphertext");
        t->state = OCA_TLS_FAILED;
        return t->state;
    }
    if (t->state == OCA_TLS_HANDSHAKING) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        drain(t, out);
        if (r == 1) {
            t->state = OCA_TLS_READY;
        } else {
            int e = SSL_get_error(t->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                fail(t, r, "handshake failed");
        }
    }
    return t->state;
}

long oca_tls_read(struct oca_tls *t, uint8_t *buf, size_t cap, struct oca_buf *out)
{
    if (t->state != OCA_TLS_READY)
        return t->state == OCA_TLS_HANDSHAKING ? 0 : -1;
    ERR_clear_error();
    int r = SSL_read(t->ssl, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));
    drain(t, out);
    if (r > 0)
        return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->state = OCA_TLS_CLOSED;
        return -1;
    }
    fail(t, r, "read failed");
    return -1;
}

bool oca_tls_write(struct oca_tls *t, const void *data, size_t len, struct oca_buf *out)
{
    if (t->state != OCA_TLS_READY)
        return false;
    const uint8_t *p = data;
    while (len > 0) {
        int chunk = len > 65536 ? 65536 : (int)len;
        ERR_clear_error();
        int r = SSL_write(t->ssl, p, chunk);
        if (r <= 0) {
            fail(t, r, "write failed");
            return false;
        }
        p += r;
        len -= (size_t)r;
        drain(t, out);
    }
    return true;
}

const char *oca_tls_alpn(const struct oca_tls *t)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &n);
    if (n == 2 && memcmp(p, "h2", 2) == 0)
        return "h2";
    if (n == 8 && memcmp(p, "http/1.1", 8) == 0)
        return "http/1.1";
    return NULL;
}

const char *oca_tls_error(const struct oca_tls *t)
{
    return t->why[0] ? t->why : "unknown TLS error";
}
