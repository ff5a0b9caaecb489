/*
** file.c: reads a file whole after checking it is a regular file of bounded size, and
** remembers what it read (see file.h). The only open/fstat/read loop of semlite.
*/
#include "alloc.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* strerror() is not thread-safe; -D_GNU_SOURCE gives the GNU strerror_r. */
static const char *errno_text(int e, char *buf, size_t cap) { return strerror_r(e, buf, cap); }

static void stamp_of(const struct stat *sb, sl_file_stamp *s) {
  memset(s, 0, sizeof *s);
  s->present = 1;
  s->dev = (unsigned long long)sb->st_dev;
  s->ino = (unsigned long long)sb->st_ino;
  s->size = (unsigned long long)sb->st_size;
  s->mtime_s = (long long)sb->st_mtim.tv_sec;
  s->mtime_ns = (long long)sb->st_mtim.tv_nsec;
  s->ctime_s = (long long)sb->st_ctim.tv_sec;
  s->ctime_ns = (long long)sb->st_ctim.tv_nsec;
}

static int stamp_equal(const sl_file_stamp *a, const sl_file_stamp *b) {
  if (a->present != b->present) return 0;
  if (!a->present) return 1;
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s &&
         a->mtime_ns == b->mtime_ns && a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* The stamp of path now; an absent file is a stamp with present 0. Any other stat
** failure counts as absent too: the file is not what was read either way. */
static void stamp_now(const char *path, sl_file_stamp *s) {
  struct stat sb;
  if (stat(path, &sb) == 0) stamp_of(&sb, s);
  else memset(s, 0, sizeof *s);
}

static int log_add(sl_file_log *log, const char *path, const sl_file_stamp *s, sl_err *err) {
  sl_file_log_entry *grown;
  char *copy;
  if (!log) return SL_OK;
  grown = sl_realloc(log->entries, (log->n + 1) * sizeof *grown);
  if (!grown) return sl_oom(err);
  log->entries = grown;
  if (!(copy = sl_strdup(path))) return sl_oom(err);
  grown[log->n].path = copy;
  grown[log->n].stamp = *s;
  log->n++;
  return SL_OK;
}

/* "4 MB", "16 GB", or bytes when the limit is not a round number of either. */
static void format_limit(size_t limit, char *buf, size_t cap) {
  const size_t mb = (size_t)1 << 20, gb = (size_t)1 << 30;
  if (limit >= gb && limit % gb == 0) snprintf(buf, cap, "%zu GB", limit / gb);
  else if (limit >= mb && limit % mb == 0) snprintf(buf, cap, "%zu MB", limit / mb);
  else snprintf(buf, cap, "%zu bytes", limit);
}

static int refuse(sl_file *out, sl_file_fail why, int e, sl_err *err, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 5, 6)))
#endif
  ;
static int refuse(sl_file *out, sl_file_fail why, int e, sl_err *err, const char *fmt, ...) {
  va_list ap;
  out->fail = why;
  out->fail_errno = e;
  va_start(ap, fmt);
  sl_vfail(err, fmt, ap);
  va_end(ap);
  return SL_ERROR;
}

/* Checks what stat or fstat says about the file against the rules of file.h. */
static int check_stat(const struct stat *sb, const char *name, size_t limit, sl_file *out,
                      sl_err *err) {
  char lim[32];
  if (!S_ISREG(sb->st_mode))
    return refuse(out, SL_FILE_FAIL_NOT_REGULAR, 0, err, "%s is not a regular file", name);
  if (sb->st_size < 0 || (unsigned long long)sb->st_size > limit) {
    out->stamp.size = (unsigned long long)sb->st_size;
    format_limit(limit, lim, sizeof lim);
    return refuse(out, SL_FILE_FAIL_TOO_LARGE, 0, err, "%s is larger than the %s limit", name, lim);
  }
  return SL_OK;
}

/* Memory for size bytes and a NUL after them. */
static int allocate(sl_file *out, size_t size, unsigned flags, const char *name, sl_err *err) {
  if (flags & SL_FILE_PAGES) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (size + 1 + page - 1) / page * page;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return refuse(out, SL_FILE_FAIL_MEMORY, ENOMEM, err, "out of memory reading %s (%zu bytes)", name, size);
#ifdef MADV_HUGEPAGE
    /* Fewer page faults to fill it (90 MB: 45 ms instead of 110) and fewer TLB misses to
    ** compute with it. */
    madvise(p, len, MADV_HUGEPAGE);
#endif
    out->data = p;
    out->map_len = len;
  } else if (!(out->data = sl_malloc(size + 1))) {
    return refuse(out, SL_FILE_FAIL_MEMORY, ENOMEM, err, "out of memory reading %s (%zu bytes)", name, size);
  }
  ((char *)out->data)[size] = 0;
  return SL_OK;
}

/* Bytes per read(): measured on the 90 MB MiniLM weights into huge pages, 8 MB reads
** took 34-48 ms and one 90 MB read 44-52 ms. */
#define READ_CHUNK ((size_t)8 << 20)

/* Reads exactly size bytes from fd into out->data and checks that the file did not
** change meanwhile. */
static int read_all(int fd, size_t size, const char *name, sl_file *out, sl_err *err) {
  char *buf = out->data, e[128], extra;
  size_t got = 0;
  struct stat after;
  sl_file_stamp now;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got < READ_CHUNK ? size - got : READ_CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int code = errno;
      return refuse(out, SL_FILE_FAIL_READ, code, err, "cannot read %s: %s", name, errno_text(code, e, sizeof e));
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  if (got < size || read(fd, &extra, 1) > 0 || fstat(fd, &after) != 0 ||
      (stamp_of(&after, &now), !stamp_equal(&now, &out->stamp)))
    return refuse(out, SL_FILE_FAIL_READ, 0, err, "%s changed while it was being read", name);
  return SL_OK;
}

int sl_file_read(const char *dir, const char *name, size_t limit, unsigned flags, sl_file_log *log,
                 sl_file *out, sl_err *err) {
  char path[PATH_MAX + 512], e[128];
  struct stat sb;
  int fd, rc;

  memset(out, 0, sizeof *out);
  if (snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name) >= (int)sizeof path)
    return refuse(out, SL_FILE_FAIL_OPEN, ENAMETOOLONG, err, "the path of %s is too long", name);
  /* Look before opening: opening a FIFO or some devices blocks or acts. */
  if (stat(path, &sb) != 0) {
    int code = errno;
    if (code == ENOENT && (flags & SL_FILE_OPTIONAL)) return log_add(log, path, &out->stamp, err);
    return refuse(out, SL_FILE_FAIL_OPEN, code, err, "cannot open %s: %s", name, errno_text(code, e, sizeof e));
  }
  if (check_stat(&sb, name, limit, out, err)) return SL_ERROR;
  fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int code = errno;
    if (code == ENOENT && (flags & SL_FILE_OPTIONAL)) return log_add(log, path, &out->stamp, err);
    return refuse(out, SL_FILE_FAIL_OPEN, code, err, "cannot open %s: %s", name, errno_text(code, e, sizeof e));
  }
  /* The file opened may not be the one looked at: check the descriptor's. */
  if (fstat(fd, &sb) != 0) {
    int code = errno;
    close(fd);
    return refuse(out, SL_FILE_FAIL_READ, code, err, "cannot read %s: %s", name, errno_text(code, e, sizeof e));
  }
  if (check_stat(&sb, name, limit, out, err)) {
    close(fd);
    return SL_ERROR;
  }
  stamp_of(&sb, &out->stamp);
  out->size = (size_t)sb.st_size;
  rc = allocate(out, out->size, flags, name, err);
  if (rc == SL_OK) rc = read_all(fd, out->size, name, out, err);
  close(fd);
  if (rc == SL_OK && out->map_len) mprotect(out->data, out->map_len, PROT_READ);
  if (rc == SL_OK) rc = log_add(log, path, &out->stamp, err);
  if (rc != SL_OK) {
    sl_file_fail why = out->fail;
    int code = out->fail_errno;
    unsigned long long size = out->stamp.size;
    sl_file_free(out);
    out->fail = why ? why : SL_FILE_FAIL_MEMORY;
    out->fail_errno = code;
    out->stamp.size = size;
  }
  return rc;
}

void *sl_file_take(sl_file *f) {
  void *p = f->map_len ? NULL : f->data;
  if (p) f->data = NULL;
  return p;
}

void sl_file_drop_pages(const sl_file *f, const void *p, size_t len) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), base = (uintptr_t)f->data;
  uintptr_t lo = (uintptr_t)p, hi = lo + len;
  if (!f->map_len || lo < base || hi > base + f->map_len) return;
  lo = (lo + page - 1) / page * page;
  hi = hi / page * page;
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

size_t sl_file_resident(const sl_file *f) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), pages, n = 0;
  unsigned char *vec;
  if (!f->map_len) return f->size;
  pages = f->map_len / page;
  if (!(vec = sl_malloc(pages)) || mincore(f->data, f->map_len, vec) != 0) {
    sl_free(vec);
    return f->size;
  }
  for (size_t i = 0; i < pages; i++) n += vec[i] & 1;
  sl_free(vec);
  return n * page < f->size ? n * page : f->size;
}

void sl_file_free(sl_file *f) {
  if (f->map_len) munmap(f->data, f->map_len);
  else sl_free(f->data);
  memset(f, 0, sizeof *f);
}

const char *sl_file_log_changed(const sl_file_log *log) {
  for (size_t i = 0; i < log->n; i++) {
    sl_file_stamp now;
    stamp_now(log->entries[i].path, &now);
    if (!stamp_equal(&now, &log->entries[i].stamp)) return log->entries[i].path;
  }
  return NULL;
}

int sl_file_log_same(const sl_file_log *a, const sl_file_log *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++) {
    if (strcmp(a->entries[i].path, b->entries[i].path) != 0 ||
        !stamp_equal(&a->entries[i].stamp, &b->entries[i].stamp))
      return 0;
  }
  return 1;
}

void sl_file_log_free(sl_file_log *log) {
  for (size_t i = 0; i < log->n; i++) sl_free(log->entries[i].path);
  sl_free(log->entries);
  log->entries = NULL;
  log->n = 0;
}
