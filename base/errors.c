/* Lookups into the error table declared in errors.h. */
#include "base/errors.h"

#include <stddef.h>

struct err_row { const char *name, *msg; enum oca_err_class cls; int http, grpc; };

static const struct err_row rows[] = {
#define OCA_ERR_ROW(name, msg, cls, http, grpc) { #name, msg, cls, http, grpc },
    OCA_ERRORS(OCA_ERR_ROW)
#undef OCA_ERR_ROW
};

static const struct err_row *row(int err)
{
    if (err <= OCA_ERR__BASE || err >= OCA_ERR__END)
        return NULL;
    return &rows[err - OCA_ERR__BASE - 1];
}

const char *oca_err_name(int err)
{
    const struct err_row *r = row(err);
    return err == OCA_OK ? "OK" : r ? r->name : "UNKNOWN";
}

const char *oca_err_message(int err)
{
    const struct err_row *r = row(err);
    return err == OCA_OK ? "ok" : r ? r->msg : "unknown error";
}

enum oca_err_class oca_err_class(int err)
{
    const struct err_row *r = row(err);
    return err == OCA_OK ? OCA_CLASS_OK : r ? r->cls : OCA_CLASS_PERMANENT;
}

int oca_err_http_status(int err)
{
    const struct err_row *r = row(err);
    return err == OCA_OK ? 200 : r ? r->http : 500;
}

int oca_err_grpc_status(int err)
{
    const struct err_row *r = row(err);
    return err == OCA_OK ? 0 : r ? r->grpc : 2;
}
