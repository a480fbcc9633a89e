/* libcurl, loaded when the first outbound HTTP client is made rather than when the agent starts.
 * Linking it would map libcurl and its whole dependency tree (GnuTLS through librtmp, Kerberos,
 * LDAP, libssh2, p11-kit ...) into every agent and run their constructors: about 4 MiB of idle RSS
 * that an agent without a pushing exporter never uses (measured: 8.7 MiB idle linked, 4.8 MiB
 * without). The headers are still libcurl's own; net/http_client.c calls it through oca_curl. */
#ifndef OCA_NET_CURL_LAZY_H
#define OCA_NET_CURL_LAZY_H

#include <curl/curl.h>

/* X(member, return type, parameters): the libcurl functions the agent uses. */
#define OCA_CURL_FUNCTIONS(X) \
    X(global_init, CURLcode, (long flags)) \
    X(global_cleanup, void, (void)) \
    X(version_info, curl_version_info_data *, (CURLversion age)) \
    X(easy_init, CURL *, (void)) \
    X(easy_cleanup, void, (CURL *h)) \
    X(easy_setopt, CURLcode, (CURL *h, CURLoption opt, ...)) \
    X(easy_getinfo, CURLcode, (CURL *h, CURLINFO info, ...)) \
    X(easy_strerror, const char *, (CURLcode code)) \
    X(free, void, (void *p)) \
    X(multi_init, CURLM *, (void)) \
    X(multi_cleanup, CURLMcode, (CURLM *m)) \
    X(multi_setopt, CURLMcode, (CURLM *m, CURLMoption opt, ...)) \
    X(multi_add_handle, CURLMcode, (CURLM *m, CURL *h)) \
    X(multi_remove_handle, CURLMcode, (CURLM *m, CURL *h)) \
    X(multi_assign, CURLMcode, (CURLM *m, curl_socket_t s, void *p)) \
    X(multi_info_read, CURLMsg *, (CURLM *m, int *left)) \
    X(multi_socket_action, CURLMcode, (CURLM *m, curl_socket_t s, int ev, int *running)) \
    X(multi_strerror, const char *, (CURLMcode code)) \
    X(slist_append, struct curl_slist *, (struct curl_slist *l, const char *s)) \
    X(slist_free_all, void, (struct curl_slist *l)) \
    X(url, CURLU *, (void)) \
    X(url_cleanup, void, (CURLU *u)) \
    X(url_get, CURLUcode, (const CURLU *u, CURLUPart what, char **part, unsigned int flags)) \
    X(url_set, CURLUcode, (CURLU *u, CURLUPart what, const char *part, unsigned int flags))

struct oca_curl_api {
#define OCA_CURL_MEMBER(name, ret, params) ret (*name) params;
    OCA_CURL_FUNCTIONS(OCA_CURL_MEMBER)
#undef OCA_CURL_MEMBER
};

/* The functions; valid once oca_curl_load has returned OCA_OK. */
extern struct oca_curl_api oca_curl;

/* Loads libcurl (libcurl.so.4) and its functions, once per process and from any thread; later
 * calls return the first call's result. OCA_OK, or OCA_ERR_CONFIG when the library or a function
 * is missing (the reason is logged once, naming who). */
int oca_curl_load(const char *who);

#endif
