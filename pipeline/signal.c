/* Names of signals and component kinds, shared by config, logs and the agent's own metrics. */
#include "pipeline/signal.h"

#include <string.h>

#include "pipeline/component.h"

static const char *const signal_names[] = { "traces", "metrics", "logs" };
static const char *const item_names[] = { "spans", "metric_points", "log_records" };

const char *oca_signal_name(enum oca_signal sig)
{
    return sig < OCA_SIGNAL_COUNT ? signal_names[sig] : "unknown";
}

const char *oca_signal_item_name(enum oca_signal sig)
{
    return sig < OCA_SIGNAL_COUNT ? item_names[sig] : "items";
}

int oca_signal_parse(const char *name, size_t len)
{
    for (int i = 0; i < OCA_SIGNAL_COUNT; i++)
        if (strlen(signal_names[i]) == len && memcmp(name, signal_names[i], len) == 0)
            return i;
    return -1;
}

static const char *const kind_sections[] = { "receivers", "processors", "exporters", "extensions" };
static const char *const kind_names[] = { "receiver", "processor", "exporter", "extension" };

const char *oca_kind_section(enum oca_kind kind)
{
    return kind < OCA_KIND_COUNT ? kind_sections[kind] : "unknown";
}

const char *oca_kind_name(enum oca_kind kind)
{
    return kind < OCA_KIND_COUNT ? kind_names[kind] : "unknown";
}
