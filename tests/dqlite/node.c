/*
** node.c: one dqlite node with semlite inside, for make test-dqlite (docs/deployment.md).
**
**   node ID ADDRESS DIR
**
** libdqlite 1.11 runs every statement of its leader in this process, on connections it
** opens itself through its "dqlite-N" VFS (N numbers the nodes of a process: here 1);
** semlite is registered for each of them with sqlite3_auto_extension (libsemlite.a,
** compiled with SQLITE_CORE), and loads the models SEMLITE_PRELOAD names at the first. Node 1 bootstraps a cluster of itself when DIR is
** empty; the others wait to be added (the wire protocol's ADD and ASSIGN, tests/dqlite/
** client.c). SIGPIPE is ignored: a peer killed mid-write must not kill this process.
** SIGTERM or SIGINT stops the node cleanly; "ready" on stdout once it listens. A node dies
** with the process that started it (PR_SET_PDEATHSIG): run.sh stopped by timeout's SIGKILL
** leaves no node behind.
*/
#include <dqlite.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int sqlite3_semlite_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

int main(int argc, char **argv) {
  dqlite_node *node = NULL;
  sigset_t stop;
  int sig, rc;
  unsigned long long id;

  if (argc != 4 || (id = strtoull(argv[1], NULL, 10)) == 0) {
    fprintf(stderr, "usage: node ID ADDRESS DIR\n");
    return 2;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1) return 1;
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  /* Blocked before dqlite starts its threads, so that they inherit the mask and sigwait
  ** below receives the signal. */
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  if ((rc = sqlite3_auto_extension((void (*)(void))sqlite3_semlite_init)) != SQLITE_OK) {
    fprintf(stderr, "node %llu: sqlite3_auto_extension: %d\n", id, rc);
    return 1;
  }
  if ((rc = dqlite_node_create(id, argv[2], argv[3], &node)) != 0 ||
      (rc = dqlite_node_set_bind_address(node, argv[2])) != 0 || (rc = dqlite_node_start(node)) != 0) {
    fprintf(stderr, "node %llu: %s (%d)\n", id, node ? dqlite_node_errmsg(node) : "cannot create", rc);
    if (node) dqlite_node_destroy(node);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  sigwait(&stop, &sig);
  dqlite_node_stop(node);
  dqlite_node_destroy(node);
  return 0;
}
