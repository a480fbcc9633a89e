/* The OpenTelemetry Collector config schema (see collector.h): parses and merges the sources,
 * decodes each component's body with its type's field table, decodes `service` with the tables
 * below, then checks what refers to what: pipeline entries against defined components and their
 * signals, service extensions, and ports that two listeners would both bind. */
#include "config/collector.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/decode.h"
#include "config/diag.h"
#include "config/yaml_tree.h"

enum log_encoding { ENCODING_CONSOLE, ENCODING_JSON };
enum metrics_level { METRICS_NONE, METRICS_BASIC, METRICS_NORMAL, METRICS_DETAILED };

struct logs_config {
    int level;
    int encoding;
};

struct metrics_config {
    struct oca_endpoint address;
    int level;
};

struct telemetry_config {
    struct logs_config logs;
    struct metrics_config metrics;
};

struct service_config {
    struct oca_strlist extensions;
    struct telemetry_config telemetry;
    int64_t shutdown_timeout;
    uint64_t memory_budget;
};

struct pipeline_lists {
    struct oca_strlist receivers, processors, exporters;
};

static const struct oca_enum_name log_level_names[] = {
    { "debug", OCA_LOG_DEBUG }, { "info", OCA_LOG_INFO }, { "warn", OCA_LOG_WARN },
    { "error", OCA_LOG_ERROR }, { NULL, 0 },
};
static const struct oca_enum_name encoding_names[] = {
    { "console", ENCODING_CONSOLE }, { "json", ENCODING_JSON }, { NULL, 0 },
};
static const struct oca_enum_name metrics_level_names[] = {
    { "none", METRICS_NONE }, { "basic", METRICS_BASIC }, { "normal", METRICS_NORMAL },
    { "detailed", METRICS_DETAILED }, { NULL, 0 },
};

static const struct oca_field logs_fields[] = {
    OCA_FIELD_ENUM(struct logs_config, level, "info", log_level_names,
                   "Least severe level of the agent's own log lines."),
    OCA_FIELD_ENUM(struct logs_config, encoding, "console", encoding_names,
                   "Format of the agent's own log lines; only console is supported."),
    OCA_FIELD_END,
};
static const struct oca_field metrics_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct metrics_config, address, "localhost:8888",
                              "Where the agent serves its own metrics in Prometheus format."),
    OCA_FIELD_ENUM(struct metrics_config, level, "normal", metrics_level_names,
                   "How much the agent's own metrics record; none turns the endpoint off."),
    OCA_FIELD_END,
};
static const struct oca_field telemetry_fields[] = {
    OCA_FIELD_SECTION(struct telemetry_config, logs, struct logs_config, logs_fields,
                      "The agent's own log."),
    OCA_FIELD_SECTION(struct telemetry_config, metrics, struct metrics_config, metrics_fields,
                      "The agent's own metrics."),
    OCA_FIELD_END,
};
/* service.pipelines is not in this table: its keys are pipeline ids, checked by load_pipelines. */
static const struct oca_field service_fields[] = {
    OCA_FIELD_STRING_LIST(struct service_config, extensions, "Ids of the extensions to start."),
    OCA_FIELD_SECTION(struct service_config, telemetry, struct telemetry_config, telemetry_fields,
                      "The agent's own logs and metrics."),
    OCA_FIELD_DURATION(struct service_config, shutdown_timeout, "10s", 0, 3600 * OCA_NS_PER_S,
                       "Longest time to drain queues at exit before giving up on them."),
    OCA_FIELD_SIZE(struct service_config, memory_budget, "40MiB", 4096, INT64_C(1) << 40,
                   "Memory for received data, shared by every receiver: request bodies being decoded "
                   "and decoded batches not yet sent (queued, batched). When it is spent, receivers "
                   "answer retryably (HTTP 503 with Retry-After, gRPC UNAVAILABLE) instead of "
                   "allocating. A request that needs more than the whole budget (about a quarter "
                   "of it as a decompressed body) is answered 413 / RESOURCE_EXHAUSTED. The agent's own "
                   "memory (about 5 MiB, 9 MiB with a pushing exporter) and buffers come on top: "
                   "40MiB keeps the whole agent under 64 MiB at full load."),
    OCA_FIELD_END,
};
static const struct oca_field pipeline_fields[] = {
    OCA_FIELD_STRING_LIST(struct pipeline_lists, receivers, "Ids of the receivers feeding the pipeline."),
    OCA_FIELD_STRING_LIST(struct pipeline_lists, processors, "Ids of the processors, applied in order."),
    OCA_FIELD_STRING_LIST(struct pipeline_lists, exporters, "Ids of the exporters the data goes to."),
    OCA_FIELD_END,
};

static const char *const top_keys[] = {
    "receivers", "processors", "exporters", "extensions", "connectors", "service", NULL,
};
static const char *const service_keys[] = {
    "extensions", "pipelines", "telemetry", "shutdown_timeout", "memory_budget", NULL,
};

struct loader {
    struct oca_collector_config *cfg;
    struct oca_arena *arena;
    const struct oca_component_type *const *types;
    struct oca_diag *diag;
    const struct oca_ynode *root;
    const struct oca_ynode *service;        /* the service map, when written as one */
};

/* What a node is, for "expected X, got Y" messages. */
static const char *kind_text(const struct oca_ynode *n)
{
    switch (n->kind) {
    case OCA_YNODE_MAP: return "a mapping";
    case OCA_YNODE_SEQ: return "a sequence";
    case OCA_YNODE_NULL: return "null";
    default: return "a string";
    }
}

static bool is_null(const struct oca_ynode *n)
{
    return !n || n->kind == OCA_YNODE_NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* names joined by ", " in sorted order; empty when n is 0. The caller frees the buffer. */
static void put_sorted(struct oca_buf *out, const char **names, size_t n)
{
    qsort(names, n, sizeof(*names), compare_names);
    oca_buf_reset(out);
    for (size_t i = 0; i < n; i++)
        oca_buf_printf(out, "%s%s", i ? ", " : "", names[i]);
}

/* "type" or "type/name": both parts non-empty, one '/' at most; the type's length, or 0. */
static size_t id_type_len(const char *id)
{
    const char *slash = strchr(id, '/');
    if (!slash)
        return strlen(id);
    if (slash == id || !slash[1] || strchr(slash + 1, '/'))
        return 0;
    return (size_t)(slash - id);
}

static const struct oca_component_type *find_type(const struct loader *L, enum oca_kind kind,
                                                  const char *name, size_t len)
{
    for (size_t i = 0; L->types && L->types[i]; i++) {
        const struct oca_component_type *t = L->types[i];
        if (t->kind != kind)
            continue;
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            return t;
        if (t->alias && strlen(t->alias) == len && memcmp(t->alias, name, len) == 0)
            return t;
    }
    return NULL;
}

static void report_unknown_type(const struct loader *L, enum oca_kind kind, const struct oca_ynode *key,
                                const char *path, size_t type_len)
{
    size_t n = 0;
    for (size_t i = 0; L->types && L->types[i]; i++)
        n++;
    const char **names = oca_xcalloc(2 * n + 1, sizeof(*names));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (L->types[i]->kind != kind)
            continue;
        names[k++] = L->types[i]->name;
        if (L->types[i]->alias)
            names[k++] = L->types[i]->alias;
    }
    struct oca_buf list = { 0 };
    put_sorted(&list, names, k);
    oca_diag_error(L->diag, key, path, "unknown %s type \"%.*s\" (known: %s)", oca_kind_name(kind),
                   (int)type_len, key->scalar, k ? list.data : "none");
    oca_buf_free(&list);
    free(names);
}

/* Runs the type's cross-field rules with the diag pointed at the component's body. */
static void validate_component(const struct loader *L, const struct oca_component_config *cc,
                               const struct oca_ynode *key, const struct oca_ynode *body, const char *path)
{
    int before = L->diag->errors;
    L->diag->ctx = is_null(body) ? key : body;
    L->diag->ctx_path = path;
    int rc = cc->type->validate(cc->config, L->diag);
    if (rc != OCA_OK && L->diag->errors == before)
        oca_diag_error(L->diag, key, path, "invalid configuration");
    L->diag->ctx = NULL;
    L->diag->ctx_path = NULL;
}

static void load_component(const struct loader *L, enum oca_kind kind, const struct oca_ynode *key,
                           const struct oca_ynode *body, struct oca_component_config *cc)
{
    const char *path = oca_arena_printf(L->arena, "%s.%s", oca_kind_section(kind), key->scalar);
    size_t type_len = id_type_len(key->scalar);
    cc->id = key->scalar;
    cc->node = key;
    if (type_len == 0) {
        oca_diag_error(L->diag, key, path, "invalid %s id (expected \"type\" or \"type/name\")",
                       oca_kind_name(kind));
        return;
    }
    const struct oca_component_type *type = find_type(L, kind, key->scalar, type_len);
    if (!type) {
        report_unknown_type(L, kind, key, path, type_len);
        return;
    }
    cc->type = type;
    cc->config = oca_arena_zalloc(L->arena, type->config_size ? type->config_size : 1);
    if (oca_config_decode(L->arena, type->fields, cc->config, body, path, L->diag) == 0 && type->validate)
        validate_component(L, cc, key, body, path);
}

static void load_components(struct loader *L, enum oca_kind kind)
{
    const char *section = oca_kind_section(kind);
    const struct oca_ynode *map = oca_ynode_get(L->root, section);
    if (is_null(map))
        return;
    if (map->kind != OCA_YNODE_MAP) {
        oca_diag_error(L->diag, map, section, "expected a mapping of %s ids to their settings, got %s",
                       oca_kind_name(kind), kind_text(map));
        return;
    }
    struct oca_component_config *list = oca_arena_zalloc(L->arena, map->n * sizeof(*list));
    for (size_t i = 0; i < map->n; i++)
        load_component(L, kind, map->keys[i], map->values[i], &list[i]);
    L->cfg->components[kind] = list;
    L->cfg->n_components[kind] = map->n;
}

static struct oca_component_config *find_component(const struct oca_collector_config *cfg,
                                                   enum oca_kind kind, const char *id)
{
    if ((unsigned)kind >= OCA_KIND_COUNT)
        return NULL;
    for (size_t i = 0; i < cfg->n_components[kind]; i++)
        if (strcmp(cfg->components[kind][i].id, id) == 0)
            return &cfg->components[kind][i];
    return NULL;
}

const struct oca_component_config *oca_collector_config_find(const struct oca_collector_config *cfg,
                                                            enum oca_kind kind, const char *id)
{
    return find_component(cfg, kind, id);
}

static void report_undefined(const struct loader *L, enum oca_kind kind, const struct oca_ynode *at,
                             const char *path, const char *id)
{
    const struct oca_component_config *defined = L->cfg->components[kind];
    const char **ids = oca_xcalloc(L->cfg->n_components[kind] + 1, sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < L->cfg->n_components[kind]; i++)
        if (id_type_len(defined[i].id) != 0)
            ids[n++] = defined[i].id;
    struct oca_buf list = { 0 };
    put_sorted(&list, ids, n);
    if (n)
        oca_diag_error(L->diag, at, path, "%s \"%s\" is not defined (defined: %s)", oca_kind_name(kind),
                       id, list.data);
    else
        oca_diag_error(L->diag, at, path, "%s \"%s\" is not defined (no %s are defined)",
                       oca_kind_name(kind), id, oca_kind_section(kind));
    oca_buf_free(&list);
    free(ids);
}

static bool listed_before(const struct oca_strlist *ids, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(ids->items[j], ids->items[i]) == 0)
            return true;
    return false;
}

/* Checks the ids of one list (decoded from seq) and marks them used; sig < 0: no signal check.
 * Returns a copy of the ids for the config. */
static const char **check_refs(const struct loader *L, enum oca_kind kind, const struct oca_ynode *seq,
                               const struct oca_strlist *ids, const char *path, int sig)
{
    const char **out = oca_arena_alloc(L->arena, ids->n * sizeof(*out));
    for (size_t i = 0; i < ids->n; i++) {
        const struct oca_ynode *at = seq->values[i];
        const char *id = out[i] = ids->items[i];
        struct oca_component_config *cc = find_component(L->cfg, kind, id);
        if (listed_before(ids, i)) {
            oca_diag_error(L->diag, at, path, "%s \"%s\" is listed twice", oca_kind_name(kind), id);
        } else if (!cc) {
            report_undefined(L, kind, at, path, id);
        } else {
            cc->used = true;
            if (sig >= 0 && cc->type && !(cc->type->signals & (1u << sig)))
                oca_diag_error(L->diag, at, path, "%s \"%s\" does not support %s", oca_kind_name(kind), id,
                               oca_signal_name((enum oca_signal)sig));
        }
    }
    return out;
}

/* A pipeline id's signal ("traces" or "traces/name"), -1 after reporting a bad id. */
static int pipeline_signal(const struct loader *L, const struct oca_ynode *key, const char *path)
{
    const char *id = key->scalar;
    size_t len = id_type_len(id);
    if (len == 0) {
        oca_diag_error(L->diag, key, path, "invalid pipeline id (expected \"signal\" or \"signal/name\")");
        return -1;
    }
    int sig = oca_signal_parse(id, len);
    if (sig < 0)
        oca_diag_error(L->diag, key, path, "unknown signal \"%.*s\" (expected traces, metrics or logs)",
                       (int)len, id);
    return sig;
}

static bool list_empty(const struct oca_ynode *body, const char *name)
{
    const struct oca_ynode *n = oca_ynode_get(body, name);
    return is_null(n) || (n->kind == OCA_YNODE_SEQ && n->n == 0);
}

static void load_pipeline(const struct loader *L, const struct oca_ynode *key, const struct oca_ynode *body,
                          struct oca_pipeline_config *pc)
{
    const char *path = oca_arena_printf(L->arena, "service.pipelines.%s", key->scalar);
    struct pipeline_lists lists = { { 0 } };
    int sig = pipeline_signal(L, key, path);
    pc->id = key->scalar;
    pc->node = key;
    pc->signal = sig < 0 ? OCA_SIGNAL_TRACES : (enum oca_signal)sig;
    oca_config_decode(L->arena, pipeline_fields, &lists, body, path, L->diag);
    pc->receivers = check_refs(L, OCA_RECEIVER, oca_ynode_get(body, "receivers"), &lists.receivers,
                               oca_arena_printf(L->arena, "%s.receivers", path), sig);
    pc->processors = check_refs(L, OCA_PROCESSOR, oca_ynode_get(body, "processors"), &lists.processors,
                                oca_arena_printf(L->arena, "%s.processors", path), sig);
    pc->exporters = check_refs(L, OCA_EXPORTER, oca_ynode_get(body, "exporters"), &lists.exporters,
                               oca_arena_printf(L->arena, "%s.exporters", path), sig);
    pc->n_receivers = lists.receivers.n;
    pc->n_processors = lists.processors.n;
    pc->n_exporters = lists.exporters.n;
    if (body && body->kind != OCA_YNODE_MAP && body->kind != OCA_YNODE_NULL)
        return;     /* decode already said it is not a mapping */
    if (list_empty(body, "receivers"))
        oca_diag_error(L->diag, key, path, "pipeline must have at least one receiver");
    if (list_empty(body, "exporters"))
        oca_diag_error(L->diag, key, path, "pipeline must have at least one exporter");
}

static void load_pipelines(struct loader *L, const struct oca_ynode *key, const struct oca_ynode *map)
{
    const char *path = "service.pipelines";
    if (!is_null(map) && map->kind != OCA_YNODE_MAP) {
        oca_diag_error(L->diag, map, path, "expected a mapping of pipeline ids to pipelines, got %s",
                       kind_text(map));
        return;
    }
    if (is_null(map) || map->n == 0) {
        oca_diag_error(L->diag, key, path, "at least one pipeline is required");
        return;
    }
    L->cfg->pipelines = oca_arena_zalloc(L->arena, map->n * sizeof(*L->cfg->pipelines));
    L->cfg->n_pipelines = map->n;
    for (size_t i = 0; i < map->n; i++)
        load_pipeline(L, map->keys[i], map->values[i], &L->cfg->pipelines[i]);
}

/* The service map without `pipelines` and unknown keys (reported here, with pipelines among the
 * valid names), ready for oca_config_decode with service_fields. */
static const struct oca_ynode *service_without_pipelines(const struct loader *L, const struct oca_ynode *svc)
{
    struct oca_ynode *rest = oca_arena_alloc(L->arena, sizeof(*rest));
    *rest = *svc;
    rest->keys = oca_arena_alloc(L->arena, svc->n * sizeof(*rest->keys));
    rest->values = oca_arena_alloc(L->arena, svc->n * sizeof(*rest->values));
    rest->n = 0;
    for (size_t i = 0; i < svc->n; i++) {
        const char *name = svc->keys[i]->scalar;
        size_t k = 0;
        while (service_keys[k] && strcmp(service_keys[k], name) != 0)
            k++;
        if (!service_keys[k])
            oca_config_unknown_key(L->diag, svc->keys[i], oca_arena_printf(L->arena, "service.%s", name),
                                   service_keys);
        if (!service_keys[k] || strcmp(name, "pipelines") == 0)
            continue;
        rest->keys[rest->n] = svc->keys[i];
        rest->values[rest->n++] = svc->values[i];
    }
    return rest;
}

static const struct oca_ynode *key_node(const struct oca_ynode *map, const char *name)
{
    for (size_t i = 0; map && map->kind == OCA_YNODE_MAP && i < map->n; i++)
        if (strcmp(map->keys[i]->scalar, name) == 0)
            return map->keys[i];
    return NULL;
}

static void check_service_extensions(struct loader *L, const struct service_config *sc)
{
    const struct oca_ynode *seq = oca_ynode_get(L->service, "extensions");
    L->cfg->service_extensions = check_refs(L, OCA_EXTENSION, seq, &sc->extensions, "service.extensions", -1);
    L->cfg->n_service_extensions = sc->extensions.n;
}

static void load_service(struct loader *L)
{
    const struct oca_ynode *svc = oca_ynode_get(L->root, "service");
    const struct oca_ynode *rest = NULL;
    struct service_config sc;
    memset(&sc, 0, sizeof(sc));
    if (!is_null(svc) && svc->kind != OCA_YNODE_MAP) {
        oca_diag_error(L->diag, svc, "service", "expected a mapping, got %s", kind_text(svc));
    } else if (!is_null(svc)) {
        L->service = svc;
        rest = service_without_pipelines(L, svc);
    }
    oca_config_decode(L->arena, service_fields, &sc, rest, "service", L->diag);
    check_service_extensions(L, &sc);
    L->cfg->log_level = sc.telemetry.logs.level;
    L->cfg->metrics_address = sc.telemetry.metrics.address;
    L->cfg->metrics_enabled = sc.telemetry.metrics.level != METRICS_NONE;
    L->cfg->shutdown_timeout_ns = sc.shutdown_timeout;
    L->cfg->memory_budget = sc.memory_budget;
    if (sc.telemetry.logs.encoding == ENCODING_JSON) {
        L->diag->ctx = svc;
        L->diag->ctx_path = "service";
        oca_diag_field_error(L->diag, "telemetry.logs.encoding", "json is not supported (only console)");
        L->diag->ctx = NULL;
        L->diag->ctx_path = NULL;
    }
    const struct oca_ynode *at = key_node(L->service, "pipelines");
    load_pipelines(L, at ? at : key_node(L->root, "service"), oca_ynode_get(L->service, "pipelines"));
}

static void check_top_level(const struct loader *L)
{
    const struct oca_ynode *root = L->root;
    for (size_t i = 0; i < root->n; i++) {
        const struct oca_ynode *key = root->keys[i], *value = root->values[i];
        size_t k = 0;
        while (top_keys[k] && strcmp(top_keys[k], key->scalar) != 0)
            k++;
        if (!top_keys[k])
            oca_config_unknown_key(L->diag, key, key->scalar, top_keys);
        else if (strcmp(key->scalar, "connectors") == 0 && !is_null(value) &&
                 !(value->kind != OCA_YNODE_SCALAR && value->n == 0))
            oca_diag_error(L->diag, key, "connectors", "connectors are not supported yet");
    }
}

/* One endpoint some component or the agent itself would listen on. */
struct listener {
    const struct oca_endpoint *ep;
    const struct oca_ynode *ctx;    /* the section it was decoded from, for the position */
    const char *ctx_path, *subpath;
};

struct listeners {
    struct listener *items;
    size_t n, cap;
};

static void add_listener(struct listeners *ls, const struct listener *l)
{
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 8;
        ls->items = oca_xrealloc(ls->items, ls->cap * sizeof(*ls->items));
    }
    ls->items[ls->n++] = *l;
}

/* Every listen endpoint of a decoded struct, skipping optional sections that are off. */
static void collect_listeners(const struct loader *L, struct listeners *ls, const struct oca_field *fields,
                              const void *cfg, const struct listener *where)
{
    for (const struct oca_field *f = fields; f && f->name; f++) {
        const void *member = (const char *)cfg + f->offset;
        struct listener l = *where;
        l.subpath = where->subpath ? oca_arena_printf(L->arena, "%s.%s", where->subpath, f->name) : f->name;
        if (f->kind == OCA_FIELD_KIND_SECTION) {
            if (!f->has_present || *(const bool *)((const char *)cfg + f->present_offset))
                collect_listeners(L, ls, f->sub, member, &l);
        } else if (f->kind == OCA_FIELD_KIND_ENDPOINT && f->listen) {
            l.ep = member;
            if (l.ep->text)
                add_listener(ls, &l);
        }
    }
}

static void collect_kind(const struct loader *L, struct listeners *ls, enum oca_kind kind)
{
    const struct oca_ynode *section = oca_ynode_get(L->root, oca_kind_section(kind));
    for (size_t i = 0; i < L->cfg->n_components[kind]; i++) {
        const struct oca_component_config *cc = &L->cfg->components[kind][i];
        if (!cc->used || !cc->type)
            continue;
        const struct oca_ynode *body = oca_ynode_get(section, cc->id);
        struct listener where = { NULL, is_null(body) ? cc->node : body,
                                  oca_arena_printf(L->arena, "%s.%s", oca_kind_section(kind), cc->id), NULL };
        collect_listeners(L, ls, cc->type->fields, cc->config, &where);
    }
}

static bool is_wildcard(const char *host)
{
    return !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* localhost binds a loopback address, so it collides with the loopback literals. */
static bool is_loopback(const char *host)
{
    return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

static bool same_port(const struct oca_endpoint *a, const struct oca_endpoint *b)
{
    return a->port != 0 && a->port == b->port &&
           (is_wildcard(a->host) || is_wildcard(b->host) || strcasecmp(a->host, b->host) == 0 ||
            (is_loopback(a->host) && is_loopback(b->host) &&
             (strcasecmp(a->host, "localhost") == 0 || strcasecmp(b->host, "localhost") == 0)));
}

static void report_conflict(const struct loader *L, const struct listener *l, const struct listener *first)
{
    L->diag->ctx = l->ctx;
    L->diag->ctx_path = l->ctx_path;
    oca_diag_field_error(L->diag, l->subpath, "port %u is already used by %s.%s", (unsigned)l->ep->port,
                         first->ctx_path, first->subpath);
    L->diag->ctx = NULL;
    L->diag->ctx_path = NULL;
}

static void check_ports(const struct loader *L)
{
    struct listeners ls = { 0 };
    collect_kind(L, &ls, OCA_RECEIVER);
    collect_kind(L, &ls, OCA_EXPORTER);
    collect_kind(L, &ls, OCA_EXTENSION);
    if (L->cfg->metrics_enabled && L->cfg->metrics_address.text) {
        struct listener l = { &L->cfg->metrics_address, L->service, "service", "telemetry.metrics.address" };
        add_listener(&ls, &l);
    }
    for (size_t i = 1; i < ls.n; i++) {
        size_t j = 0;
        while (j < i && !same_port(ls.items[i].ep, ls.items[j].ep))
            j++;
        if (j < i)
            report_conflict(L, &ls.items[i], &ls.items[j]);
    }
    free(ls.items);
}

static void load_all(struct loader *L)
{
    if (L->root->kind != OCA_YNODE_MAP) {
        oca_diag_error(L->diag, L->root, NULL, "expected a mapping at the top of the config, got %s",
                       kind_text(L->root));
        return;
    }
    check_top_level(L);
    for (int kind = 0; kind < OCA_KIND_COUNT; kind++)
        load_components(L, (enum oca_kind)kind);
    load_service(L);
    check_ports(L);
}

/* Parses every source, so that syntax errors in all of them are reported, and merges them. */
static const struct oca_ynode *parse_sources(struct oca_arena *arena, const struct oca_config_source *sources,
                                             size_t n, struct oca_diag *diag)
{
    const struct oca_ynode *merged = NULL;
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        const struct oca_config_source *src = &sources[i];
        const struct oca_ynode *tree = oca_yaml_parse(arena, src->name, src->text, src->len, diag);
        failed = failed || !tree;
        if (tree)
            merged = oca_ynode_merge(arena, merged, tree);
    }
    if (failed)
        return NULL;
    return merged ? merged : oca_yaml_parse(arena, "<empty>", "", 0, diag);
}

struct oca_collector_config *oca_collector_config_load(const struct oca_config_source *sources,
                                                       size_t n_sources,
                                                       const struct oca_component_type *const *types,
                                                       struct oca_diag *diag)
{
    struct oca_arena *arena = oca_arena_new(16384);
    struct oca_collector_config *cfg = oca_arena_zalloc(arena, sizeof(*cfg));
    struct loader L = { .cfg = cfg, .arena = arena, .types = types, .diag = diag };
    int before = diag->errors;
    cfg->arena = arena;
    cfg->log_level = OCA_LOG_INFO;
    L.root = parse_sources(arena, sources, n_sources, diag);
    if (!L.root)
        goto fail;
    load_all(&L);
    if (diag->errors != before)
        goto fail;
    return cfg;
fail:
    oca_arena_destroy(arena);
    return NULL;
}

void oca_collector_config_free(struct oca_collector_config *cfg)
{
    if (cfg)
        oca_arena_destroy(cfg->arena);
}
