/* ocagent's command line: run (the default), validate, components, --version, --help and
 * --print-default-config. Config files are read whole here and handed to agent/ as text. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/components.h"
#include "agent/default_config.h"
#include "base/buf.h"
#include "base/mem.h"
#include "config/decode.h"
#include "config/fields.h"
#include "version.h"

static const char usage[] =
    "usage: ocagent [command] [--config FILE]...\n"
    "\n"
    "A telemetry agent: receives traces, metrics and logs, routes them through the pipelines of an\n"
    "OpenTelemetry Collector config, and exports them.\n"
    "\n"
    "commands:\n"
    "  (none)       run the agent; with no --config, on the embedded default config\n"
    "  validate     check the config (every error at once, as file:line:col) and exit 0 or 1\n"
    "  components   list every component type with its config keys and defaults\n"
    "\n"
    "options:\n"
    "  --config FILE             a config file; repeat to deep-merge later files over earlier ones\n"
    "  --print-default-config    print the embedded default config\n"
    "  --version                 print the version\n"
    "  --help                    print this help\n";

struct cli {
    const char *command;
    const char **files;
    size_t n_files;
};

static int read_file(const char *path, struct oca_config_source *src)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ocagent: cannot read config %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct oca_buf b = { 0 };
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        oca_buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "ocagent: cannot read config %s: %s\n", path, strerror(errno));
        oca_buf_free(&b);
        return -1;
    }
    oca_buf_reserve(&b, 0);
    src->name = path;
    src->text = b.data;
    src->len = b.len;
    return 0;
}

static void print_components(void)
{
    struct oca_buf out = { 0 };
    for (int kind = 0; kind < OCA_KIND_COUNT; kind++) {
        bool header = false;
        for (const struct oca_component_type *const *t = oca_components; *t; t++) {
            if ((int)(*t)->kind != kind)
                continue;
            if (!header)
                oca_buf_printf(&out, "%s:\n", oca_kind_section((enum oca_kind)kind));
            header = true;
            oca_buf_printf(&out, "  %s", (*t)->name);
            if ((*t)->alias)
                oca_buf_printf(&out, " (alias %s)", (*t)->alias);
            if ((*t)->kind != OCA_EXTENSION) {
                const char *sep = " [";
                for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
                    if ((*t)->signals & (1u << s)) {
                        oca_buf_printf(&out, "%s%s", sep, oca_signal_name((enum oca_signal)s));
                        sep = ", ";
                    }
                oca_buf_puts(&out, "]");
            }
            if ((*t)->doc)
                oca_buf_printf(&out, ": %s", (*t)->doc);
            oca_buf_putc(&out, '\n');
            oca_config_describe((*t)->fields, 4, &out);
        }
    }
    fwrite(out.data, 1, out.len, stdout);
    oca_buf_free(&out);
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
    cli->files = oca_xcalloc((size_t)argc, sizeof(*cli->files));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (++i == argc) {
                fprintf(stderr, "ocagent: %s needs a file name\n", a);
                return -1;
            }
            cli->files[cli->n_files++] = argv[i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            cli->files[cli->n_files++] = a + 9;
        } else if (a[0] == '-' && !cli->command) {
            cli->command = a;
        } else if (!cli->command && (strcmp(a, "validate") == 0 || strcmp(a, "components") == 0)) {
            cli->command = a;
        } else {
            fprintf(stderr, "ocagent: unexpected argument \"%s\"\n%s", a, usage);
            return -1;
        }
    }
    return 0;
}

static int run(const struct cli *cli, bool validate_only)
{
    size_t n = cli->n_files ? cli->n_files : 1;
    struct oca_config_source *src = oca_xcalloc(n, sizeof(*src));
    int code = 0;
    if (!cli->n_files) {
        src[0] = (struct oca_config_source){ "<default config>", oca_default_config, strlen(oca_default_config) };
    } else {
        for (size_t i = 0; i < cli->n_files && code == 0; i++)
            if (read_file(cli->files[i], &src[i]) != 0)
                code = 1;
    }
    if (code == 0)
        code = oca_agent_run(src, n, validate_only);
    if (code == 0 && validate_only)
        printf("config is valid\n");
    for (size_t i = 0; i < cli->n_files; i++)
        free((char *)(uintptr_t)src[i].text);
    free(src);
    return code;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    int code;
    if (parse_args(argc, argv, &cli) != 0) {
        code = 2;
    } else if (!cli.command) {
        code = run(&cli, false);
    } else if (strcmp(cli.command, "validate") == 0) {
        code = run(&cli, true);
    } else if (strcmp(cli.command, "components") == 0) {
        print_components();
        code = 0;
    } else if (strcmp(cli.command, "--version") == 0 || strcmp(cli.command, "-v") == 0) {
        printf("ocagent %s\n", OCA_VERSION);
        code = 0;
    } else if (strcmp(cli.command, "--help") == 0 || strcmp(cli.command, "-h") == 0) {
        fputs(usage, stdout);
        code = 0;
    } else if (strcmp(cli.command, "--print-default-config") == 0) {
        fputs(oca_default_config, stdout);
        code = 0;
    } else {
        fprintf(stderr, "ocagent: unknown option \"%s\"\n%s", cli.command, usage);
        code = 2;
    }
    free(cli.files);
    return code;
}
