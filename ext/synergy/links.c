/*
** links.c: which node can drive which, and how well (docs/synergy.md, "Hop score").
**
** The capability rules are a gate and a signal: a pair exists only when the most
** specific matching rule has a weight above 0. Its cheap score blends that weight with
** area affinity, shared name words and (when the home has embeddings) descriptor
** similarity; only the `candidates` best actions per trigger are kept, and only the
** `rerank_top` best of those overall are shown to the cross-encoder (by the caller), so
** the expensive model never sees all pairs. Cost: O(T x A) cheap scores for T triggers
** and A actions (plus one dot product each with embeddings), O(T x candidates) memory.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/alloc.h"
#include "synergy.h"

/* ---- rules: the most specific matching row per (trigger node, action domain) ---- */

typedef struct domain_table {
  const char **names;   /* distinct domains of the nodes, in first-seen order */
  size_t n;
  uint32_t *of_node;    /* per node: index in names */
} domain_table;

static int domains_build(const sl_syn_home *h, domain_table *d, sl_err *err) {
  d->names = sl_malloc((h->n ? h->n : 1) * sizeof *d->names);
  d->of_node = sl_malloc((h->n ? h->n : 1) * sizeof *d->of_node);
  d->n = 0;
  if (!d->names || !d->of_node) return sl_oom(err);
  for (size_t i = 0; i < h->n; i++) {
    size_t k = 0;
    while (k < d->n && strcmp(d->names[k], h->nodes[i].domain) != 0) k++;
    if (k == d->n) d->names[d->n++] = h->nodes[i].domain;
    d->of_node[i] = (uint32_t)k;
  }
  return SL_OK;
}

static void domains_free(domain_table *d) {
  sl_free(d->names);
  sl_free(d->of_node);
}

static int is_any(const char *s) { return s && strcmp(s, "*") == 0; }

/* The rule for trigger node t acting on domain `action`, or -1: exact class beats '*',
** then exact action domain beats '*'; among equals the first row. A weight-0 winner
** forbids the pair. */
static long rule_for(const sl_syn_home *h, const sl_syn_node *t, const char *action) {
  long best = -1;
  int best_rank = -1;
  for (size_t r = 0; r < h->n_rules; r++) {
    const sl_syn_rule *rule = &h->rules[r];
    int class_exact, domain_exact, rank;
    if (strcmp(rule->trigger_domain, t->domain) != 0) continue;
    class_exact = !is_any(rule->trigger_class);
    if (class_exact && (!t->device_class || strcmp(rule->trigger_class, t->device_class) != 0)) continue;
    domain_exact = !is_any(rule->action_domain);
    if (domain_exact && strcmp(rule->action_domain, action) != 0) continue;
    rank = class_exact * 2 + domain_exact;
    if (rank > best_rank) {
      best_rank = rank;
      best = (long)r;
    }
  }
  return best >= 0 && h->rules[best].weight > 0 ? best : -1;
}

/* ---- names: words the two names share ---- */

/* Words that say what kind of thing it is rather than which one: the rules and the
** domain already carry that, and "light" in two names says nothing about a link. */
static const char *const stop_words[] = {
  "the", "and", "for", "with", "light", "lights", "lamp", "bulb", "sensor", "switch", "plug",
  "des", "les", "capteur", "lumiere", "lumière", "interrupteur", "prise", "ampoule", NULL};

static uint32_t fnv1a(const unsigned char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
  return h;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Lower-cased words of 3+ bytes (letters, digits and any non-ASCII byte, so accented
** words stay whole) and acronyms of two capitals, hashed, sorted, unique, stop words left
** out. */
#define MAX_WORDS 24
typedef struct word_set {
  uint32_t h[MAX_WORDS];
  int n;
} word_set;

size_t sl_syn_name_word(const char **name, char *buf, size_t cap) {
  const unsigned char *s = (const unsigned char *)*name;
  while (*s) {
    size_t len = 0;
    int upper = 1, stop = 0;
    while (*s && !(*s >= 0x80 || (*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))) s++;
    while (*s >= 0x80 || (*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')) {
      upper &= *s >= 'A' && *s <= 'Z';
      if (len + 1 < cap) buf[len++] = (char)(*s < 0x80 ? (unsigned char)(*s | (*s >= 'A' ? 0x20 : 0)) : *s);
      s++;
    }
    buf[len] = 0;
    /* Two capitals are an acronym that names a thing ("TV", "AC"), not a short word. */
    if (len < 3 && !(len == 2 && upper)) continue;
    for (const char *const *sw = stop_words; *sw && !stop; sw++) stop = strcmp(buf, *sw) == 0;
    if (stop) continue;
    *name = (const char *)s;
    return len;
  }
  *name = (const char *)s;
  return 0;
}

static void name_words(const char *name, word_set *w) {
  char buf[64];
  size_t len;
  w->n = 0;
  while (w->n < MAX_WORDS && (len = sl_syn_name_word(&name, buf, sizeof buf)) > 0)
    w->h[w->n++] = fnv1a((const unsigned char *)buf, len);
  qsort(w->h, (size_t)w->n, sizeof w->h[0], cmp_u32);
  int u = 0;
  for (int i = 0; i < w->n; i++)
    if (u == 0 || w->h[u - 1] != w->h[i]) w->h[u++] = w->h[i];
  w->n = u;
}

/* Dice coefficient of two word sets, 0 when either is empty. */
static float dice(const word_set *a, const word_set *b) {
  int i = 0, j = 0, common = 0;
  if (!a->n || !b->n) return 0;
  while (i < a->n && j < b->n) {
    if (a->h[i] == b->h[j]) common++, i++, j++;
    else if (a->h[i] < b->h[j]) i++;
    else j++;
  }
  return 2.0f * (float)common / (float)(a->n + b->n);
}

/* ---- scoring ---- */

/* The cosine of two descriptor embeddings, clamped to [0, 1]. */
static float cosine(const sl_syn_home *h, size_t t, size_t a) {
  const float *x = h->vecs + t * h->dim, *y = h->vecs + a * h->dim;
  float dot = 0;
  for (size_t k = 0; k < h->dim; k++) dot += x[k] * y[k];
  return dot > 0 ? (dot < 1 ? dot : 1) : 0;
}

/* The recorder's signal of (t, a), 0 when it has no row for them. */
static float history_of(const sl_syn_home *h, uint32_t t, uint32_t a) {
  size_t lo = 0, hi = h->n_history;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const sl_syn_history *x = &h->history[mid];
    if (x->t == t && x->a == a) return x->value;
    if (x->t < t || (x->t == t && x->a < a)) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* Mean and standard deviation of values (n of them, their sum and sum of squares). */
static void moments(double n, double sum, double sum2, double *mean, double *sd) {
  double var;
  *mean = n > 0 ? sum / n : 0;
  var = n > 1 ? sum2 / n - *mean * *mean : 0;
  *sd = var > 0 ? sqrt(var) : 0;
}

/* A model signal's weight w, scaled by how much it separates the pairs it scores: its
** standard deviation sd over them against `spread`, w x clamp(2 sd / spread - 1, 0, 1):
** nothing at half the spread or less, all of w from the spread on. A model that gives
** every pair about the same value (a random or off-domain one) so cannot reorder what
** capability, area and names decide. */
static double scaled_weight(double w, double sd, double spread) {
  double f = spread > 0 ? 2 * sd / spread - 1 : 1;
  if (!(w > 0) || !(f > 0)) return 0;
  return f < 1 ? w * f : w;
}

/* Better link first: higher score, then lower action node (then trigger) index. */
static int better(float s1, uint32_t a1, float s2, uint32_t a2) {
  return s1 > s2 || (s1 == s2 && a1 < a2);
}

/* The rule of each (trigger t, action domain) into rules[] (-1: none); whether any. */
static int rules_of_trigger(const sl_syn_home *h, const domain_table *dom, const sl_syn_node *tn, long *rules) {
  int any = 0;
  for (size_t d = 0; d < dom->n; d++) any |= (rules[d] = rule_for(h, tn, dom->names[d])) >= 0;
  return any;
}

/* Whether a may act for t under rule r: a rule, two nodes of two devices, and a is no
** remote (a device that only sends device triggers). */
static int may_act(const sl_syn_node *tn, const sl_syn_node *an, long r) {
  if (r < 0 || tn == an || strncmp(an->id, "device:", 7) == 0) return 0;
  return !(tn->device_id && an->device_id && strcmp(tn->device_id, an->device_id) == 0);
}

/* Asked every million pair scores or so: nonzero (err set) when the caller interrupts. */
static int check_interrupt(const sl_syn_home *h, size_t *work, sl_err *err) {
  if ((*work += h->n * (1 + h->dim / 16)) < (1u << 20)) return 0;
  *work = 0;
  if (h->interrupted && h->interrupted(h->interrupt_ctx)) return sl_fail_code(err, SL_SYN_INTERRUPTED, "interrupted");
  return 0;
}

/* The embedding's weight for this home: scaled_weight over the pairs the rules allow of
** at most 64 triggers (every n/64-th node), so that it costs a bounded share of the
** pair scores. */
static int embedding_weight(const sl_syn_home *h, const sl_syn_config *cfg, const domain_table *dom, long *rules,
                            double *w, sl_err *err) {
  double n = 0, sum = 0, sum2 = 0;
  size_t work = 0;
  *w = 0;
  if (!h->vecs || !(cfg->w_embedding > 0)) return SL_OK;
  for (size_t t = 0, step = h->n > 64 ? h->n / 64 : 1; t < h->n; t += step) {
    if (check_interrupt(h, &work, err)) return SL_ERROR;
    if (!rules_of_trigger(h, dom, &h->nodes[t], rules)) continue;
    for (size_t a = 0; a < h->n; a++) {
      float e;
      if (!may_act(&h->nodes[t], &h->nodes[a], rules[dom->of_node[a]])) continue;
      e = cosine(h, t, a);
      n++, sum += e, sum2 += (double)e * e;
    }
  }
  {
    double mean, sd;
    moments(n, sum, sum2, &mean, &sd);
    *w = scaled_weight(cfg->w_embedding, sd, cfg->embedding_spread);
  }
  return SL_OK;
}

int sl_syn_links_build(const sl_syn_home *h, const sl_syn_config *cfg, sl_syn_graph *g,
                       sl_err *err) {
  domain_table dom = {0};
  long *rules = NULL;          /* per (domain of the trigger's action) */
  word_set *words = NULL;
  sl_syn_link *top = NULL;
  double wsum, w_hist = h->has_history ? cfg->w_history : 0;
  int rc = SL_ERROR;

  memset(g, 0, sizeof *g);
  g->n = h->n;
  g->first = sl_calloc(h->n + 1, sizeof *g->first);
  if (!g->first || domains_build(h, &dom, err)) goto done;
  rules = sl_malloc((dom.n ? dom.n : 1) * sizeof *rules);
  words = sl_malloc((h->n ? h->n : 1) * sizeof *words);
  top = sl_malloc((cfg->candidates ? cfg->candidates : 1) * sizeof *top);
  g->links = sl_malloc((h->n * cfg->candidates + 1) * sizeof *g->links);
  if (!rules || !words || !top || !g->links) {
    sl_oom(err);
    goto done;
  }
  for (size_t i = 0; i < h->n; i++) name_words(h->nodes[i].name, &words[i]);
  if (embedding_weight(h, cfg, &dom, rules, &g->w_embedding, err)) goto done;
  wsum = cfg->w_capability + cfg->w_area + cfg->w_name + g->w_embedding + w_hist;
  g->cheap_weight = wsum;

  for (size_t t = 0, work = 0; t < h->n; t++) {
    const sl_syn_node *tn = &h->nodes[t];
    size_t kept = 0;
    if (check_interrupt(h, &work, err)) goto done;
    g->first[t] = g->n_links;
    if (!rules_of_trigger(h, &dom, tn, rules)) continue;
    for (size_t a = 0; a < h->n; a++) {
      const sl_syn_node *an = &h->nodes[a];
      long r = rules[dom.of_node[a]];
      sl_syn_link l;
      if (!may_act(tn, an, r)) continue;
      l.t = (uint32_t)t;
      l.a = (uint32_t)a;
      l.rule = (uint32_t)r;
      l.capability = (float)h->rules[r].weight;
      l.area = tn->area_id && an->area_id ? (strcmp(tn->area_id, an->area_id) == 0 ? 1.0f : 0.0f)
                                           : (float)cfg->area_unknown;
      l.name = dice(&words[t], &words[a]);
      l.embedding = h->vecs ? cosine(h, t, a) : 0;
      l.history = h->has_history ? history_of(h, l.t, l.a) : 0;
      l.cheap = wsum > 0 ? (float)((cfg->w_capability * l.capability + cfg->w_area * l.area +
                                    cfg->w_name * l.name + g->w_embedding * l.embedding + w_hist * l.history) /
                                   wsum)
                         : l.capability;
      l.score = l.cheap;
      l.rerank = NAN;
      l.automated = 0;
      /* Insertion into the `candidates` best so far, best first. */
      if (kept == cfg->candidates && !better(l.cheap, l.a, top[kept - 1].cheap, top[kept - 1].a)) continue;
      size_t at = kept < cfg->candidates ? kept++ : kept - 1;
      while (at > 0 && better(l.cheap, l.a, top[at - 1].cheap, top[at - 1].a)) {
        top[at] = top[at - 1];
        at--;
      }
      top[at] = l;
    }
    memcpy(g->links + g->n_links, top, kept * sizeof *top);
    g->n_links += kept;
  }
  g->first[h->n] = g->n_links;
  rc = SL_OK;
done:
  domains_free(&dom);
  sl_free(rules);
  sl_free(words);
  sl_free(top);
  if (rc) sl_syn_graph_free(g);
  return rc;
}

static int by_cheap(const void *x, const void *y, void *arg) {
  const sl_syn_link *links = arg, *a = &links[*(const size_t *)x], *b = &links[*(const size_t *)y];
  if (a->cheap != b->cheap) return a->cheap > b->cheap ? -1 : 1;
  if (a->t != b->t) return a->t < b->t ? -1 : 1;
  return a->a < b->a ? -1 : a->a > b->a;
}

static int by_index(const void *x, const void *y) {
  size_t a = *(const size_t *)x, b = *(const size_t *)y;
  return a < b ? -1 : a > b;
}

size_t sl_syn_rerank_pick(const sl_syn_graph *g, const sl_syn_config *cfg, size_t *idx) {
  size_t k = cfg->rerank_top < g->n_links ? cfg->rerank_top : g->n_links;
  for (size_t i = 0; i < g->n_links; i++) idx[i] = i;
  qsort_r(idx, g->n_links, sizeof *idx, by_cheap, g->links);
  qsort(idx, k, sizeof *idx, by_index);
  return k;
}

static int by_score(const void *x, const void *y) {
  const sl_syn_link *a = x, *b = y;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->a < b->a ? -1 : a->a > b->a;
}

void sl_syn_links_finish(sl_syn_graph *g, const sl_syn_config *cfg) {
  /* The cross-encoder's logits, standardised over the links it scored (a logit's scale
  ** says little across models), then squashed: x' = sigmoid((x - mean) / sd). They join
  ** the cheap score (already in [0, 1]) with w_rerank scaled by the logits' spread,
  ** against the cheap signals' total weight (weights are >= 0). */
  double wc = g->cheap_weight, n = 0, sum = 0, sum2 = 0, mean, sd;
  for (size_t i = 0; i < g->n_links; i++) {
    double x = g->links[i].rerank;
    if (isnan(x)) continue;
    n++, sum += x, sum2 += x * x;
  }
  moments(n, sum, sum2, &mean, &sd);
  g->w_rerank = scaled_weight(cfg->w_rerank, sd, cfg->rerank_spread);
  for (size_t i = 0; i < g->n_links; i++) {
    sl_syn_link *l = &g->links[i];
    if (isnan(l->rerank) || !(g->w_rerank > 0)) continue;
    double sig = 1.0 / (1.0 + exp(-((double)l->rerank - mean) / sd));
    l->score = (float)((wc * l->cheap + g->w_rerank * sig) / (wc + g->w_rerank));
  }
  for (size_t t = 0; t < g->n; t++)
    qsort(g->links + g->first[t], g->first[t + 1] - g->first[t], sizeof *g->links, by_score);
}

void sl_syn_graph_free(sl_syn_graph *g) {
  sl_free(g->links);
  sl_free(g->first);
  memset(g, 0, sizeof *g);
}
