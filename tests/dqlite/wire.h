/*
** wire.h: a client of dqlite's wire protocol, version 1 (the requests make test-dqlite
** needs: LEADER, CLUSTER, ADD, ASSIGN, TRANSFER, OPEN, EXEC_SQL, QUERY_SQL), written
** from the protocol's documentation (dqlite.io, "Wire protocol"):
**
**   handshake  the client's first word: the protocol version, 1, little endian
**   message    a header word (body size in words: uint32; type: uint8; schema: uint8;
**              2 unused bytes) and a body of fields: uint64/int64/double as one
**              little-endian word, text NUL-terminated and zero-padded to a word, blob a
**              length word and the bytes padded to a word
**   params     (EXEC_SQL, QUERY_SQL, after the SQL) a count byte, one type byte per value,
**              padded to a word, then the values
**   rows       a column count, the column names, then rows (a header of 4-bit type codes
**              padded to a word, then the values) up to an end word: all ones (done) or
**              0xee.. (a part: another ROWS message follows)
**
** Every function returns 0, or -1 with the problem in w->error ("failure 1: no such
** table: x" for the server's FAILURE response; an I/O problem otherwise).
*/
#ifndef SEMLITE_TESTS_DQLITE_WIRE_H
#define SEMLITE_TESTS_DQLITE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct wire {
  int fd;
  uint32_t db;                /* the database OPEN returned */
  int refused;                /* the last response was a FAILURE */
  uint64_t failure_code;      /* its code */
  char error[1024];
  unsigned char *buf;         /* the message being built or read */
  size_t len, cap, pos;
} wire;

/* Connects to "host:port" and sends the handshake; timeout_ms bounds every read and write. */
int wire_connect(wire *w, const char *address, int timeout_ms);
void wire_close(wire *w);

/* LEADER: the leader's id and address as this node knows them (0 and "" when none). */
int wire_leader(wire *w, uint64_t *id, char *address, size_t cap);
/* CLUSTER (format 1): one line "id address role" per server into out (role 0 voter,
** 1 stand-by, 2 spare). */
int wire_cluster(wire *w, FILE *out);
int wire_add(wire *w, uint64_t id, const char *address);
int wire_assign(wire *w, uint64_t id, uint64_t role);
int wire_transfer(wire *w, uint64_t id);
int wire_open(wire *w, const char *name);
/* EXEC_SQL with n TEXT parameters (at most 7): the last insert rowid and rows changed. */
int wire_exec(wire *w, const char *sql, int n, const char *const *params, int64_t *last_id, uint64_t *rows);
/* QUERY_SQL with n TEXT parameters: each row as one line into out, values separated by a
** tab (integers in decimal, floats as %.17g, text as is, blobs in upper-case hex, NULL). */
int wire_query(wire *w, const char *sql, int n, const char *const *params, FILE *out);

#endif
