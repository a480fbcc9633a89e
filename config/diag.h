/* Gathers config errors so that all of them are reported at once, each as
 * "file:line:col: key.path: message". The context (a node and its key path) lets a component's
 * validate() name one of its own keys without knowing where its section was written. */
#ifndef OCA_CONFIG_DIAG_H
#define OCA_CONFIG_DIAG_H

#include <stddef.h>

#include "base/buf.h"

struct oca_ynode;

struct oca_diag {
    struct oca_buf text;            /* every message, one per line */
    int errors;
    const struct oca_ynode *ctx;    /* section being validated (may be NULL) */
    const char *ctx_path;           /* its key path, e.g. "exporters.file/a" */
};

void oca_diag_init(struct oca_diag *d);
void oca_diag_free(struct oca_diag *d);

/* An error at node `at` (NULL: no position) for key path `path` (NULL: none). */
void oca_diag_error(struct oca_diag *d, const struct oca_ynode *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An error about `subpath` (dotted, e.g. "rotation.max_megabytes") inside the current context: the
 * position is that key's node when it was written, else the section's. */
void oca_diag_field_error(struct oca_diag *d, const char *subpath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
