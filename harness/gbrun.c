/* Reading Google Benchmark JSON records; see gbrun.h. */
#include "gbrun.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

pb_status pb_gbrun_find_json(const char *dir, char *out, size_t out_len, char *msg,
                              size_t msg_len)
{
    if (!dir || !out || !out_len) return PB_ERR_NULL;
    DIR *d = opendir(dir);
    if (!d) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %s", dir, strerror(errno));
    char found[1024] = "";
    int count = 0;
    bool preferred = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".json") || e->d_name[0] == '.') continue;
        if (strcmp(e->d_name, "gbench.json") == 0) {
            snprintf(found, sizeof found, "%s", e->d_name);
            preferred = true;
        } else if (!preferred) {
            if (count == 0) snprintf(found, sizeof found, "%s", e->d_name);
        }
        count++;
    }
    closedir(d);
    if (count == 0) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: no .json record in this directory", dir);
    if (count > 1 && !preferred)
        return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %d .json files, name one of them", dir, count);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--; /* "run/" -> "run/x.json" */
    int w = snprintf(out, out_len, "%.*s/%s", (int)dl, dir, found);
    if (w < 0 || (size_t)w >= out_len) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: path too long", dir);
    return PB_OK;
}

/* Google Benchmark writes NaN, Infinity and -Infinity as bare words; turn
 * them into null outside strings so the strict parser accepts the file. */
static char *sanitize(const char *in, size_t n)
{
    char *o = malloc(2 * n + 1); /* "NaN" -> "null" grows by one per 3 */
    if (!o) return NULL;
    size_t j = 0;
    bool in_str = false;
    for (size_t i = 0; i < n;) {
        char c = in[i];
        if (in_str) {
            o[j++] = c;
            if (c == '\\' && i + 1 < n) o[j++] = in[++i];
            else if (c == '"') in_str = false;
            i++;
            continue;
        }
        if (c == '"') in_str = true;
        size_t skip = 0;
        size_t k = i + (c == '-');
        if (n - k >= 3 && strncmp(in + k, "NaN", 3) == 0) skip = k + 3 - i;
        else if (n - k >= 8 && strncmp(in + k, "Infinity", 8) == 0) skip = k + 8 - i;
        if (skip) {
            memcpy(o + j, "null", 4);
            j += 4;
            i += skip;
        } else {
            o[j++] = c;
            i++;
        }
    }
    o[j] = 0;
    return o;
}

static json_t *load_json(const char *path, char *msg, size_t len, pb_status *st)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *st = pb_errorf(msg, len, PB_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb) free(buf);
        buf = nb;
    }
    bool rerr = ferror(f);
    fclose(f);
    if (!buf) {
        *st = pb_errorf(msg, len, PB_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (rerr) {
        free(buf);
        *st = pb_errorf(msg, len, PB_ERR_IO, "%s: read error", path);
        return NULL;
    }
    char *clean = sanitize(buf, n);
    free(buf);
    if (!clean) {
        *st = pb_errorf(msg, len, PB_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loads(clean, 0, &jerr);
    free(clean);
    if (!root) {
        *st = pb_errorf(msg, len, PB_ERR_IO, "%s: not valid JSON: line %d: %s", path, jerr.line,
                   jerr.text);
        return NULL;
    }
    *st = PB_OK;
    return root;
}

static double unit_to_ns(const char *unit, bool *ok)
{
    *ok = true;
    if (!unit || strcmp(unit, "ns") == 0) return 1;
    if (strcmp(unit, "us") == 0) return 1e3;
    if (strcmp(unit, "ms") == 0) return 1e6;
    if (strcmp(unit, "s") == 0) return 1e9;
    *ok = false;
    return 0;
}

/* Keys of a benchmark entry that are not user counters. */
static bool is_builtin_key(const char *k)
{
    static const char *const keys[] = {
        "name", "run_name", "run_type", "family_index", "per_family_instance_index",
        "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
        "time_unit", "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
        "label", "big_o", "rms", "complexity"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(k, keys[i]) == 0) return true;
    return false;
}

static bool listed_exact(json_t *exact_list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(exact_list, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) return true;
    }
    return false;
}

static pb_gbrun_case *find_mut(const pb_gbrun *rec, const char *name)
{
    for (size_t i = 0; i < rec->ncases; i++)
        if (strcmp(rec->cases[i].name, name) == 0) return &rec->cases[i];
    return NULL;
}

static pb_gbrun_case *get_case(pb_gbrun *rec, const char *name)
{
    for (size_t i = 0; i < rec->ncases; i++)
        if (strcmp(rec->cases[i].name, name) == 0) return &rec->cases[i];
    if (rec->ncases == rec->cap) {
        size_t nc = rec->cap ? 2 * rec->cap : 16;
        pb_gbrun_case *c = realloc(rec->cases, nc * sizeof *c);
        if (!c) return NULL;
        rec->cases = c;
        rec->cap = nc;
    }
    pb_gbrun_case *c = &rec->cases[rec->ncases];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    if (!c->name) return NULL;
    c->median_real_ns = c->median_cpu_ns = NAN;
    rec->ncases++;
    return c;
}

static bool push_time(pb_gbrun_case *c, double real_ns, double cpu_ns)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 16;
        double *r = realloc(c->real_ns, nc * sizeof *r);
        if (!r) return false;
        c->real_ns = r;
        double *p = realloc(c->cpu_ns, nc * sizeof *p);
        if (!p) return false;
        c->cpu_ns = p;
        c->cap = nc;
    }
    c->real_ns[c->n] = real_ns;
    c->cpu_ns[c->n] = cpu_ns;
    c->n++;
    return true;
}

static bool is_exact(const char *key, json_t *exact_list)
{
    return strncmp(key, "sim_", 4) == 0 || listed_exact(exact_list, key);
}

/* Numeric keys of `entry` that are not Google Benchmark's own; with
 * only_exact, just the exact ones. */
static bool add_counters(pb_gbrun_case *c, json_t *entry, json_t *exact_list, bool only_exact)
{
    const char *key;
    json_t *v;
    json_object_foreach(entry, key, v)
    {
        if (is_builtin_key(key) || !json_is_number(v)) continue;
        if (only_exact && !is_exact(key, exact_list)) continue;
        bool seen = false;
        for (size_t i = 0; i < c->ncounters && !seen; i++) seen = strcmp(c->counters[i].name, key) == 0;
        if (seen) continue;
        pb_gbrun_counter *nc = realloc(c->counters, (c->ncounters + 1) * sizeof *nc);
        if (!nc) return false;
        c->counters = nc;
        pb_gbrun_counter *k = &nc[c->ncounters];
        k->name = strdup(key);
        if (!k->name) return false;
        k->value = json_number_value(v);
        k->exact = is_exact(key, exact_list);
        c->ncounters++;
    }
    return true;
}

/* poolbench's own per-case list (context.poolbench.cases[], see
 * results/README.md): exact counters counted in a separate pass (e.g.
 * sim_*) are attached to the case of the same benchmark name, and a case
 * that failed verification (so was never timed) is marked failed. */
static bool add_context_cases(pb_gbrun *rec, json_t *root, json_t *exact_list)
{
    json_t *cases = json_object_get(json_object_get(json_object_get(root, "context"), "poolbench"), "cases");
    size_t i;
    json_t *e;
    json_array_foreach(cases, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || !*name) continue;
        char rt[1024];
        snprintf(rt, sizeof rt, "%s/real_time", name);
        pb_gbrun_case *c = find_mut(rec, name);
        if (!c) c = find_mut(rec, rt);
        const char *verify = json_string_value(json_object_get(e, "verify"));
        bool failed = verify && (strcmp(verify, "FAIL") == 0 || strcmp(verify, "ERROR") == 0);
        json_t *ctr = json_object_get(e, "counters");
        bool has_exact = false;
        const char *key;
        json_t *v;
        json_object_foreach(ctr, key, v) has_exact |= json_is_number(v) && is_exact(key, exact_list);
        if (!c && !has_exact && !failed) continue;
        if (!c && !(c = get_case(rec, name))) return false;
        if (failed && !c->error) {
            const char *d = json_string_value(json_object_get(e, "detail"));
            char m[512];
            snprintf(m, sizeof m, "verify %s: %s", verify, d ? d : "");
            if (!(c->error = strdup(m))) return false;
        }
        if (has_exact && !add_counters(c, ctr, exact_list, true)) return false;
    }
    return true;
}

static double num_or_nan(json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

pb_status pb_gbrun_load(const char *path, pb_gbrun *rec, char *msg, size_t msg_len)
{
    if (!path || !rec) return PB_ERR_NULL;
    memset(rec, 0, sizeof *rec);
    char file[1200];
    struct stat sb;
    if (stat(path, &sb) != 0) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        pb_status st = pb_gbrun_find_json(path, file, sizeof file, msg, msg_len);
        if (st != PB_OK) return st;
    } else {
        snprintf(file, sizeof file, "%s", path);
    }
    pb_status st;
    json_t *root = load_json(file, msg, msg_len, &st);
    if (!root) return st;
    json_t *benchmarks = json_object_get(root, "benchmarks");
    if (!json_is_array(benchmarks)) {
        json_decref(root);
        return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: no \"benchmarks\" array: not a Google Benchmark record", file);
    }
    json_t *exact_list = json_object_get(json_object_get(json_object_get(root, "context"), "poolbench"),
                                         "exact_counters");
    rec->json = root;
    rec->path = strdup(file);
    if (!rec->path) goto nomem;

    size_t i;
    json_t *e;
    json_array_foreach(benchmarks, i, e)
    {
        if (!json_is_object(e)) continue;
        const char *name = json_string_value(json_object_get(e, "run_name"));
        if (!name) name = json_string_value(json_object_get(e, "name"));
        if (!name) {
            pb_gbrun_free(rec);
            return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: benchmarks[%zu] has no name", file, i);
        }
        const char *type = json_string_value(json_object_get(e, "run_type"));
        bool ok_unit;
        double scale = unit_to_ns(json_string_value(json_object_get(e, "time_unit")), &ok_unit);
        if (!ok_unit) {
            pb_gbrun_free(rec);
            return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: benchmarks[%zu]: unknown time_unit", file, i);
        }
        pb_gbrun_case *c = get_case(rec, name);
        if (!c) goto nomem;
        if (json_is_true(json_object_get(e, "error_occurred"))) {
            if (!c->error) {
                const char *m = json_string_value(json_object_get(e, "error_message"));
                c->error = strdup(m ? m : "error");
                if (!c->error) goto nomem;
            }
            continue;
        }
        double real = num_or_nan(json_object_get(e, "real_time")) * scale;
        double cpu = num_or_nan(json_object_get(e, "cpu_time")) * scale;
        if (type && strcmp(type, "aggregate") == 0) {
            const char *agg = json_string_value(json_object_get(e, "aggregate_name"));
            if (agg && strcmp(agg, "median") == 0) {
                c->median_real_ns = real;
                c->median_cpu_ns = cpu;
            }
            continue;
        }
        if (!push_time(c, real, cpu) || !add_counters(c, e, exact_list, false)) goto nomem;
    }
    if (!add_context_cases(rec, root, exact_list)) goto nomem;
    return PB_OK;
nomem:
    pb_gbrun_free(rec);
    return pb_errorf(msg, msg_len, PB_ERR_NOMEM, "%s: out of memory", file);
}

void pb_gbrun_free(pb_gbrun *rec)
{
    if (!rec) return;
    for (size_t i = 0; i < rec->ncases; i++) {
        pb_gbrun_case *c = &rec->cases[i];
        free(c->name);
        free(c->real_ns);
        free(c->cpu_ns);
        for (size_t k = 0; k < c->ncounters; k++) free(c->counters[k].name);
        free(c->counters);
        free(c->error);
    }
    free(rec->cases);
    free(rec->path);
    if (rec->json) json_decref((json_t *)rec->json);
    memset(rec, 0, sizeof *rec);
}

const pb_gbrun_case *pb_gbrun_find(const pb_gbrun *rec, const char *name)
{
    return rec && name ? find_mut(rec, name) : NULL;
}
