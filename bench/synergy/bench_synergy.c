/*
** bench_synergy.c: time and memory of the synergy pipeline (semlite_ha_import, then
** synergy_paths), per home size and search depth, with both models loaded.
**
** Homes: the real giom home (../shared/data/homes, 208 devices, 1,745 entities) cut to its
** first N devices by device_id (HA's ids are random hex, so this is a reproducible, unbiased
** sample) with their entities, for N in --sizes, then the whole home ("all").
**
** Per home, one fresh connection per measurement, so "cold" means nothing cached:
**   import   semlite_ha_import of the home's JSON
**   load     semlite_model_load of the embedding twin and the cross-encoder twin (--dtype)
**   links    a synergy_links scan with both models switched off (use_embedding/use_rerank 0):
**            reading the tables, the capability rules, cheap link scoring
**   embed    the same scan with the embedding model, minus `links`: descriptor texts, their
**            embeddings (cold: all of them), the cache writes
**   rerank   the scan with both models, minus the same scan with embeddings warm and no
**            cross-encoder: the statements and the cross-encoder on the best links
**   search   synergy_paths at the depth, warm, minus a warm synergy_links scan
**   cold     import + load + the first synergy_paths at the depth, in a fresh connection,
**            the models loaded afresh (unloaded after every connection: they are
**            process-wide); their files stay in the OS page cache, as on a running hub
**   warm     the same synergy_paths again (descriptor and hop-score caches filled)
** Phases are differences of whole scans, so they carry the machine's noise twice.
** peak_rss_mb is getrusage's maximum for the process so far (sizes run in increasing order,
** so the row of the largest home holds the peak); run once per dtype, in its own process.
*/
#include "../common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_LIST 8

typedef struct opts {
  const char *dtype;
  long sizes[MAX_LIST];
  int n_sizes;
  long depths[MAX_LIST];
  int n_depths;
  int append;
} opts;

static void parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){ .dtype = "fp32", .sizes = {10, 20, 50, 100, 200}, .n_sizes = 5, .depths = {2, 3, 4, 5}, .n_depths = 4 };
  const bench_opt own[] = {
    OPT_LIST("--sizes", OPT_LONGS, o->sizes, "LIST", "devices per sampled home; the whole home is always added",
             &o->n_sizes, MAX_LIST),
    OPT_LIST("--depths", OPT_LONGS, o->depths, "LIST", "max_depth values", &o->n_depths, MAX_LIST),
    OPT("--dtype", OPT_STR, &o->dtype, "NAME", "fp32 or int8"),
    OPT("--append", OPT_FLAG, &o->append, NULL, "append to synergy.csv instead of starting it"),
    OPT_END,
  };
  parse_args(argc, argv, "[options]", ARG_SO | ARG_MODELS | ARG_SHARED | ARG_HOME | ARG_OUT, own);
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

/* The home cut to its first n devices (by id) and their entities, as home-format JSON. */
static char *sample_home(sqlite3 *src, long n) {
  static const char sql[] =
    "WITH dev AS (SELECT * FROM synergy_devices WHERE device_id IN"
    "  (SELECT DISTINCT device_id FROM synergy_entities WHERE device_id IS NOT NULL ORDER BY device_id LIMIT ?1)),"
    " ent AS (SELECT * FROM synergy_entities WHERE device_id IN (SELECT device_id FROM dev))"
    "SELECT json_object("
    " 'areas', (SELECT json_group_array(json_object('area_id', area_id, 'name', name)) FROM synergy_areas),"
    " 'devices', (SELECT json_group_array(json_object('device_id', device_id, 'name', name, 'manufacturer',"
    "   manufacturer, 'model', model, 'area_id', area_id, 'disabled', json(iif(disabled, 'true', 'false')))) FROM dev),"
    " 'entities', (SELECT json_group_array(json_object('entity_id', entity_id, 'domain', domain, 'name', name,"
    "   'area_id', area_id, 'device_id', device_id, 'device_class', device_class, 'unit', unit, 'platform', platform,"
    "   'entity_category', entity_category, 'disabled', json(iif(disabled, 'true', 'false')),"
    "   'hidden', json(iif(hidden, 'true', 'false')))) FROM ent))";
  sqlite3_stmt *st;
  char *out;
  st = prep(src, sql);
  sqlite3_bind_int64(st, 1, n);
  if (sqlite3_step(st) != SQLITE_ROW) die_db(src, "sample");
  out = xstrdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return out;
}

/* Both models, as 'e' and 'r'; *ms: the two loads' wall time. */
static void load_models(sqlite3 *db, const opts *o, double *ms) {
  char *e = fmt("%s/minilm-l6-embed", args.models), *r = fmt("%s/minilm-l6-rerank", args.models);
  *ms = load_model(db, "e", e, o->dtype) + load_model(db, "r", r, o->dtype);
  sqlite3_free(e);
  sqlite3_free(r);
}

/* Models are process-wide: unloaded after each connection, so that the next "cold" run
** loads them again rather than finding them loaded. */
static void unload_models(sqlite3 *db) {
  unload_model(db, "e");
  unload_model(db, "r");
}

static void use(sqlite3 *db, int embedding, int rerank) {
  char sql[160];
  snprintf(sql, sizeof sql,
           "UPDATE synergy_config SET value = CASE key WHEN 'use_embedding' THEN %d ELSE %d END"
           " WHERE key IN ('use_embedding', 'use_rerank')", embedding, rerank);
  run_sql(db, sql, NULL, NULL);
}

typedef struct row {
  char home[16];
  long devices, entities, nodes, links, depth, paths;
  double import_ms, load_ms, links_ms, embed_ms, rerank_ms, search_ms, cold_ms, warm_ms, rss_mb;
} row;

static void measure_home(const opts *o, const char *label, const char *json, FILE *csv) {
  sqlite3 *db = open_db(":memory:", args.so, NULL);
  row base = {0};
  double t_links, t_emb_cold, t_emb_warm, t_all_cold, t_all_warm;
  snprintf(base.home, sizeof base.home, "%s", label);

  /* Phases, in one connection. The process-wide L1 would serve descriptors another home
  ** of this run embedded: off, so that "cold" means cold. */
  run_sql(db, "UPDATE semlite_limits SET value = 0 WHERE name = 'l1_cache_mb'", NULL, NULL);
  run_sql(db, "SELECT semlite_ha_import(?1)", json, &base.import_ms);
  load_models(db, o, &base.load_ms);
  base.devices = run_sql(db, "SELECT count(*) FROM synergy_devices", NULL, NULL);
  base.entities = run_sql(db, "SELECT count(*) FROM synergy_entities", NULL, NULL);
  use(db, 0, 0);
  base.links = run_sql(db, "SELECT count(*) FROM synergy_links", NULL, &t_links);
  use(db, 1, 0);
  run_sql(db, "SELECT count(*) FROM synergy_links", NULL, &t_emb_cold);
  run_sql(db, "SELECT count(*) FROM synergy_links", NULL, &t_emb_warm);
  base.nodes = run_sql(db, "SELECT count(*) FROM synergy_descriptors", NULL, NULL);
  use(db, 1, 1);
  run_sql(db, "SELECT count(*) FROM synergy_links", NULL, &t_all_cold);
  run_sql(db, "SELECT count(*) FROM synergy_links", NULL, &t_all_warm);
  base.links_ms = t_links;
  base.embed_ms = t_emb_cold - t_links;
  base.rerank_ms = t_all_cold - t_emb_warm;

  double search_ms[MAX_LIST];
  long paths[MAX_LIST];
  for (int d = 0; d < o->n_depths; d++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM synergy_paths WHERE max_depth = %ld", o->depths[d]);
    paths[d] = run_sql(db, sql, NULL, &search_ms[d]);
    search_ms[d] -= t_all_warm;
  }
  unload_models(db);
  sqlite3_close(db);

  for (int d = 0; d < o->n_depths; d++) {
    row r = base;
    char sql[128];
    sqlite3 *cold = open_db(":memory:", args.so, NULL);
    double a, b, c;
    r.depth = o->depths[d];
    r.paths = paths[d];
    r.search_ms = search_ms[d];
    /* Cold and warm, end to end, in a fresh connection with the models loaded afresh. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM synergy_paths WHERE max_depth = %ld", r.depth);
    run_sql(cold, "SELECT semlite_ha_import(?1)", json, &a);
    load_models(cold, o, &b);
    run_sql(cold, sql, NULL, &c);
    r.cold_ms = a + b + c;
    run_sql(cold, sql, NULL, &r.warm_ms);
    unload_models(cold);
    sqlite3_close(cold);
    r.rss_mb = peak_rss_mb();
    printf("%-5s %4s %7ld %8ld %5ld %6ld %5ld %6ld %8.1f %6.1f %7.1f %8.1f %8.1f %7.1f %8.1f %7.1f %6.0f\n",
           r.home, o->dtype, r.devices, r.entities, r.nodes, r.links, r.depth, r.paths, r.import_ms,
           r.load_ms, r.links_ms, r.embed_ms, r.rerank_ms, r.search_ms, r.cold_ms, r.warm_ms, r.rss_mb);
    fflush(stdout);
    fprintf(csv, "%s,%s,%ld,%ld,%ld,%ld,%ld,%ld,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.1f\n", r.home,
            o->dtype, r.devices, r.entities, r.nodes, r.links, r.depth, r.paths, r.import_ms, r.load_ms,
            r.links_ms, r.embed_ms, r.rerank_ms, r.search_ms, r.cold_ms, r.warm_ms, r.rss_mb);
  }
}

int main(int argc, char **argv) {
  opts o;
  char path[4096];
  char *full;
  sqlite3 *src;
  FILE *csv;

  bench_init("bench_synergy", 1);
  parse_opts(argc, argv, &o);
  snprintf(path, sizeof path, "%s/data/homes/%s", args.shared, args.home);
  full = read_file(path);
  snprintf(path, sizeof path, "%s/synergy.csv", args.out);
  csv = out_open(path, o.append ? "a" : "w");
  if (!o.append)
    fprintf(csv, "home,dtype,devices,entities,nodes,links,depth,paths,import_ms,load_ms,links_ms,embed_ms,"
                 "rerank_ms,search_ms,cold_ms,warm_ms,peak_rss_mb\n");

  src = open_db(":memory:", args.so, NULL);
  run_sql(src, "SELECT semlite_ha_import(?1)", full, NULL);
  printf("home  dtype devices entities nodes  links depth  paths import_ms load_ms links_ms embed_ms rerank_ms "
         "search_ms  cold_ms warm_ms rss_mb\n");
  for (int s = 0; s < o.n_sizes; s++) {
    char label[16], *json = sample_home(src, o.sizes[s]);
    snprintf(label, sizeof label, "%ld", o.sizes[s]);
    measure_home(&o, label, json, csv);
    free(json);
  }
  measure_home(&o, "all", full, csv);
  sqlite3_close(src);
  out_close(csv, path);
  free(full);
  return 0;
}
