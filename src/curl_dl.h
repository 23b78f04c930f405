/*
 * libcurl, loaded when a run pings. Linked, it and its thirty-odd libraries
 * (TLS, HTTP/2, IDN, Kerberos, LDAP) would be loaded and relocated at every
 * launch, about 4 ms against taskrun's 1 ms, for a feature most runs never
 * use. Include after <curl/curl.h> (with CURL_DISABLE_TYPECHECK defined):
 * the curl_* calls then go through the loaded library.
 */
#ifndef TASKRUN_CURL_DL_H
#define TASKRUN_CURL_DL_H

#include <curl/curl.h>

#include "taskrun/error.h"

struct tr_curl_api {
        CURLcode (*global_init)(long flags);
        void (*global_cleanup)(void);
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
        CURLcode (*easy_perform)(CURL *h);
        CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
        const char *(*easy_strerror)(CURLcode rc);
        void (*easy_cleanup)(CURL *h);
};

extern struct tr_curl_api tr_curl;

/* Load libcurl once (later calls return at once). 0, or -1 with e saying why. */
int tr_curl_load(struct tr_err *e);

#ifndef TR_CURL_DL_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init tr_curl.global_init
#define curl_global_cleanup tr_curl.global_cleanup
#define curl_easy_init tr_curl.easy_init
#define curl_easy_setopt tr_curl.easy_setopt
#define curl_easy_perform tr_curl.easy_perform
#define curl_easy_getinfo tr_curl.easy_getinfo
#define curl_easy_strerror tr_curl.easy_strerror
#define curl_easy_cleanup tr_curl.easy_cleanup
#endif

#endif
