/* YAML text to a read-only node tree that remembers where each node was written (file, line,
 * column), so every config error can point at its source. Built with libyaml; environment
 * references in scalars (${env:NAME}, ${NAME}, ${env:NAME:-default}, $$) are expanded while the
 * tree is built. All nodes live in the arena passed in. */
#ifndef OCA_CONFIG_YAML_TREE_H
#define OCA_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

struct oca_arena;
struct oca_diag;

enum oca_ynode_kind { OCA_YNODE_NULL, OCA_YNODE_SCALAR, OCA_YNODE_MAP, OCA_YNODE_SEQ };

struct oca_ynode {
    enum oca_ynode_kind kind;
    const char *file;           /* the file name as given, for messages */
    unsigned line, col;         /* 1-based */
    const char *scalar;         /* SCALAR: the value after env expansion, NUL-terminated */
    size_t scalar_len;
    bool quoted;                /* SCALAR written in quotes or as a block: never null, never a number */
    struct oca_ynode **keys;    /* MAP: scalar key nodes, in document order */
    struct oca_ynode **values;  /* MAP: values; SEQ: items */
    size_t n;
};

/* Parses one document. A document that is empty or only comments gives an empty map. On a syntax
 * error, an alias to an unknown anchor or a duplicate key, reports file:line:col through diag and
 * returns NULL. */
struct oca_ynode *oca_yaml_parse(struct oca_arena *arena, const char *file, const char *text,
                                 size_t len, struct oca_diag *diag);

/* Expands ${env:NAME}, ${NAME}, ${env:NAME:-default} and $$ in s. Returns NULL and sets *bad to a
 * message (arena text) when a reference is malformed; an unset variable without default is "". */
char *oca_yaml_expand_env(struct oca_arena *arena, const char *s, size_t len, size_t *out_len,
                          const char **bad);

/* The value under key in a MAP node, or NULL. */
const struct oca_ynode *oca_ynode_get(const struct oca_ynode *map, const char *key);

/* Deep merge of two trees, the later file winning: maps merge key by key, anything else in
 * overlay replaces what base had. Neither input is modified; the result shares their nodes. */
const struct oca_ynode *oca_ynode_merge(struct oca_arena *arena, const struct oca_ynode *base,
                                        const struct oca_ynode *overlay);

#endif
