/* What read_committed sees on the dev broker: one aborted transaction, one committed, one left
 * open (3, 3 and 1 records on partition 0 of topic t). Used by devbroker_control_test.py.
 * Usage: txn_probe BOOTSTRAP; prints "done" and waits for stdin to close. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
static void die(rd_kafka_error_t *e, const char *w) { if (e) { fprintf(stderr, "%s: %s\n", w, rd_kafka_error_string(e)); exit(1);} }
int main(int argc, char **argv) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", argv[1], err, sizeof err);
  rd_kafka_conf_set(c, "transactional.id", "probe", err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  die(rd_kafka_init_transactions(p, 10000), "init");
  for (int t = 0; t < 2; ++t) {
    die(rd_kafka_begin_transaction(p), "begin");
    const char *v = t == 0 ? "aborted" : "committed";
    for (int i = 0; i < 3; ++i)
      rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE((void*)v, strlen(v)), RD_KAFKA_V_END);
    rd_kafka_flush(p, 5000);
    if (t == 0) die(rd_kafka_abort_transaction(p, 10000), "abort");
    else die(rd_kafka_commit_transaction(p, 10000), "commit");
  }
  /* an open transaction left unfinished */
  die(rd_kafka_begin_transaction(p), "begin");
  rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE("open", 4), RD_KAFKA_V_END);
  rd_kafka_flush(p, 5000);
  printf("done\n");
  fflush(stdout);
  getchar();
  return 0;
}
