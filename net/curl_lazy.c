/* Loads libcurl on first use; see curl_lazy.h for why the agent does not link it. */
#include "net/curl_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"

struct oca_curl_api oca_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_rc = OCA_ERR_CONFIG;
static char load_error[512];

static void load(void)
{
    /* The soname of libcurl's ABI 4, which every libcurl 7.x and 8.x has. RTLD_LOCAL keeps its
     * symbols (and its dependencies') out of the global namespace. */
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof(load_error), "cannot load libcurl: %s", dlerror());
        return;
    }
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer, which ISO C does
     * not say, hence the copy through memcpy. */
#define OCA_CURL_LOAD(name, ret, params) \
    do { \
        void *sym = dlsym(lib, "curl_" #name); \
        if (!sym) { \
            snprintf(load_error, sizeof(load_error), "libcurl has no curl_%s", #name); \
            return; \
        } \
        memcpy(&oca_curl.name, &sym, sizeof(sym)); \
    } while (0);
    OCA_CURL_FUNCTIONS(OCA_CURL_LOAD)
#undef OCA_CURL_LOAD
    load_rc = OCA_OK;
}

int oca_curl_load(const char *who)
{
    static bool reported;
    pthread_once(&load_once, load);
    if (load_rc != OCA_OK && !reported) {
        reported = true;
        oca_log_error(who, "%s", load_error);
    }
    return load_rc;
}
