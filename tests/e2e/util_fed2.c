/*
 * util_fed2.c — the federation tests' additions to the e2e harness (see
 * util_fed2.h): node restarts, logs, /metrics, a black hole and impostors on
 * a node's port.
 */
#include "util_fed2.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/error.h"
#include "envelope/envelope.h"
#include "http/client.h"
#include "http/server.h"

#define HEALTH_WAIT_MS 30000
#define LOG_MAX (16u << 20)
#define HOLE_MAX_CONN 256

int64_t fed2_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- small things -------------------------------------------------------- */

static char *slurp_from(const char *path, long from, size_t max)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    if (from > 0 && fseek(fp, from, SEEK_SET) != 0) {
        fclose(fp);
        return NULL;
    }
    char *p = malloc(max + 1);
    size_t n = p ? fread(p, 1, max, fp) : 0;
    fclose(fp);
    if (p)
        p[n] = 0;
    return p;
}

char *fed2_slurp(const char *path)
{
    return slurp_from(path, 0, 4u << 20);
}

int fed2_spill(const char *path, const char *text)
{
    char tmp[FED_PATH + 8];
    int n = snprintf(tmp, sizeof tmp, "%s.e2e", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return -1;
    size_t len = strlen(text);
    int rc = fwrite(text, 1, len, fp) == len ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    /* A rename: a node reading the file sees the old or the new text. */
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

struct sm2_key *fed2_node_key(const struct fed *f, const char *id)
{
    char rel[64], path[FED_PATH];
    snprintf(rel, sizeof rel, "%s/node.key", id);
    fed_path(f, path, sizeof path, rel);
    char *text = fed2_slurp(path);
    struct sm2_key *k = NULL;
    if (!text || sm2_key_parse_private(text, strlen(text), &k) != ECERT_OK)
        k = NULL;
    free(text);
    return k;
}

int fed2_port(const struct fed *f, const char *id)
{
    const struct fed_node *nd = fed_node(f, id);
    const char *colon = nd ? strrchr(nd->url, ':') : NULL;
    if (!colon)
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    return end && *end == 0 && p > 0 && p < 65536 ? (int)p : -1;
}

/* ---- processes ------------------------------------------------------------- */

/* The harness keeps the nodes in struct fed; restarting one updates its
 * pid there, so that fed_stop_node/fed_finish stop it like any other. */
static struct fed_node *node_rw(struct fed *f, const char *id)
{
    for (size_t i = 0; i < f->nnodes; i++)
        if (strcmp(f->nodes[i].id, id) == 0)
            return &f->nodes[i];
    return NULL;
}

bool fed2_running(const struct fed *f, const char *id)
{
    const struct fed_node *nd = fed_node(f, id);
    return nd && nd->pid > 0;
}

static int spawn(struct fed_node *nd)
{
    const char *bin = getenv("ECERTD_BIN");
    if (!bin || !bin[0]) {
        fprintf(stderr, "e2e: ECERTD_BIN is not set (run the tests through ctest)\n");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, bin, "--config", nd->ini, (char *)NULL);
        _exit(127);
    }
    nd->pid = pid;
    nd->exit_status = -1;
    return 0;
}

static bool healthy(struct fed *f, const struct fed_node *nd)
{
    struct buf b = BUF_INIT(4096);
    int status = 0;
    bool ok = fed_get(f, nd->id, "/healthz", &status, &b) == 0 && status == 200 && b.data &&
              strstr((const char *)b.data, nd->id);
    buf_release(&b);
    return ok;
}

/* Waits for /healthz of every node in `nds`; -1 when one exits or is late. */
static int wait_healthy(struct fed *f, struct fed_node **nds, size_t n)
{
    int64_t until = fed2_now_ms() + HEALTH_WAIT_MS;
    for (size_t i = 0; i < n; i++) {
        while (!healthy(f, nds[i])) {
            int status;
            if (waitpid(nds[i]->pid, &status, WNOHANG) == nds[i]->pid) {
                nds[i]->pid = 0;
                nds[i]->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
                fprintf(stderr, "e2e: %s exited before answering /healthz (see %s)\n",
                        nds[i]->id, nds[i]->log);
                f->failed = true;
                return -1;
            }
            if (fed2_now_ms() > until) {
                fprintf(stderr, "e2e: %s does not answer /healthz\n", nds[i]->id);
                f->failed = true;
                return -1;
            }
            fed_sleep_ms(25);
        }
    }
    return 0;
}

int fed2_start_node(struct fed *f, const char *id)
{
    struct fed_node *nd = node_rw(f, id);
    if (!nd || nd->pid > 0 || spawn(nd) != 0)
        return -1;
    return wait_healthy(f, &nd, 1);
}

int fed2_start_missing(struct fed *f)
{
    struct fed_node *nds[FED_MAX_NODES];
    size_t n = 0;
    for (size_t i = 0; i < f->nnodes; i++)
        if (f->nodes[i].pid <= 0) {
            if (spawn(&f->nodes[i]) != 0)
                return -1;
            nds[n++] = &f->nodes[i];
        }
    return wait_healthy(f, nds, n);
}

/* ---- a second process of one node ------------------------------------------------ */

static int twin_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

void fed2_swap_url(struct fed *f, const char *id, const char *url, char saved[64])
{
    struct fed_node *nd = node_rw(f, id);
    if (!nd)
        return;
    char prev[sizeof nd->url];
    memcpy(prev, nd->url, sizeof prev);
    snprintf(nd->url, sizeof nd->url, "%s", url); /* url may be `saved` itself */
    snprintf(saved, 64, "%s", prev);
}

int fed2_twin_start(struct fed *f, const char *id, const char *name, unsigned app_cache_s,
                    struct fed2_twin *out)
{
    memset(out, 0, sizeof *out);
    const struct fed_node *nd = fed_node(f, id);
    const char *bin = getenv("ECERTD_BIN");
    if (!nd || !bin)
        return -1;
    char ini[FED_PATH + 16];
    snprintf(ini, sizeof ini, "%s", nd->ini);
    char *slash = strrchr(ini, '/');
    if (!slash)
        return -1;
    snprintf(slash, sizeof ini - (size_t)(slash - ini), "/node-%s.ini", name);
    snprintf(out->log, sizeof out->log, "%s/logs/%s-%s.log", f->dir, id, name);
    int port = twin_port();
    FILE *in = fopen(nd->ini, "r"), *o = fopen(ini, "w");
    if (!in || !o || port < 0) {
        if (in)
            fclose(in);
        if (o)
            fclose(o);
        return -1;
    }
    char line[2048];
    while (fgets(line, sizeof line, in)) {
        if (strncmp(line, "listen", 6) == 0)
            fprintf(o, "listen = 127.0.0.1:%d\n", port);
        else if (strncmp(line, "public_url", 10) == 0)
            fprintf(o, "public_url = https://127.0.0.1:%d\n", port);
        else if (strncmp(line, "log_file", 8) == 0)
            continue; /* stdout and stderr go to the twin's log */
        else if (strncmp(line, "app_cache_s", 11) == 0 && app_cache_s > 0)
            fprintf(o, "app_cache_s = %u\n", app_cache_s);
        else
            fputs(line, o);
    }
    fclose(in);
    fclose(o);
    snprintf(out->url, sizeof out->url, "https://127.0.0.1:%d", port);
    out->pid = fork();
    if (out->pid == 0) {
        int fd = open(out->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, bin, "--config", ini, (char *)NULL);
        _exit(127);
    }
    if (out->pid < 0) {
        out->pid = 0;
        return -1;
    }
    char url[128];
    snprintf(url, sizeof url, "%s/healthz", out->url);
    int64_t until = fed2_now_ms() + HEALTH_WAIT_MS;
    while (fed2_now_ms() < until) {
        struct buf body = BUF_INIT(4096);
        int status = 0;
        ecert_status st = http_client_get(f->http, url, 1000, &status, &body);
        buf_release(&body);
        if (st == ECERT_OK && status == 200)
            return 0;
        if (waitpid(out->pid, NULL, WNOHANG) == out->pid) {
            out->pid = 0;
            fprintf(stderr, "e2e: the second %s exited (see %s)\n", id, out->log);
            return -1;
        }
        fed_sleep_ms(50);
    }
    return -1;
}

int fed2_twin_stop(struct fed2_twin *t)
{
    if (t->pid <= 0)
        return 0;
    kill(t->pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        int status = 0;
        if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
            t->pid = 0;
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
        }
        fed_sleep_ms(50);
    }
    kill(t->pid, SIGKILL);
    waitpid(t->pid, NULL, 0);
    t->pid = 0;
    return -1;
}

/* A scenes file: federation.json's scenes and one scene `all_scene` that
 * allows every type code of the sample certificates. */
static int write_scenes(struct fed *f, const char *all_scene, char *path, size_t cap)
{
    json_t *scenes = json_deep_copy(json_object_get(f->json, "scenes"));
    json_t *types = json_array();
    size_t i, k;
    json_t *h, *c;
    json_array_foreach(json_object_get(f->json, "holders"), i, h) {
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            json_t *tc = json_object_get(c, "typeCode");
            bool seen = false;
            size_t m;
            json_t *t;
            json_array_foreach(types, m, t)
                seen = seen || json_equal(t, tc);
            if (json_is_string(tc) && !seen)
                json_array_append(types, tc);
        }
    }
    int rc = -1;
    if (json_is_array(scenes) && json_array_size(types) > 0 &&
        json_array_append_new(scenes, json_pack("{s:s,s:s,s:O}", "itemCode", all_scene,
                                                "itemName", "端到端测试:全部证照类型", "types",
                                                types)) == 0) {
        fed_path(f, path, cap, "e2e-scenes.json");
        rc = json_dump_file(scenes, path, JSON_INDENT(1)) == 0 ? 0 : -1;
    }
    json_decref(scenes);
    json_decref(types);
    return rc;
}

struct fed *fed2_start(const struct fed_ini_set *sets, size_t nsets, const char *all_scene)
{
    /* No node yet: the lists are published before anyone reads them. */
    static const char *const none[] = {NULL};
    struct fed *f = fed_start(none, sets, nsets);
    if (!f)
        return NULL;
    if (all_scene) {
        char scenes[FED_PATH], out[512];
        const struct fed_node *trust = fed_node(f, "YRD-TRUST");
        int rc = trust && write_scenes(f, all_scene, scenes, sizeof scenes) == 0
                     ? fed_cli(f, out, sizeof out, "directory", "publish", "--config", trust->ini,
                               "--scenes", scenes, NULL)
                     : -1;
        if (rc != 0) {
            fprintf(stderr, "e2e: ecert directory publish exited %d\n", rc);
            fed_finish(f, true);
            return NULL;
        }
    }
    if (fed2_start_missing(f) != 0) {
        fed_finish(f, true);
        return NULL;
    }
    return f;
}

/* ---- the sample data ------------------------------------------------------------ */

int fed2_pick_person(const struct fed *f, size_t skip, struct fed2_holder *out)
{
    size_t i, k;
    json_t *h, *c;
    json_array_foreach(json_object_get(f->json, "holders"), i, h) {
        memset(out, 0, sizeof *out);
        out->code = json_string_value(json_object_get(h, "code"));
        out->type = json_string_value(json_object_get(h, "type"));
        out->name = json_string_value(json_object_get(h, "name"));
        if (!out->code || !out->type || !out->name || strcmp(out->type, "111") != 0)
            continue;
        bool ok = true;
        json_array_foreach(json_object_get(h, "certificates"), k, c) {
            struct fed2_cert *fc = &out->certs[out->ncerts];
            if (out->ncerts == FED2_MAX_CERTS) {
                ok = false;
                break;
            }
            fc->id = json_string_value(json_object_get(c, "id"));
            fc->province = json_string_value(json_object_get(c, "province"));
            fc->type_code = json_string_value(json_object_get(c, "typeCode"));
            fc->type = json_string_value(json_object_get(c, "type"));
            fc->number = json_string_value(json_object_get(c, "number"));
            fc->status = json_string_value(json_object_get(c, "status"));
            ok = ok && fc->id && fc->province && fc->type_code && fc->type && fc->number &&
                 fc->status && strcmp(fc->status, "valid") == 0 &&
                 !fed2_cert_in(out, fc->province);
            out->ncerts++;
        }
        if (ok && out->ncerts == 4 && skip-- == 0)
            return 0;
    }
    memset(out, 0, sizeof *out);
    return -1;
}

const struct fed2_cert *fed2_cert_in(const struct fed2_holder *h, const char *province)
{
    for (size_t i = 0; i < h->ncerts; i++)
        if (h->certs[i].province && strcmp(h->certs[i].province, province) == 0)
            return &h->certs[i];
    return NULL;
}

const char *fed2_region(const struct fed *f, const char *id)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(f->json, "nodes"), i, n) {
        const char *nid = json_string_value(json_object_get(n, "id"));
        const char *region = json_string_value(json_object_get(n, "region"));
        if (nid && strcmp(nid, id) == 0)
            return region ? region : "";
    }
    return "";
}

const json_t *fed2_find_id(const json_t *list, const char *id)
{
    size_t i;
    const json_t *it;
    json_array_foreach(list, i, it) {
        const char *cid = json_string_value(json_object_get(it, "CertificateID"));
        if (cid && strcmp(cid, id) == 0)
            return it;
    }
    return NULL;
}

const char *fed2_scene_for(const struct fed *f, const char *type_code, bool allowing)
{
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(f->json, "scenes"), i, s) {
        bool has = false;
        json_array_foreach(json_object_get(s, "types"), k, t)
            has = has || (json_is_string(t) && strcmp(json_string_value(t), type_code) == 0);
        if (has == allowing)
            return json_string_value(json_object_get(s, "itemCode"));
    }
    return NULL;
}

/* ---- calls through the SDK -------------------------------------------------------- */

void fed2_answer_release(struct fed2_answer *a)
{
    json_decref(a->result);
    a->result = NULL;
}

/* Fills `out` from what an SDK call returned. */
static void answer(struct fed2_answer *out, ecert_status st, int code, char *res, char *msg,
                   int64_t t0)
{
    out->ms = fed2_now_ms() - t0;
    out->code = st == ECERT_OK ? code : -1;
    out->result = NULL;
    if (st != ECERT_OK)
        snprintf(out->msg, sizeof out->msg, "no signed answer: %s", ecert_last_error());
    else
        snprintf(out->msg, sizeof out->msg, "%s", msg ? msg : "");
    if (st == ECERT_OK && code == 0 && res)
        out->result = json_loads(res, 0, NULL);
    ecert_free(res);
    ecert_free(msg);
}

void fed2_search(ecert_client *c, const char *token, const char *type, const char *scene,
                 const char *biz, struct fed2_answer *out)
{
    ecert_purpose p;
    fed_purpose(&p, scene, biz);
    int code = -1;
    char *res = NULL, *msg = NULL;
    int64_t t0 = fed2_now_ms();
    ecert_status st = ecert_cert_search(c, token, type, NULL, &p, &code, &res, &msg);
    answer(out, st, code, res, msg, t0);
}

void fed2_by_id(ecert_client *c, bool file, const char *id, const char *token, const char *scene,
                const char *biz, struct fed2_answer *out)
{
    ecert_purpose p;
    fed_purpose(&p, scene, biz);
    int code = -1;
    char *res = NULL, *msg = NULL;
    int64_t t0 = fed2_now_ms();
    ecert_status st = file ? ecert_cert_file_by_id(c, id, token, &p, &code, &res, &msg)
                           : ecert_cert_info_by_id(c, id, token, &p, &code, &res, &msg);
    answer(out, st, code, res, msg, t0);
}

void fed2_call(ecert_client *c, const char *endpoint, const char *business,
               struct fed2_answer *out)
{
    int code = -1;
    char *res = NULL, *msg = NULL;
    int64_t t0 = fed2_now_ms();
    ecert_status st = ecert_client_call(c, endpoint, business, &code, &res, &msg);
    answer(out, st, code, res, msg, t0);
}

/* ---- logs and metrics --------------------------------------------------------- */

long fed2_log_mark(const struct fed *f, const char *id)
{
    const struct fed_node *nd = fed_node(f, id);
    FILE *fp = nd ? fopen(nd->log, "rb") : NULL;
    if (!fp)
        return 0;
    long at = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : 0;
    fclose(fp);
    return at < 0 ? 0 : at;
}

int fed2_log_count(const struct fed *f, const char *id, long mark, const char *a, const char *b)
{
    const struct fed_node *nd = fed_node(f, id);
    char *text = nd ? slurp_from(nd->log, mark, LOG_MAX) : NULL;
    if (!text)
        return 0;
    int n = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (strstr(line, a) && (!b || strstr(line, b)))
            n++;
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

bool fed2_log_wait(const struct fed *f, const char *id, long mark, const char *a, const char *b,
                   unsigned wait_ms)
{
    int64_t until = fed2_now_ms() + wait_ms;
    for (;;) {
        if (fed2_log_count(f, id, mark, a, b) > 0)
            return true;
        if (fed2_now_ms() > until)
            return false;
        fed_sleep_ms(50);
    }
}

double fed2_metric(struct fed *f, const char *id, const char *name, const char *labels)
{
    struct buf b = BUF_INIT(4u << 20);
    int status = 0;
    if (fed_get(f, id, "/metrics", &status, &b) != 0 || status != 200 || !b.data) {
        buf_release(&b);
        return -1;
    }
    buf_append_byte(&b, 0);
    double sum = 0;
    size_t nl = strlen(name);
    for (char *line = (char *)b.data; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        if (line[0] != '#' && strncmp(line, name, nl) == 0 &&
            (line[nl] == '{' || line[nl] == ' ')) {
            char *close = line[nl] == '{' ? strchr(line + nl, '}') : line + nl;
            if (close) {
                *close = 0;
                if (!labels || strstr(line + nl, labels))
                    sum += strtod(close + 1, NULL);
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    buf_release(&b);
    return sum;
}

/* ---- a black hole ------------------------------------------------------------------ */

struct fed2_hole {
    int lfd;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint accepted;
    int fds[HOLE_MAX_CONN];
    size_t nfds;
};

static int listen_on(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 64) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static void *hole_loop(void *arg)
{
    struct fed2_hole *h = arg;
    while (!atomic_load(&h->stop)) {
        struct pollfd p = {.fd = h->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        atomic_fetch_add(&h->accepted, 1);
        /* Kept open and never read or written: the peer waits for its
         * TLS handshake until its own deadline. */
        if (h->nfds < HOLE_MAX_CONN)
            h->fds[h->nfds++] = c;
        else
            close(c);
    }
    return NULL;
}

struct fed2_hole *fed2_hole_start(int port)
{
    struct fed2_hole *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    /* The port was just released by a stopped node: retry briefly. */
    for (int i = 0; i < 40 && (h->lfd = listen_on(port)) < 0; i++)
        fed_sleep_ms(50);
    if (h->lfd < 0 || pthread_create(&h->thread, NULL, hole_loop, h) != 0) {
        fprintf(stderr, "e2e: cannot listen on port %d: %s\n", port, strerror(errno));
        if (h->lfd >= 0)
            close(h->lfd);
        free(h);
        return NULL;
    }
    return h;
}

unsigned fed2_hole_accepted(struct fed2_hole *h)
{
    return atomic_load(&h->accepted);
}

void fed2_hole_stop(struct fed2_hole *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    close(h->lfd);
    for (size_t i = 0; i < h->nfds; i++)
        close(h->fds[i]);
    free(h);
}

/* ---- impostors ------------------------------------------------------------------------ */

struct fed2_fake {
    struct fed *f;
    struct http_server *srv;
    enum fed2_fake_mode mode;
    struct sm2_key *node_key; /* the impersonated node's real key (FAKE_STALE) */
    struct sm2_key *stranger; /* somebody else's key (FAKE_WRONG_KEY) */
    pthread_mutex_t mu;
    char *doc;                /* FAKE_DIRECTORY */
    atomic_uint hits;
};

/* A plausible answer: one certificate that nobody issued. */
static const char forged_business[] =
    "{\"total\":1,\"dataList\":[{\"CertificateID\":\"" FED2_FORGED_ID "\","
    "\"CertificateType\":\"居民身份证\",\"CertificateTypeCode\":\"11100000000013338W001\","
    "\"CertificateStatus\":\"valid\",\"CertificateAreaCode\":\"330106\"}]}";

static const struct sm2_key *caller_key(struct fed *f, const struct envelope_request *env)
{
    size_t pl = strlen(ENVELOPE_NODE_PREFIX);
    if (strncmp(env->app_id, ENVELOPE_NODE_PREFIX, pl) != 0)
        return NULL;
    const struct fed_node *nd = fed_node(f, env->app_id + pl);
    return nd ? nd->pub : NULL;
}

static void fake_envelope(struct fed2_fake *k, const struct http_request *req,
                          struct http_response *resp)
{
    struct envelope_request env;
    const struct sm2_key *to = NULL;
    if (envelope_request_parse(req->arena, (const char *)req->body, req->body_len, &env) ==
        ECERT_OK)
        to = caller_key(k->f, &env);
    if (!to) {
        resp->status = 400;
        buf_append_str(&resp->body, "not for us");
        return;
    }
    /* A nonce of the right shape that the caller never sent. */
    const char *nonce = k->mode == FAKE_STALE ? "e2estale0123456789abcdef0123456789" : env.nonce;
    const struct sm2_key *signer = k->mode == FAKE_WRONG_KEY ? k->stranger : k->node_key;
    struct buf out = BUF_INIT(1u << 20);
    ecert_status st = envelope_response_build(0, "success", NULL, nonce, envelope_now_ms(), signer,
                                              to, forged_business, strlen(forged_business),
                                              ECERT_CIPHER_HEX, &out);
    if (!st && k->mode == FAKE_UNSIGNED) {
        json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
        json_object_del(j, "signature");
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        buf_reset(&out);
        st = text ? buf_append_str(&out, text) : ECERT_E_NOMEM;
        free(text);
    }
    if (st) {
        resp->status = 500;
        buf_append_str(&resp->body, "impostor failed");
    } else {
        buf_append(&resp->body, out.data, out.len);
    }
    buf_release(&out);
}

static void fake_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct fed2_fake *k = ctx;
    atomic_fetch_add(&k->hits, 1);
    switch (k->mode) {
    case FAKE_GARBAGE:
        buf_append_str(&resp->body, "<html><body>502 upstream gone fishing</body></html>");
        return;
    case FAKE_DIRECTORY:
        pthread_mutex_lock(&k->mu);
        if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/api/v1/directory") == 0 &&
            k->doc) {
            buf_append_str(&resp->body, k->doc);
        } else {
            resp->status = 503;
            buf_append_str(&resp->body, "{\"code\":5001,\"msg\":\"impostor\"}");
        }
        pthread_mutex_unlock(&k->mu);
        return;
    default:
        fake_envelope(k, req, resp);
        return;
    }
}

static void quiet_log(void *ctx, const char *line)
{
    (void)ctx;
    (void)line; /* TLS errors of clients that gave up are expected here */
}

static void fake_free(struct fed2_fake *k)
{
    if (!k)
        return;
    sm2_key_free(k->node_key);
    sm2_key_free(k->stranger);
    pthread_mutex_destroy(&k->mu);
    free(k->doc);
    free(k);
}

struct fed2_fake *fed2_fake_start(struct fed *f, const char *id, enum fed2_fake_mode mode)
{
    char rel[64], cert_path[FED_PATH], key_path[FED_PATH];
    snprintf(rel, sizeof rel, "%s/tls.pem", id);
    fed_path(f, cert_path, sizeof cert_path, rel);
    snprintf(rel, sizeof rel, "%s/tls.key", id);
    fed_path(f, key_path, sizeof key_path, rel);
    int port = fed2_port(f, id);
    struct fed2_fake *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->f = f;
    k->mode = mode;
    pthread_mutex_init(&k->mu, NULL);
    k->node_key = fed2_node_key(f, id);
    k->stranger = fed_new_key();
    char *cert = fed2_slurp(cert_path), *key = fed2_slurp(key_path);
    ecert_status st = ECERT_E_IO;
    if (cert && key && port > 0 && k->node_key && k->stranger) {
        struct http_server_config hc = {
            .bind_ip = "127.0.0.1",
            .port = (uint16_t)port,
            .tls_cert_pem = cert,
            .tls_key_pem = key,
            .threads = 2,
            .idle_timeout_s = 5,
            .stop_grace_ms = 1000,
            .log = quiet_log,
        };
        /* The port was just released by a stopped node: retry briefly. */
        for (int i = 0; i < 40 && (st = http_server_start(&hc, fake_handle, k, &k->srv)); i++)
            fed_sleep_ms(50);
    }
    free(cert);
    free(key);
    if (st) {
        fprintf(stderr, "e2e: impostor of %s on port %d: %s\n", id, port, err_detail());
        fake_free(k);
        return NULL;
    }
    return k;
}

void fed2_fake_set_doc(struct fed2_fake *k, const char *doc)
{
    char *copy = strdup(doc);
    pthread_mutex_lock(&k->mu);
    free(k->doc);
    k->doc = copy;
    pthread_mutex_unlock(&k->mu);
}

unsigned fed2_fake_hits(struct fed2_fake *k)
{
    return atomic_load(&k->hits);
}

void fed2_fake_stop(struct fed2_fake *k)
{
    if (!k)
        return;
    http_server_stop(k->srv);
    fake_free(k);
}
