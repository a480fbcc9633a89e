/* The file exporter: appends every batch it receives to one file, as OTLP/JSON lines (one
 * Export*ServiceRequest per line, what the otlpjsonfile receiver reads) or as length-prefixed
 * protobuf. Batches are encoded into a buffer on the loop thread; every flush_interval (or sooner
 * when the buffer grows past 1 MiB) the buffer is written by a job on libuv's thread pool, which also
 * rotates the file the way the Collector's lumberjack writer does. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "config/diag.h"
#include "config/fields.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

enum format { FORMAT_JSON, FORMAT_PROTO };

struct rotation_config {
    uint32_t max_megabytes;
    uint32_t max_days;
    uint32_t max_backups;
    bool localtime;
};

struct file_config {
    char *path;
    int format;
    int64_t flush_interval;
    struct rotation_config rotation;
    bool rotation_on;
    bool append;
};

static const struct oca_enum_name format_names[] = {
    { "json", FORMAT_JSON },
    { "proto", FORMAT_PROTO },
    { NULL, 0 },
};

static const struct oca_field rotation_fields[] = {
    OCA_FIELD_U32(struct rotation_config, max_megabytes, "100", 0, 1024 * 1024,
                  "Size in MiB at which the file is renamed to a backup and a new one begun "
                  "(0 means 100, as in the Collector)."),
    OCA_FIELD_U32(struct rotation_config, max_days, "0", 0, 100000,
                  "Backups older than this many days (by the time in their name) are deleted; 0 keeps "
                  "them regardless of age."),
    OCA_FIELD_U32(struct rotation_config, max_backups, "100", 0, 1000000,
                  "Most backups kept; the oldest beyond this are deleted. 0 keeps all of them."),
    OCA_FIELD_BOOL(struct rotation_config, localtime, "false",
                   "Name backups by local time instead of UTC: <name>-2006-01-02T15-04-05.000.<ext>."),
    OCA_FIELD_END,
};

static const struct oca_field file_fields[] = {
    OCA_FIELD_STRING(struct file_config, path, NULL,
                     "File to write to (required). Its directory must exist."),
    OCA_FIELD_ENUM(struct file_config, format, "json", format_names,
                   "json: one OTLP/JSON export request per line. proto: each protobuf export "
                   "request preceded by its length as 4 bytes, big-endian."),
    OCA_FIELD_DURATION(struct file_config, flush_interval, "1s", 0, 24 * 3600 * OCA_NS_PER_S,
                       "How often buffered data is written to the file (sooner when 1 MiB is "
                       "buffered); 0 writes every batch as it comes."),
    OCA_FIELD_OPT_SECTION(struct file_config, rotation, struct rotation_config, rotation_fields, rotation_on,
                          "Rotate the file by size, keeping timestamped backups. Off unless this "
                          "key is written (an empty value turns it on with the defaults). With "
                          "rotation an existing file is continued, not truncated."),
    OCA_FIELD_BOOL(struct file_config, append, "false",
                   "Append to an existing file instead of truncating it at start. Cannot be combined "
                   "with rotation."),
    OCA_FIELD_END,
};

/* Buffered bytes are written once this much is waiting, without waiting for the interval. */
#define EARLY_FLUSH_BYTES ((size_t)1 << 20)
/* Past this many unwritten bytes (buffered plus being written) batches are refused with a
 * retryable error instead of growing memory without bound. */
#define PENDING_LIMIT_BYTES ((size_t)64 << 20)
#define BACKUP_TIME_LEN 23   /* 2006-01-02T15-04-05.000 */

/* One encoded batch in a write buffer. */
struct record {
    size_t len;
    enum oca_signal sig;
    size_t items;
};

/* A buffer of records and, while it is being written, the work request that writes it. The job
 * owns the file descriptor while it runs; the loop thread does not touch fd or size meanwhile. */
struct write_job {
    uv_work_t work;
    struct file_exporter *fx;
    const struct file_config *cfg;
    struct oca_buf data;
    struct record *recs;
    size_t n_recs, cap_recs;
    int fd;
    uint64_t size;              /* bytes in the current file */
    /* Results, filled by the worker. */
    size_t recs_done;           /* records written completely */
    int err;                    /* errno of the failure; 0 when everything was written */
    char what[PATH_MAX + 64];   /* the operation that failed */
    unsigned rotations;
    int cleanup_err;            /* errno of a failed backup deletion (not fatal) */
    char cleanup_what[PATH_MAX + 64];
};

struct file_exporter {
    struct oca_component *self;
    const struct file_config *cfg;
    uv_loop_t *loop;
    uv_timer_t timer;
    uv_fs_t close_req;
    struct write_job jobs[2];
    struct write_job *pending;  /* being filled by consume */
    struct write_job *writing;  /* on the thread pool, when in_flight */
    int fd;
    uint64_t size;
    bool started, in_flight, shutting_down, timer_open, closing_file;
    struct oca_waiters waiters;     /* shutdown calls still to be answered */
};

static bool path_is_set(const char *p) { return p && *p; }

static int file_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct file_config *cfg = cfgp;
    int err = OCA_OK;
    if (!path_is_set(cfg->path)) {
        oca_diag_field_error(diag, "path", "path must be set");
        err = OCA_ERR_CONFIG;
    }
    if (cfg->append && cfg->rotation_on) {
        oca_diag_field_error(diag, "append", "append and rotation cannot both be on (rotation always continues the existing file)");
        err = OCA_ERR_CONFIG;
    }
    return err;
}

static uint64_t max_file_bytes(const struct file_config *cfg)
{
    uint64_t mb = cfg->rotation.max_megabytes ? cfg->rotation.max_megabytes : 100;
    return mb << 20;
}

/* Opens the output file: truncated unless appending; rotation continues an existing file as the
 * Collector's lumberjack writer does. Returns the fd or -1 with errno set. */
static int open_output(const struct file_config *cfg, uint64_t *size)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
    flags |= cfg->append || cfg->rotation_on ? O_APPEND : O_TRUNC;
    int fd = open(cfg->path, flags, 0644);
    if (fd < 0)
        return -1;
    struct stat st;
    *size = fstat(fd, &st) == 0 && (flags & O_APPEND) ? (uint64_t)st.st_size : 0;
    return fd;
}

/* The parts of a backup name: "<dir>/<prefix>-<time><ext>", where ext is the file name from its
 * last dot on (Go's filepath.Ext) and prefix the rest. prefix and ext point into the path. */
struct name_parts {
    char dir[PATH_MAX];
    const char *prefix;
    size_t plen;
    const char *ext;
};

/* snprintf that reports truncation, for building paths. */
static bool format_path(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool format_path(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

static void split_name(const char *path, struct name_parts *np)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!slash)
        format_path(np->dir, sizeof(np->dir), ".");
    else if (slash == path)
        format_path(np->dir, sizeof(np->dir), "/");
    else
        format_path(np->dir, sizeof(np->dir), "%.*s", (int)(slash - path), path);
    const char *dot = strrchr(base, '.');
    np->prefix = base;
    np->plen = dot ? (size_t)(dot - base) : strlen(base);
    np->ext = dot ? dot : "";
}

static void format_backup_time(int64_t ms, bool local, char out[BACKUP_TIME_LEN + 1])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (local)
        localtime_r(&secs, &tm);
    else
        gmtime_r(&secs, &tm);
    size_t n = strftime(out, BACKUP_TIME_LEN + 1, "%Y-%m-%dT%H-%M-%S", &tm);
    format_path(out + n, BACKUP_TIME_LEN + 1 - n, ".%03d", (int)(ms % 1000));
}

/* Seconds since the epoch of a backup name's time, or -1 when it is not one. */
static int64_t parse_backup_time(const char *s, bool local)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int ms = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d-%2d-%2d.%3d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 || used != BACKUP_TIME_LEN)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    time_t t = local ? mktime(&tm) : timegm(&tm);
    return (int64_t)t;
}

static int compare_names_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Deletes the backups beyond max_backups (newest kept) and those older than max_days, as
 * lumberjack's mill does after each rotation. A failure is remembered for the log, not fatal. */
static void remove_old_backups(struct write_job *job)
{
    const struct rotation_config *rc = &job->cfg->rotation;
    if (rc->max_backups == 0 && rc->max_days == 0)
        return;
    struct name_parts np;
    split_name(job->cfg->path, &np);
    DIR *d = opendir(np.dir);
    if (!d) {
        job->cleanup_err = errno;
        format_path(job->cleanup_what, sizeof(job->cleanup_what), "list %s", np.dir);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    size_t plen = np.plen, elen = strlen(np.ext);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len != plen + 1 + BACKUP_TIME_LEN + elen || strncmp(e->d_name, np.prefix, plen) != 0 ||
            e->d_name[plen] != '-' || strcmp(e->d_name + len - elen, np.ext) != 0)
            continue;
        char stamp[BACKUP_TIME_LEN + 1];
        memcpy(stamp, e->d_name + plen + 1, BACKUP_TIME_LEN);
        stamp[BACKUP_TIME_LEN] = '\0';
        if (parse_backup_time(stamp, rc->localtime) < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = oca_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = oca_xstrdup(e->d_name);
    }
    closedir(d);
    /* The fixed-width time makes name order time order. */
    qsort(names, n, sizeof(*names), compare_names_desc);
    int64_t cutoff = rc->max_days ? (int64_t)time(NULL) - (int64_t)rc->max_days * 86400 : INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        char stamp[BACKUP_TIME_LEN + 1];
        memcpy(stamp, names[k] + plen + 1, BACKUP_TIME_LEN);
        stamp[BACKUP_TIME_LEN] = '\0';
        bool too_many = rc->max_backups && k >= rc->max_backups;
        bool too_old = parse_backup_time(stamp, rc->localtime) < cutoff;
        if (too_many || too_old) {
            char full[PATH_MAX];
            if (format_path(full, sizeof(full), "%s/%s", np.dir, names[k]) && unlink(full) != 0 &&
                errno != ENOENT && !job->cleanup_err) {
                job->cleanup_err = errno;
                format_path(job->cleanup_what, sizeof(job->cleanup_what), "delete %s", full);
            }
        }
        free(names[k]);
    }
    free(names);
}

/* Closes the full file, renames it to its backup name and opens a new, empty one. */
static bool rotate(struct write_job *job)
{
    const struct file_config *cfg = job->cfg;
    close(job->fd);
    job->fd = -1;
    struct name_parts np;
    split_name(cfg->path, &np);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char backup[PATH_MAX];
    /* Two rotations within one millisecond would give the same name; the later one moves on by a
     * millisecond so that no backup is overwritten and names stay in time order. */
    for (int tries = 0;; tries++, ms++) {
        char stamp[BACKUP_TIME_LEN + 1];
        format_backup_time(ms, cfg->rotation.localtime, stamp);
        if (!format_path(backup, sizeof(backup), "%s/%.*s-%s%s", np.dir, (int)np.plen, np.prefix, stamp,
                         np.ext)) {
            job->err = ENAMETOOLONG;
            format_path(job->what, sizeof(job->what), "name a backup of %s", cfg->path);
            return false;
        }
        if (access(backup, F_OK) != 0 || tries == 1000)
            break;
    }
    if (rename(cfg->path, backup) != 0) {
        job->err = errno;
        format_path(job->what, sizeof(job->what), "rename %s to %s", cfg->path, backup);
        return false;
    }
    job->fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (job->fd < 0) {
        job->err = errno;
        format_path(job->what, sizeof(job->what), "open %s", cfg->path);
        return false;
    }
    job->size = 0;
    job->rotations++;
    remove_old_backups(job);
    return true;
}

static bool write_all(struct write_job *job, const char *p, size_t n, size_t *written)
{
    *written = 0;
    while (*written < n) {
        ssize_t w = write(job->fd, p + *written, n - *written);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            job->err = errno;
            format_path(job->what, sizeof(job->what), "write %s", job->cfg->path);
            return false;
        }
        *written += (size_t)w;
        job->size += (uint64_t)w;
    }
    return true;
}

/* Runs on the thread pool: writes the records in order, rotating between two records when the
 * next one would take the file past max_megabytes (a record larger than that gets a file of its
 * own). Writes as many records per write() as fit in the current file. */
static void write_work(uv_work_t *w)
{
    struct write_job *job = w->data;
    uint64_t max = job->cfg->rotation_on ? max_file_bytes(job->cfg) : 0;
    job->err = 0;
    job->recs_done = 0;
    job->rotations = 0;
    job->cleanup_err = 0;
    if (job->fd < 0) {
        job->fd = open_output(job->cfg, &job->size);
        if (job->fd < 0) {
            job->err = errno;
            format_path(job->what, sizeof(job->what), "open %s", job->cfg->path);
            return;
        }
    }
    size_t i = 0, off = 0;
    while (i < job->n_recs) {
        size_t j = i, run = 0;
        while (j < job->n_recs &&
               (max == 0 || job->size + run + job->recs[j].len <= max || job->size + run == 0))
            run += job->recs[j++].len;
        if (run > 0) {
            size_t written, done = 0;
            bool ok = write_all(job, job->data.data + off, run, &written);
            while (i < j && done + job->recs[i].len <= written)
                done += job->recs[i++].len;
            job->recs_done = i;
            if (!ok)
                return;
            off += run;
        }
        if (i < job->n_recs && !rotate(job))
            return;
    }
}

static void update_queue_gauge(struct file_exporter *fx)
{
    if (!fx->self->counters)
        return;
    size_t n = fx->pending->n_recs + (fx->in_flight ? fx->writing->n_recs : 0);
    fx->self->counters->queue_size = (int64_t)n;
}

/* Shutdown has finished once no write runs, the timer is closed and the file is closed. */
static void finish_if_idle(struct file_exporter *fx)
{
    if (fx->shutting_down && !fx->in_flight && !fx->timer_open && !fx->closing_file && fx->fd < 0 &&
        fx->pending->n_recs == 0)
        oca_waiters_notify(&fx->waiters, fx->self);
}

static void on_file_closed(uv_fs_t *req)
{
    struct file_exporter *fx = req->data;
    if (req->result < 0)
        oca_log_warn(fx->self->id, "closing %s: %s", fx->cfg->path, uv_strerror((int)req->result));
    uv_fs_req_cleanup(req);
    fx->closing_file = false;
    finish_if_idle(fx);
}

static void close_file(struct file_exporter *fx)
{
    if (fx->fd < 0 || fx->closing_file)
        return;
    fx->closing_file = true;
    fx->close_req.data = fx;
    uv_fs_close(fx->loop, &fx->close_req, fx->fd, on_file_closed);
    fx->fd = -1;
}

static void after_write(uv_work_t *w, int status);

static void start_write(struct file_exporter *fx)
{
    if (!fx->started || fx->in_flight || fx->pending->n_recs == 0)
        return;
    struct write_job *job = fx->pending;
    fx->pending = fx->writing;
    fx->writing = job;
    job->fd = fx->fd;
    job->size = fx->size;
    fx->fd = -1;
    fx->in_flight = true;
    job->work.data = job;
    int err = uv_queue_work(fx->loop, &job->work, write_work, after_write);
    if (err)
        after_write(&job->work, err);
}

static void count_and_log(struct file_exporter *fx, struct write_job *job, int status)
{
    uint64_t failed = 0;
    for (size_t k = 0; k < job->n_recs; k++) {
        bool ok = status == 0 && k < job->recs_done;
        oca_counters_add(fx->self->counters, ok ? OCA_EDGE_SENT : OCA_EDGE_SEND_FAILED, job->recs[k].sig,
                         job->recs[k].items);
        if (!ok)
            failed += job->recs[k].items;
    }
    if (status != 0)
        oca_log_error(fx->self->id, "could not write to %s: %s; %" PRIu64 " items lost", fx->cfg->path,
                      uv_strerror(status), failed);
    else if (job->err)
        oca_log_error(fx->self->id, "%s: %s; %" PRIu64 " items lost", job->what, strerror(job->err), failed);
    if (status == 0 && job->rotations)
        oca_log_debug(fx->self->id, "rotated %s (%u time%s)", fx->cfg->path, job->rotations,
                      job->rotations == 1 ? "" : "s");
    if (status == 0 && job->cleanup_err)
        oca_log_warn(fx->self->id, "removing old backups: %s: %s", job->cleanup_what, strerror(job->cleanup_err));
}

static void after_write(uv_work_t *w, int status)
{
    struct write_job *job = w->data;
    struct file_exporter *fx = job->fx;
    fx->in_flight = false;
    /* The worker may have replaced the descriptor (rotation) or lost it (a failed reopen, retried
     * by the next job). */
    fx->fd = job->fd;
    fx->size = job->size;
    job->fd = -1;
    count_and_log(fx, job, status);
    /* A burst may have grown the buffer towards the pending limit; do not keep that much. */
    if (job->data.cap > 4 * EARLY_FLUSH_BYTES)
        oca_buf_free(&job->data);
    else
        oca_buf_reset(&job->data);
    job->n_recs = 0;
    update_queue_gauge(fx);
    if (fx->shutting_down) {
        if (fx->pending->n_recs > 0)
            start_write(fx);
        else
            close_file(fx);
        finish_if_idle(fx);
        return;
    }
    if (fx->pending->data.len >= EARLY_FLUSH_BYTES || (fx->cfg->flush_interval == 0 && fx->pending->n_recs > 0))
        start_write(fx);
}

static void on_flush_tick(uv_timer_t *t)
{
    start_write(t->data);
}

static void put_be32(struct oca_buf *b, uint32_t v)
{
    char bytes[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };
    oca_buf_append(b, bytes, 4);
}

static int file_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct file_exporter *fx = self->state;
    struct write_job *p = fx->pending;
    if (sig >= OCA_SIGNAL_COUNT)
        return OCA_ERR_UNSUPPORTED;
    if (fx->shutting_down)
        return OCA_ERR_SHUTTING_DOWN;
    size_t unwritten = p->data.len + (fx->in_flight ? fx->writing->data.len : 0);
    if (unwritten >= PENDING_LIMIT_BYTES)
        return OCA_ERR_QUEUE_FULL;
    size_t before = p->data.len;
    if (fx->cfg->format == FORMAT_PROTO) {
        size_t n = protobuf_c_message_get_packed_size(batch->msg);
        if (n > UINT32_MAX)
            return OCA_ERR_TOO_LARGE;
        put_be32(&p->data, (uint32_t)n);
        oca_buf_reserve(&p->data, n);
        p->data.len += protobuf_c_message_pack(batch->msg, (uint8_t *)p->data.data + p->data.len);
        p->data.data[p->data.len] = '\0';
    } else {
        oca_otlp_json_encode(batch->msg, &p->data);
        oca_buf_putc(&p->data, '\n');
    }
    if (p->n_recs == p->cap_recs) {
        p->cap_recs = p->cap_recs ? p->cap_recs * 2 : 64;
        p->recs = oca_xrealloc(p->recs, p->cap_recs * sizeof(*p->recs));
    }
    p->recs[p->n_recs++] = (struct record){ .len = p->data.len - before, .sig = sig, .items = batch->items };
    update_queue_gauge(fx);
    if (p->data.len >= EARLY_FLUSH_BYTES || fx->cfg->flush_interval == 0)
        start_write(fx);
    return OCA_OK;
}

static int file_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct file_exporter *fx = oca_xcalloc(1, sizeof(*fx));
    fx->self = self;
    fx->cfg = self->config;
    fx->fd = -1;
    for (int k = 0; k < 2; k++) {
        fx->jobs[k].fx = fx;
        fx->jobs[k].cfg = fx->cfg;
        fx->jobs[k].fd = -1;
    }
    fx->pending = &fx->jobs[0];
    fx->writing = &fx->jobs[1];
    self->state = fx;
    return OCA_OK;
}

/* Opens the file here, synchronously, so that a missing directory or a permission problem stops
 * the agent at startup with the path and the reason. */
static int file_start(struct oca_component *self, uv_loop_t *loop)
{
    struct file_exporter *fx = self->state;
    if (fx->started || fx->shutting_down)
        return OCA_OK;
    fx->loop = loop;
    fx->fd = open_output(fx->cfg, &fx->size);
    if (fx->fd < 0) {
        oca_log_error(self->id, "cannot open %s: %s", fx->cfg->path, strerror(errno));
        return OCA_ERR_IO;
    }
    fx->started = true;
    if (fx->cfg->flush_interval > 0) {
        uint64_t ms = (uint64_t)((fx->cfg->flush_interval + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS);
        uv_timer_init(loop, &fx->timer);
        fx->timer.data = fx;
        fx->timer_open = true;
        uv_timer_start(&fx->timer, on_flush_tick, ms, ms);
    } else {
        start_write(fx);
    }
    return OCA_OK;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct file_exporter *fx = h->data;
    fx->timer_open = false;
    finish_if_idle(fx);
}

/* Writes everything buffered (after any write in flight), closes the file and the timer, then
 * calls done; each call is answered by exactly one done. Data buffered by an exporter that never
 * started cannot be written and is counted as failed. */
static void file_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct file_exporter *fx = self->state;
    oca_waiters_add(&fx->waiters, done);
    if (!fx->shutting_down) {
        fx->shutting_down = true;
        if (fx->timer_open) {
            uv_timer_stop(&fx->timer);
            uv_close((uv_handle_t *)&fx->timer, on_timer_closed);
        }
        if (!fx->started && fx->pending->n_recs > 0) {
            count_and_log(fx, fx->pending, UV_ECANCELED);
            oca_buf_reset(&fx->pending->data);
            fx->pending->n_recs = 0;
            update_queue_gauge(fx);
        }
        if (!fx->in_flight) {
            if (fx->pending->n_recs > 0)
                start_write(fx);
            else
                close_file(fx);
        }
    }
    finish_if_idle(fx);
}

static void file_destroy(struct oca_component *self)
{
    struct file_exporter *fx = self->state;
    if (!fx)
        return;
    if (fx->fd >= 0)
        close(fx->fd);
    for (int k = 0; k < 2; k++) {
        oca_buf_free(&fx->jobs[k].data);
        free(fx->jobs[k].recs);
    }
    free(fx->waiters.cbs);
    free(fx);
    self->state = NULL;
}

const struct oca_component_type oca_file_exporter = {
    .name = "file",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct file_config),
    .fields = file_fields,
    .doc = "Writes the data it receives to a file as OTLP/JSON lines or length-prefixed protobuf.",
    .validate = file_validate,
    .create = file_create,
    .start = file_start,
    .consume = file_consume,
    .shutdown = file_shutdown,
    .destroy = file_destroy,
};
