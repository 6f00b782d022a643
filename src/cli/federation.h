/*
 * federation.h — `ecert federation init|run` (SPEC §8) and its sample data.
 */
#ifndef ECERT_CLI_FEDERATION_H
#define ECERT_CLI_FEDERATION_H

#include <stddef.h>
#include <stdint.h>

#include <ecert/ecert.h>
#include <jansson.h>

#include "docs/ofd_seal.h"

struct sample_type {
    const char *code;        /* 21-char type code */
    const char *name;        /* 证照类型名称 */
    const char *holder_type; /* 111 / 001 */
    const char *authority;   /* issuing department, after the province name */
};
struct sample_scene {
    const char *item_code;
    const char *item_name;
    const char *types[4];
    size_t ntypes;
};
struct sample_province {
    const char *id;       /* YRD-SH */
    const char *name;     /* 上海市 */
    const char *region;   /* 310000 */
    const char *district; /* a district code in it, for issuers and holders */
};

extern const struct sample_type sample_types[];
extern const size_t sample_ntypes;
extern const struct sample_scene sample_scenes[];
extern const size_t sample_nscenes;
extern const struct sample_province sample_provinces[]; /* 4 */

/* What one province seals its certificate files with. */
struct sample_sealer {
    struct seal_identity id; /* OFD: signer key, certificate, Seal.esl */
    const char *cert_pem;    /* PDF: the signer certificate, PEM */
    const char *key_hex;     /* PDF: its key, 64 hex */
};

/* A CSPRNG-backed ids_rand_fn. */
uint32_t sample_rnd32(void *ctx);

/* The sample holders: *certs is an array of certificate objects in the
 * import format (SPEC §4 Summary names + SurfaceData, fileFormat, fileName,
 * fileSM3, fileEntity, and "province"); *holders the SPEC §8 holders list. */
ecert_status sample_holders(const struct sample_sealer sealers[4], json_t **certs,
                            json_t **holders);

#endif
