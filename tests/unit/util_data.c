#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/codec.h"

static void path_of(const char *rel, char *out, size_t cap)
{
    const char *dir = getenv("ECERT_TEST_DATA");
    if (!dir) {
        fprintf(stderr, "ECERT_TEST_DATA is not set (run the tests through ctest)\n");
        abort();
    }
    snprintf(out, cap, "%s/%s", dir, rel);
}

int util_scaled(const char *env, long n, int min)
{
    const char *s = getenv(env);
    long pct = s ? strtol(s, NULL, 10) : 100;
    if (pct <= 0)
        pct = 100;
    long c = n * pct / 100;
    return c < min ? min : (int)c;
}

int util_in_child(int (*fn)(void *arg, uint8_t *out), void *arg, uint8_t *out, size_t n)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        int ok = fn(arg, out) == 0 && write(fd[1], out, n) == (ssize_t)n;
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd[0], out + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return got == n ? 0 : -1;
}

json_t *util_load_json(const char *rel)
{
    char path[4096];
    path_of(rel, path, sizeof path);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) {
        fprintf(stderr, "cannot load %s: %s (line %d)\n", path, err.text, err.line);
        abort();
    }
    return j;
}

uint8_t *util_read_file(const char *rel, size_t *len)
{
    char path[4096];
    path_of(rel, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        abort();
    p[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return p;
}

uint8_t *util_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *p = malloc(n / 2 + 1);
    size_t m = 0;
    if (!p || hex_decode(hex, n, p, n / 2 + 1, &m) != ECERT_OK) {
        fprintf(stderr, "bad hex in test data: %.40s\n", hex);
        abort();
    }
    *len = m;
    return p;
}

const char *util_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s) {
        fprintf(stderr, "test data: missing string field '%s'\n", key);
        abort();
    }
    return s;
}

const uint8_t util_sm2_n[32] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23};
const uint8_t util_sm2_p[32] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
