/*
 * directory.h — the signed directory of the federation (SPEC §1): every node's
 * id, role, region, base URL and SM2 public key, signed by YRD-TRUST.
 *
 * Document: {"payload":"<directory JSON text>","signature":"<base64 DER>"}.
 * The signature covers the payload string's UTF-8 bytes exactly, so nobody
 * has to re-serialise JSON to check it. Payload:
 *   {"version":N,"issued":ms,"nodes":[{"id","role","region","url","publicKey"}]}
 */
#ifndef ECERT_NODE_DIRECTORY_H
#define ECERT_NODE_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define DIRECTORY_MAX_NODES 64
#define DIRECTORY_MAX_BYTES (1u << 20)

struct directory_node {
    char id[32];
    char role[16];
    char region[8];
    char url[256];
    struct sm2_key *pub;
};

struct directory_type {
    char code[22];
    char name[128];
    bool shared;
};
struct directory_scene {
    char item_code[64];
    char item_name[128];
    char types[16][22];
    size_t ntypes;
};
#define DIRECTORY_MAX_TYPES 1024
#define DIRECTORY_MAX_SCENES 4096

struct directory {
    char *doc;              /* the signed document, as received (served again) */
    int64_t version;
    int64_t issued_ms;
    struct directory_node nodes[DIRECTORY_MAX_NODES];
    size_t n;
    /* The published lists (SPEC §4.1 step 3): the shared catalog (共享互认清单)
     * and the scene list (用证清单); has_lists when the payload carries them. */
    bool has_lists;
    struct directory_type *types;
    size_t ntypes;
    struct directory_scene *scenes;
    size_t nscenes;
};

/* Wraps `payload` (directory JSON text) into a signed document. */
ecert_status directory_sign(const char *payload, size_t len, const struct sm2_key *trust_key,
                            struct buf *out);
/* Verifies the signature with trust_pub (2002 when it fails) and parses. */
ecert_status directory_parse(const char *doc, size_t len, const struct sm2_key *trust_pub,
                             struct directory **out);
const struct directory_node *directory_find(const struct directory *d, const char *id);
void directory_free(struct directory *d);

#endif
