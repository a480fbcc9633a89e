/* Leveled logging to stderr: one line per event with an RFC 3339 UTC timestamp, the level, the
 * component id (or "agent") and the message. Safe to call from any thread. */
#ifndef OCA_BASE_LOG_H
#define OCA_BASE_LOG_H

enum oca_log_level { OCA_LOG_DEBUG, OCA_LOG_INFO, OCA_LOG_WARN, OCA_LOG_ERROR, OCA_LOG_NONE };

void oca_log_set_level(enum oca_log_level level);
enum oca_log_level oca_log_get_level(void);
/* "debug", "info", "warn", "error" or "none"; returns -1 for anything else. */
int oca_log_level_parse(const char *name);

void oca_log(enum oca_log_level level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define oca_log_debug(who, ...) oca_log(OCA_LOG_DEBUG, who, __VA_ARGS__)
#define oca_log_info(who, ...)  oca_log(OCA_LOG_INFO, who, __VA_ARGS__)
#define oca_log_warn(who, ...)  oca_log(OCA_LOG_WARN, who, __VA_ARGS__)
#define oca_log_error(who, ...) oca_log(OCA_LOG_ERROR, who, __VA_ARGS__)

#endif
