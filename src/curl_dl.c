/* Loading libcurl at the first ping, not at every launch: see curl_dl.h. */
#include <dlfcn.h>
#include <stddef.h>

#define CURL_DISABLE_TYPECHECK
#define TR_CURL_DL_IMPL
#include "curl_dl.h"

struct tr_curl_api tr_curl;

/* The sonames of libcurl 7.16 and later: the OpenSSL build, then the GnuTLS and NSS ones. */
static const char *const sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl-nss.so.4"};

/* dlsym into *slot; 0, or -1. */
static int bind_sym(void *lib, const char *name, void *slot)
{
        void *f = dlsym(lib, name);

        if (f == NULL)
                return -1;
        *(void **)slot = f;
        return 0;
}

int tr_curl_load(struct tr_err *e)
{
        void *lib = NULL;

        if (tr_curl.easy_init != NULL)
                return 0;
        for (size_t i = 0; lib == NULL && i < sizeof sonames / sizeof sonames[0]; i++)
                lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL)
                return tr_err_set(e, 0, "libcurl is not installed (%s)", dlerror());
        struct tr_curl_api api;
        if (bind_sym(lib, "curl_global_init", &api.global_init) == -1 ||
            bind_sym(lib, "curl_global_cleanup", &api.global_cleanup) == -1 ||
            bind_sym(lib, "curl_easy_setopt", &api.easy_setopt) == -1 ||
            bind_sym(lib, "curl_easy_perform", &api.easy_perform) == -1 ||
            bind_sym(lib, "curl_easy_getinfo", &api.easy_getinfo) == -1 ||
            bind_sym(lib, "curl_easy_strerror", &api.easy_strerror) == -1 ||
            bind_sym(lib, "curl_easy_cleanup", &api.easy_cleanup) == -1 ||
            bind_sym(lib, "curl_easy_init", &api.easy_init) == -1) {
                dlclose(lib);
                return tr_err_set(e, 0, "libcurl: a function is missing: %s", dlerror());
        }
        tr_curl = api; /* easy_init last: it says the rest is there */
        return 0;
}
