/*
 * bench_scale.c — how the store grows toward a province's size (`make
 * bench-scale`; not part of `make check`).
 *
 *   bench_scale [--n N] [--file-bytes B] [--dir DIR] [--ecert BIN] [--pg DSN]
 *               [--pg-pidfile FILE] [--lookups M]
 *
 * Generates N synthetic certificates (bench/certgen.h: 3 per holder, valid
 * identifiers, B-byte incompressible files), then for SQLite and, with --pg,
 * PostgreSQL:
 *   1. imports the first 10^4 with `ecert cert import` into a small store
 *      (DIR/small.db, schema "bench_small") and into the big one (DIR/bench.db,
 *      schema "bench");
 *   2. imports the remaining N - 10^4 into the big one (the progress bar
 *      shows when stderr is a terminal) and reports the rate;
 *   3. times M random by-id lookups (store_cert_get, metadata) and M
 *      by-holder searches (store_cert_search) on each store, after as many
 *      warm-up calls, alternating between the two stores call by call so
 *      that whatever else the machine runs weighs on both columns alike;
 *   4. reports the big store's size per certificate.
 * The lookups run single-threaded through the store interface, as a node's
 * request thread makes them: the ratio of the two columns is how the cost of
 * a lookup grows with the library.
 *
 * Wall-clock rates depend on what else the machine runs, so the CPU time is
 * reported too: the importer's (its rusage) and, with --pg-pidfile (the
 * server's postmaster.pid), the server's (its processes' /proc times), per
 * certificate, and the rate they allow on the machine's processors when
 * nothing else runs. The load average is printed alongside.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "certgen.h"
#include "common/arena.h"
#include "common/error.h"
#include "store/store.h"

#define SMALL_N 10000
#define PATH_BYTES 1024

struct opts {
    uint64_t n;
    size_t file_bytes;
    const char *dir;
    const char *ecert;
    const char *pg;
    const char *pg_pidfile;
    unsigned lookups;
};

struct lat {
    double p50_us, p99_us;
};

struct result {
    const char *backend;
    double import_rate;     /* certificates per second, N - 10^4 of them */
    double import_s;
    double cpu_client_us;   /* importer CPU per certificate */
    double cpu_server_us;   /* database server CPU per certificate (PostgreSQL) */
    double load;            /* load average during the import */
    struct lat id_small, holder_small, id_big, holder_big;
    uint64_t bytes;         /* database size at N */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd_state = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct lat percentiles(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    struct lat l = {v[n / 2] * 1e6, v[(n * 99) / 100] * 1e6};
    return l;
}

/* ---- data ------------------------------------------------------------------*/

/* Writes certificates [from, to) to `path` unless it is already there. */
static int generate(const char *path, uint64_t from, uint64_t to, size_t file_bytes)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size > 0) {
        fprintf(stderr, "bench-scale: reusing %s\n", path);
        return 0;
    }
    char tmp[PATH_BYTES + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        fprintf(stderr, "bench-scale: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    char *scratch = malloc(file_bytes + BASE64_ENCODED_LEN(file_bytes) + 1);
    struct buf line = BUF_INIT(4 * file_bytes + 65536);
    double t0 = now_s();
    int rc = scratch ? 0 : -1;
    for (uint64_t k = from; !rc && k < to; k++) {
        buf_reset(&line);
        if (certgen_line(k, file_bytes, scratch, &line) != ECERT_OK ||
            fwrite(line.data, 1, line.len, fp) != line.len)
            rc = -1;
        if ((k - from) % 100000 == 99999 && isatty(STDERR_FILENO))
            fprintf(stderr, "\rbench-scale: generating %s: %" PRIu64 " of %" PRIu64, path,
                    k - from + 1, to - from);
    }
    if (isatty(STDERR_FILENO))
        fputs("\r\033[K", stderr);
    buf_release(&line);
    free(scratch);
    if (fclose(fp) != 0)
        rc = -1;
    if (!rc && rename(tmp, path) != 0)
        rc = -1;
    if (rc)
        fprintf(stderr, "bench-scale: cannot write %s\n", path);
    else
        fprintf(stderr, "bench-scale: generated %" PRIu64 " certificates in %.1f s\n", to - from,
                now_s() - t0);
    return rc;
}

/* CPU seconds (user + system) of process `pid` and of its children (a
 * PostgreSQL server: the postmaster and its processes), from /proc: the
 * postmaster's own and its reaped children's times (the backends of an
 * import that has ended), and the times of the children still running. */
static double tree_cpu(long pid)
{
    double ticks = (double)sysconf(_SC_CLK_TCK), total = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], buf[1024];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[n] = 0;
        /* after "pid (comm) ": state ppid ...; utime stime cutime cstime
         * are fields 14-17 */
        char *p = strrchr(buf, ')');
        long ppid = 0, cut = 0, cst = 0;
        unsigned long ut = 0, st = 0;
        if (!p || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
                         &ppid, &ut, &st, &cut, &cst) != 5)
            continue;
        long self = strtol(e->d_name, NULL, 10);
        if (self == pid)
            total += (double)(ut + st + (unsigned long)cut + (unsigned long)cst) / ticks;
        else if (ppid == pid)
            total += (double)(ut + st) / ticks;
    }
    if (d)
        closedir(d);
    return total;
}

static long postmaster_pid(const struct opts *o)
{
    if (!o->pg_pidfile)
        return 0;
    FILE *fp = fopen(o->pg_pidfile, "r");
    long pid = 0;
    if (fp && fscanf(fp, "%ld", &pid) != 1)
        pid = 0;
    if (fp)
        fclose(fp);
    return pid;
}

static double load_avg(void)
{
    double l = 0;
    FILE *fp = fopen("/proc/loadavg", "r");
    if (fp && fscanf(fp, "%lf", &l) != 1)
        l = 0;
    if (fp)
        fclose(fp);
    return l;
}

/* `ecert cert import --db DB --batch 5000 FILE`, inheriting the terminal for
 * its progress bar; its summary line goes to our stderr. *cpu: its CPU
 * seconds. */
static int import(const struct opts *o, const char *db, const char *file, double *secs,
                  double *cpu)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl(o->ecert, o->ecert, "cert", "import", "--db", db, "--batch", "5000", file,
              (char *)NULL);
        fprintf(stderr, "bench-scale: cannot run %s: %s\n", o->ecert, strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *secs = now_s() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-scale: import into %s failed (status %d)\n", db, status);
        return -1;
    }
    return 0;
}

/* ---- lookups -----------------------------------------------------------------*/

/* One store's lookup timings. */
struct probe {
    struct store *s;
    uint64_t n;
    double *t_id, *t_holder;
};

/* One by-id get and one by-holder search on a random certificate and
 * holder of p's n; the times go to slot i. */
static int probe_once(struct probe *p, struct arena *a, unsigned i)
{
    char id[IDS_CERT_MAX_LEN + 1], holder[IDS_CODE_LEN + 1];
    certgen_id(rnd() % p->n, id, sizeof id);
    certgen_holder(rnd() % ((p->n + CERTGEN_PER_HOLDER - 1) / CERTGEN_PER_HOLDER), holder);
    struct cert c, *list = NULL;
    size_t found = 0;
    struct cert_query q = {.holder_code = holder};
    double t0 = now_s();
    ecert_status st = store_cert_get(p->s, a, id, false, &c);
    double t1 = now_s();
    if (!st)
        st = store_cert_search(p->s, a, &q, &list, &found);
    double t2 = now_s();
    if (st || found == 0) {
        fprintf(stderr, "bench-scale: lookup failed: %s\n", st ? err_detail() : "none");
        return -1;
    }
    p->t_id[i] = t1 - t0;
    p->t_holder[i] = t2 - t1;
    return 0;
}

/* M lookups of each kind on both stores (after M to warm up), alternating
 * store by store and call by call. */
static int lookups(const struct opts *o, const struct store_config *small,
                   const struct store_config *big, struct result *res)
{
    struct probe p[2] = {{NULL, SMALL_N, NULL, NULL}, {NULL, o->n, NULL, NULL}};
    const struct store_config *cfg[2] = {small, big};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        p[k].t_id = calloc(o->lookups, sizeof *p[k].t_id);
        p[k].t_holder = calloc(o->lookups, sizeof *p[k].t_holder);
        if (!p[k].t_id || !p[k].t_holder || store_open(cfg[k], &p[k].s) != ECERT_OK) {
            fprintf(stderr, "bench-scale: open: %s\n", err_detail());
            rc = -1;
        }
    }
    struct arena a;
    arena_init(&a, 16u << 20);
    for (int pass = 0; !rc && pass < 2; pass++) {
        for (unsigned i = 0; !rc && i < o->lookups; i++) {
            int first = (int)(i & 1);
            rc = probe_once(&p[first], &a, i);
            if (!rc)
                rc = probe_once(&p[!first], &a, i);
            arena_release(&a);
            arena_init(&a, 16u << 20);
        }
    }
    if (!rc) {
        res->id_small = percentiles(p[0].t_id, o->lookups);
        res->holder_small = percentiles(p[0].t_holder, o->lookups);
        res->id_big = percentiles(p[1].t_id, o->lookups);
        res->holder_big = percentiles(p[1].t_holder, o->lookups);
    }
    arena_release(&a);
    for (int k = 0; k < 2; k++) {
        free(p[k].t_id);
        free(p[k].t_holder);
        store_close(p[k].s);
    }
    return rc;
}

/* ---- sizes ---------------------------------------------------------------------*/

static uint64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static uint64_t pg_size(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    uint64_t v = 0;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
                                "WHERE relnamespace = 'bench'::regnamespace AND relkind = 'r'");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

static void pg_drop_schemas(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "SET client_min_messages = warning; "
                          "DROP SCHEMA IF EXISTS bench CASCADE; "
                          "DROP SCHEMA IF EXISTS bench_small CASCADE"));
    PQfinish(c);
}

/* ---- one backend -----------------------------------------------------------------*/

static int run_backend(const struct opts *o, const char *name, const char *small_db,
                       const struct store_config *small, const char *db,
                       const struct store_config *cfg, const char *head, const char *rest,
                       struct result *res)
{
    memset(res, 0, sizeof *res);
    res->backend = name;
    double secs = 0, cpu = 0;
    fprintf(stderr, "bench-scale: %s: importing the first %d, twice\n", name, SMALL_N);
    if (import(o, small_db, head, &secs, &cpu) != 0 || import(o, db, head, &secs, &cpu) != 0)
        return -1;
    fprintf(stderr, "bench-scale: %s: importing %" PRIu64 " more\n", name, o->n - SMALL_N);
    long pm = strcmp(name, "postgres") == 0 ? postmaster_pid(o) : 0;
    double server0 = pm ? tree_cpu(pm) : 0, load0 = load_avg();
    if (import(o, db, rest, &secs, &cpu) != 0)
        return -1;
    if (pm)
        usleep(300 * 1000); /* the postmaster reaps the import's backends */
    double many = (double)(o->n - SMALL_N);
    res->import_s = secs;
    res->import_rate = many / secs;
    res->cpu_client_us = cpu / many * 1e6;
    res->cpu_server_us = pm ? (tree_cpu(pm) - server0) / many * 1e6 : 0;
    res->load = (load0 + load_avg()) / 2;
    fprintf(stderr, "bench-scale: %s: %.0f certificates/s\n", name, res->import_rate);
    return lookups(o, small, cfg, res);
}

static void report(const struct opts *o, const struct result *r)
{
    double per = (double)r->bytes / (double)o->n;
    double cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
    double cpu_us = r->cpu_client_us + r->cpu_server_us;
    printf("%-8s  import %8.0f certs/s (%.0f s, load average %.1f)  size %6.0f B/cert "
           "(%.0f B without the file)\n",
           r->backend, r->import_rate, r->import_s, r->load, per, per - (double)o->file_bytes);
    printf("          import CPU %.1f us/cert (importer %.1f, server %.1f): %.0f certs/s on "
           "%.0f idle processors\n",
           cpu_us, r->cpu_client_us, r->cpu_server_us, cpu_us > 0 ? cpus * 1e6 / cpu_us : 0,
           cpus);
    printf("          by-id     p50 %7.1f us  p99 %7.1f us  at 10^4 | p50 %7.1f us  p99 %7.1f us "
           " at %" PRIu64 "  (p50 x%.2f)\n",
           r->id_small.p50_us, r->id_small.p99_us, r->id_big.p50_us, r->id_big.p99_us, o->n,
           r->id_big.p50_us / r->id_small.p50_us);
    printf("          by-holder p50 %7.1f us  p99 %7.1f us  at 10^4 | p50 %7.1f us  p99 %7.1f us "
           " at %" PRIu64 "  (p50 x%.2f)\n",
           r->holder_small.p50_us, r->holder_small.p99_us, r->holder_big.p50_us,
           r->holder_big.p99_us, o->n, r->holder_big.p50_us / r->holder_small.p50_us);
}

/* The CLI takes a URI with --db: the same server, user and database as the
 * key=value DSN scripts/pg.sh prints, with `schema`. */
static int pg_uri(const char *dsn, const char *schema, char *out, size_t cap)
{
    char host[512] = "", user[64] = "", dbname[64] = "";
    int port = 0;
    if (sscanf(dsn, "host=%511s port=%d user=%63s dbname=%63s", host, &port, user, dbname) != 4) {
        fprintf(stderr, "bench-scale: --pg wants host=... port=... user=... dbname=...\n");
        return -1;
    }
    int n = snprintf(out, cap, "postgresql://%s@/%s?host=%s&port=%d&options=-csearch_path%%3D%s",
                     user, dbname, host, port, schema);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static void usage(void)
{
    fputs("usage: bench_scale [--n N] [--file-bytes B] [--dir DIR] [--ecert BIN] [--pg DSN]\n"
          "                   [--pg-pidfile FILE] [--lookups M]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {1000000, 1024, "bench-scale", "ecert", NULL, NULL, 5000};
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(argv[i], "--n") == 0)
            o.n = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--file-bytes") == 0)
            o.file_bytes = strtoul(v, NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            o.dir = v;
        else if (strcmp(argv[i], "--ecert") == 0)
            o.ecert = v;
        else if (strcmp(argv[i], "--pg") == 0)
            o.pg = v;
        else if (strcmp(argv[i], "--pg-pidfile") == 0)
            o.pg_pidfile = v;
        else if (strcmp(argv[i], "--lookups") == 0)
            o.lookups = (unsigned)strtoul(v, NULL, 10);
        else
            usage();
    }
    if (o.n <= SMALL_N || o.n > 100000000 || o.file_bytes < 1 ||
        o.file_bytes > CERTGEN_FILE_MAX || o.lookups < 100 || o.lookups > 1000000) {
        fprintf(stderr, "bench-scale: want 10^4 < N <= 10^8, 1 <= B <= %u, 100 <= M\n",
                CERTGEN_FILE_MAX);
        return 2;
    }
    if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench-scale: cannot create %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    char head[PATH_BYTES], rest[PATH_BYTES], db[PATH_BYTES], small_db[PATH_BYTES];
    char wal[PATH_BYTES + 8];
    snprintf(head, sizeof head, "%s/certs-0-%d-%zu.jsonl", o.dir, SMALL_N, o.file_bytes);
    snprintf(rest, sizeof rest, "%s/certs-%d-%" PRIu64 "-%zu.jsonl", o.dir, SMALL_N, o.n,
             o.file_bytes);
    snprintf(db, sizeof db, "%s/bench.db", o.dir);
    snprintf(small_db, sizeof small_db, "%s/small.db", o.dir);
    if (generate(head, 0, SMALL_N, o.file_bytes) || generate(rest, SMALL_N, o.n, o.file_bytes))
        return 1;

    struct result res[2];
    size_t nres = 0;
    /* SQLite: a fresh file each run. */
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 6; i++) {
        snprintf(wal, sizeof wal, "%s%s", i < 3 ? db : small_db, suffix[i % 3]);
        unlink(wal);
    }
    struct store_config lite = {"sqlite", db, 1, NULL}, lite_small = {"sqlite", small_db, 1, NULL};
    if (run_backend(&o, "sqlite", small_db, &lite_small, db, &lite, head, rest, &res[nres]) != 0)
        return 1;
    snprintf(wal, sizeof wal, "%s-wal", db);
    res[nres].bytes = file_size(db) + file_size(wal);
    nres++;

    if (o.pg) {
        char uri[PATH_BYTES * 2], dsn[PATH_BYTES * 2], small_uri[PATH_BYTES * 2];
        char small_dsn[PATH_BYTES * 2];
        if (pg_uri(o.pg, "bench", uri, sizeof uri) != 0 ||
            pg_uri(o.pg, "bench_small", small_uri, sizeof small_uri) != 0)
            return 2;
        snprintf(dsn, sizeof dsn, "%s options='-csearch_path=bench'", o.pg);
        snprintf(small_dsn, sizeof small_dsn, "%s options='-csearch_path=bench_small'", o.pg);
        pg_drop_schemas(o.pg);
        struct store_config pg = {"postgres", NULL, 1, dsn};
        struct store_config pg_small = {"postgres", NULL, 1, small_dsn};
        if (run_backend(&o, "postgres", small_uri, &pg_small, uri, &pg, head, rest,
                        &res[nres]) != 0)
            return 1;
        res[nres].bytes = pg_size(o.pg);
        nres++;
    }

    printf("\nbench-scale: %" PRIu64 " certificates (%zu-byte files, 3 per holder), %u lookups "
           "of each kind per point, one thread\n",
           o.n, o.file_bytes, o.lookups);
    for (size_t i = 0; i < nres; i++)
        report(&o, &res[i]);
    return 0;
}
