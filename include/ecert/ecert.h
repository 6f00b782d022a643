/*
 * ecert.h — the public SDK of ecert, the Yangtze River Delta e-certificate
 * sharing system (长三角电子证照共享).
 *
 * One header, opaque handles, one status type. Everything declared here is
 * exported from libecert; nothing else is.
 *
 * Conventions
 *   - Every function that can fail returns an ecert_status. ECERT_OK is 0.
 *     On failure ecert_last_error() returns a one-line, human-readable detail
 *     for the calling thread (never containing a secret).
 *   - Memory returned through a `char **` / `unsigned char **` out-parameter is
 *     allocated by the library and released with ecert_free().
 *   - Handles (ecert_key) are immutable once created and may be shared between
 *     threads.
 *   - Status values >= 1000 are the stable wire codes of the protocol
 *     (SPEC §5); values >= 9000 are local conditions that appear on the wire
 *     as 5000.
 */
#ifndef ECERT_ECERT_H
#define ECERT_ECERT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ECERT_BUILDING_LIBRARY)
#define ECERT_API __attribute__((visibility("default")))
#else
#define ECERT_API
#endif

#define ECERT_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status                                                                    */

typedef enum ecert_status {
    ECERT_OK = 0,

    /* request shape (SPEC §5) */
    ECERT_E_JSON = 1001,      /* not valid JSON / not an envelope */
    ECERT_E_MISSING = 1002,   /* required field missing */
    ECERT_E_TOO_LONG = 1003,  /* field, body or input over its limit */
    ECERT_E_MALFORMED = 1004, /* malformed identifier, code, key, encoding or enum */

    /* envelope cryptography */
    ECERT_E_DECRYPT = 2001,   /* cannot decrypt (bad ciphertext, wrong key, C3 mismatch) */
    ECERT_E_SIGNATURE = 2002, /* signature invalid */
    ECERT_E_TIMESTAMP = 2003, /* timestamp outside the window */
    ECERT_E_REPLAY = 2004,    /* nonce replayed */

    /* authorisation */
    ECERT_E_APP = 3001,
    ECERT_E_TOKEN = 3002,
    ECERT_E_TOKEN_EXPIRED = 3003,
    ECERT_E_HOLDER = 3004,
    ECERT_E_SCENE = 3005,
    ECERT_E_SCENE_TYPE = 3006,
    ECERT_E_PERMISSION = 3007,
    ECERT_E_SECRET = 3008,

    /* certificates */
    ECERT_E_NOT_FOUND = 4001,
    ECERT_E_STATE = 4002,
    ECERT_E_CODE_USED = 4003,

    /* federation */
    ECERT_E_INTERNAL = 5000,
    ECERT_E_UNREACHABLE = 5001,
    ECERT_E_TIMEOUT = 5002,
    ECERT_E_RATE = 5003,

    /* local conditions (reported as 5000 on the wire) */
    ECERT_E_NOMEM = 9001,  /* allocation failed */
    ECERT_E_IO = 9002,     /* file or stream error */
    ECERT_E_ARG = 9003,    /* API misuse (NULL where a value is required...) */
    ECERT_E_CRYPTO = 9004, /* the crypto library failed unexpectedly */
} ecert_status;

/* Stable symbolic name, e.g. "ECERT_E_DECRYPT". */
ECERT_API const char *ecert_status_name(ecert_status st);
/* Short English message, e.g. "cannot decrypt encryptData". */
ECERT_API const char *ecert_strerror(ecert_status st);
/* HTTP status that SPEC §5 pairs with the code (200 for ECERT_OK). */
ECERT_API int ecert_status_http(ecert_status st);
/* Code as carried on the wire: the status itself, or 5000 for local ones. */
ECERT_API int ecert_status_wire(ecert_status st);
/* Detail of the calling thread's last failure ("" if none). */
ECERT_API const char *ecert_last_error(void);

/* Release memory returned by the library. NULL is allowed. */
ECERT_API void ecert_free(void *p);

/* ------------------------------------------------------------------------ */
/* SM3                                                                       */

#define ECERT_SM3_LEN 32
ECERT_API ecert_status ecert_sm3(const void *data, size_t len, unsigned char out[ECERT_SM3_LEN]);

/* ------------------------------------------------------------------------ */
/* SM2 keys                                                                  */

typedef struct ecert_key ecert_key;

/* A fresh key pair on the SM2 curve (sm2p256v1). */
ECERT_API ecert_status ecert_key_generate(ecert_key **out);
/* A private key from 64 hex digits (66 with a 00 sign byte) or PEM
 * (PKCS#8 or "EC PRIVATE KEY"). The public key is derived. */
ECERT_API ecert_status ecert_key_parse_private(const char *text, size_t len, ecert_key **out);
/* A public key from 130 hex digits starting 04 (128 without it) or PEM
 * SubjectPublicKeyInfo. Points not on the curve are refused (1004). */
ECERT_API ecert_status ecert_key_parse_public(const char *text, size_t len, ecert_key **out);
/* "04" + 128 lowercase hex digits, NUL-terminated. */
ECERT_API void ecert_key_public_hex(const ecert_key *key, char out[131]);
/* 64 lowercase hex digits, NUL-terminated; ECERT_E_ARG for a public-only key.
 * The caller should wipe `out` after use. */
ECERT_API ecert_status ecert_key_private_hex(const ecert_key *key, char out[65]);
ECERT_API int ecert_key_has_private(const ecert_key *key);
ECERT_API void ecert_key_free(ecert_key *key);

/* ------------------------------------------------------------------------ */
/* SM2 signatures (SM3 digest, user ID; NULL uid = "1234567812345678")       */

/* Signs `msg`. raw = 0: base64 of DER; raw = 1: 128 hex digits r||s. */
ECERT_API ecert_status ecert_sm2_sign(const ecert_key *key, const char *uid, const void *msg,
                                      size_t len, int raw, char **sig_out);
/* ECERT_OK when valid, ECERT_E_SIGNATURE when not, ECERT_E_MALFORMED when the
 * signature text is none of: base64/hex DER (lenient INTEGERs), base64/hex r||s. */
ECERT_API ecert_status ecert_sm2_verify(const ecert_key *key, const char *uid, const void *msg,
                                        size_t len, const char *sig, size_t sig_len);

/* ------------------------------------------------------------------------ */
/* SM2 encryption (GB/T 32918.4, C1||C3||C2)                                 */

typedef enum ecert_cipher_format {
    ECERT_CIPHER_HEX = 0, /* lowercase hex without the leading 04 (canonical, sm-crypto mode 1) */
    ECERT_CIPHER_HEX04,   /* lowercase hex with 04 */
    ECERT_CIPHER_BASE64,  /* base64 of 04||x||y||C3||C2 */
    ECERT_CIPHER_DER,     /* base64 of GM/T 0009 SM2Cipher DER */
} ecert_cipher_format;

/* Encrypts to `pub`; *out is NUL-terminated text in `fmt`. */
ECERT_API ecert_status ecert_sm2_encrypt(const ecert_key *pub, const void *msg, size_t len,
                                         ecert_cipher_format fmt, char **out, size_t *out_len);
/* Decrypts any SPEC §3.3 input form (hex any case, base64, base64 of hex, with or
 * without 04, DER, legacy C1||C2||C3). *out is NUL-terminated for convenience. */
ECERT_API ecert_status ecert_sm2_decrypt(const ecert_key *key, const char *in, size_t in_len,
                                         unsigned char **out, size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Envelopes (SPEC §3.1–3.2): the client side of one call.                  */

/* Builds a request envelope for `business_json`, encrypted to `node_pub` and
 * signed by `app_key`. `nonce_out` (65 bytes) receives the nonce, which the
 * response must echo. */
ECERT_API ecert_status ecert_envelope_seal_request(const char *app_id, const ecert_key *app_key,
                                                   const ecert_key *node_pub,
                                                   const char *business_json, size_t len,
                                                   char **envelope_out, char nonce_out[65]);

/* Opens a response envelope: checks the node's signature and the echoed nonce,
 * then decrypts with `app_key`. On return *code is the response code; for code
 * 0 *business_out holds the business JSON, otherwise *msg_out holds the message
 * (and detail, when present). Either out-pointer may be NULL. */
ECERT_API ecert_status ecert_envelope_open_response(const char *response, size_t len,
                                                    const ecert_key *node_pub,
                                                    const ecert_key *app_key,
                                                    const char *expected_nonce, int *code,
                                                    char **business_out, char **msg_out);


/* ------------------------------------------------------------------------ */
/* Client: calls to a node over HTTPS (SPEC §4).                             */

typedef struct ecert_client ecert_client;

/* A client of the node at `base_url` (e.g. "https://127.0.0.1:8442"), trusting
 * the CA bundle `ca_file` (NULL = the system's), calling as `app_id` with
 * `app_key` (private) to the node whose public key is `node_pub`. The keys are
 * referenced, not copied: keep them until ecert_client_free. A client reuses
 * its connection; use one client per thread. */
ECERT_API ecert_status ecert_client_new(const char *base_url, const char *ca_file,
                                        const char *app_id, const ecert_key *app_key,
                                        const ecert_key *node_pub, ecert_client **out);
ECERT_API void ecert_client_free(ecert_client *c);
/* Total time allowed for one call, in milliseconds (default 30000). */
ECERT_API void ecert_client_set_timeout(ecert_client *c, long timeout_ms);

/* One envelope round trip to POST /api/v1/<endpoint> with `business_json`.
 * Returns ECERT_OK when a valid, signed answer arrived; the node's verdict is
 * then *code (0 = success, else a SPEC §5 code). For code 0 *result_out holds
 * the decrypted business JSON; otherwise *msg_out holds "msg" or
 * "msg: detail". Transport failures are ECERT_E_UNREACHABLE/ECERT_E_TIMEOUT;
 * a forged or garbled answer is ECERT_E_SIGNATURE/ECERT_E_DECRYPT. */
ECERT_API ecert_status ecert_client_call(ecert_client *c, const char *endpoint,
                                         const char *business_json, int *code, char **result_out,
                                         char **msg_out);
/* After a call answered 5003 (ECERT_E_RATE: the node's rate limit for this
 * app or address is spent), the seconds to wait before calling again (the
 * answer's Retry-After, at least 1); 0 after any other answer. */
ECERT_API unsigned ecert_client_retry_after(const ecert_client *c);

/* Why a certificate is used (every sharing call carries it; 表1–表7). */
typedef struct ecert_purpose {
    const char *use_for;   /* UseFor 查询事由 */
    const char *item_name; /* itemName 场景或业务名称 */
    const char *item_code; /* itemCode 场景或业务编号 (a published scene) */
    const char *item_org;  /* itemOrg 调用单位名称 */
    const char *operator_name; /* operator 实际调用操作人员姓名 */
    const char *biz_num;   /* bizNum 调用涉及业务编号 */
} ecert_purpose;

/* 表1 检索 / 表5 照面信息 / 表3 文件, by holder: `type` (证照类型名称) and
 * `number` (照面编号) may be NULL. */
ECERT_API ecert_status ecert_cert_search(ecert_client *c, const char *trusted_token,
                                         const char *type, const char *number,
                                         const ecert_purpose *p, int *code, char **result_out,
                                         char **msg_out);
ECERT_API ecert_status ecert_cert_info_by_holder(ecert_client *c, const char *trusted_token,
                                                 const char *type, const char *number,
                                                 const ecert_purpose *p, int *code,
                                                 char **result_out, char **msg_out);
ECERT_API ecert_status ecert_cert_file_by_holder(ecert_client *c, const char *trusted_token,
                                                 const char *type, const char *number,
                                                 const ecert_purpose *p, int *code,
                                                 char **result_out, char **msg_out);
/* 表4 / 表2, by CertificateID; `trusted_token` may be NULL unless the node
 * requires one. */
ECERT_API ecert_status ecert_cert_info_by_id(ecert_client *c, const char *certificate_id,
                                             const char *trusted_token, const ecert_purpose *p,
                                             int *code, char **result_out, char **msg_out);
ECERT_API ecert_status ecert_cert_file_by_id(ecert_client *c, const char *certificate_id,
                                             const char *trusted_token, const ecert_purpose *p,
                                             int *code, char **result_out, char **msg_out);
/* 应用记录 of the token's holder; from_ms/to_ms 0 = unbounded. */
ECERT_API ecert_status ecert_records_by_holder(ecert_client *c, const char *trusted_token,
                                               int64_t from_ms, int64_t to_ms, int *code,
                                               char **result_out, char **msg_out);
/* 亮码, at the holder's province: a short-lived holder code for the token's
 * holder. *result_out: {"qrcode","url","expiresIn","png"} (png: base64). */
ECERT_API ecert_status ecert_code_issue(ecert_client *c, const char *trusted_token, int *code,
                                        char **result_out, char **msg_out);
/* 表7, at any province: `qrcode` (the code or its URL form) is resolved by its
 * issuer; *result_out: {"userinfo","certificatelist","trustedToken"}. */
ECERT_API ecert_status ecert_code_verify(ecert_client *c, const char *qrcode,
                                         const ecert_purpose *p, int *code, char **result_out,
                                         char **msg_out);
/* 表8, to the trust node: binds the client's app key to its allocated appID.
 * On success *result_out holds {"code":0,"msg":…,"appCertificate":"<PEM>"}. */
ECERT_API ecert_status ecert_trust_register(ecert_client *c, const char *app_secret,
                                            const char *corp_name, const char *corp_code,
                                            int *code, char **result_out, char **msg_out);
/* 表9, to the trust node: a token for the person `id_no` (公民身份号码, sent
 * SM2-encrypted to the trust key), auth_type 1 (生物识别) or 2 (读取身份证件);
 * `permission` is NULL or a comma-separated list of type codes. */
ECERT_API ecert_status ecert_trust_token_person(ecert_client *c, const char *transaction_id,
                                                int auth_type, const char *name,
                                                const char *id_no, const char *permission,
                                                int *code, char **result_out, char **msg_out);

#ifdef __cplusplus
}
#endif
#endif /* ECERT_ECERT_H */
