#include "node/config.h"

const char *config_role_name(enum node_role r)
{
    switch (r) {
    case ROLE_PROVINCE:
        return "province";
    case ROLE_HUB:
        return "hub";
    case ROLE_TRUST:
        return "trust";
    }
    return "unknown";
}
