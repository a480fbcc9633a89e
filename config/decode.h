/* Table-driven decoding of one YAML section into a config struct: defaults first, then each
 * written key is checked (unknown keys with a "did you mean" hint, wrong types, bounds, enum names)
 * and stored. All errors go to the diag; decoding goes on past an error so that every problem in a
 * file is reported in one run. Strings and lists live in the arena. */
#ifndef OCA_CONFIG_DECODE_H
#define OCA_CONFIG_DECODE_H

#include <stdint.h>

#include "base/buf.h"
#include "config/fields.h"

struct oca_arena;
struct oca_diag;
struct oca_ynode;

/* Fills cfg (already zeroed, the struct the table describes) from its defaults and then from node
 * (a MAP, or NULL / a null node for "all defaults"). path names the section in messages
 * ("exporters.file/a"). Returns the number of errors added to diag. */
int oca_config_decode(struct oca_arena *arena, const struct oca_field *fields, void *cfg,
                      const struct oca_ynode *node, const char *path, struct oca_diag *diag);

/* Scalar parsers shared with the rest of config/; each returns 0 or -1 with a message in *why. */
int oca_config_parse_duration(const char *s, int64_t *ns, const char **why);
int oca_config_parse_size(const char *s, uint64_t *bytes, const char **why);
int oca_config_parse_endpoint(struct oca_arena *arena, const char *s, struct oca_endpoint *ep,
                              const char **why);

/* Reports key (a key node; path is its own key path) as unknown: "unknown key (did you mean X?)"
 * when one of names (NULL-terminated) is within two edits, else the list of valid names. */
void oca_config_unknown_key(struct oca_diag *diag, const struct oca_ynode *key, const char *path,
                            const char *const *names);

/* Appends the table's keys, kinds, defaults, bounds and docs to out, indented by `indent` spaces,
 * one key per line, nested sections below their key (used by `ocagent components`). */
void oca_config_describe(const struct oca_field *fields, int indent, struct oca_buf *out);

#endif
