/*
** file.h: the one reader of the files semlite takes from disk: every file of a model
** folder (config and tokenizer JSON, vocab.txt, model.safetensors) and the JSON files
** of sl_json_parse_file.
**
** A file is read whole into memory, so that what semlite computes with can never change
** under it (and no later change or truncation of the file can fault a mapping), and only
** after these checks, in this order:
**   - stat() says it is a regular file (a FIFO, a device such as /dev/zero, a folder or
**     a socket is refused before it is opened: opening some devices has side effects);
**   - its size is at most the caller's limit;
**   - it opens with O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY (so that a FIFO swapped
**     in after the stat cannot block the open), and fstat() of the descriptor says
**     again regular and within the limit;
**   - the bytes read are exactly the size fstat gave, and fstat after the read still
**     gives the same file, size and times; otherwise "changed while it was being read".
** Messages name the file as the caller passes it (`vocab.txt is not a regular file`,
** `config.json is larger than the 4 MB limit`).
**
** Each file read can be recorded in an sl_file_log with its stamp (device, inode, size,
** modification and change times), and an absent optional file as absent, so that a
** caller can notice later that the folder no longer holds what it read.
*/
#ifndef SEMLITE_FILE_H
#define SEMLITE_FILE_H

#include <stddef.h>

#include "status.h"

/* Flags of sl_file_read. */
#define SL_FILE_OPTIONAL 1u  /* a file that does not exist is no error: data stays NULL */
#define SL_FILE_PAGES    2u  /* read into page-aligned anonymous memory, read-only once
                             ** filled, whose pages sl_file_drop_pages can give back */

/* What identifies the bytes of a file on disk without reading them. */
typedef struct sl_file_stamp {
  int present;                 /* 0: the file did not exist */
  unsigned long long dev, ino, size;
  long long mtime_s, mtime_ns, ctime_s, ctime_ns;
} sl_file_stamp;

/* Which check refused a file (for callers that word their own messages). */
typedef enum sl_file_fail {
  SL_FILE_FAIL_NONE,
  SL_FILE_FAIL_OPEN,           /* stat or open failed: fail_errno says why (ENOENT: absent) */
  SL_FILE_FAIL_NOT_REGULAR,
  SL_FILE_FAIL_TOO_LARGE,      /* stamp.size holds the size */
  SL_FILE_FAIL_READ,           /* a read error, or the file changed while being read */
  SL_FILE_FAIL_MEMORY
} sl_file_fail;

typedef struct sl_file {
  void *data;                  /* size bytes then a NUL byte; NULL for an absent optional file */
  size_t size;
  sl_file_stamp stamp;         /* of the file read (stamp.present 0 when absent) */
  sl_file_fail fail;           /* after SL_ERROR: which check failed */
  int fail_errno;
  size_t map_len;              /* private: length of the SL_FILE_PAGES mapping, else 0 */
} sl_file;

/* The files read for one purpose (a model), each with its path and stamp. */
typedef struct sl_file_log_entry {
  char *path;
  sl_file_stamp stamp;
} sl_file_log_entry;

typedef struct sl_file_log {
  sl_file_log_entry *entries;
  size_t n;
} sl_file_log;

/* Reads dir/name (name alone when dir is NULL) whole into *out after the checks above;
** limit is the largest size accepted, in bytes. When log is not NULL the file (or its
** absence) is added to it. On SL_ERROR, *out holds no memory and says which check failed. */
int sl_file_read(const char *dir, const char *name, size_t limit, unsigned flags, sl_file_log *log,
                 sl_file *out, sl_err *err);

/* Hands over the bytes of a file read without SL_FILE_PAGES: the caller frees them with
** sl_free(). *f no longer holds them. */
void *sl_file_take(sl_file *f);

/* Gives back the whole pages inside [p, p + len) of an SL_FILE_PAGES file to the system.
** They read as zeros afterwards: for bytes a copy has replaced. */
void sl_file_drop_pages(const sl_file *f, const void *p, size_t len);

/* Bytes of an SL_FILE_PAGES file that are in RAM now (mincore), else f->size. */
size_t sl_file_resident(const sl_file *f);

void sl_file_free(sl_file *f);

/* The path (as recorded) of the first file of log that is not, now, the one read: gone,
** appeared, replaced or modified (another stamp). NULL when every file is as it was. */
const char *sl_file_log_changed(const sl_file_log *log);

/* 1 when the two logs name the same files with the same stamps. */
int sl_file_log_same(const sl_file_log *a, const sl_file_log *b);

void sl_file_log_free(sl_file_log *log);

#endif
