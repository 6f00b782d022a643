/*
 * ecertd — the node daemon. This first version validates its command line;
 * the roles (province, hub, trust) arrive with their issues.
 */
#include <stdio.h>
#include <string.h>

#include <ecert/ecert.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("ecertd %s\n", ECERT_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ecertd --config FILE\n");
        return 0;
    }
    fprintf(stderr, "ecertd: usage: ecertd --config FILE\n");
    return 2;
}
