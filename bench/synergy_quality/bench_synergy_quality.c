/*
** bench_synergy_quality.c: how well synergy_links finds the automations a home already
** has, when it is not shown them.
**
** For each home of ../shared/data/homes that has automations: import it, read the ground
** truth from its automations, delete them (so nothing in the input says which pairs are
** automated), rank the links, and report where the real pairs land.
**
** Ground truth, at the device level, since automations trigger on a device as often as on
** one of its entities: a pair (trigger unit, action unit) for every trigger and action of
** one automation, a unit being the device of an entity (the entity itself when it has
** none) or a device named by a device trigger/action; helpers (automation, script, scene,
** input_*, timer, group, ...) are not physical devices and are left out, as are pairs of a
** unit with itself. Ranking: each unit pair scores the best of its entity links; pairs
** ordered by score (ties by ids). recall@k: the share of ground-truth pairs ranked within k;
** MRR: the mean of 1/rank (0 for a pair not ranked at all).
**
** Configurations switch signals on one at a time (weights 0 and use_* in synergy_config),
** so each row says what that signal adds. The twins' embedding and cross-encoder have random
** weights: their rows measure noise; pass --embed/--rerank with real model folders to
** measure real ones.
*/
#include "../common.h"

#include <stdlib.h>
#include <string.h>

static const char gt_sql[] =
  "CREATE TEMP TABLE gt AS "
  "WITH m AS ("
  "  SELECT am.automation_id, am.role, coalesce(e.device_id, e.entity_id) AS unit"
  "    FROM synergy_automation_members am JOIN synergy_entities e ON e.entity_id = am.entity_id"
  "   WHERE e.domain NOT IN ('automation', 'script', 'scene', 'input_boolean', 'input_number', 'input_select',"
  "         'input_datetime', 'input_text', 'input_button', 'timer', 'counter', 'group', 'person', 'zone',"
  "         'sun', 'notify', 'persistent_notification')"
  "  UNION SELECT automation_id, role, device_id FROM synergy_automation_members WHERE device_id IS NOT NULL)"
  "SELECT DISTINCT t.unit AS tu, a.unit AS au FROM m t JOIN m a"
  "    ON a.automation_id = t.automation_id AND a.role = 'action'"
  " WHERE t.role = 'trigger' AND t.unit <> a.unit";

/* Unit pairs ranked by their best link, and the ground truth's ranks. */
static const char score_sql[] =
  "WITH l AS (SELECT trigger_entity, action_entity, score FROM synergy_links),"
  " u AS (SELECT CASE WHEN l.trigger_entity LIKE 'device:%' THEN substr(l.trigger_entity, 8)"
  "                   ELSE coalesce(te.device_id, l.trigger_entity) END AS tu,"
  "              CASE WHEN l.action_entity LIKE 'device:%' THEN substr(l.action_entity, 8)"
  "                   ELSE coalesce(ae.device_id, l.action_entity) END AS au, l.score"
  "         FROM l LEFT JOIN synergy_entities te ON te.entity_id = l.trigger_entity"
  "         LEFT JOIN synergy_entities ae ON ae.entity_id = l.action_entity),"
  " p AS (SELECT tu, au, max(score) AS s FROM u WHERE tu <> au GROUP BY tu, au),"
  " r AS (SELECT tu, au, row_number() OVER (ORDER BY s DESC, tu, au) AS rank FROM p),"
  " g AS (SELECT gt.tu, gt.au, r.rank FROM gt LEFT JOIN r ON r.tu = gt.tu AND r.au = gt.au)"
  "SELECT (SELECT count(*) FROM gt), (SELECT count(*) FROM p),"
  "       avg(coalesce(rank <= 10, 0)), avg(coalesce(rank <= 20, 0)), avg(coalesce(rank <= 50, 0)),"
  "       avg(coalesce(1.0 / rank, 0)),"
  "       (SELECT count(*) FROM g WHERE rank IS NOT NULL)"
  "  FROM g";

typedef struct config {
  const char *name;
  const char *sql;          /* applied to the default synergy_config */
  int embed, rerank;        /* models this row loads */
} config;

static const config configs[] = {
  {"capability", "UPDATE synergy_config SET value = 0 WHERE key IN ('w_area', 'w_name', 'use_embedding', 'use_rerank')", 0, 0},
  {"capability+area", "UPDATE synergy_config SET value = 0 WHERE key IN ('w_name', 'use_embedding', 'use_rerank')", 0, 0},
  {"capability+name", "UPDATE synergy_config SET value = 0 WHERE key IN ('w_area', 'use_embedding', 'use_rerank')", 0, 0},
  {"capability+area+name", "UPDATE synergy_config SET value = 0 WHERE key IN ('use_embedding', 'use_rerank')", 0, 0},
  {"+embedding", "UPDATE synergy_config SET value = 0 WHERE key = 'use_rerank'", 1, 0},
  {"+embedding+cross-encoder", "SELECT 1", 1, 1},
};

int main(int argc, char **argv) {
  static const char *const homes[] = {"giom-fr-large.json", "claudegel-fr-zwave.json", "salamandar-fr-small.json",
                                      "crowbar90-it-shelly.json"};
  char path[4096], csv_path[4096];
  FILE *csv;

  bench_init("bench_synergy_quality", 1);
  args.embed = args.rerank = "";   /* not given: the twins in --models */
  parse_args(argc, argv, "[options]", ARG_SO | ARG_MODELS | ARG_EMBED | ARG_RERANK | ARG_SHARED | ARG_OUT | ARG_SETUP_SQL,
             NULL);
  const char *embed_dir = *args.embed ? args.embed : fmt("%s/minilm-l6-embed", args.models);
  const char *rerank_dir = *args.rerank ? args.rerank : fmt("%s/minilm-l6-rerank", args.models);
  snprintf(csv_path, sizeof csv_path, "%s/synergy_quality.csv", args.out);
  csv = out_open(csv_path, "w");
  fprintf(csv, "home,signals,embed_model,rerank_model,gt_pairs,found,ranked_pairs,recall10,recall20,recall50,mrr\n");
  printf("embedding model: %s\ncross-encoder:   %s\nsetup:           %s\n\n", embed_dir, rerank_dir,
         args.setup_sql ? args.setup_sql : "(the defaults of sql/synergy.sql)");
  printf("%-26s %-26s %5s %5s %7s %6s %6s %6s %6s\n", "home", "signals", "pairs", "found", "ranked", "R@10",
         "R@20", "R@50", "MRR");

  for (size_t h = 0; h < sizeof homes / sizeof homes[0]; h++) {
    char *json;
    snprintf(path, sizeof path, "%s/data/homes/%s", args.shared, homes[h]);
    json = read_file(path);
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
      sqlite3 *db = open_db(":memory:", args.so, NULL);
      sqlite3_stmt *st;
      run_sql(db, "SELECT semlite_ha_import(?1)", json, NULL);
      exec_sql(db, gt_sql);
      /* Hide the automations: the input no longer says which pairs exist. */
      exec_sql(db, "DELETE FROM synergy_automation_members; DELETE FROM synergy_automations");
      if (args.setup_sql) exec_sql(db, args.setup_sql);
      exec_sql(db, configs[c].sql);
      if (configs[c].embed || configs[c].rerank) {
        load_model(db, "e", embed_dir, NULL);
        load_model(db, "r", rerank_dir, NULL);
      }
      st = prep(db, score_sql);
      if (sqlite3_step(st) != SQLITE_ROW) die_db(db, "score");
      long gt = sqlite3_column_int64(st, 0), ranked = sqlite3_column_int64(st, 1), found = sqlite3_column_int64(st, 6);
      if (gt > 0) {
        double r10 = sqlite3_column_double(st, 2), r20 = sqlite3_column_double(st, 3),
               r50 = sqlite3_column_double(st, 4), mrr = sqlite3_column_double(st, 5);
        printf("%-26s %-26s %5ld %5ld %7ld %6.3f %6.3f %6.3f %6.3f\n", homes[h], configs[c].name, gt, found, ranked,
               r10, r20, r50, mrr);
        fprintf(csv, "%s,%s,%s,%s,%ld,%ld,%ld,%.4f,%.4f,%.4f,%.4f\n", homes[h], configs[c].name,
                configs[c].embed ? embed_dir : "", configs[c].rerank ? rerank_dir : "", gt, found, ranked, r10,
                r20, r50, mrr);
      } else if (c == 0) {
        printf("%-26s (no device-to-device automations: skipped)\n", homes[h]);
      }
      sqlite3_finalize(st);
      if (configs[c].embed || configs[c].rerank) {
        unload_model(db, "e");
        unload_model(db, "r");
      }
      sqlite3_close(db);
      if (gt == 0) break;
    }
    free(json);
  }
  out_close(csv, csv_path);
  return 0;
}
