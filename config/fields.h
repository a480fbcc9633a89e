/* The typed field tables through which every component declares its configuration. One table per
 * config struct drives YAML decoding, defaults, bounds checks and `ocagent components`; the option's
 * documentation is the description string here and nowhere else. The OCA_FIELD_* macros check the
 * member's C type at compile time, so a table entry cannot point at a member of the wrong type. */
#ifndef OCA_CONFIG_FIELDS_H
#define OCA_CONFIG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum oca_field_kind {
    OCA_FIELD_KIND_END,
    OCA_FIELD_KIND_BOOL,        /* bool */
    OCA_FIELD_KIND_INT,         /* int64_t, bounded by min..max */
    OCA_FIELD_KIND_U32,         /* uint32_t, bounded by min..max */
    OCA_FIELD_KIND_DOUBLE,      /* double, bounded by dmin..dmax */
    OCA_FIELD_KIND_STRING,      /* char *, NULL when unset and no default */
    OCA_FIELD_KIND_DURATION,    /* int64_t nanoseconds; "200ms", "5s", "1m", "1h30m"; bounded */
    OCA_FIELD_KIND_SIZE,        /* uint64_t bytes; "4MiB", "512KiB", "1000"; bounded */
    OCA_FIELD_KIND_ENUM,        /* int, one of the names in .enums */
    OCA_FIELD_KIND_ENDPOINT,    /* struct oca_endpoint; "host:port", "[::1]:4317", ":4317" */
    OCA_FIELD_KIND_STRING_LIST, /* struct oca_strlist; a YAML sequence of scalars */
    OCA_FIELD_KIND_STRING_MAP,  /* struct oca_strmap; a YAML mapping of scalar to scalar */
    OCA_FIELD_KIND_SECTION,     /* a nested struct decoded with .sub */
};

struct oca_enum_name {
    const char *name;
    int value;
};

struct oca_endpoint {
    char *host;                 /* "" for all interfaces; brackets removed from IPv6 literals */
    uint16_t port;
    char *text;                 /* as written, for messages */
};

struct oca_strlist {
    char **items;
    size_t n;
};

struct oca_strmap {
    char **keys;
    char **values;
    size_t n;
};

struct oca_field {
    const char *name;                   /* the YAML key */
    enum oca_field_kind kind;
    size_t offset;                      /* of the member in the config struct */
    const char *def;                    /* default, written as it would be in YAML; NULL: none */
    int64_t min, max;                   /* INT, U32, DURATION (ns), SIZE (bytes) */
    double dmin, dmax;                  /* DOUBLE */
    const struct oca_enum_name *enums;  /* ENUM; NULL-name terminated */
    const struct oca_field *sub;        /* SECTION */
    size_t present_offset;              /* SECTION with has_present: bool set when the key is written */
    bool has_present;
    bool listen;                        /* ENDPOINT the agent binds: checked for ports used twice */
    const char *doc;
};

/* Compile-time member type check: a constant 0 that fails to compile unless member has type T. */
#define OCA_FIELD_TYPECHECK(S, m, T) (0 * sizeof(_Generic(((S *)0)->m, T: 1)))
#define OCA_FIELD_AT(S, m, T) (offsetof(S, m) + OCA_FIELD_TYPECHECK(S, m, T))

#define OCA_NS_PER_MS INT64_C(1000000)
#define OCA_NS_PER_S  INT64_C(1000000000)

#define OCA_FIELD_BOOL(S, m, def_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_BOOL, .offset = OCA_FIELD_AT(S, m, bool), .def = def_, .doc = doc_ }
#define OCA_FIELD_INT(S, m, def_, min_, max_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_INT, .offset = OCA_FIELD_AT(S, m, int64_t), .def = def_, \
      .min = min_, .max = max_, .doc = doc_ }
#define OCA_FIELD_U32(S, m, def_, min_, max_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_U32, .offset = OCA_FIELD_AT(S, m, uint32_t), .def = def_, \
      .min = min_, .max = max_, .doc = doc_ }
#define OCA_FIELD_DOUBLE(S, m, def_, min_, max_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_DOUBLE, .offset = OCA_FIELD_AT(S, m, double), .def = def_, \
      .dmin = min_, .dmax = max_, .doc = doc_ }
#define OCA_FIELD_STRING(S, m, def_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_STRING, .offset = OCA_FIELD_AT(S, m, char *), .def = def_, .doc = doc_ }
/* Bounds of durations are in nanoseconds, of sizes in bytes. */
#define OCA_FIELD_DURATION(S, m, def_, min_, max_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_DURATION, .offset = OCA_FIELD_AT(S, m, int64_t), .def = def_, \
      .min = min_, .max = max_, .doc = doc_ }
#define OCA_FIELD_SIZE(S, m, def_, min_, max_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_SIZE, .offset = OCA_FIELD_AT(S, m, uint64_t), .def = def_, \
      .min = min_, .max = max_, .doc = doc_ }
#define OCA_FIELD_ENUM(S, m, def_, names_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_ENUM, .offset = OCA_FIELD_AT(S, m, int), .def = def_, \
      .enums = names_, .doc = doc_ }
#define OCA_FIELD_ENDPOINT(S, m, def_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_ENDPOINT, .offset = OCA_FIELD_AT(S, m, struct oca_endpoint), \
      .def = def_, .doc = doc_ }
/* An endpoint the agent listens on; two components may not listen on the same port. */
#define OCA_FIELD_LISTEN_ENDPOINT(S, m, def_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_ENDPOINT, .offset = OCA_FIELD_AT(S, m, struct oca_endpoint), \
      .def = def_, .listen = true, .doc = doc_ }
#define OCA_FIELD_STRING_LIST(S, m, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_STRING_LIST, .offset = OCA_FIELD_AT(S, m, struct oca_strlist), \
      .doc = doc_ }
#define OCA_FIELD_STRING_MAP(S, m, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_STRING_MAP, .offset = OCA_FIELD_AT(S, m, struct oca_strmap), \
      .doc = doc_ }
/* A nested section whose defaults always apply. */
#define OCA_FIELD_SECTION(S, m, SubS, sub_, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_SECTION, .offset = OCA_FIELD_AT(S, m, SubS), .sub = sub_, .doc = doc_ }
/* A nested section that is only on when written (like the otlp receiver's protocols.grpc: an empty
 * or null body means "on, with defaults"); `present` is a bool member of S. */
#define OCA_FIELD_OPT_SECTION(S, m, SubS, sub_, present, doc_) \
    { .name = #m, .kind = OCA_FIELD_KIND_SECTION, .offset = OCA_FIELD_AT(S, m, SubS), .sub = sub_, \
      .present_offset = OCA_FIELD_AT(S, present, bool), .has_present = true, .doc = doc_ }
#define OCA_FIELD_END { .name = NULL, .kind = OCA_FIELD_KIND_END }

/* Name of a kind as `ocagent components` prints it ("duration", "endpoint" ...). */
const char *oca_field_kind_name(enum oca_field_kind kind);

#endif
