/* The otlpjsonfile receiver: follows files of OTLP/JSON lines (one Export*ServiceRequest per
 * line, as the file exporter writes them) and hands each line's data to the pipelines of its signal.
 * A timer globs the include patterns every poll_interval, reads what was appended to each file since
 * the last poll, and keeps its place per file, so a line refused with a retryable error is offered
 * again on the next poll instead of being lost. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

enum start_at { START_AT_BEGINNING, START_AT_END };

struct otlpjsonfile_config {
    struct oca_strlist include;
    struct oca_strlist exclude;
    int start_at;
    int64_t poll_interval;
    uint64_t max_log_size;
};

static const struct oca_enum_name start_at_names[] = {
    { "beginning", START_AT_BEGINNING },
    { "end", START_AT_END },
    { NULL, 0 },
};

static const struct oca_field otlpjsonfile_fields[] = {
    OCA_FIELD_STRING_LIST(struct otlpjsonfile_config, include,
                          "Glob patterns (glob(3)) of the files to read; at least one is required."),
    OCA_FIELD_STRING_LIST(struct otlpjsonfile_config, exclude,
                          "Glob patterns of paths to leave out even though include matches them."),
    OCA_FIELD_ENUM(struct otlpjsonfile_config, start_at, "end", start_at_names,
                   "Where to start in the files found by the first poll: beginning, or end (only "
                   "lines written later are read; line numbers in messages then count from there). "
                   "Files that appear later are always read from the beginning."),
    OCA_FIELD_DURATION(struct otlpjsonfile_config, poll_interval, "200ms", OCA_NS_PER_MS, 24 * 3600 * OCA_NS_PER_S,
                       "How often the patterns are globbed and the files checked for new lines."),
    OCA_FIELD_SIZE(struct otlpjsonfile_config, max_log_size, "1MiB", 1, (int64_t)1 << 30,
                   "Longest line accepted; a longer one is skipped with an error naming the file and "
                   "line."),
    OCA_FIELD_END,
};

/* Bytes read from one file per poll. Reads are plain pread() calls on the loop thread: the files
 * are local and recently written, so the data comes from the page cache and a bounded read is
 * short; the bound keeps one busy file from holding the loop, and a file that had more is polled
 * again on the next loop iteration rather than after poll_interval. Doing it synchronously also
 * keeps the place in each file simple, which the retry of refused lines depends on. */
#define READ_BUDGET ((size_t)1 << 20)
#define READ_CHUNK ((size_t)64 << 10)

/* A file being followed. buf holds the bytes from offset on that were read but not yet handed on;
 * line is the number of the line that starts at offset. */
struct tracked {
    char *path;
    dev_t dev;
    ino_t ino;
    int fd;
    uint64_t offset;
    uint64_t line;
    struct oca_buf buf;
    unsigned done_sigs;     /* signals of the line at offset already handed on */
    bool skipping;          /* discarding the rest of a line that is too long */
    bool refusal_logged;
    bool seen;              /* matched by the current poll */
};

struct otlpjsonfile_rx {
    struct oca_component *self;
    const struct otlpjsonfile_config *cfg;
    uv_timer_t timer;
    bool started, shutting_down, timer_open, first_poll_done;
    struct tracked **files;
    size_t n_files, cap_files;
    struct oca_waiters waiters;     /* shutdown calls still to be answered */
};

/* The top-level key of each signal in both spellings the codec accepts. */
static const char *const signal_keys[OCA_SIGNAL_COUNT][2] = {
    { "\"resourceSpans\"", "\"resource_spans\"" },
    { "\"resourceMetrics\"", "\"resource_metrics\"" },
    { "\"resourceLogs\"", "\"resource_logs\"" },
};
static const char *const item_words[] = { "spans", "metric data points", "log records" };

enum line_result { LINE_DONE, LINE_RETRY };

static int otlpjsonfile_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct otlpjsonfile_config *cfg = cfgp;
    if (cfg->include.n == 0) {
        oca_diag_field_error(diag, "include", "include must list at least one glob");
        return OCA_ERR_CONFIG;
    }
    return OCA_OK;
}

static void tracked_free(struct tracked *f)
{
    if (f->fd >= 0)
        close(f->fd);
    oca_buf_free(&f->buf);
    free(f->path);
    free(f);
}

static void reset_position(struct tracked *f)
{
    f->offset = 0;
    f->line = 1;
    oca_buf_reset(&f->buf);
    f->done_sigs = 0;
    f->skipping = false;
    f->refusal_logged = false;
}

static enum line_result send_line(struct otlpjsonfile_rx *rx, struct tracked *f, enum oca_signal sig,
                                  const char *p, size_t n)
{
    const char *who = rx->self->id;
    char detail[256] = "";
    struct oca_batch *b;
    int err = oca_batch_decode(sig, OCA_ENCODING_JSON, (const uint8_t *)p, n, &b, detail, sizeof(detail));
    if (err) {
        oca_log_warn(who, "%s:%" PRIu64 ": skipped a line that is not OTLP/JSON %s: %s", f->path, f->line,
                     oca_signal_name(sig), detail[0] ? detail : oca_err_message(err));
        return LINE_DONE;
    }
    if (oca_batch_resource_count(b) == 0) {
        oca_batch_unref(b);
        return LINE_DONE;
    }
    size_t items = b->items;
    err = oca_next_consume(rx->self, sig, b);
    oca_batch_unref(b);
    if (err == OCA_OK) {
        oca_log_debug(who, "read %zu %s from %s:%" PRIu64, items, item_words[sig], f->path, f->line);
        return LINE_DONE;
    }
    if (oca_err_retryable(err)) {
        if (!f->refusal_logged)
            oca_log_warn(who, "%s:%" PRIu64 ": the pipeline refused %zu %s (%s); retrying the line every poll",
                         f->path, f->line, items, item_words[sig], oca_err_message(err));
        f->refusal_logged = true;
        return LINE_RETRY;
    }
    oca_log_error(who, "%s:%" PRIu64 ": the pipeline rejected %zu %s (%s: %s); line skipped", f->path, f->line,
                  items, item_words[sig], oca_err_name(err), oca_err_message(err));
    return LINE_DONE;
}

static bool has_key(const char *p, size_t n, enum oca_signal sig)
{
    for (int k = 0; k < 2; k++)
        if (memmem(p, n, signal_keys[sig][k], strlen(signal_keys[sig][k])))
            return true;
    return false;
}

/* Decodes one line as each wired signal whose key appears in it (a JSON key can only be present
 * if its text is) and hands on what is not empty. A line with no known key is decoded as the first
 * wired signal anyway so that a malformed line is reported; valid JSON without data is skipped. */
static enum line_result handle_line(struct otlpjsonfile_rx *rx, struct tracked *f, const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    size_t lead = 0;
    while (lead < n && (p[lead] == ' ' || p[lead] == '\t'))
        lead++;
    if (lead == n)
        return LINE_DONE;
    unsigned wanted = 0;
    int first_wired = -1;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        if (!rx->self->next[s])
            continue;
        if (first_wired < 0)
            first_wired = s;
        if (has_key(p, n, (enum oca_signal)s))
            wanted |= 1u << s;
    }
    if (first_wired < 0)
        return LINE_DONE;
    if (!wanted)
        wanted = 1u << first_wired;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        if (!(wanted & (1u << s)) || (f->done_sigs & (1u << s)))
            continue;
        if (send_line(rx, f, (enum oca_signal)s, p, n) == LINE_RETRY)
            return LINE_RETRY;
        f->done_sigs |= 1u << s;
    }
    return LINE_DONE;
}

/* Hands on every complete line in f->buf and drops the bytes consumed. Returns false when a
 * retryable refusal stopped it: the refused line stays first in the buffer. */
static bool process_lines(struct otlpjsonfile_rx *rx, struct tracked *f)
{
    char *buf = f->buf.data;
    size_t len = f->buf.len, start = 0;
    uint64_t max = rx->cfg->max_log_size;
    bool ok = true;
    while (start < len) {
        char *nl = memchr(buf + start, '\n', len - start);
        if (f->skipping) {
            if (!nl) {
                start = len;
                break;
            }
            start = (size_t)(nl - buf) + 1;
            f->skipping = false;
            f->line++;
            continue;
        }
        if (!nl) {
            if (len - start > max) {
                oca_log_error(rx->self->id, "%s:%" PRIu64 ": line longer than max_log_size (%" PRIu64 " bytes); skipped",
                              f->path, f->line, max);
                f->skipping = true;
                start = len;
            }
            break;
        }
        size_t n = (size_t)(nl - (buf + start));
        if (n > max) {
            oca_log_error(rx->self->id, "%s:%" PRIu64 ": line of %zu bytes is longer than max_log_size (%" PRIu64 " bytes); skipped",
                          f->path, f->line, n, max);
        } else if (handle_line(rx, f, buf + start, n) == LINE_RETRY) {
            ok = false;
            break;
        }
        start += n + 1;
        f->line++;
        f->done_sigs = 0;
        f->refusal_logged = false;
    }
    if (start > 0) {
        memmove(buf, buf + start, len - start);
        f->buf.len = len - start;
        buf[f->buf.len] = '\0';
        f->offset += start;
    }
    return ok;
}

/* Reads what was appended to f, up to READ_BUDGET, and hands on its complete lines. Returns true
 * when the budget ran out with more to read. */
static bool read_file(struct otlpjsonfile_rx *rx, struct tracked *f)
{
    struct stat st;
    if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->offset + f->buf.len) {
        oca_log_info(rx->self->id, "%s was truncated; reading it again from the start", f->path);
        reset_position(f);
    }
    if (!process_lines(rx, f))
        return false;
    size_t budget = READ_BUDGET;
    while (budget > 0) {
        size_t want = budget < READ_CHUNK ? budget : READ_CHUNK;
        oca_buf_reserve(&f->buf, want);
        ssize_t n = pread(f->fd, f->buf.data + f->buf.len, want, (off_t)(f->offset + f->buf.len));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            oca_log_warn(rx->self->id, "reading %s: %s", f->path, strerror(errno));
            return false;
        }
        if (n == 0)
            return false;
        f->buf.len += (size_t)n;
        f->buf.data[f->buf.len] = '\0';
        budget -= (size_t)n;
        if (!process_lines(rx, f))
            return false;
    }
    return true;
}

static struct tracked *find_file(struct otlpjsonfile_rx *rx, const char *path)
{
    for (size_t k = 0; k < rx->n_files; k++)
        if (strcmp(rx->files[k]->path, path) == 0)
            return rx->files[k];
    return NULL;
}

static bool excluded(const struct otlpjsonfile_config *cfg, const char *path)
{
    for (size_t k = 0; k < cfg->exclude.n; k++)
        if (fnmatch(cfg->exclude.items[k], path, FNM_PATHNAME) == 0)
            return true;
    return false;
}

/* Starts following path. At the first poll with start_at: end, reading starts at the current end
 * (after the last complete line: a partial last line is skipped, not read from its middle). */
static void open_file(struct otlpjsonfile_rx *rx, const char *path, const struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        oca_log_warn(rx->self->id, "cannot open %s: %s", path, strerror(errno));
        return;
    }
    struct tracked *f = oca_xcalloc(1, sizeof(*f));
    f->path = oca_xstrdup(path);
    f->fd = fd;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    reset_position(f);
    bool at_end = !rx->first_poll_done && rx->cfg->start_at == START_AT_END;
    if (at_end && st->st_size > 0) {
        char last;
        f->offset = (uint64_t)st->st_size;
        if (pread(fd, &last, 1, (off_t)(st->st_size - 1)) == 1 && last != '\n')
            f->skipping = true;
    }
    f->seen = true;
    if (rx->n_files == rx->cap_files) {
        rx->cap_files = rx->cap_files ? rx->cap_files * 2 : 8;
        rx->files = oca_xrealloc(rx->files, rx->cap_files * sizeof(*rx->files));
    }
    rx->files[rx->n_files++] = f;
    oca_log_info(rx->self->id, "reading %s from the %s", path, at_end ? "end" : "beginning");
}

static void match_path(struct otlpjsonfile_rx *rx, const char *path)
{
    struct stat st;
    if (excluded(rx->cfg, path) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    struct tracked *f = find_file(rx, path);
    if (f && f->seen)
        return;
    if (f && (f->dev != st.st_dev || f->ino != st.st_ino)) {
        /* Another file now has this name (rotation by rename or recreate): follow the new one from
         * its start. */
        oca_log_info(rx->self->id, "%s was replaced; reading the new file from the start", path);
        close(f->fd);
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0) {
            oca_log_warn(rx->self->id, "cannot open %s: %s", path, strerror(errno));
            return;
        }
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        reset_position(f);
    }
    if (f)
        f->seen = true;
    else
        open_file(rx, path, &st);
}

static void poll_files(struct otlpjsonfile_rx *rx)
{
    for (size_t k = 0; k < rx->n_files; k++)
        rx->files[k]->seen = false;
    for (size_t k = 0; k < rx->cfg->include.n; k++) {
        glob_t g;
        int rc = glob(rx->cfg->include.items[k], 0, NULL, &g);
        if (rc == 0)
            for (size_t j = 0; j < g.gl_pathc; j++)
                match_path(rx, g.gl_pathv[j]);
        else if (rc != GLOB_NOMATCH)
            oca_log_warn(rx->self->id, "glob %s failed (%s)", rx->cfg->include.items[k],
                         rc == GLOB_NOSPACE ? "out of memory" : "read error");
        globfree(&g);
    }
    /* Files no longer matched (deleted, renamed away) are let go. */
    size_t kept = 0;
    for (size_t k = 0; k < rx->n_files; k++) {
        if (rx->files[k]->seen && rx->files[k]->fd >= 0) {
            rx->files[kept++] = rx->files[k];
            continue;
        }
        oca_log_debug(rx->self->id, "stopped reading %s", rx->files[k]->path);
        tracked_free(rx->files[k]);
    }
    rx->n_files = kept;
    rx->first_poll_done = true;
}

static void on_poll(uv_timer_t *t)
{
    struct otlpjsonfile_rx *rx = t->data;
    uint64_t interval = (uint64_t)((rx->cfg->poll_interval + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS);
    poll_files(rx);
    bool more = false;
    for (size_t k = 0; k < rx->n_files && !rx->shutting_down; k++)
        more |= read_file(rx, rx->files[k]);
    if (more && !rx->shutting_down)
        uv_timer_start(t, on_poll, 0, interval);
}

static int otlpjsonfile_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct otlpjsonfile_rx *rx = oca_xcalloc(1, sizeof(*rx));
    rx->self = self;
    rx->cfg = self->config;
    self->state = rx;
    return OCA_OK;
}

/* start takes stock of the files that exist now (with start_at: end their current content is
 * skipped), so that a file created once the agent reports it has started is always read whole.
 * Reading begins on the first loop iteration. */
static int otlpjsonfile_start(struct oca_component *self, uv_loop_t *loop)
{
    struct otlpjsonfile_rx *rx = self->state;
    if (rx->started || rx->shutting_down)
        return OCA_OK;
    uint64_t interval = (uint64_t)((rx->cfg->poll_interval + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS);
    uv_timer_init(loop, &rx->timer);
    rx->timer.data = rx;
    rx->timer_open = true;
    rx->started = true;
    poll_files(rx);
    uv_timer_start(&rx->timer, on_poll, 0, interval);
    return OCA_OK;
}

static void close_files(struct otlpjsonfile_rx *rx)
{
    for (size_t k = 0; k < rx->n_files; k++)
        tracked_free(rx->files[k]);
    free(rx->files);
    rx->files = NULL;
    rx->n_files = rx->cap_files = 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct otlpjsonfile_rx *rx = h->data;
    rx->timer_open = false;
    oca_waiters_notify(&rx->waiters, rx->self);
}

/* Stops polling and closes the files; done is called once the timer is closed, once per call.
 * Lines not read yet stay in the files. */
static void otlpjsonfile_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct otlpjsonfile_rx *rx = self->state;
    oca_waiters_add(&rx->waiters, done);
    if (!rx->shutting_down) {
        rx->shutting_down = true;
        close_files(rx);
        if (rx->timer_open) {
            uv_timer_stop(&rx->timer);
            uv_close((uv_handle_t *)&rx->timer, on_timer_closed);
        }
    }
    if (!rx->timer_open)
        oca_waiters_notify(&rx->waiters, rx->self);
}

static void otlpjsonfile_destroy(struct oca_component *self)
{
    struct otlpjsonfile_rx *rx = self->state;
    if (!rx)
        return;
    close_files(rx);
    free(rx->waiters.cbs);
    free(rx);
    self->state = NULL;
}

const struct oca_component_type oca_otlpjsonfile_receiver = {
    .name = "otlpjsonfile",
    .kind = OCA_RECEIVER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct otlpjsonfile_config),
    .fields = otlpjsonfile_fields,
    .doc = "Follows files of OTLP/JSON lines, as the file exporter writes them.",
    .validate = otlpjsonfile_validate,
    .create = otlpjsonfile_create,
    .start = otlpjsonfile_start,
    .consume = NULL,
    .shutdown = otlpjsonfile_shutdown,
    .destroy = otlpjsonfile_destroy,
};
