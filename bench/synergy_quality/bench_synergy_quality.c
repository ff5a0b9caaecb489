/*
** bench_synergy_quality.c: how well synergy_links finds the automations a home already
** has, when it is not shown them (docs/synergy.md, "Quality").
**
** For every home of SHARED/data/homes (all *.json, in name order): import it, read the
** ground truth from the home document itself, delete the imported automations (so nothing
** in the input says which pairs are automated), read synergy_links as a user reads it,
** and report where the real pairs land.
**
** The counting rule (the one of issue 15):
** - Ground truth at device level: a pair (trigger unit, action unit) for every trigger and
**   action of one automation, a unit being the device of a registered entity (the entity
**   itself when it has none), or a device of a device trigger/action (`*_device_ids` where
**   the document has them, else every device of the `*_devices` name). A group of the
**   document's `groups` key counts as its members (read here from the document, whatever
**   the import fills). Helpers (automation, script, scene, input_*, timer, group, person,
**   zone, sun, notify, ...) are no units; a unit paired with itself is no pair.
** - Ranking: every row of synergy_links, in the order the table gives them, takes one
**   place; a row maps to the unit pair(s) of its two nodes (a `device:` remote to its
**   device, a group to its members' devices). A ground-truth pair's rank is the place of
**   its first row: a row repeating a device pair takes a line as it does on a user's
**   screen.
** - recall@k: ground-truth pairs ranked within k; MRR: the mean of 1/rank (0 for a pair
**   no row names). Per automation: automations with at least one pair within 20. Summed
**   over the homes: counts added, MRR over all pairs.
**
** Configurations: no models; the synthetic twins (--models); the real models when --embed
** and --rerank name folders. Results in OUT/synergy_quality.csv.
*/
#include "../common.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define HELPERS                                                                                        \
  "('automation', 'script', 'scene', 'input_boolean', 'input_number', 'input_select', 'input_datetime', " \
  "'input_text', 'input_button', 'timer', 'counter', 'group', 'person', 'zone', 'sun', 'notify', "         \
  "'persistent_notification')"

/* The document's groups, every node's and entity's units, and the ground truth. */
static const char gt_sql[] =
  "CREATE TEMP TABLE grp AS SELECT g.key AS g, m.value AS member"
  "  FROM home, json_each(home.j, '$.groups') g, json_each(g.value, '$.members') m;"
  "CREATE TEMP TABLE unit_map AS"
  " WITH RECURSIVE ex(src, x) AS (SELECT entity_id, entity_id FROM synergy_entities"
  "   UNION SELECT g, g FROM grp UNION SELECT ex.src, grp.member FROM ex JOIN grp ON grp.g = ex.x)"
  " SELECT DISTINCT ex.src, coalesce(e.device_id, e.entity_id) AS unit"
  "   FROM ex JOIN synergy_entities e ON e.entity_id = ex.x"
  "  WHERE ex.x NOT IN (SELECT g FROM grp) AND e.domain NOT IN " HELPERS
  " UNION SELECT 'device:' || device_id, device_id FROM synergy_devices;"
  "CREATE TEMP TABLE gt AS"
  " WITH a AS (SELECT key AS auto, value AS v FROM home, json_each(home.j, '$.automations')),"
  " r(role) AS (VALUES ('trigger'), ('action')),"
  " m AS (SELECT auto, role, u.unit FROM a, r, json_each(a.v, '$.' || role || '_entities') e"
  "         JOIN unit_map u ON u.src = e.value"
  "  UNION SELECT auto, role, d.value FROM a, r, json_each(a.v, '$.' || role || '_device_ids') d"
  "         WHERE d.value IN (SELECT device_id FROM synergy_devices)"
  "  UNION SELECT auto, role, dv.device_id FROM a, r, json_each(a.v, '$.' || role || '_devices') n"
  "         JOIN synergy_devices dv ON dv.name = n.value"
  "         WHERE json_type(a.v, '$.' || role || '_device_ids') IS NULL)"
  " SELECT DISTINCT t.auto, t.unit AS tu, x.unit AS au FROM m t JOIN m x ON x.auto = t.auto AND x.role = 'action'"
  "  WHERE t.role = 'trigger' AND t.unit <> x.unit;";

/* Each row of synergy_links one place, in the table's order; then the ranks. */
static const char rank_sql[] =
  "CREATE TEMP TABLE place AS SELECT trigger_entity AS t, action_entity AS a FROM synergy_links;"
  "CREATE TEMP TABLE first_place AS SELECT ut.unit AS tu, ua.unit AS au, min(place.rowid) AS pos"
  "  FROM place JOIN unit_map ut ON ut.src = place.t JOIN unit_map ua ON ua.src = place.a"
  " GROUP BY 1, 2;";

static const char score_sql[] =
  "WITH p AS (SELECT DISTINCT tu, au FROM gt),"
  " g AS (SELECT p.tu, p.au, f.pos FROM p LEFT JOIN first_place f ON f.tu = p.tu AND f.au = p.au),"
  " au AS (SELECT gt.auto, min(f.pos) AS pos FROM gt LEFT JOIN first_place f ON f.tu = gt.tu AND f.au = gt.au"
  "        GROUP BY gt.auto)"
  "SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM g WHERE pos IS NOT NULL), (SELECT count(*) FROM place),"
  "  (SELECT count(*) FROM g WHERE pos <= 10), (SELECT count(*) FROM g WHERE pos <= 20),"
  "  (SELECT count(*) FROM g WHERE pos <= 50), (SELECT total(1.0 / pos) FROM g),"
  "  (SELECT count(*) FROM au), (SELECT count(*) FROM au WHERE pos <= 20)";

typedef struct tally {
  long pairs, found, rows, r10, r20, r50, autos, autos20;
  double rr;                 /* sum of 1/rank */
} tally;

typedef struct config {
  const char *name;
  const char *embed, *rerank;   /* model folders, NULL for none */
  tally sum;
} config;

static void print_row(FILE *csv, const char *home, const config *c, const tally *t) {
  double mrr = t->pairs ? t->rr / (double)t->pairs : 0;
  printf("%-28s %-9s %5ld %5ld %6ld %4ld %4ld %4ld %6.3f %5ld %5ld\n", home, c->name, t->pairs, t->found, t->rows,
         t->r10, t->r20, t->r50, mrr, t->autos, t->autos20);
  fprintf(csv, "%s,%s,%s,%s,%ld,%ld,%ld,%ld,%ld,%ld,%.4f,%ld,%ld\n", home, c->name, c->embed ? c->embed : "",
          c->rerank ? c->rerank : "", t->pairs, t->found, t->rows, t->r10, t->r20, t->r50, mrr, t->autos, t->autos20);
}

/* One home under one configuration. */
static tally measure(const char *json, const config *c) {
  sqlite3 *db = open_db(":memory:", args.so, NULL);
  sqlite3_stmt *st;
  tally t = {0};
  run_sql(db, "SELECT semlite_ha_import(?1)", json, NULL);
  exec_sql(db, "CREATE TEMP TABLE home(j TEXT)");
  run_sql(db, "INSERT INTO home VALUES (?1)", json, NULL);
  exec_sql(db, gt_sql);
  /* The groups, as the importer fills them, when it did not. */
  exec_sql(db, "INSERT OR IGNORE INTO synergy_groups SELECT g, member FROM grp"
               " WHERE NOT EXISTS (SELECT 1 FROM synergy_groups)");
  /* Hide the automations: the input no longer says which pairs exist. */
  exec_sql(db, "DELETE FROM synergy_automation_members; DELETE FROM synergy_automations");
  if (args.setup_sql) exec_sql(db, args.setup_sql);
  if (c->embed) load_model(db, "e", c->embed, NULL);
  if (c->rerank) load_model(db, "r", c->rerank, NULL);
  exec_sql(db, rank_sql);
  st = prep(db, score_sql);
  if (sqlite3_step(st) != SQLITE_ROW) die_db(db, "score");
  t.pairs = sqlite3_column_int64(st, 0);
  t.found = sqlite3_column_int64(st, 1);
  t.rows = sqlite3_column_int64(st, 2);
  t.r10 = sqlite3_column_int64(st, 3);
  t.r20 = sqlite3_column_int64(st, 4);
  t.r50 = sqlite3_column_int64(st, 5);
  t.rr = sqlite3_column_double(st, 6);
  t.autos = sqlite3_column_int64(st, 7);
  t.autos20 = sqlite3_column_int64(st, 8);
  sqlite3_finalize(st);
  if (c->embed) unload_model(db, "e");
  if (c->rerank) unload_model(db, "r");
  sqlite3_close(db);
  return t;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  config configs[3] = {{"none", NULL, NULL, {0}}, {"twins", NULL, NULL, {0}}, {"real", NULL, NULL, {0}}};
  size_t n_configs = 2;
  char dir[4096], csv_path[4096];
  strv homes = {0};
  DIR *d;
  struct dirent *de;
  FILE *csv;

  bench_init("bench_synergy_quality", 1);
  args.embed = args.rerank = "";   /* real models only when given */
  parse_args(argc, argv, "[options]", ARG_SO | ARG_MODELS | ARG_EMBED | ARG_RERANK | ARG_SHARED | ARG_OUT | ARG_SETUP_SQL,
             NULL);
  configs[1].embed = fmt("%s/minilm-l6-embed", args.models);
  configs[1].rerank = fmt("%s/minilm-l6-rerank", args.models);
  if (*args.embed || *args.rerank) {
    configs[2].embed = *args.embed ? args.embed : NULL;
    configs[2].rerank = *args.rerank ? args.rerank : NULL;
    n_configs = 3;
  }
  snprintf(dir, sizeof dir, "%s/data/homes", args.shared);
  if (!(d = opendir(dir))) die("cannot open %s", dir);
  while ((de = readdir(d)))
    if (strlen(de->d_name) > 5 && strcmp(de->d_name + strlen(de->d_name) - 5, ".json") == 0)
      strv_push(&homes, xstrdup(de->d_name));
  closedir(d);
  qsort(homes.v, (size_t)homes.n, sizeof *homes.v, by_name);

  snprintf(csv_path, sizeof csv_path, "%s/synergy_quality.csv", args.out);
  csv = out_open(csv_path, "w");
  fprintf(csv, "home,models,embed_model,rerank_model,gt_pairs,found,rows,r10,r20,r50,mrr,automations,automations20\n");
  printf("twins: %s, %s\nreal:  %s, %s\nsetup: %s\nload average: %.2f\n\n", configs[1].embed, configs[1].rerank,
         configs[2].embed ? configs[2].embed : "-", configs[2].rerank ? configs[2].rerank : "-",
         args.setup_sql ? args.setup_sql : "(the defaults of sql/synergy.sql)", load_average(NULL));
  printf("%-28s %-9s %5s %5s %6s %4s %4s %4s %6s %5s %5s\n", "home", "models", "pairs", "found", "rows", "@10",
         "@20", "@50", "MRR", "autos", "au@20");
  for (int h = 0; h < homes.n; h++) {
    char *json;
    snprintf(dir, sizeof dir, "%s/data/homes/%s", args.shared, homes.v[h]);
    json = read_file(dir);
    for (size_t c = 0; c < n_configs; c++) {
      tally t = measure(json, &configs[c]);
      if (t.pairs == 0) {
        printf("%-28s (no device-to-device automations: skipped)\n", homes.v[h]);
        break;
      }
      print_row(csv, homes.v[h], &configs[c], &t);
      configs[c].sum.pairs += t.pairs, configs[c].sum.found += t.found, configs[c].sum.rows += t.rows;
      configs[c].sum.r10 += t.r10, configs[c].sum.r20 += t.r20, configs[c].sum.r50 += t.r50;
      configs[c].sum.rr += t.rr, configs[c].sum.autos += t.autos, configs[c].sum.autos20 += t.autos20;
    }
    free(json);
  }
  for (size_t c = 0; c < n_configs; c++) print_row(csv, "ALL", &configs[c], &configs[c].sum);
  out_close(csv, csv_path);
  strv_free(&homes);
  return 0;
}
