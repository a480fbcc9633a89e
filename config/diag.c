/* Config error collection (see diag.h): every message becomes one line
 * "file:line:col: key.path: message". Control characters from the YAML (a key or value holding a
 * newline) are escaped so that one error is always exactly one line. */
#include "config/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "config/yaml_tree.h"

void oca_diag_init(struct oca_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void oca_diag_free(struct oca_diag *d)
{
    oca_buf_free(&d->text);
    d->errors = 0;
    d->ctx = NULL;
    d->ctx_path = NULL;
}

static void put_clean(struct oca_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            oca_buf_puts(b, "\\n");
        else if (c == '\t')
            oca_buf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            oca_buf_printf(b, "\\x%02x", c);
        else
            oca_buf_putc(b, (char)c);
    }
}

static void add_line(struct oca_diag *d, const struct oca_ynode *at, const char *path, const char *msg)
{
    if (at) {
        put_clean(&d->text, at->file ? at->file : "?");
        oca_buf_printf(&d->text, ":%u:%u: ", at->line, at->col);
    }
    if (path && *path) {
        put_clean(&d->text, path);
        oca_buf_puts(&d->text, ": ");
    }
    put_clean(&d->text, msg);
    oca_buf_putc(&d->text, '\n');
    d->errors++;
}

void oca_diag_error(struct oca_diag *d, const struct oca_ynode *at, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = oca_xvasprintf(fmt, ap);
    va_end(ap);
    add_line(d, at, path, msg);
    free(msg);
}

/* The key node of seg (len bytes) in map, or NULL. */
static const struct oca_ynode *find_key(const struct oca_ynode *map, const char *seg, size_t len,
                                        const struct oca_ynode **value)
{
    if (!map || map->kind != OCA_YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        const struct oca_ynode *k = map->keys[i];
        if (k->scalar_len == len && memcmp(k->scalar, seg, len) == 0) {
            *value = map->values[i];
            return k;
        }
    }
    return NULL;
}

/* The deepest key of subpath that was written under ctx, else ctx itself. */
static const struct oca_ynode *resolve(const struct oca_ynode *ctx, const char *subpath)
{
    const struct oca_ynode *at = ctx, *node = ctx;
    const char *p = subpath;
    while (p && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        const struct oca_ynode *key = find_key(node, p, len, &node);
        if (!key)
            break;
        at = key;
        p = dot ? dot + 1 : NULL;
    }
    return at;
}

void oca_diag_field_error(struct oca_diag *d, const char *subpath, const char *fmt, ...)
{
    struct oca_buf path = { 0 };
    bool has_ctx = d->ctx_path && *d->ctx_path, has_sub = subpath && *subpath;
    if (has_ctx)
        oca_buf_puts(&path, d->ctx_path);
    if (has_ctx && has_sub)
        oca_buf_putc(&path, '.');
    if (has_sub)
        oca_buf_puts(&path, subpath);
    va_list ap;
    va_start(ap, fmt);
    char *msg = oca_xvasprintf(fmt, ap);
    va_end(ap);
    add_line(d, resolve(d->ctx, subpath), path.data, msg);
    free(msg);
    oca_buf_free(&path);
}
