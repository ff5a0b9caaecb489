/*
** wire.c: the dqlite wire-protocol client (see wire.h for the format).
*/
#include "wire.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum {
  REQ_LEADER = 0, REQ_OPEN = 3, REQ_EXEC_SQL = 8, REQ_QUERY_SQL = 9, REQ_ADD = 12, REQ_ASSIGN = 13,
  REQ_CLUSTER = 16, REQ_TRANSFER = 17
};
enum { RES_FAILURE = 0, RES_SERVER = 1, RES_SERVERS = 3, RES_DB = 4, RES_RESULT = 6, RES_ROWS = 7, RES_EMPTY = 8 };
enum { T_INTEGER = 1, T_FLOAT = 2, T_TEXT = 3, T_BLOB = 4, T_NULL = 5, T_UNIXTIME = 9, T_ISO8601 = 10,
       T_BOOLEAN = 11 };

#define ROWS_DONE 0xffffffffffffffffULL
#define ROWS_PART 0xeeeeeeeeeeeeeeeeULL
#define MAX_BODY (64u << 20)

static int fail(wire *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->error, sizeof w->error, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- building a request ---- */

static int reserve(wire *w, size_t n) {
  if (w->len + n <= w->cap) return 0;
  size_t cap = w->cap ? w->cap : 4096;
  while (cap < w->len + n) cap *= 2;
  unsigned char *p = realloc(w->buf, cap);
  if (!p) return fail(w, "out of memory");
  w->buf = p;
  w->cap = cap;
  return 0;
}

static int put_u64(wire *w, uint64_t v) {
  if (reserve(w, 8)) return -1;
  for (int i = 0; i < 8; i++) w->buf[w->len++] = (unsigned char)(v >> (8 * i));
  return 0;
}

static size_t padded(size_t n) { return (n + 7) & ~(size_t)7; }

static int put_text(wire *w, const char *s) {
  size_t n = strlen(s) + 1, p = padded(n);
  if (reserve(w, p)) return -1;
  memcpy(w->buf + w->len, s, n);
  memset(w->buf + w->len + n, 0, p - n);
  w->len += p;
  return 0;
}

/* TEXT parameters: a count byte and a type byte each, padded to a word; then the values. */
static int put_params(wire *w, int n, const char *const *params) {
  size_t head = padded((size_t)n + 1);
  if (n == 0) return 0;
  if (n > 7) return fail(w, "at most 7 parameters");
  if (reserve(w, head)) return -1;
  memset(w->buf + w->len, 0, head);
  w->buf[w->len] = (unsigned char)n;
  for (int i = 0; i < n; i++) w->buf[w->len + 1 + i] = T_TEXT;
  w->len += head;
  for (int i = 0; i < n; i++)
    if (put_text(w, params[i])) return -1;
  return 0;
}

/* Starts a message of `type`: the header is filled by send_message. */
static int begin(wire *w, int type) {
  w->refused = 0;
  w->len = 0;
  if (reserve(w, 8)) return -1;
  memset(w->buf, 0, 8);
  w->buf[4] = (unsigned char)type;
  w->len = 8;
  return 0;
}

static int write_all(wire *w, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(w->fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return fail(w, "write: %s", k < 0 ? strerror(errno) : "connection closed");
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int read_all(wire *w, unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = recv(w->fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return fail(w, "read: %s", k < 0 ? strerror(errno) : "connection closed");
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int send_message(wire *w) {
  uint32_t words = (uint32_t)((w->len - 8) / 8);
  for (int i = 0; i < 4; i++) w->buf[i] = (unsigned char)(words >> (8 * i));
  return write_all(w, w->buf, w->len);
}

/* ---- reading a response ---- */

static int get_u64(wire *w, uint64_t *v) {
  if (w->pos + 8 > w->len) return fail(w, "truncated response");
  *v = 0;
  for (int i = 7; i >= 0; i--) *v = (*v << 8) | w->buf[w->pos + (size_t)i];
  w->pos += 8;
  return 0;
}

static int get_text(wire *w, const char **s) {
  const unsigned char *p = w->buf + w->pos;
  const unsigned char *end = memchr(p, 0, w->len - w->pos);
  if (!end) return fail(w, "unterminated text in response");
  *s = (const char *)p;
  w->pos += padded((size_t)(end - p) + 1);
  if (w->pos > w->len) return fail(w, "truncated response");
  return 0;
}

/* Reads one message into w->buf; its type into *type. A FAILURE becomes the error. */
static int receive(wire *w, int *type) {
  unsigned char head[8];
  uint32_t words;
  if (read_all(w, head, 8)) return -1;
  words = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 24;
  if ((size_t)words * 8 > MAX_BODY) return fail(w, "response of %u words", words);
  w->len = 0;
  if (reserve(w, (size_t)words * 8 + 1)) return -1;
  if (read_all(w, w->buf, (size_t)words * 8)) return -1;
  w->len = (size_t)words * 8;
  w->buf[w->len] = 0;
  w->pos = 0;
  *type = head[4];
  w->refused = *type == RES_FAILURE;
  w->failure_code = 0;
  if (w->refused) {
    uint64_t code, ncols;
    const char *msg;
    if (get_u64(w, &code) || get_text(w, &msg)) return -1;
    if (w->pos < w->len) {
      /* libdqlite 1.11 sends a query that fails after its first step with the column
      ** count and names it had written before the code and message. */
      w->pos = 0;
      if (get_u64(w, &ncols)) return -1;
      for (uint64_t i = 0; i < ncols; i++)
        if (get_text(w, &msg)) return -1;
      if (get_u64(w, &code) || get_text(w, &msg)) return -1;
    }
    w->failure_code = code;
    return fail(w, "failure %llu: %s", (unsigned long long)code, msg);
  }
  return 0;
}

static int expect(wire *w, int want) {
  int type;
  if (receive(w, &type)) return -1;
  if (type != want) return fail(w, "response type %d, expected %d", type, want);
  return 0;
}

/* ---- requests ---- */

int wire_connect(wire *w, const char *address, int timeout_ms) {
  char host[256];
  const char *colon = strrchr(address, ':');
  struct addrinfo hints = {0}, *res = NULL;
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  int one = 1;
  memset(w, 0, sizeof *w);
  w->fd = -1;
  if (!colon || (size_t)(colon - address) >= sizeof host) return fail(w, "bad address '%s'", address);
  memcpy(host, address, (size_t)(colon - address));
  host[colon - address] = 0;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res) return fail(w, "cannot resolve '%s'", address);
  w->fd = socket(res->ai_family, res->ai_socktype, 0);
  if (w->fd < 0) {
    freeaddrinfo(res);
    return fail(w, "socket: %s", strerror(errno));
  }
  setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(w->fd, res->ai_addr, res->ai_addrlen) != 0) {
    freeaddrinfo(res);
    return fail(w, "connect %s: %s", address, strerror(errno));
  }
  freeaddrinfo(res);
  w->len = 0;
  return put_u64(w, 1) || write_all(w, w->buf, w->len);
}

void wire_close(wire *w) {
  if (w->fd >= 0) close(w->fd);
  free(w->buf);
  w->fd = -1;
  w->buf = NULL;
}

int wire_leader(wire *w, uint64_t *id, char *address, size_t cap) {
  const char *a;
  if (begin(w, REQ_LEADER) || put_u64(w, 0) || send_message(w) || expect(w, RES_SERVER) || get_u64(w, id) ||
      get_text(w, &a))
    return -1;
  snprintf(address, cap, "%s", a);
  return 0;
}

int wire_cluster(wire *w, FILE *out) {
  uint64_t n;
  if (begin(w, REQ_CLUSTER) || put_u64(w, 1) || send_message(w) || expect(w, RES_SERVERS) || get_u64(w, &n))
    return -1;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t id, role;
    const char *a;
    if (get_u64(w, &id) || get_text(w, &a) || get_u64(w, &role)) return -1;
    fprintf(out, "%llu %s %llu\n", (unsigned long long)id, a, (unsigned long long)role);
  }
  return 0;
}

int wire_add(wire *w, uint64_t id, const char *address) {
  return begin(w, REQ_ADD) || put_u64(w, id) || put_text(w, address) || send_message(w) || expect(w, RES_EMPTY);
}

int wire_assign(wire *w, uint64_t id, uint64_t role) {
  return begin(w, REQ_ASSIGN) || put_u64(w, id) || put_u64(w, role) || send_message(w) || expect(w, RES_EMPTY);
}

int wire_transfer(wire *w, uint64_t id) {
  return begin(w, REQ_TRANSFER) || put_u64(w, id) || send_message(w) || expect(w, RES_EMPTY);
}

int wire_open(wire *w, const char *name) {
  uint64_t id;
  if (begin(w, REQ_OPEN) || put_text(w, name) || put_u64(w, 0) || put_text(w, "") || send_message(w) ||
      expect(w, RES_DB) || get_u64(w, &id))
    return -1;
  w->db = (uint32_t)id;
  return 0;
}

int wire_exec(wire *w, const char *sql, int n, const char *const *params, int64_t *last_id, uint64_t *rows) {
  uint64_t id;
  if (begin(w, REQ_EXEC_SQL) || put_u64(w, w->db) || put_text(w, sql) || put_params(w, n, params) ||
      send_message(w) || expect(w, RES_RESULT) || get_u64(w, &id) || get_u64(w, rows))
    return -1;
  *last_id = (int64_t)id;
  return 0;
}

/* One value of a row, printed. */
static int print_value(wire *w, int type, FILE *out) {
  uint64_t v;
  const char *s;
  switch (type) {
    case T_INTEGER: case T_UNIXTIME: case T_BOOLEAN:
      if (get_u64(w, &v)) return -1;
      fprintf(out, "%lld", (long long)v);
      return 0;
    case T_FLOAT: {
      double d;
      if (get_u64(w, &v)) return -1;
      memcpy(&d, &v, sizeof d);
      fprintf(out, "%.17g", d);
      return 0;
    }
    case T_TEXT: case T_ISO8601:
      if (get_text(w, &s)) return -1;
      fputs(s, out);
      return 0;
    case T_BLOB:
      if (get_u64(w, &v)) return -1;
      if (v > w->len - w->pos) return fail(w, "truncated blob");
      for (uint64_t i = 0; i < v; i++) fprintf(out, "%02X", w->buf[w->pos + i]);
      w->pos += padded((size_t)v);
      return 0;
    case T_NULL:
      fputs("NULL", out);
      return get_u64(w, &v);
    default:
      return fail(w, "unknown value type %d", type);
  }
}

/* The rows of one ROWS message; *more when another part follows. */
static int print_rows(wire *w, FILE *out, int *more) {
  uint64_t ncols, marker;
  const char *name;
  if (get_u64(w, &ncols)) return -1;
  if (ncols > 4096) return fail(w, "%llu columns", (unsigned long long)ncols);
  for (uint64_t i = 0; i < ncols; i++)
    if (get_text(w, &name)) return -1;
  for (;;) {
    size_t head = w->pos, head_len = padded((size_t)((ncols + 1) / 2));
    if (w->pos + 8 > w->len) return fail(w, "rows without an end");
    if (get_u64(w, &marker)) return -1;
    if (marker == ROWS_DONE || marker == ROWS_PART) {
      *more = marker == ROWS_PART;
      return 0;
    }
    w->pos = head + head_len;
    if (w->pos > w->len) return fail(w, "truncated row header");
    for (uint64_t i = 0; i < ncols; i++) {
      int type = (w->buf[head + i / 2] >> (i % 2 ? 4 : 0)) & 0x0f;
      if (i) fputc('\t', out);
      if (print_value(w, type, out)) return -1;
    }
    fputc('\n', out);
  }
}

int wire_query(wire *w, const char *sql, int n, const char *const *params, FILE *out) {
  int more = 1;
  if (begin(w, REQ_QUERY_SQL) || put_u64(w, w->db) || put_text(w, sql) || put_params(w, n, params) ||
      send_message(w))
    return -1;
  while (more) {
    int type;
    if (receive(w, &type)) return -1;
    if (type == RES_RESULT) return 0;       /* a statement without rows, run as a query */
    if (type != RES_ROWS) return fail(w, "response type %d, expected %d", type, RES_ROWS);
    if (print_rows(w, out, &more)) return -1;
  }
  return 0;
}
