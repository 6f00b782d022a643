/*
 * config.h — a node's INI configuration (node.ini), parsed with inih.
 *
 * Paths in the file are relative to the file's directory. Every value is
 * checked when loaded: a bad line is reported as "FILE:LINE: reason" with
 * ECERT_E_MALFORMED, so an operator never starts a half-configured node.
 */
#ifndef ECERT_NODE_CONFIG_H
#define ECERT_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#define CONFIG_PATH_MAX 1024

enum node_role { ROLE_PROVINCE = 1, ROLE_HUB = 2, ROLE_TRUST = 3 };

struct node_config {
    /* [node] */
    char id[32];                    /* YRD-SH ... (required) */
    enum node_role role;            /* province | hub | trust (required) */
    char region[8];                 /* 6 digits, provinces only */
    char private_key[CONFIG_PATH_MAX]; /* file with hex or PEM SM2 key (required) */
    char listen_ip[64];             /* listen = 127.0.0.1:8441 (required) */
    uint16_t listen_port;
    char public_url[256];           /* https://127.0.0.1:8441 (default from listen) */
    char log_file[CONFIG_PATH_MAX]; /* "" = stderr */
    char crypto_engine[16];         /* fast | openssl; "" = the built-in default (fast) */
    /* [tls] */
    char tls_cert[CONFIG_PATH_MAX]; /* required */
    char tls_key[CONFIG_PATH_MAX];  /* required */
    char tls_ca[CONFIG_PATH_MAX];   /* CA bundle for outgoing calls */
    /* [store] */
    char store_driver[16];          /* sqlite (default) | postgres */
    char store_path[CONFIG_PATH_MAX];
    unsigned store_pool;
    char store_dsn[CONFIG_PATH_MAX]; /* postgres: libpq connection string or URI */
    /* [directory] */
    char directory_file[CONFIG_PATH_MAX]; /* signed directory JSON */
    char trust_url[256];            /* where provinces reach YRD-TRUST */
    char trust_public_key[140];     /* 04... of YRD-TRUST */
    unsigned directory_refresh_s;   /* 60: how often nodes fetch the signed directory */
    /* [limits] */
    size_t max_body;                /* 16 MiB */
    unsigned threads;               /* I/O threads; 0 = cores */
    unsigned handler_threads;       /* 32: requests handled at once */
    unsigned max_connections;       /* 1024 */
    unsigned per_ip_connections;    /* 128 */
    unsigned idle_timeout_s;        /* 30 */
    unsigned timestamp_window_s;    /* 300 */
    unsigned app_cache_s;           /* 60: how stale an app key may be */
    unsigned rate_window_s;         /* 60: the rate-limit window (docs/limits.md) */
    unsigned rate_per_app;          /* 6000 calls of one app per window; 0 = off */
    unsigned rate_per_ip;           /* 12000 calls from one address per window; 0 = off */
    unsigned rate_chunk;            /* 0 = about 1% of the limit, 1 to 64 */
    /* [policy] */
    bool require_token_for_id;      /* false */
    /* [trust] (trust role) */
    unsigned token_lifetime_s;      /* 600 */
    char ca_cert[CONFIG_PATH_MAX];  /* trust CA (SM2) that issues app certificates */
    char ca_key[CONFIG_PATH_MAX];
    /* [federation] */
    unsigned hub_timeout_ms;        /* 10000: past it a province calls peers directly */
    unsigned peer_timeout_ms;       /* 8000: deadline of one province-to-province call */
    unsigned code_lifetime_s;       /* 60: holder codes (亮码) */
    bool code_single_use;           /* true: a code is good for one verification */
    /* [verify] */
    char verify_anchors[CONFIG_PATH_MAX]; /* PEM roots trusted for certificate files (表6) */
    /* where the file was, for relative paths */
    char base_dir[CONFIG_PATH_MAX];
};

/* Loads and validates; on failure the error detail is "FILE:LINE: reason". */
ecert_status config_load(const char *path, struct node_config *out);
/* Same, from a string (fuzzing, tests); base_dir for relative paths. */
ecert_status config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                          struct node_config *out);
const char *config_role_name(enum node_role r);

#endif
