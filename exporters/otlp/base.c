/* The lifecycle the otlp and otlphttp exporters share (see otlp.h): start creates the HTTP client and
 * starts the exporter helper; shutdown lets the helper drain its queue (sending and retrying what
 * is left) and only then closes the client, so no attempt is cut off by the client going away. */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/mem.h"
#include "config/diag.h"
#include "exporters/otlp/otlp.h"

int oca_otlpexp_validate_common(const struct oca_strmap *headers, const struct oca_tls_client_config *tls,
                                const struct oca_exporter_helper_config *helper, struct oca_diag *diag)
{
    int err = OCA_OK;
    char why[256];
    if (!oca_otlpexp_headers_ok(headers, why, sizeof(why))) {
        oca_diag_field_error(diag, "headers", "%s", why);
        err = OCA_ERR_CONFIG;
    }
    if (oca_tls_client_config_validate(tls, "tls", diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    if (oca_exporter_helper_validate(helper, diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    return err;
}

void oca_otlpexp_base_init(struct oca_otlpexp_base *b, struct oca_component *self,
                           const struct oca_exporter_helper_config *helper_cfg,
                           const struct oca_tls_client_config *tls, const struct oca_strmap *headers,
                           const struct oca_http_header *fixed, size_t n_fixed,
                           const struct oca_exporter_ops *ops, void *exporter)
{
    memset(b, 0, sizeof(*b));
    b->self = self;
    b->tls = tls;
    b->n_headers = n_fixed + headers->n;
    b->headers = oca_xcalloc(b->n_headers ? b->n_headers : 1, sizeof(*b->headers));
    if (n_fixed)
        memcpy(b->headers, fixed, n_fixed * sizeof(*fixed));
    for (size_t i = 0; i < headers->n; i++) {
        struct oca_http_header *h = &b->headers[n_fixed + i];
        h->name = headers->keys[i];
        h->name_len = strlen(headers->keys[i]);
        h->value = headers->values[i];
        h->value_len = strlen(headers->values[i]);
    }
    b->helper = oca_exporter_helper_new(self, helper_cfg, ops, exporter);
}

int oca_otlpexp_start(struct oca_component *self, uv_loop_t *loop)
{
    struct oca_otlpexp_base *b = self->state;
    b->client = oca_http_client_new(loop, b->tls, b->self->id);
    if (!b->client)
        return OCA_ERR_CONFIG;
    int err = oca_exporter_helper_start(b->helper, loop);
    b->started = true;
    return err;
}

int oca_otlpexp_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct oca_otlpexp_base *b = self->state;
    return oca_exporter_helper_consume(b->helper, sig, batch);
}

static void on_client_closed(void *arg)
{
    struct oca_otlpexp_base *b = arg;
    b->client = NULL;
    b->started = false;
    oca_waiters_notify(&b->waiters, b->self);
}

static void on_drained(void *arg)
{
    struct oca_otlpexp_base *b = arg;
    oca_http_client_close(b->client, on_client_closed, b);
}

void oca_otlpexp_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct oca_otlpexp_base *b = self->state;
    oca_waiters_add(&b->waiters, done);
    if (b->stopping && b->started)
        return;     /* the first call's drain answers this one too */
    if (!b->started) {
        oca_waiters_notify(&b->waiters, b->self);
        return;
    }
    b->stopping = true;
    oca_exporter_helper_shutdown(b->helper, on_drained, b);
}

void oca_otlpexp_base_free(struct oca_otlpexp_base *b)
{
    oca_exporter_helper_free(b->helper);
    free(b->headers);
    free(b->waiters.cbs);
    memset(b, 0, sizeof(*b));
}
