/*
 * bench_load — an end-to-end load generator: N threads, each with its own SDK
 * client (keep-alive), call one endpoint of a node for a fixed time; then
 * requests/s, latency percentiles, and the CPU time each server process spent
 * per request (from /proc/<pid>/stat), next to the CPU time of the SM2
 * operations one request needs, measured in this process in the same run.
 *
 *   bench_load --url URL --ca PEM --app ID --key FILE --node-pub HEX
 *              --endpoint PATH --body JSON [--threads N] [--seconds S]
 *              [--warmup S] [--warmup-requests N] [--pid NAME=PID ...]
 *              [--label TEXT]
 *              [--sm2-engine fast|openssl] [--sm2-seconds S]
 *              [--json FILE --tag TEXT]
 *
 * --key is an app's JSON file (apps/<id>.json: "privateKey") or a node's
 * bare hex key file (node.key, for --app node:<id> calls).
 * --warmup runs the same threads for S seconds, and until N requests have
 * completed, before anything is counted: connections, SQLite's cache and the
 * fast engine's per-key tables are then built, as on a node that has been up
 * for a while (each of a node's handler threads keeps its own connections to
 * its peers, so a cold federation pays TLS handshakes for dozens of requests).
 * Then it counts the requests that complete within --seconds, and reads the
 * CPU times at the same two instants.
 * --json appends one line per run (counts, every latency, CPU seconds per
 * server and of this client) for node_bench.sh to pool runs of the same
 * configuration; --tag names that configuration.
 *
 * The SM2 set of one sharing call on the serving node: verify the envelope,
 * decrypt the business data, verify the token, encrypt the answer, sign it.
 * It is measured after the load, on --sm2-engine (default: this process's
 * engine, which the client uses); the client itself stays on its engine.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ecert/ecert.h>

#include "common/buf.h"
#include "common/secure.h"
#include "crypto/sm2.h"
#include "sdk/sdk.h"

#define MAX_PIDS 8
#define MAX_SAMPLES 2000000

struct opts {
    const char *url, *ca, *app, *keyfile, *node_pub, *endpoint, *body, *label;
    const char *json_path, *tag, *sm2_engine;
    int threads;
    double seconds, warmup, sm2_seconds;
    long warmup_requests;
    const char *pid_names[MAX_PIDS];
    int pids[MAX_PIDS];
    int npids;
};

/* The phases, set by the main thread: warming up (nothing counted), counting,
 * stopped. A request counts when it completes while counting: requests in
 * flight at either edge then weigh alike on the count and on the CPU time
 * read at the same edges. */
struct phase {
    atomic_int counting, stopped;
    atomic_long warm_done; /* requests completed while warming up */
};

struct worker {
    const struct opts *o;
    struct phase *ph;
    ecert_key *key, *pub;
    double *lat;
    size_t nlat, cap;
    long errors;
    int last_code;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s_of(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the command name (which may contain spaces): utime is the
     * 12th and stime the 13th after the closing parenthesis. */
    char *p = strrchr(line, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    int field = 0;
    for (char *tok = strtok(p + 2, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 12)
            ut = strtoul(tok, NULL, 10);
        else if (field == 13) {
            st = strtoul(tok, NULL, 10);
            break;
        }
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    ecert_client *c = NULL;
    if (ecert_client_new(w->o->url, w->o->ca, w->o->app, w->key, w->pub, &c) != ECERT_OK) {
        fprintf(stderr, "bench_load: client: %s\n", ecert_last_error());
        w->errors++;
        return NULL;
    }
    while (!atomic_load(&w->ph->stopped)) {
        int code = -1;
        char *res = NULL, *msg = NULL;
        double t0 = now_s();
        ecert_status st = ecert_client_call(c, w->o->endpoint, w->o->body, &code, &res, &msg);
        double dt = now_s() - t0;
        if (atomic_load(&w->ph->stopped)) {
            /* completed after the end: not counted */
        } else if (!atomic_load(&w->ph->counting)) {
            atomic_fetch_add(&w->ph->warm_done, 1);
        } else if (st || code != 0) {
            w->errors++;
            w->last_code = st ? (int)st : code;
        } else if (w->nlat < w->cap) {
            w->lat[w->nlat++] = dt;
        }
        ecert_free(res);
        ecert_free(msg);
    }
    ecert_client_free(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU seconds per SM2 set (verify, decrypt 256 B, verify, encrypt 1 KiB, sign),
 * single-threaded, over about `secs` seconds. */
static double sm2_set_cost(double secs)
{
    struct sm2_key *a = NULL, *b = NULL;
    sm2_key_generate(&a);
    sm2_key_generate(&b);
    uint8_t msg[1024], rs[64];
    memset(msg, 7, sizeof msg);
    struct buf ct = BUF_INIT(1 << 20), pt = BUF_INIT(1 << 20), answer = BUF_INIT(1 << 20);
    sm2_sign(a, NULL, 0, msg, 300, rs);
    sm2_encrypt(b, msg, 256, &ct);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    long n = 0;
    double used;
    do {
        sm2_verify(a, NULL, 0, msg, 300, rs);            /* envelope signature */
        buf_reset(&pt);
        sm2_decrypt(b, ct.data, ct.len, 0, &pt);          /* business data */
        sm2_verify(a, NULL, 0, msg, 300, rs);            /* trusted token */
        buf_reset(&answer);
        sm2_encrypt(a, msg, sizeof msg, &answer);        /* the answer */
        uint8_t rs2[64];
        sm2_sign(b, NULL, 0, msg, 300, rs2);              /* its signature */
        n++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        used = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    } while (used < secs);
    buf_release(&ct);
    buf_release(&pt);
    buf_release(&answer);
    sm2_key_free(a);
    sm2_key_free(b);
    return used / (double)n;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* a signal: sleep what is left */
    }
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The private key of --key: "privateKey" of an app's JSON file, or the 64 hex
 * digits of a node's key file. */
static int read_private_hex(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *p = strstr(text, "\"privateKey\"");
    if (p) {
        p = strchr(p + 12, ':');
        p = p ? strchr(p, '"') : NULL;
        p = p ? p + 1 : NULL;
    } else {
        p = text;
        while (isspace((unsigned char)*p))
            p++;
    }
    size_t k = 0;
    while (p && k < 64 && isxdigit((unsigned char)p[k]))
        k++;
    int rc = -1;
    if (k == 64) {
        memcpy(out, p, 64);
        out[64] = 0;
        rc = 0;
    }
    secure_wipe(text, sizeof text);
    return rc;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

int main(int argc, char **argv)
{
    struct opts o = {.threads = 4, .seconds = 5, .sm2_seconds = 0.5, .label = "", .tag = ""};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--url"))
            o.url = v;
        else if (!strcmp(k, "--ca"))
            o.ca = v;
        else if (!strcmp(k, "--app"))
            o.app = v;
        else if (!strcmp(k, "--key"))
            o.keyfile = v;
        else if (!strcmp(k, "--node-pub"))
            o.node_pub = v;
        else if (!strcmp(k, "--endpoint"))
            o.endpoint = v;
        else if (!strcmp(k, "--body"))
            o.body = v;
        else if (!strcmp(k, "--label"))
            o.label = v;
        else if (!strcmp(k, "--json"))
            o.json_path = v;
        else if (!strcmp(k, "--tag"))
            o.tag = v;
        else if (!strcmp(k, "--sm2-engine"))
            o.sm2_engine = v;
        else if (!strcmp(k, "--threads"))
            o.threads = (int)strtol(v, NULL, 10);
        else if (!strcmp(k, "--seconds"))
            o.seconds = strtod(v, NULL);
        else if (!strcmp(k, "--warmup"))
            o.warmup = strtod(v, NULL);
        else if (!strcmp(k, "--warmup-requests"))
            o.warmup_requests = strtol(v, NULL, 10);
        else if (!strcmp(k, "--sm2-seconds"))
            o.sm2_seconds = strtod(v, NULL);
        else if (!strcmp(k, "--pid") && o.npids < MAX_PIDS) {
            const char *eq = strchr(v, '=');
            if (!eq)
                return 2;
            o.pid_names[o.npids] = strndup(v, (size_t)(eq - v));
            o.pids[o.npids++] = (int)strtol(eq + 1, NULL, 10);
        } else {
            fprintf(stderr, "bench_load: unknown option %s\n", k);
            return 2;
        }
    }
    enum sm2_engine set_engine = sm2_engine_get();
    if (!o.url || !o.app || !o.keyfile || !o.node_pub || !o.endpoint || !o.body ||
        o.threads < 1 || o.threads > 64 || o.seconds <= 0 || o.warmup < 0 ||
        o.warmup_requests < 0 ||
        o.sm2_seconds <= 0 ||
        (o.sm2_engine && sm2_engine_from_name(o.sm2_engine, &set_engine))) {
        fprintf(stderr, "usage: bench_load --url URL --ca PEM --app ID --key FILE --node-pub HEX "
                        "--endpoint PATH --body JSON [--threads N] [--seconds S] [--warmup S] "
                        "[--warmup-requests N] "
                        "[--pid NAME=PID ...] [--label TEXT] [--sm2-engine fast|openssl] "
                        "[--sm2-seconds S] [--json FILE --tag TEXT]\n");
        return 2;
    }
    char priv[65] = "";
    ecert_key *key = NULL, *pub = NULL;
    if (read_private_hex(o.keyfile, priv)) {
        fprintf(stderr, "bench_load: no private key in %s\n", o.keyfile);
        return 2;
    }
    if (ecert_key_parse_private(priv, strlen(priv), &key) ||
        ecert_key_parse_public(o.node_pub, strlen(o.node_pub), &pub)) {
        fprintf(stderr, "bench_load: keys: %s\n", ecert_last_error());
        secure_wipe(priv, sizeof priv);
        return 2;
    }
    secure_wipe(priv, sizeof priv);
    struct worker w[64];
    pthread_t th[64];
    struct phase ph;
    atomic_init(&ph.counting, 0);
    atomic_init(&ph.stopped, 0);
    atomic_init(&ph.warm_done, 0);
    double t_start = now_s();
    for (int i = 0; i < o.threads; i++) {
        w[i] = (struct worker){.o = &o, .ph = &ph, .key = key, .pub = pub,
                               .cap = MAX_SAMPLES / 64};
        w[i].lat = malloc(w[i].cap * sizeof(double));
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    /* Warm-up: --warmup seconds and --warmup-requests completed requests
     * (at most a minute, so that a failing node cannot hold the bench). */
    sleep_s(o.warmup);
    while (atomic_load(&ph.warm_done) < o.warmup_requests && now_s() - t_start < 60)
        sleep_s(0.01);
    /* Counting: the servers' and this client's CPU read at both edges. */
    double cpu0[MAX_PIDS], cpu[MAX_PIDS];
    for (int i = 0; i < o.npids; i++)
        cpu0[i] = cpu_s_of(o.pids[i]);
    double client0 = self_cpu_s();
    double t0 = now_s();
    atomic_store(&ph.counting, 1);
    sleep_s(o.seconds);
    atomic_store(&ph.stopped, 1);
    double elapsed = now_s() - t0;
    for (int i = 0; i < o.npids; i++)
        cpu[i] = cpu_s_of(o.pids[i]) - cpu0[i];
    double client_cpu = self_cpu_s() - client0;
    for (int i = 0; i < o.threads; i++)
        pthread_join(th[i], NULL);
    size_t total = 0;
    long errors = 0;
    int last_code = 0;
    for (int i = 0; i < o.threads; i++) {
        total += w[i].nlat;
        errors += w[i].errors;
        if (w[i].errors)
            last_code = w[i].last_code;
    }
    double *all = malloc((total + 1) * sizeof(double));
    size_t k = 0;
    for (int i = 0; i < o.threads; i++) {
        memcpy(all + k, w[i].lat, w[i].nlat * sizeof(double));
        k += w[i].nlat;
        free(w[i].lat);
    }
    qsort(all, total, sizeof(double), cmp_double);
    char lastbuf[32] = "";
    if (errors)
        snprintf(lastbuf, sizeof lastbuf, ", last code %d", last_code);
    double p50 = total ? all[total / 2] : 0, p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    printf("%-28s %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  (%zu ok, %ld errors%s, %d threads, "
           "%.1f s)\n",
           o.label, (double)total / elapsed, p50 * 1e3, p99 * 1e3, total, errors, lastbuf,
           o.threads, elapsed);
    /* The client is done: measure the SM2 set on the engine asked for. */
    enum sm2_engine client_engine = sm2_engine_get();
    double sm2 = -1;
    if (!sm2_engine_set(set_engine)) {
        sm2 = sm2_set_cost(o.sm2_seconds);
        sm2_engine_set(client_engine);
    }
    for (int i = 0; i < o.npids; i++) {
        double per = total ? cpu[i] / (double)total : 0;
        printf("    server %-10s CPU %7.3f ms/request", o.pid_names[i], per * 1e3);
        if (i == 0 && sm2 > 0)
            printf("   (one SM2 set on %s: %.3f ms; non-SM2 share %.1f%%)",
                   sm2_engine_name(set_engine), sm2 * 1e3,
                   per > 0 ? 100.0 * (1.0 - sm2 / per) : 0.0);
        printf("\n");
    }
    printf("    client            CPU %7.3f ms/request   (%s engine)\n",
           total ? client_cpu / (double)total * 1e3 : 0.0, sm2_engine_name(client_engine));
    fflush(stdout);
    int rc = total > 0 ? 0 : 1;
    if (o.json_path) {
        FILE *f = fopen(o.json_path, "a");
        if (!f) {
            fprintf(stderr, "bench_load: cannot append to %s\n", o.json_path);
            rc = 2;
        } else {
            fputs("{\"tag\":", f);
            json_str(f, o.tag);
            fputs(",\"label\":", f);
            json_str(f, o.label);
            fprintf(f, ",\"ok\":%zu,\"errors\":%ld,\"lastCode\":%d,\"elapsed\":%.6f,"
                       "\"clientCpu\":%.6f,\"sm2SetMs\":%.6f,\"sm2Engine\":",
                    total, errors, last_code, elapsed, client_cpu, sm2 * 1e3);
            json_str(f, sm2_engine_name(set_engine));
            fputs(",\"cpu\":{", f);
            for (int i = 0; i < o.npids; i++) {
                fputs(i ? "," : "", f);
                json_str(f, o.pid_names[i]);
                fprintf(f, ":%.6f", cpu[i]);
            }
            fputs("},\"latMs\":[", f);
            for (size_t i = 0; i < total; i++)
                fprintf(f, "%s%.4f", i ? "," : "", all[i] * 1e3);
            fputs("]}\n", f);
            if (fclose(f))
                rc = 2;
        }
    }
    free(all);
    ecert_key_free(key);
    ecert_key_free(pub);
    return rc;
}
