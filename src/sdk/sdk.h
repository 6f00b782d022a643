/*
 * sdk.h — the public handles of include/ecert/ecert.h, as the library sees
 * them. A public handle is a thin wrapper so that internal types can change
 * without breaking the ABI.
 */
#ifndef ECERT_SDK_SDK_H
#define ECERT_SDK_SDK_H

#include <ecert/ecert.h>

#include "crypto/sm2.h"

struct ecert_key {
    struct sm2_key *k;
};

#endif
