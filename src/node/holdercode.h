/*
 * holdercode.h — holder codes (亮码 / 政务服务码, SPEC §6):
 *
 *   YRDC1.<issuing node id>.<base64url(payload JSON)>.<base64url(DER signature)>
 *
 * The payload is {"v":1,"cid":<code id>,"exp":<unix s>,"ct":<base64url>} where
 * ct = nonce(12) || SM4-GCM(holder JSON) || tag(16), under a secret SM4 key of
 * the issuing node, with "YRDC1.<node>.<cid>.<exp>" as additional data, so
 * that nobody but the issuer reads whose code it is and nothing in it can be
 * changed or moved to another code. The issuer's SM2 key signs the ASCII of
 * "YRDC1.<node>.<payload part>": any province can check a code came from a
 * real node before routing it. A code may also arrive as a URL
 * (https://host/c/<code>), as 随申码 does.
 */
#ifndef ECERT_NODE_HOLDERCODE_H
#define ECERT_NODE_HOLDERCODE_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define HOLDER_CODE_PREFIX "YRDC1"
#define HOLDER_CODE_MAX 1024
#define HOLDER_CODE_KEY_LEN 16

struct holder_code {
    char node[32];        /* issuing node id */
    char cid[33];         /* code id (single use is tracked by it) */
    int64_t exp;          /* unix seconds */
    char sub[65];         /* holder code */
    char sty[8];          /* holder code type */
    char name[192];       /* holder name */
};

/* The node's secret code key, derived from its SM2 private key so that every
 * process of one province shares it without another key file:
 * HMAC-SM3(d, "ecert holder code key v1")[0..16). */
ecert_status holder_code_key(const struct sm2_key *node_key, uint8_t key[HOLDER_CODE_KEY_LEN]);

/* Issues a code for c (node, cid, exp, sub, sty, name filled by the caller). */
ecert_status holder_code_issue(const struct holder_code *c, const uint8_t key[HOLDER_CODE_KEY_LEN],
                               const struct sm2_key *node_key, struct buf *out);

/* Strips a URL form and checks the shape; fills node, cid and exp (public
 * parts). 1004 when it is not a holder code. `code_out` points into `text`. */
ecert_status holder_code_peek(const char *text, size_t len, struct holder_code *out,
                              const char **code_out, size_t *code_len);

/* At the issuer: checks the signature (2002), the expiry (4003) and decrypts
 * the holder (1004 when the ciphertext does not open). */
ecert_status holder_code_open(const char *text, size_t len, const uint8_t key[HOLDER_CODE_KEY_LEN],
                              const struct sm2_key *node_key, int64_t now_s,
                              struct holder_code *out);

#endif
