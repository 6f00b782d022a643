/*
 * token.h — trusted tokens (可信令牌, SPEC §6):
 *   v1.<base64url(claims JSON)>.<base64url(DER SM2-SM3 signature)>
 * signed by YRD-TRUST with user ID 1234567812345678 over the ASCII bytes of
 * "v1.<claims part>", verifiable offline with the directory's trust key.
 */
#ifndef ECERT_TOKEN_TOKEN_H
#define ECERT_TOKEN_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "crypto/sm2.h"

#define TOKEN_MAX_LEN 4096
#define TOKEN_MAX_PERM 32
/* A token whose iat is further than this ahead of the verifier's clock is
 * refused (3002): clocks differ, but not by minutes. */
#define TOKEN_MAX_SKEW_S 300

struct token_claims {
    char iss[32];          /* "YRD-TRUST" */
    char sub[65];          /* holder code */
    char sty[8];           /* holder code type: 111, 001, ... */
    char name[192];        /* holder name (UTF-8) */
    int aty;               /* authType 1, 2, 3 */
    char app[65];          /* app the token was issued to */
    char perm[TOKEN_MAX_PERM][22]; /* type codes; none = all */
    size_t nperm;
    int64_t iat, exp;      /* seconds */
    char jti[40];
};

/* Appends the token to `out` (left as it was on failure). The caller sets
 * iat/exp; iss "" becomes "YRD-TRUST", jti "" a fresh random id. Claims that
 * token_verify would refuse are refused here (ECERT_E_MALFORMED). */
ecert_status token_issue(const struct token_claims *c, const struct sm2_key *trust_key,
                         struct buf *out);
/* ECERT_E_TOKEN (3002) for anything malformed or badly signed, ECERT_E_TOKEN_EXPIRED
 * (3003) when now_s >= exp (reported only for a genuinely signed token); 3002
 * also when iat > now_s + TOKEN_MAX_SKEW_S. Revocation is the caller's check
 * (by jti). `out` may be NULL; it is zeroed on failure. */
ecert_status token_verify(const char *tok, size_t len, const struct sm2_key *trust_pub,
                          int64_t now_s, struct token_claims *out);
/* The claims JSON alone (no signature, no clock): exactly the ten members,
 * right types, every rule of token_verify. ECERT_E_TOKEN otherwise; `out` is
 * zeroed on failure. For fuzzing and for tools that inspect tokens. */
ecert_status token_claims_parse(const char *json, size_t len, struct token_claims *out);
/* true when the token's permission covers the type (empty perm = all). */
int token_permits(const struct token_claims *c, const char *type_code);

#endif
