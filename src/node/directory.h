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

struct directory {
    int64_t version;
    int64_t issued_ms;
    struct directory_node nodes[DIRECTORY_MAX_NODES];
    size_t n;
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
