/* udp-blast: sends datagrams from a file to HOST:PORT at a target rate with sendmmsg(2).
 * The file holds records of [u32 little-endian length][bytes]; they are sent round robin.
 * Usage: udp-blast FILE HOST PORT RATE SECONDS   (prints datagrams sent and achieved rate)
 * A load generator for benchmarks/udp-listener.js: Node's dgram cannot send fast enough. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s FILE HOST PORT RATE SECONDS\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror("open"); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(size);
  if (fread(buf, 1, size, f) != (size_t)size) { perror("read"); return 1; }
  fclose(f);
  int n = 0, cap = 1024;
  struct iovec *msgs = malloc(sizeof(struct iovec) * cap);
  for (long o = 0; o + 4 <= size;) {
    uint32_t len = buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | ((uint32_t)buf[o + 3] << 24);
    o += 4;
    if (o + len > size) break;
    if (n == cap) { cap *= 2; msgs = realloc(msgs, sizeof(struct iovec) * cap); }
    msgs[n].iov_base = buf + o;
    msgs[n].iov_len = len;
    n++;
    o += len;
  }
  if (n == 0) { fprintf(stderr, "no datagrams in %s\n", argv[1]); return 1; }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(atoi(argv[3]));
  inet_pton(AF_INET, argv[2], &to.sin_addr);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (connect(s, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 1; }
  double rate = atof(argv[4]), secs = atof(argv[5]);
  struct mmsghdr mm[BATCH];
  memset(mm, 0, sizeof mm);
  long sent = 0, idx = 0;
  double t0 = now();
  for (;;) {
    double t = now() - t0;
    if (t >= secs) break;
    long due = (long)(t * rate);
    if (sent >= due) { struct timespec sl = {0, 20000}; nanosleep(&sl, NULL); continue; }
    int k = due - sent > BATCH ? BATCH : (int)(due - sent);
    for (int i = 0; i < k; i++) {
      mm[i].msg_hdr.msg_iov = &msgs[idx];
      mm[i].msg_hdr.msg_iovlen = 1;
      idx = (idx + 1) % n;
    }
    int r = sendmmsg(s, mm, k, 0);
    if (r > 0) sent += r;
  }
  double el = now() - t0;
  printf("%ld %.0f\n", sent, sent / el);
  return 0;
}
