/*
 * util_fed.c — the end-to-end harness (see util_fed.h): a federation in a
 * temporary directory, ecertd child processes, clients, raw envelopes and
 * the CLI.
 */
#include "util_fed.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/error.h"
#include "envelope/envelope.h"
#include "http/client.h"
#include "sdk/sdk.h"

#define START_ATTEMPTS 4
#define HEALTH_WAIT_MS 30000
#define STOP_WAIT_MS 10000
#define INI_MAX (64u * 1024)
#define RESP_MAX (64u << 20)

/* ---- small things -------------------------------------------------------- */

void fed_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fed_path(const struct fed *f, char *out, size_t cap, const char *rel)
{
    /* Through a local buffer: `out` may be a member of *f itself. */
    char tmp[2 * FED_PATH];
    int n = snprintf(tmp, sizeof tmp, "%s/%s", f->dir, rel);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = 0; /* an empty path fails loudly wherever it is used */
        return;
    }
    memcpy(out, tmp, (size_t)n + 1);
}

struct sm2_key *fed_new_key(void)
{
    struct sm2_key *k = NULL;
    if (sm2_key_generate(&k) != ECERT_OK)
        return NULL;
    return k;
}

/* Reads a whole (small) file into a NUL-terminated malloc'd string. */
static char *slurp(const char *path, size_t max)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *p = malloc(max + 1);
    size_t n = p ? fread(p, 1, max, fp) : 0;
    fclose(fp);
    if (p)
        p[n] = 0;
    return p;
}

static int spill(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, fp) == n ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The last lines of a log, so that a failure shows why without a hunt. */
static void print_tail(const char *path)
{
    char *text = slurp(path, 1u << 20);
    if (!text)
        return;
    size_t n = strlen(text);
    size_t from = n > 3000 ? n - 3000 : 0;
    fprintf(stderr, "---- tail of %s ----\n%s\n----\n", path, text + from);
    free(text);
}

/* ---- the federation's files ------------------------------------------------ */

const struct fed_node *fed_node(const struct fed *f, const char *id)
{
    for (size_t i = 0; i < f->nnodes; i++)
        if (strcmp(f->nodes[i].id, id) == 0)
            return &f->nodes[i];
    fprintf(stderr, "e2e: no node %s in the federation\n", id);
    return NULL;
}

static struct fed_node *node_mut(struct fed *f, const char *id)
{
    return (struct fed_node *)fed_node(f, id);
}

const json_t *fed_app(const struct fed *f, const char *province)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(f->json, "apps"), i, a) {
        const char *p = json_string_value(json_object_get(a, "province"));
        if (p && strcmp(p, province) == 0)
            return a;
    }
    fprintf(stderr, "e2e: no demo app for %s\n", province);
    return NULL;
}

static int load_federation(struct fed *f)
{
    char path[FED_PATH];
    fed_path(f, path, sizeof path, "federation.json");
    json_error_t jerr;
    f->json = json_load_file(path, 0, &jerr);
    if (!f->json) {
        fprintf(stderr, "e2e: %s: %s\n", path, jerr.text);
        return -1;
    }
    fed_path(f, f->ca, sizeof f->ca, "ca.pem");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(f->json, "nodes"), i, n) {
        if (f->nnodes == FED_MAX_NODES)
            break;
        struct fed_node *nd = &f->nodes[f->nnodes];
        const char *id = json_string_value(json_object_get(n, "id"));
        const char *url = json_string_value(json_object_get(n, "url"));
        const char *pub = json_string_value(json_object_get(n, "publicKey"));
        const char *cfg = json_string_value(json_object_get(n, "config"));
        if (!id || !url || !pub || !cfg)
            return -1;
        snprintf(nd->id, sizeof nd->id, "%s", id);
        snprintf(nd->url, sizeof nd->url, "%s", url);
        char rel[64];
        snprintf(rel, sizeof rel, "logs/%s.log", nd->id);
        fed_path(f, nd->ini, sizeof nd->ini, cfg);
        fed_path(f, nd->log, sizeof nd->log, rel);
        if (sm2_key_parse_public(pub, strlen(pub), &nd->pub) != ECERT_OK ||
            ecert_key_parse_public(pub, strlen(pub), &nd->epub) != ECERT_OK) {
            fprintf(stderr, "e2e: bad public key of %s\n", id);
            return -1;
        }
        f->nnodes++;
    }
    fed_path(f, path, sizeof path, "YRD-TRUST/node.key");
    char *key = slurp(path, 4096);
    int rc = key && sm2_key_parse_private(key, strlen(key), &f->trust_key) == ECERT_OK ? 0 : -1;
    free(key);
    if (rc)
        fprintf(stderr, "e2e: cannot read %s\n", path);
    return rc;
}

/* Sets `key = value` in `[section]` of an INI file: replaces the key's line
 * when the section has one, else adds the line at the end of the section
 * (a new section at the end of the file when there is none). */
static int ini_set(const char *path, const char *section, const char *key, const char *value)
{
    char *text = slurp(path, INI_MAX);
    if (!text)
        return -1;
    struct buf out = BUF_INIT(INI_MAX * 2);
    char want[128];
    snprintf(want, sizeof want, "[%s]", section);
    bool in_section = false, done = false;
    ecert_status st = ECERT_OK;
    for (char *line = text; !st && line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (line[0] == '[') {
            if (in_section && !done) {
                st = buf_printf(&out, "%s = %s\n", key, value);
                done = true;
            }
            in_section = len >= strlen(want) && strncmp(line, want, strlen(want)) == 0;
        } else if (in_section && !done) {
            size_t kl = strlen(key);
            const char *p = line;
            if (strncmp(p, key, kl) == 0) {
                p += kl;
                while (*p == ' ' || *p == '\t')
                    p++;
                if (*p == '=') {
                    st = buf_printf(&out, "%s = %s\n", key, value);
                    done = true;
                    line = nl ? nl + 1 : NULL;
                    continue;
                }
            }
        }
        if (!st)
            st = buf_append(&out, line, len);
        if (!st)
            st = buf_append_str(&out, "\n");
        line = nl ? nl + 1 : NULL;
    }
    if (!st && !done)
        st = in_section ? buf_printf(&out, "%s = %s\n", key, value)
                        : buf_printf(&out, "\n[%s]\n%s = %s\n", section, key, value);
    int rc = st ? -1 : spill(path, (const char *)out.data);
    buf_release(&out);
    free(text);
    return rc;
}

/* ---- processes -------------------------------------------------------------- */

static const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (!v || !v[0]) {
        fprintf(stderr, "e2e: %s is not set (run the tests through ctest)\n", name);
        return NULL;
    }
    return v;
}

int fed_cli(struct fed *f, char *out, size_t cap, ...)
{
    const char *bin = env_or_die("ECERT_BIN");
    if (!bin)
        return -1;
    const char *argv[32];
    size_t argc = 0;
    argv[argc++] = bin;
    va_list ap;
    va_start(ap, cap);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char errlog[FED_PATH];
    fed_path(f, errlog, sizeof errlog, "logs/cli.log");
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int efd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fds[1], 1);
        if (efd >= 0)
            dup2(efd, 2);
        close(fds[0]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    char sink[4096];
    for (;;) {
        char *dst = out && n + 1 < cap ? out + n : sink;
        size_t room = out && n + 1 < cap ? cap - 1 - n : sizeof sink;
        ssize_t r = read(fds[0], dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst != sink)
            n += (size_t)r;
    }
    close(fds[0]);
    if (out && cap)
        out[n] = 0;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int spawn_node(struct fed_node *nd)
{
    const char *bin = env_or_die("ECERTD_BIN");
    if (!bin)
        return -1;
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
        /* A daemon must not outlive a test that crashed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, bin, "--config", nd->ini, (char *)NULL);
        _exit(127);
    }
    nd->pid = pid;
    nd->exit_status = -1;
    return 0;
}

/* true when the child has exited (and reaps it, recording the status). */
static bool node_exited(struct fed_node *nd, int flags)
{
    if (nd->pid <= 0)
        return true;
    int status;
    pid_t r = waitpid(nd->pid, &status, flags);
    if (r != nd->pid)
        return false;
    nd->pid = 0;
    if (WIFEXITED(status))
        nd->exit_status = WEXITSTATUS(status);
    else
        nd->exit_status = 128 + WTERMSIG(status);
    return true;
}

static bool healthy(struct fed *f, const struct fed_node *nd)
{
    char url[128];
    snprintf(url, sizeof url, "%s/healthz", nd->url);
    struct buf b = BUF_INIT(4096);
    int status = 0;
    ecert_status st = http_client_get(f->http, url, 1000, &status, &b);
    bool ok = st == ECERT_OK && status == 200 && b.data && strstr((char *)b.data, nd->id);
    buf_release(&b);
    return ok;
}

int fed_stop_node(struct fed *f, const char *id)
{
    struct fed_node *nd = node_mut(f, id);
    if (!nd)
        return -1;
    if (nd->pid <= 0) {
        /* Already gone (it died during the run): that is not a clean stop. */
        return nd->exit_status == 0 ? 0 : -1;
    }
    kill(nd->pid, SIGTERM);
    int64_t until = mono_ms() + STOP_WAIT_MS;
    while (!node_exited(nd, WNOHANG)) {
        if (mono_ms() > until) {
            fprintf(stderr, "e2e: %s did not stop within %d ms after SIGTERM; killing it\n", id,
                    STOP_WAIT_MS);
            kill(nd->pid, SIGKILL);
            node_exited(nd, 0);
            nd->exit_status = -1;
            f->failed = true;
            print_tail(nd->log);
            return -1;
        }
        fed_sleep_ms(20);
    }
    if (nd->exit_status != 0) {
        fprintf(stderr, "e2e: %s exited with status %d at shutdown\n", id, nd->exit_status);
        f->failed = true;
        print_tail(nd->log);
        return -1;
    }
    return 0;
}

int fed_stop_all(struct fed *f)
{
    int bad = 0;
    /* Signal all first, so that they stop in parallel. */
    for (size_t i = 0; i < f->nnodes; i++)
        if (f->nodes[i].pid > 0)
            kill(f->nodes[i].pid, SIGTERM);
    for (size_t i = 0; i < f->nnodes; i++) {
        struct fed_node *nd = &f->nodes[i];
        if (nd->pid <= 0 && nd->exit_status == 0)
            continue;
        if (nd->pid <= 0 && nd->exit_status == -2)
            continue; /* never started */
        if (fed_stop_node(f, nd->id) != 0)
            bad++;
    }
    return bad;
}

static void kill_all(struct fed *f)
{
    for (size_t i = 0; i < f->nnodes; i++)
        if (f->nodes[i].pid > 0) {
            kill(f->nodes[i].pid, SIGKILL);
            node_exited(&f->nodes[i], 0);
        }
}

static void fed_free(struct fed *f)
{
    for (size_t i = 0; i < f->nclients; i++)
        ecert_client_free(f->clients[i]);
    for (size_t i = 0; i < f->nkeys; i++)
        ecert_key_free(f->keys[i]);
    for (size_t i = 0; i < f->nnodes; i++) {
        sm2_key_free(f->nodes[i].pub);
        ecert_key_free(f->nodes[i].epub);
    }
    sm2_key_free(f->trust_key);
    http_client_free(f->http);
    json_decref(f->json);
    free(f);
}

int fed_finish(struct fed *f, bool failed)
{
    if (!f)
        return 0;
    int bad = fed_stop_all(f);
    if (failed || bad || f->failed) {
        fprintf(stderr, "e2e: the federation and the node logs are kept in %s (logs/<node>.log)\n",
                f->dir);
    } else {
        rm_tree(f->dir);
    }
    fed_free(f);
    return bad;
}

/* A base port for this process: spread by pid so that tests started at the
 * same time (ctest -j) use different ranges, and moved on each attempt.
 * Below 32768, where Linux's ephemeral range begins: a node stopped and
 * restarted by a test must find its port free, and an outgoing connection
 * anywhere on the machine may otherwise take it meanwhile (seen: "Address
 * already in use" on a restart at 33716). */
static int pick_base(int attempt)
{
    long pid = (long)getpid();
    return 20000 + (int)(((pid + attempt * 797) % 1590) * 8); /* highest: 32717 */
}

static bool port_free(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static struct fed *try_start(int attempt, const char *const *ids, const struct fed_ini_set *sets,
                             size_t nsets, bool *retry)
{
    *retry = false;
    int base = pick_base(attempt);
    for (int p = 0; p <= 5; p++)
        if (!port_free(base + p)) {
            *retry = true;
            return NULL;
        }
    struct fed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->base_port = base;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/ecert-e2e-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        fprintf(stderr, "e2e: mkdtemp %s: %s\n", f->dir, strerror(errno));
        free(f);
        return NULL;
    }
    char logs[FED_PATH];
    fed_path(f, logs, sizeof logs, "logs");
    if (mkdir(logs, 0755) != 0)
        goto fail;
    char port[16], out[1024];
    snprintf(port, sizeof port, "%d", base);
    /* ECERT_E2E_PG_DSN: the stores in that PostgreSQL database, one schema
     * per node, prefixed per federation so that parallel runs never meet. */
    const char *pg = getenv("ECERT_E2E_PG_DSN");
    static int nfed;
    char prefix[48];
    snprintf(prefix, sizeof prefix, "e2e%ld_%d_", (long)getpid(), ++nfed);
    int rc = pg && pg[0] ? fed_cli(f, out, sizeof out, "federation", "init", f->dir, "--base-port",
                                   port, "--store", "postgres", "--pg-dsn", pg,
                                   "--pg-schema-prefix", prefix, NULL)
                         : fed_cli(f, out, sizeof out, "federation", "init", f->dir, "--base-port",
                                   port, NULL);
    if (rc != 0) {
        fprintf(stderr, "e2e: ecert federation init exited %d\n", rc);
        fed_path(f, logs, sizeof logs, "logs/cli.log");
        print_tail(logs);
        goto fail;
    }
    if (load_federation(f) != 0 || http_client_new(f->ca, &f->http) != ECERT_OK)
        goto fail;
    for (size_t i = 0; i < f->nnodes; i++)
        f->nodes[i].exit_status = -2; /* not started */
    for (size_t i = 0; i < nsets; i++) {
        const struct fed_node *nd = fed_node(f, sets[i].node);
        if (!nd || ini_set(nd->ini, sets[i].section, sets[i].key, sets[i].value) != 0) {
            fprintf(stderr, "e2e: cannot set %s.%s in %s's node.ini\n", sets[i].section,
                    sets[i].key, sets[i].node);
            goto fail;
        }
    }
    /* NULL: every node federation.json lists. */
    size_t nstart = 0;
    struct fed_node *start[FED_MAX_NODES];
    for (size_t i = 0; ids ? ids[i] != NULL : i < f->nnodes; i++) {
        struct fed_node *nd = ids ? node_mut(f, ids[i]) : &f->nodes[i];
        if (!nd || nstart == FED_MAX_NODES || spawn_node(nd) != 0)
            goto fail;
        start[nstart++] = nd;
    }
    int64_t until = mono_ms() + HEALTH_WAIT_MS;
    for (size_t i = 0; i < nstart; i++) {
        struct fed_node *nd = start[i];
        while (!healthy(f, nd)) {
            if (node_exited(nd, WNOHANG)) {
                fprintf(stderr, "e2e: %s exited (%d) before answering /healthz on port %d\n",
                        nd->id, nd->exit_status, base);
                print_tail(nd->log);
                *retry = true; /* most likely a port taken meanwhile */
                goto fail;
            }
            if (mono_ms() > until) {
                fprintf(stderr, "e2e: %s does not answer /healthz\n", nd->id);
                print_tail(nd->log);
                goto fail;
            }
            fed_sleep_ms(50);
        }
    }
    return f;
fail:
    kill_all(f);
    if (*retry)
        rm_tree(f->dir);
    else
        fprintf(stderr, "e2e: federation kept in %s\n", f->dir);
    fed_free(f);
    return NULL;
}

struct fed *fed_start(const char *const *ids, const struct fed_ini_set *sets, size_t nsets)
{
    /* Daemons and CLI runs inherit this: leaks found at their exit turn into
     * a non-zero exit status, which fails the run (sanitizer builds only;
     * other builds ignore the variable). */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[1024];
    if (asan && asan[0] && !strstr(asan, "detect_leaks"))
        snprintf(opts, sizeof opts, "%s:detect_leaks=1", asan);
    else if (asan && asan[0])
        snprintf(opts, sizeof opts, "%s", asan);
    else
        snprintf(opts, sizeof opts, "detect_leaks=1");
    setenv("ASAN_OPTIONS", opts, 1);
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        bool retry = false;
        struct fed *f = try_start(attempt, ids, sets, nsets, &retry);
        if (f)
            return f;
        if (!retry)
            return NULL;
        fprintf(stderr, "e2e: port range %d taken, trying another\n", pick_base(attempt));
    }
    return NULL;
}

/* ---- clients --------------------------------------------------------------- */

ecert_client *fed_client(struct fed *f, const char *node_id, const char *app_id,
                         const char *priv_hex)
{
    const struct fed_node *nd = fed_node(f, node_id);
    if (!nd || f->nclients == FED_MAX_CLIENTS || f->nkeys == FED_MAX_KEYS)
        return NULL;
    ecert_key *k = NULL;
    if (ecert_key_parse_private(priv_hex, strlen(priv_hex), &k) != ECERT_OK)
        return NULL;
    f->keys[f->nkeys++] = k;
    ecert_client *c = NULL;
    if (ecert_client_new(nd->url, f->ca, app_id, k, nd->epub, &c) != ECERT_OK) {
        fprintf(stderr, "e2e: ecert_client_new: %s\n", ecert_last_error());
        return NULL;
    }
    f->clients[f->nclients++] = c;
    return c;
}

ecert_client *fed_app_client(struct fed *f, const char *node_id, const char *app_province)
{
    const json_t *app = fed_app(f, app_province);
    if (!app)
        return NULL;
    return fed_client(f, node_id, json_string_value(json_object_get(app, "appId")),
                      json_string_value(json_object_get(app, "privateKey")));
}

int fed_token(ecert_client *trust, const char *holder_code, const char *permission,
              char tok[FED_TOKEN_MAX])
{
    static unsigned seq;
    char txn[32];
    snprintf(txn, sizeof txn, "E2E-T%05u", ++seq);
    int code = -1;
    char *res = NULL, *msg = NULL;
    tok[0] = 0;
    ecert_status st = ecert_trust_token_person(trust, txn, 2, "持证人", holder_code, permission,
                                               &code, &res, &msg);
    if (st != ECERT_OK) {
        fprintf(stderr, "e2e: token call failed: %s\n", ecert_last_error());
        code = -1;
    } else if (code == 0) {
        json_t *j = json_loads(res, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "trustedToken"));
        if (t && strlen(t) < FED_TOKEN_MAX)
            snprintf(tok, FED_TOKEN_MAX, "%s", t);
        else
            code = -1;
        json_decref(j);
    } else {
        fprintf(stderr, "e2e: token refused %d: %s\n", code, msg ? msg : "");
    }
    ecert_free(res);
    ecert_free(msg);
    return code;
}

void fed_purpose(ecert_purpose *p, const char *item_code, const char *biz)
{
    p->use_for = "业务办理";
    p->item_name = "端到端测试事项";
    p->item_code = item_code;
    p->item_org = "苏州市政务服务中心";
    p->operator_name = "王五";
    p->biz_num = biz;
}

/* ---- raw requests ------------------------------------------------------------- */

int fed_spec_http(int code)
{
    /* SPEC §5, column by column. */
    static const struct {
        int code, http;
    } table[] = {
        {0, 200},    {1001, 400}, {1002, 400}, {1003, 400}, {1004, 400}, {2001, 400},
        {2002, 401}, {2003, 401}, {2004, 409}, {3001, 403}, {3002, 401}, {3003, 401},
        {3004, 403}, {3005, 403}, {3006, 403}, {3007, 403}, {3008, 401}, {4001, 404},
        {4002, 409}, {4003, 410}, {5001, 502}, {5002, 504}, {5003, 429}, {5000, 500},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == code)
            return table[i].http;
    return -1;
}

int fed_envelope(struct fed *f, const struct fed_raw_req *rq, struct buf *out, char *nonce_out)
{
    const struct fed_node *nd = fed_node(f, rq->node);
    if (!nd)
        return -1;
    char nonce[ENVELOPE_MAX_NONCE + 1];
    ecert_status st = envelope_request_build(
        rq->app_id, rq->sign_key, rq->enc_to ? rq->enc_to : nd->pub, rq->business,
        strlen(rq->business), envelope_now_ms() + rq->ts_offset_ms, NULL, ECERT_CIPHER_HEX, out,
        nonce);
    if (st) {
        fprintf(stderr, "e2e: envelope_request_build: %s\n", err_detail());
        return -1;
    }
    if (nonce_out)
        memcpy(nonce_out, nonce, strlen(nonce) + 1);
    return 0;
}

void fed_reply_release(struct fed_reply *r)
{
    json_decref(r->result);
    r->result = NULL;
}

int fed_post(struct fed *f, const char *node, const char *path, const void *body, size_t len,
             const struct sm2_key *app_key, const char *nonce, struct fed_reply *out)
{
    memset(out, 0, sizeof *out);
    out->code = -1;
    const struct fed_node *nd = fed_node(f, node);
    if (!nd)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "%s%s", nd->url, path);
    struct buf resp = BUF_INIT(RESP_MAX);
    ecert_status st = http_client_post(f->http, url, body, len, 60000, &out->http, &resp);
    if (st) {
        fprintf(stderr, "e2e: POST %s: %s\n", url, err_detail());
        buf_release(&resp);
        return -1;
    }
    json_t *j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    json_t *code = json_object_get(j, "code");
    if (json_is_integer(code))
        out->code = (int)json_integer_value(code);
    const char *msg = json_string_value(json_object_get(j, "msg"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    snprintf(out->msg, sizeof out->msg, "%s%s%s", msg ? msg : "", detail ? ": " : "",
             detail ? detail : "");
    bool has_sig = json_object_get(j, "signature") != NULL;
    json_decref(j);
    if (has_sig) {
        struct arena a;
        arena_init(&a, RESP_MAX);
        struct envelope_response r;
        struct buf business = BUF_INIT(RESP_MAX);
        if (nonce && app_key) {
            st = envelope_response_open(&a, (const char *)resp.data, resp.len, nd->pub, app_key,
                                        nonce, &r, &business);
        } else {
            st = envelope_response_parse(&a, (const char *)resp.data, resp.len, &r);
            if (!st)
                st = envelope_response_verify(&r, nd->pub);
        }
        if (st) {
            fprintf(stderr, "e2e: the answer of %s does not open: %s\n", url, err_detail());
        } else {
            out->is_signed = r.signature != NULL;
            if (r.code == 0 && business.data)
                out->result = json_loadb((const char *)business.data, business.len, 0, NULL);
        }
        buf_release_secret(&business);
        arena_release(&a);
    }
    buf_release(&resp);
    return 0;
}

int fed_raw(struct fed *f, const struct fed_raw_req *rq, struct fed_reply *out)
{
    struct buf env = BUF_INIT(ENVELOPE_MAX_BODY);
    char nonce[ENVELOPE_MAX_NONCE + 1];
    char path[128];
    snprintf(path, sizeof path, "/api/v1/%s", rq->endpoint);
    int rc = fed_envelope(f, rq, &env, nonce);
    if (rc == 0)
        rc = fed_post(f, rq->node, path, env.data, env.len,
                      rq->app_key ? rq->app_key : rq->sign_key, nonce, out);
    buf_release(&env);
    return rc;
}

int fed_get(struct fed *f, const char *node, const char *path, int *http, struct buf *out)
{
    const struct fed_node *nd = fed_node(f, node);
    if (!nd)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "%s%s", nd->url, path);
    *http = 0;
    return http_client_get(f->http, url, 10000, http, out) == ECERT_OK ? 0 : -1;
}
