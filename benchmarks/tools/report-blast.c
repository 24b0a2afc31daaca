/* report-blast: the distributed benchmark's load generator in C (benchmarks/lib/report-sender.js
 * runs it): Telemetry Report v2.0 datagrams built from a template, NODES reporters each with its
 * own increasing 22-bit sequence number, FLOWS inner flows per reporter, at RATE reports/s for
 * SECONDS seconds, sent with sendmmsg(2) when due and sleeping in between (at least TICK_US), so
 * the sender takes little of the box it measures. Every GAP_MS one reporter skips 5 sequence
 * numbers (a report_loss anomaly), until TAIL_MS before the traffic ends.
 *
 * Usage: report-blast TEMPLATE PORT RATE SECONDS NODES FLOWS INNER_SRC_PORT GAP_MS TAIL_MS
 *                     TICK_US [SEQ_START_FILE]
 * TEMPLATE: the datagram's bytes; SEQ_START_FILE: NODES first sequence numbers, one per line.
 * Prints one JSON object: sent, elapsedMs, gaps [{node, seq, at}], marks [[at, node, seq]] every
 * 2,000 reports, seq (each reporter's next number), cpuSeconds (its own user + system time).
 * Times `at` are wall-clock ms (as Date.now()). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_LEN 2048

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void put16(unsigned char *b, uint32_t v) {
  b[0] = v >> 8;
  b[1] = v & 0xff;
}

static void put32(unsigned char *b, uint32_t v) {
  b[0] = v >> 24;
  b[1] = (v >> 16) & 0xff;
  b[2] = (v >> 8) & 0xff;
  b[3] = v & 0xff;
}

int main(int argc, char **argv) {
  if (argc != 11 && argc != 12) {
    fprintf(stderr,
            "usage: %s TEMPLATE PORT RATE SECONDS NODES FLOWS INNER_SRC_PORT GAP_MS TAIL_MS "
            "TICK_US [SEQ_START_FILE]\n",
            argv[0]);
    return 2;
  }
  unsigned char tpl[MAX_LEN];
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror("template"); return 1; }
  size_t len = fread(tpl, 1, sizeof tpl, f);
  fclose(f);
  int port = atoi(argv[2]);
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  long nodes = atol(argv[5]), flows = atol(argv[6]), inner = atol(argv[7]);
  double gap_ms = atof(argv[8]), tail_ms = atof(argv[9]), tick_ms = atof(argv[10]) / 1e3;
  if (len < 8 || nodes <= 0 || rate <= 0 || (flows > 0 && (inner < 0 || (size_t)inner + 2 > len))) {
    fprintf(stderr, "report-blast: bad arguments\n");
    return 2;
  }
  uint32_t *seq = calloc(nodes, sizeof *seq);
  if (argc == 12) {
    FILE *sf = fopen(argv[11], "r");
    if (!sf) { perror("seq start"); return 1; }
    for (long i = 0; i < nodes; i++) {
      unsigned long v;
      if (fscanf(sf, "%lu", &v) != 1) break;
      seq[i] = (uint32_t)v;
    }
    fclose(sf);
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0) { perror("socket"); return 1; }

  long total = (long)(rate * seconds);
  static unsigned char bufs[BATCH][MAX_LEN];
  struct iovec iov[BATCH];
  struct mmsghdr mm[BATCH];
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < BATCH; i++) {
    memcpy(bufs[i], tpl, len);
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = len;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  long cap_gaps = 64, n_gaps = 0, cap_marks = total / 2000 + 2, n_marks = 0;
  double *gap_at = malloc(cap_gaps * sizeof *gap_at);
  long *gap_node = malloc(cap_gaps * sizeof *gap_node);
  uint32_t *gap_seq = malloc(cap_gaps * sizeof *gap_seq);
  double *mark_at = malloc(cap_marks * sizeof *mark_at);
  long *mark_node = malloc(cap_marks * sizeof *mark_node);
  uint32_t *mark_seq = malloc(cap_marks * sizeof *mark_seq);

  long sent = 0, gap_target = -1;
  double next_gap = gap_ms;
  double t0 = mono_ms(), w0 = wall_ms();
  while (sent < total) {
    double t = mono_ms() - t0;
    long due = (long)(t / 1e3 * rate);
    if (due > total) due = total;
    if (gap_ms > 0 && gap_target < 0 && t >= next_gap && next_gap <= seconds * 1e3 - tail_ms) {
      next_gap += gap_ms;
      gap_target = (long)(next_gap / gap_ms) % nodes;
    }
    while (sent < due) {
      int k = 0;
      for (; k < BATCH && sent < due; k++) {
        long node = sent % nodes;
        if (node == gap_target) {
          seq[node] = (seq[node] + 5) & 0x3fffff;
          if (n_gaps == cap_gaps) {
            cap_gaps *= 2;
            gap_at = realloc(gap_at, cap_gaps * sizeof *gap_at);
            gap_node = realloc(gap_node, cap_gaps * sizeof *gap_node);
            gap_seq = realloc(gap_seq, cap_gaps * sizeof *gap_seq);
          }
          gap_at[n_gaps] = wall_ms();
          gap_node[n_gaps] = node;
          gap_seq[n_gaps++] = seq[node];
          gap_target = -1;
        }
        unsigned char *b = bufs[k];
        uint32_t sq = seq[node];
        b[1] = (tpl[1] & 0xc0) | (sq >> 16);
        put16(b + 2, sq & 0xffff);
        put32(b + 4, 1000 + (uint32_t)node);
        if (flows > 0) put16(b + inner, 20000 + node * flows + (sent / nodes) % flows);
        seq[node] = (sq + 1) & 0x3fffff;
        sent++;
        if (sent % 2000 == 0 && n_marks < cap_marks) {
          mark_at[n_marks] = wall_ms();
          mark_node[n_marks] = node;
          mark_seq[n_marks++] = sq;
        }
      }
      for (int off = 0; off < k;) {
        int r = sendmmsg(s, mm + off, k - off, 0);
        if (r <= 0) break; /* loopback: a full receive buffer drops, it does not block */
        off += r;
      }
    }
    if (sent >= total) break;
    /* sleep until the next report is due, at least one tick */
    double wait = (sent + 1) / rate * 1e3 - (mono_ms() - t0);
    if (wait < tick_ms) wait = tick_ms;
    struct timespec sl = {(time_t)(wait / 1e3), (long)((wait - (time_t)(wait / 1e3) * 1e3) * 1e6)};
    nanosleep(&sl, NULL);
  }
  double elapsed = mono_ms() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
  printf("{\"sent\":%ld,\"elapsedMs\":%.0f,\"cpuSeconds\":%.3f,\"startedAt\":%.0f,\"gaps\":[", sent,
         elapsed, cpu, w0);
  for (long i = 0; i < n_gaps; i++)
    printf("%s{\"node\":%ld,\"seq\":%u,\"at\":%.0f}", i ? "," : "", gap_node[i], gap_seq[i],
           gap_at[i]);
  printf("],\"marks\":[");
  for (long i = 0; i < n_marks; i++)
    printf("%s[%.0f,%ld,%u]", i ? "," : "", mark_at[i], mark_node[i], mark_seq[i]);
  printf("],\"seq\":[");
  for (long i = 0; i < nodes; i++) printf("%s%u", i ? "," : "", seq[i]);
  printf("]}\n");
  return 0;
}
