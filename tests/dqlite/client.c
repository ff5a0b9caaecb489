/*
** client.c: the command-line client make test-dqlite drives a cluster with (run.sh).
**
**   client free-port              prints a TCP port free on 127.0.0.1 now
**   client ADDRESS [DB] < lines   one connection to the node at ADDRESS (opening DB when
**                                 given), one request per line of stdin:
**     leader                      -> "leader ID ADDRESS" (ID 0: no leader known)
**     cluster                     -> "ID ADDRESS ROLE" per server
**     add ID ADDRESS | assign ID ROLE | transfer ID     -> "ok"
**     param FILE                  the file's text is a parameter of the next exec/query
**     exec SQL                    -> "ok LAST_ROWID ROWS_CHANGED" (EXEC_SQL: replicated)
**     query SQL                   -> one line per row, values tab-separated (QUERY_SQL)
**   A refused request prints "error CODE: MESSAGE" ("error io: ..." when the connection
**   failed, after which the client exits 1); the session goes on.
*/
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

#define TIMEOUT_MS 20000

static int free_port(void) {
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return 1;
  printf("%d\n", ntohs(a.sin_port));
  close(fd);
  return 0;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *s = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
      free(s);
      s = NULL;
    } else {
      s[n] = 0;
    }
  }
  fclose(f);
  return s;
}

/* Prints the outcome of a request; 1 when the connection is lost. */
static int report(wire *w, int rc) {
  if (rc == 0) return 0;
  if (w->refused) {
    printf("error %s\n", w->error + strlen("failure "));
    return 0;
  }
  printf("error io: %s\n", w->error);
  return 1;
}

int main(int argc, char **argv) {
  wire w;
  char line[65536];
  char *params[7];
  int n_params = 0, lost = 0;

  if (argc == 2 && strcmp(argv[1], "free-port") == 0) return free_port();
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: client free-port | client ADDRESS [DB] < requests\n");
    return 2;
  }
  if (wire_connect(&w, argv[1], TIMEOUT_MS) != 0 || (argc == 3 && wire_open(&w, argv[2]) != 0)) {
    printf("error io: %s\n", w.error);
    wire_close(&w);
    return 1;
  }
  while (!lost && fgets(line, sizeof line, stdin)) {
    char *arg, address[256];
    unsigned long long id, role;
    line[strcspn(line, "\n")] = 0;
    arg = strchr(line, ' ');
    arg = arg ? arg + 1 : line + strlen(line);
    if (strcmp(line, "leader") == 0) {
      uint64_t leader;
      if (!(lost = report(&w, wire_leader(&w, &leader, address, sizeof address))))
        printf("leader %llu %s\n", (unsigned long long)leader, address);
    } else if (strcmp(line, "cluster") == 0) {
      lost = report(&w, wire_cluster(&w, stdout));
    } else if (strncmp(line, "add ", 4) == 0 && sscanf(arg, "%llu %255s", &id, address) == 2) {
      if (!(lost = report(&w, wire_add(&w, id, address))) && !w.refused) puts("ok");
    } else if (strncmp(line, "assign ", 7) == 0 && sscanf(arg, "%llu %llu", &id, &role) == 2) {
      if (!(lost = report(&w, wire_assign(&w, id, role))) && !w.refused) puts("ok");
    } else if (strncmp(line, "transfer ", 9) == 0 && sscanf(arg, "%llu", &id) == 1) {
      if (!(lost = report(&w, wire_transfer(&w, id))) && !w.refused) puts("ok");
    } else if (strncmp(line, "param ", 6) == 0) {
      if (n_params == 7 || !(params[n_params] = read_file(arg))) {
        printf("error client: cannot read %s\n", arg);
        continue;
      }
      n_params++;
    } else if (strncmp(line, "exec ", 5) == 0 || strncmp(line, "query ", 6) == 0) {
      int64_t last_id;
      uint64_t rows;
      int rc = line[0] == 'e' ? wire_exec(&w, arg, n_params, (const char *const *)params, &last_id, &rows)
                              : wire_query(&w, arg, n_params, (const char *const *)params, stdout);
      if (!(lost = report(&w, rc)) && rc == 0 && line[0] == 'e') printf("ok %lld %llu\n", (long long)last_id,
                                                                        (unsigned long long)rows);
      while (n_params > 0) free(params[--n_params]);
    } else if (line[0]) {
      printf("error client: unknown request '%s'\n", line);
    }
    fflush(stdout);
  }
  while (n_params > 0) free(params[--n_params]);
  wire_close(&w);
  return lost;
}
