/* libyaml events to the node tree of yaml_tree.h. Every node keeps the file, line and column it
 * was written at. Anchors, aliases, null scalars, duplicate keys and ${env} references are all
 * resolved here, so decode.c and collector.c only ever see plain data. Building stops at the first
 * error in a file: libyaml cannot go on after a syntax error anyway. */
#include "config/yaml_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/mem.h"
#include "config/diag.h"

/* Nesting deeper than this is certainly not a config file, and it bounds our recursion. */
#define MAX_DEPTH 64
/* Nodes counted as if every alias were a copy of what it names: stops "billion laughs" documents
 * from making later walks over the tree exponential. */
#define MAX_EXPANDED ((size_t)1 << 20)

#define STR_TAG "tag:yaml.org,2002:str"

struct anchor {
    struct anchor *next;
    const char *name;
    struct oca_ynode *node;
    size_t expanded;            /* nodes in the anchored tree, aliases counted as copies */
};

struct builder {
    yaml_parser_t parser;
    struct oca_arena *arena;
    const char *file;
    const char *text;           /* the input, for positions of reader errors */
    size_t len;
    struct oca_diag *diag;
    struct anchor *anchors;
    size_t expanded;
};

static struct oca_ynode *build(struct builder *b, yaml_event_t *ev, unsigned depth, bool is_key);

static void error_at(struct builder *b, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void error_at(struct builder *b, yaml_mark_t mark, const char *fmt, ...)
{
    struct oca_ynode where = { .file = b->file, .line = (unsigned)mark.line + 1,
                               .col = (unsigned)mark.column + 1 };
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    oca_diag_error(b->diag, &where, NULL, "%s", msg);
}

/* The line and column (in characters) of a byte offset into the text. */
static yaml_mark_t mark_at_offset(const struct builder *b, size_t offset)
{
    yaml_mark_t mark = { 0 };
    for (size_t i = 0; i < offset && i < b->len; i++) {
        if (b->text[i] == '\n') {
            mark.line++;
            mark.column = 0;
        } else if (((unsigned char)b->text[i] & 0xc0) != 0x80) {
            mark.column++;
        }
    }
    return mark;
}

/* libyaml's own words for the problem, at the position it names. The reader (bad UTF-8, control
 * characters) only knows the byte offset. */
static void report_syntax(struct builder *b)
{
    const yaml_parser_t *p = &b->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        yaml_mark_t mark = mark_at_offset(b, p->problem_offset);
        if (p->problem_value >= 0)
            error_at(b, mark, "%s (byte 0x%02x)", problem, (unsigned)p->problem_value);
        else
            error_at(b, mark, "%s", problem);
    } else if (p->context) {
        error_at(b, p->problem_mark, "%s (%s at line %zu)", problem, p->context, p->context_mark.line + 1);
    } else {
        error_at(b, p->problem_mark, "%s", problem);
    }
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
    if (yaml_parser_parse(&b->parser, ev))
        return 0;
    report_syntax(b);
    return -1;
}

static struct oca_ynode *new_node(struct builder *b, enum oca_ynode_kind kind, yaml_mark_t mark)
{
    struct oca_ynode *n = oca_arena_zalloc(b->arena, sizeof(*n));
    n->kind = kind;
    n->file = b->file;
    n->line = (unsigned)mark.line + 1;
    n->col = (unsigned)mark.column + 1;
    b->expanded++;
    return n;
}

static bool is_null_text(const char *s, size_t len)
{
    static const char *const nulls[] = { "~", "null", "Null", "NULL" };
    if (len == 0)
        return true;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strlen(nulls[i]) == len && memcmp(s, nulls[i], len) == 0)
            return true;
    return false;
}

static struct oca_ynode *build_scalar(struct builder *b, yaml_event_t *ev, bool is_key)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (tag && strcmp(tag, STR_TAG) == 0);
    if (memchr(text, '\0', len)) {
        error_at(b, ev->start_mark, "NUL characters are not supported in values or keys");
        return NULL;
    }
    if (!is_key && !quoted && is_null_text(text, len))
        return new_node(b, OCA_YNODE_NULL, ev->start_mark);
    struct oca_ynode *n = new_node(b, OCA_YNODE_SCALAR, ev->start_mark);
    n->quoted = quoted;
    if (is_key) {
        n->scalar = oca_arena_strndup(b->arena, text, len);
        n->scalar_len = len;
        return n;
    }
    const char *bad;
    n->scalar = oca_yaml_expand_env(b->arena, text, len, &n->scalar_len, &bad);
    if (!n->scalar) {
        error_at(b, ev->start_mark, "%s", bad);
        return NULL;
    }
    return n;
}

static struct oca_ynode *build_alias(struct builder *b, yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    for (struct anchor *a = b->anchors; a; a = a->next) {
        if (strcmp(a->name, name) != 0)
            continue;
        b->expanded += a->expanded;
        if (b->expanded > MAX_EXPANDED) {
            error_at(b, ev->start_mark, "aliases expand to too many nodes");
            return NULL;
        }
        return a->node;
    }
    error_at(b, ev->start_mark, "unknown anchor \"%s\"", name);
    return NULL;
}

/* Items and keys are gathered in a heap vector, then copied into the arena once complete. */
struct vec {
    struct oca_ynode **items;
    size_t n, cap;
};

static void vec_push(struct vec *v, struct oca_ynode *node)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->items = oca_xrealloc(v->items, v->cap * sizeof(*v->items));
    }
    v->items[v->n++] = node;
}

static struct oca_ynode **vec_finish(struct builder *b, struct vec *v)
{
    struct oca_ynode **items = oca_arena_memdup(b->arena, v->items, v->n * sizeof(*v->items));
    free(v->items);
    v->items = NULL;
    return items;
}

/* Reads the next event and builds the node it starts; NULL on error or at end_type. */
static struct oca_ynode *build_next(struct builder *b, unsigned depth, bool is_key,
                                    yaml_event_type_t end_type, bool *at_end)
{
    yaml_event_t ev;
    *at_end = false;
    if (next_event(b, &ev) != 0)
        return NULL;
    struct oca_ynode *n = NULL;
    if (ev.type == end_type)
        *at_end = true;
    else
        n = build(b, &ev, depth, is_key);
    yaml_event_delete(&ev);
    return n;
}

static struct oca_ynode *build_seq(struct builder *b, yaml_event_t *ev, unsigned depth)
{
    struct oca_ynode *seq = new_node(b, OCA_YNODE_SEQ, ev->start_mark);
    struct vec items = { 0 };
    for (;;) {
        bool end;
        struct oca_ynode *item = build_next(b, depth + 1, false, YAML_SEQUENCE_END_EVENT, &end);
        if (end)
            break;
        if (!item)
            goto fail;
        vec_push(&items, item);
    }
    seq->n = items.n;
    seq->values = vec_finish(b, &items);
    return seq;
fail:
    free(items.items);
    return NULL;
}

static bool has_key(const struct vec *keys, const struct oca_ynode *key)
{
    for (size_t i = 0; i < keys->n; i++)
        if (keys->items[i]->scalar_len == key->scalar_len &&
            memcmp(keys->items[i]->scalar, key->scalar, key->scalar_len) == 0)
            return true;
    return false;
}

static bool is_merge_key(const struct oca_ynode *key)
{
    return key->kind == OCA_YNODE_SCALAR && !key->quoted && strcmp(key->scalar, "<<") == 0;
}

/* The value of a "<<" key: a mapping, or a sequence of them, whose keys the map takes wherever it
 * has none of its own (YAML's merge key, as the Collector's YAML library supports it). */
static int add_merge_sources(struct builder *b, struct vec *merges, struct oca_ynode *value)
{
    struct oca_ynode *const *items = value->kind == OCA_YNODE_SEQ ? value->values : &value;
    size_t n = value->kind == OCA_YNODE_SEQ ? value->n : 1;
    for (size_t i = 0; i < n; i++) {
        if (items[i]->kind != OCA_YNODE_MAP) {
            oca_diag_error(b->diag, items[i], NULL,
                           "a merge key (<<) takes a mapping or a sequence of mappings");
            return -1;
        }
        vec_push(merges, items[i]);
    }
    return 0;
}

static void apply_merges(struct vec *keys, struct vec *values, const struct vec *merges)
{
    for (size_t i = 0; i < merges->n; i++) {
        const struct oca_ynode *src = merges->items[i];
        for (size_t j = 0; j < src->n; j++) {
            if (has_key(keys, src->keys[j]))
                continue;
            vec_push(keys, src->keys[j]);
            vec_push(values, src->values[j]);
        }
    }
}

struct pairs {
    struct vec keys, values, merges;
};

static int add_pair(struct builder *b, struct pairs *p, struct oca_ynode *key, unsigned depth)
{
    if (key->kind != OCA_YNODE_SCALAR) {
        oca_diag_error(b->diag, key, NULL, "mapping keys must be strings");
        return -1;
    }
    if (!is_merge_key(key) && has_key(&p->keys, key)) {
        oca_diag_error(b->diag, key, NULL, "duplicate key \"%s\"", key->scalar);
        return -1;
    }
    bool end;
    struct oca_ynode *value = build_next(b, depth + 1, false, YAML_MAPPING_END_EVENT, &end);
    if (!value)
        return -1;
    if (is_merge_key(key))
        return add_merge_sources(b, &p->merges, value);
    vec_push(&p->keys, key);
    vec_push(&p->values, value);
    return 0;
}

static struct oca_ynode *build_map(struct builder *b, yaml_event_t *ev, unsigned depth)
{
    struct oca_ynode *map = new_node(b, OCA_YNODE_MAP, ev->start_mark);
    struct pairs p = { { 0 } };
    for (;;) {
        bool end;
        struct oca_ynode *key = build_next(b, depth + 1, true, YAML_MAPPING_END_EVENT, &end);
        if (end)
            break;
        if (!key || add_pair(b, &p, key, depth) != 0)
            goto fail;
    }
    apply_merges(&p.keys, &p.values, &p.merges);
    free(p.merges.items);
    map->n = p.keys.n;
    map->keys = vec_finish(b, &p.keys);
    map->values = vec_finish(b, &p.values);
    return map;
fail:
    free(p.keys.items);
    free(p.values.items);
    free(p.merges.items);
    return NULL;
}

static const char *anchor_of(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.anchor;
    default: return NULL;
    }
}

/* The anchor is registered once its node is complete, so a node can never contain itself. */
static void add_anchor(struct builder *b, const char *name, struct oca_ynode *node, size_t expanded)
{
    struct anchor *a = oca_arena_alloc(b->arena, sizeof(*a));
    a->name = oca_arena_strdup(b->arena, name);
    a->node = node;
    a->expanded = expanded;
    a->next = b->anchors;
    b->anchors = a;
}

/* Builds the node that ev starts, reading the rest of a collection's events. */
static struct oca_ynode *build(struct builder *b, yaml_event_t *ev, unsigned depth, bool is_key)
{
    size_t before = b->expanded;
    struct oca_ynode *n = NULL;
    if (depth > MAX_DEPTH) {
        error_at(b, ev->start_mark, "nesting is deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT: return build_alias(b, ev);
    case YAML_SCALAR_EVENT: n = build_scalar(b, ev, is_key); break;
    case YAML_SEQUENCE_START_EVENT: n = build_seq(b, ev, depth); break;
    case YAML_MAPPING_START_EVENT: n = build_map(b, ev, depth); break;
    default:
        error_at(b, ev->start_mark, "unexpected YAML event");
        return NULL;
    }
    if (n && b->expanded > MAX_EXPANDED) {
        error_at(b, ev->start_mark, "aliases expand to too many nodes");
        return NULL;
    }
    if (n && anchor_of(ev))
        add_anchor(b, anchor_of(ev), n, b->expanded - before);
    return n;
}

static struct oca_ynode *empty_map(struct builder *b, yaml_mark_t mark)
{
    return new_node(b, OCA_YNODE_MAP, mark);
}

/* After the first document: only the end of the stream may follow. */
static int expect_stream_end(struct builder *b)
{
    yaml_event_t ev;
    if (next_event(b, &ev) != 0)
        return -1;
    int rc = 0;
    if (ev.type != YAML_STREAM_END_EVENT) {
        error_at(b, ev.start_mark, "only one YAML document is supported");
        rc = -1;
    }
    yaml_event_delete(&ev);
    return rc;
}

static struct oca_ynode *build_document(struct builder *b)
{
    yaml_event_t ev;
    struct oca_ynode *root = NULL;
    if (next_event(b, &ev) != 0)
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        root = empty_map(b, ev.start_mark);
        yaml_event_delete(&ev);
        return root;
    }
    yaml_mark_t doc_mark = ev.start_mark;
    yaml_event_delete(&ev);     /* DOCUMENT_START */
    bool end;
    root = build_next(b, 0, false, YAML_DOCUMENT_END_EVENT, &end);
    if (end)
        error_at(b, doc_mark, "a document without content");
    if (!root || build_next(b, 0, false, YAML_DOCUMENT_END_EVENT, &end) || !end)
        return NULL;
    if (expect_stream_end(b) != 0)
        return NULL;
    if (root->kind == OCA_YNODE_NULL) {
        yaml_mark_t mark = { .line = root->line - 1, .column = root->col - 1 };
        root = empty_map(b, mark);
    }
    return root;
}

struct oca_ynode *oca_yaml_parse(struct oca_arena *arena, const char *file, const char *text,
                                 size_t len, struct oca_diag *diag)
{
    struct builder b = { .arena = arena, .file = oca_arena_strdup(arena, file ? file : "<config>"),
                         .text = text, .len = len, .diag = diag };
    struct oca_ynode *root = NULL;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&b.parser)) {
        oca_diag_error(diag, NULL, NULL, "%s: cannot initialize the YAML parser", file);
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    if (next_event(&b, &ev) != 0)     /* STREAM_START */
        goto done;
    yaml_event_delete(&ev);
    root = build_document(&b);
done:
    yaml_parser_delete(&b.parser);
    return root;
}

static bool valid_env_name(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* Expands one "${...}" at s; returns the bytes consumed, or 0 with *bad set. */
static size_t expand_ref(struct oca_arena *arena, const char *s, size_t len, struct oca_buf *out,
                         const char **bad)
{
    const char *close = memchr(s + 2, '}', len - 2);
    if (!close) {
        *bad = "unterminated \"${\" (write $$ for a literal $)";
        return 0;
    }
    const char *name = s + 2, *def = NULL;
    size_t name_len = (size_t)(close - name), def_len = 0;
    if (name_len >= 4 && memcmp(name, "env:", 4) == 0) {
        name += 4;
        name_len -= 4;
    }
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < name_len && !sep; i++)
        if (name[i] == ':' && name[i + 1] == '-')
            sep = name + i;
    if (sep) {
        def = sep + 2;
        def_len = (size_t)(close - def);
        name_len = (size_t)(sep - name);
    }
    if (!valid_env_name(name, name_len)) {
        *bad = oca_arena_printf(arena, "invalid environment reference \"%.*s\" (expected ${NAME}, "
                            "${env:NAME} or ${env:NAME:-default})", (int)(close - s + 1), s);
        return 0;
    }
    char *key = oca_arena_strndup(arena, name, name_len);
    const char *value = getenv(key);
    if ((!value || !*value) && def)
        oca_buf_append(out, def, def_len);
    else if (value)
        oca_buf_puts(out, value);
    return (size_t)(close - s) + 1;
}

char *oca_yaml_expand_env(struct oca_arena *arena, const char *s, size_t len, size_t *out_len,
                          const char **bad)
{
    struct oca_buf out = { 0 };
    char *result = NULL;
    size_t i = 0;
    *bad = NULL;
    oca_buf_reserve(&out, len);
    while (i < len) {
        if (s[i] != '$' || i + 1 >= len || (s[i + 1] != '$' && s[i + 1] != '{')) {
            oca_buf_putc(&out, s[i++]);
            continue;
        }
        if (s[i + 1] == '$') {
            oca_buf_putc(&out, '$');
            i += 2;
            continue;
        }
        size_t used = expand_ref(arena, s + i, len - i, &out, bad);
        if (used == 0)
            goto fail;
        i += used;
    }
    result = oca_arena_strndup(arena, out.data ? out.data : "", out.len);
    if (out_len)
        *out_len = out.len;
fail:
    oca_buf_free(&out);
    return result;
}

static bool key_is(const struct oca_ynode *key, const char *s, size_t len)
{
    return key->scalar_len == len && memcmp(key->scalar, s, len) == 0;
}

const struct oca_ynode *oca_ynode_get(const struct oca_ynode *map, const char *key)
{
    if (!map || map->kind != OCA_YNODE_MAP)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < map->n; i++)
        if (key_is(map->keys[i], key, len))
            return map->values[i];
    return NULL;
}

static long find_key(const struct oca_ynode *map, const struct oca_ynode *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (key_is(map->keys[i], key->scalar, key->scalar_len))
            return (long)i;
    return -1;
}

/* Both are maps: base's keys in their order (overlay's key node where overlay has the key, as its
 * value wins), then the keys only overlay has. */
static struct oca_ynode *merge_maps(struct oca_arena *arena, const struct oca_ynode *base,
                                    const struct oca_ynode *overlay)
{
    struct oca_ynode *m = oca_arena_alloc(arena, sizeof(*m));
    *m = *overlay;
    size_t cap = base->n + overlay->n, n = 0;
    m->keys = oca_arena_alloc(arena, cap * sizeof(*m->keys));
    m->values = oca_arena_alloc(arena, cap * sizeof(*m->values));
    for (size_t i = 0; i < base->n; i++, n++) {
        long j = find_key(overlay, base->keys[i]);
        struct oca_ynode *bv = base->values[i];
        m->keys[n] = j < 0 ? base->keys[i] : overlay->keys[j];
        m->values[n] = bv;
        if (j < 0)
            continue;
        struct oca_ynode *ov = overlay->values[j];
        bool both_maps = bv->kind == OCA_YNODE_MAP && ov->kind == OCA_YNODE_MAP;
        m->values[n] = both_maps ? merge_maps(arena, bv, ov) : ov;
    }
    for (size_t j = 0; j < overlay->n; j++) {
        if (find_key(base, overlay->keys[j]) >= 0)
            continue;
        m->keys[n] = overlay->keys[j];
        m->values[n++] = overlay->values[j];
    }
    m->n = n;
    return m;
}

const struct oca_ynode *oca_ynode_merge(struct oca_arena *arena, const struct oca_ynode *base,
                                        const struct oca_ynode *overlay)
{
    if (!base)
        return overlay;
    if (!overlay)
        return base;
    if (base->kind != OCA_YNODE_MAP || overlay->kind != OCA_YNODE_MAP)
        return overlay;
    return merge_maps(arena, base, overlay);
}
