/* stderr logger behind log.h. A line is formatted into one buffer and written with one call so
 * lines from different threads never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum oca_log_level current = OCA_LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error", "none" };

void oca_log_set_level(enum oca_log_level level) { current = level; }
enum oca_log_level oca_log_get_level(void) { return current; }

int oca_log_level_parse(const char *name)
{
    for (int i = 0; i <= OCA_LOG_NONE; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    if (strcmp(name, "warning") == 0)
        return OCA_LOG_WARN;
    return -1;
}

void oca_log(enum oca_log_level level, const char *who, const char *fmt, ...)
{
    if (level < current || level >= OCA_LOG_NONE)
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\t%s\t%s\t",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level], who ? who : "agent");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
