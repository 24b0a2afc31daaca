/*
 * hopwatch's batched UDP receive path: one non-blocking socket polled on Node's own event loop
 * (libuv), read with recvmmsg(2) into one buffer the JavaScript side allocated, so a burst of
 * datagrams costs one system call and one call into JavaScript instead of one of each per
 * datagram (plus the 64 KiB buffer, the address string and the event Node's dgram makes for
 * every datagram). N-API only: one build serves every Node version.
 *
 * JavaScript API (see src/sources/udp-native.ts):
 *   open(host, port, v6, rcvbuf, buffer, slotSize, meta, onBatch, holdMs) -> handle
 *   localPort(handle) -> number
 *   receiveBuffer(handle) -> number       (SO_RCVBUF as the kernel reports it)
 *   close(handle)
 * onBatch(count, errno): `count` datagrams are in the buffer's slots 0..count-1, described in
 * `meta` (META_WORDS words each: length, flags, four address words, port, and the kernel's
 * receive time as seconds and nanoseconds, 0 when it gave none); errno != 0 reports a receive
 * error (count 0). The slots are reused by the next batch: read them synchronously.
 *
 * Receive coalescing (holdMs > 0), as a NIC's interrupt moderation: when a wake-up finds two
 * or more datagrams queued, or comes within holdMs of the last read, the socket stops waking
 * the loop and is read again holdMs later (libuv's timer: 1 to 2 ms for 1), for as long as
 * each read finds something. At 20,000 reports/s from a smooth sender a wake-up found about
 * 2 datagrams and cost more CPU than decoding them; held 1 ms, a read finds about 20. The
 * first datagram after a quiet spell is still read at once, so a quiet socket adds no
 * wake-ups and no latency, and the kernel's receive times keep the datagrams' own times.
 *
 * The receive time is the kernel's (SO_TIMESTAMPNS, CLOCK_REALTIME when the datagram reached
 * the socket), per datagram: a batch read late is not stamped with the time it was read.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define META_WORDS 10
/* Room for one SCM_TIMESTAMPNS message per datagram. */
#define CTRL_SIZE CMSG_SPACE(sizeof(struct timespec))
#define FLAG_TRUNCATED 1
#define FLAG_V6 2
/* Batches read per readiness event before yielding to the rest of the event loop (timers,
 * the Kafka client): bounds how long a flood can hold the loop. */
#define MAX_ROUNDS 16
/* Bumped when the JavaScript API changes: a build from older sources is not used. */
#define API_VERSION 2

typedef struct {
  napi_env env;
  int fd;
  int closed;
  uv_poll_t poll;
  uv_timer_t hold;
  unsigned hold_ms;
  uint64_t last_read; /* the loop's time (ms) of the last wake-up that read */
  int open_handles; /* poll and hold: freed when both are closed */
  napi_ref on_batch;
  napi_ref buffer;
  napi_ref meta_ref;
  napi_async_context actx;
  uint8_t *buf;
  size_t slot_size;
  unsigned slots;
  uint32_t *meta;
  struct mmsghdr *msgs;
  struct iovec *iov;
  struct sockaddr_storage *addrs;
  uint8_t *ctrl;
} Sock;

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES"
                     : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : "ESOCKET";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, text, &e);
  napi_throw(env, e);
  return NULL;
}

static void call_js(Sock *s, unsigned count, int err) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[2], result;
  napi_get_reference_value(env, s->on_batch, &fn);
  napi_get_global(env, &recv); /* napi_make_callback needs an object */
  napi_create_uint32(env, count, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  if (napi_make_callback(env, s->actx, recv, fn, 2, argv, &result) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);
  }
  napi_close_handle_scope(env, scope);
}

static void fill_meta(Sock *s, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    uint32_t *m = s->meta + i * META_WORDS;
    struct msghdr *h = &s->msgs[i].msg_hdr;
    m[0] = s->msgs[i].msg_len;
    m[1] = (h->msg_flags & MSG_TRUNC) ? FLAG_TRUNCATED : 0;
    m[2] = m[3] = m[4] = m[5] = m[6] = m[7] = m[8] = m[9] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        m[7] = (uint32_t)ts.tv_sec;
        m[8] = (uint32_t)ts.tv_nsec;
      }
    const struct sockaddr_storage *a = &s->addrs[i];
    if (a->ss_family == AF_INET) {
      const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
      m[5] = ntohl(v4->sin_addr.s_addr);
      m[6] = ntohs(v4->sin_port);
    } else if (a->ss_family == AF_INET6) {
      const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
      const uint8_t *b = v6->sin6_addr.s6_addr;
      m[6] = ntohs(v6->sin6_port);
      if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
        m[5] = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
      } else {
        m[1] |= FLAG_V6;
        for (int w = 0; w < 4; w++)
          m[2 + w] = ((uint32_t)b[4 * w] << 24) | ((uint32_t)b[4 * w + 1] << 16) |
                     ((uint32_t)b[4 * w + 2] << 8) | b[4 * w + 3];
      }
    }
  }
}

/* Reads until the queue is empty, an error, or MAX_ROUNDS full batches (*more = 1: datagrams
 * may still be queued). Returns the datagrams read. */
static unsigned drain(Sock *s, int *more) {
  unsigned total = 0;
  *more = 0;
  for (int round = 0; round < MAX_ROUNDS && !s->closed; round++) {
    for (unsigned i = 0; i < s->slots; i++) {
      s->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      s->msgs[i].msg_hdr.msg_flags = 0;
      s->msgs[i].msg_hdr.msg_controllen = CTRL_SIZE;
      s->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, s->slots, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) call_js(s, 0, errno);
      return total;
    }
    if (n == 0) return total;
    total += (unsigned)n;
    fill_meta(s, (unsigned)n);
    call_js(s, (unsigned)n, 0);
    if ((unsigned)n < s->slots) return total; /* the queue is drained */
  }
  *more = !s->closed;
  return total;
}

static void on_readable(uv_poll_t *h, int status, int events);

/* Held reads: keep reading on the timer while reads find datagrams, else wait for the socket
 * again. A flood (the bound hit) is read again on the loop's next turn. */
static void on_hold(uv_timer_t *t) {
  Sock *s = t->data;
  if (s->closed) return;
  int more;
  unsigned n = drain(s, &more);
  if (s->closed) return;
  if (more) uv_timer_start(&s->hold, on_hold, 0, 0);
  else if (n > 0) uv_timer_start(&s->hold, on_hold, s->hold_ms, 0);
  else uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  Sock *s = h->data;
  if (s->closed) return;
  if (status < 0) {
    call_js(s, 0, -status);
    return;
  }
  int more;
  unsigned n = drain(s, &more);
  if (s->closed || s->hold_ms == 0) return;
  /* datagrams arriving one at a time but often (each wake-up finds one): hold as well */
  uint64_t now = uv_now(uv_handle_get_loop((uv_handle_t *)h));
  int recent = s->last_read != 0 && now - s->last_read <= s->hold_ms;
  s->last_read = now;
  if (n < 2 && !more && !recent) return;
  uv_poll_stop(&s->poll);
  uv_timer_start(&s->hold, on_hold, more ? 0 : s->hold_ms, 0);
}

static void on_closed(uv_handle_t *h) {
  Sock *s = h->data;
  if (--s->open_handles > 0) return;
  free(s->msgs);
  free(s->iov);
  free(s->addrs);
  free(s->ctrl);
  free(s);
}

static void stop(Sock *s, int from_teardown) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  uv_timer_stop(&s->hold);
  close(s->fd);
  if (from_teardown) return; /* the loop is going away with the environment */
  napi_env env = s->env;
  napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->buffer);
  napi_delete_reference(env, s->meta_ref);
  napi_async_destroy(env, s->actx);
  uv_close((uv_handle_t *)&s->poll, on_closed);
  uv_close((uv_handle_t *)&s->hold, on_closed);
}

static void on_teardown(void *arg) { stop((Sock *)arg, 1); }

/* Polls fd on Node's loop; the JS side's buffer, slot size, meta, callback and hold (ms) are
 * args[0..4]. Takes fd: closes it on failure. */
static napi_value start(napi_env env, int fd, napi_value *args) {
  const char *err = "udp_recv: out of memory";
  napi_value ab;
  napi_typedarray_type t;
  size_t len, mlen, off;
  void *data, *mdata;
  uint32_t slot, hold_ms;
  Sock *s = calloc(1, sizeof *s);
  if (!s) goto fail;
  if (napi_get_typedarray_info(env, args[0], &t, &len, &data, &ab, &off) != napi_ok ||
      t != napi_uint8_array || napi_get_value_uint32(env, args[1], &slot) != napi_ok || slot == 0 ||
      len / slot == 0) {
    err = "udp_recv: buffer must be a Uint8Array of whole slots";
    goto fail;
  }
  s->env = env;
  s->fd = fd;
  s->buf = data;
  s->slot_size = slot;
  s->slots = (unsigned)(len / slot);
  if (s->slots > 1024) s->slots = 1024; /* UIO_MAXIOV */
  if (napi_get_typedarray_info(env, args[2], &t, &mlen, &mdata, &ab, &off) != napi_ok ||
      t != napi_uint32_array || mlen < (size_t)s->slots * META_WORDS) {
    err = "udp_recv: meta must be a Uint32Array of META_WORDS words per slot";
    goto fail;
  }
  s->meta = mdata;
  if (napi_get_value_uint32(env, args[4], &hold_ms) != napi_ok || hold_ms > 1000) {
    err = "udp_recv: hold must be 0 to 1000 ms";
    goto fail;
  }
  s->hold_ms = hold_ms;
  s->msgs = calloc(s->slots, sizeof *s->msgs);
  s->iov = calloc(s->slots, sizeof *s->iov);
  s->addrs = calloc(s->slots, sizeof *s->addrs);
  s->ctrl = calloc(s->slots, CTRL_SIZE);
  if (!s->msgs || !s->iov || !s->addrs || !s->ctrl) goto fail;
  for (unsigned i = 0; i < s->slots; i++) {
    s->iov[i].iov_base = s->buf + (size_t)i * slot;
    s->iov[i].iov_len = slot;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->addrs[i];
    s->msgs[i].msg_hdr.msg_control = s->ctrl + (size_t)i * CTRL_SIZE;
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  s->poll.data = s;
  s->hold.data = s;
  int r = uv_poll_init(loop, &s->poll, fd);
  if (r != 0) {
    err = uv_strerror(r);
    goto fail;
  }
  uv_timer_init(loop, &s->hold); /* cannot fail */
  s->open_handles = 2;
  napi_create_reference(env, args[0], 1, &s->buffer);
  napi_create_reference(env, args[2], 1, &s->meta_ref);
  napi_create_reference(env, args[3], 1, &s->on_batch);
  napi_value name;
  napi_create_string_utf8(env, "hopwatch:udp-recv", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->actx);
  r = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (r != 0) {
    stop(s, 0); /* the handle is initialised: closed through the loop, freed in on_closed */
    napi_throw_error(env, NULL, uv_strerror(r));
    return NULL;
  }
  napi_add_env_cleanup_hook(env, on_teardown, s);
  napi_value handle;
  napi_create_external(env, s, NULL, NULL, &handle);
  return handle;
fail:
  close(fd);
  if (s) {
    free(s->msgs);
    free(s->iov);
    free(s->addrs);
    free(s->ctrl);
    free(s);
  }
  napi_throw_error(env, NULL, err);
  return NULL;
}

/* The socket handle that is a call's only argument (NULL with an exception pending). */
static Sock *sock_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, a[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "udp_recv: not a socket handle");
    return NULL;
  }
  return p;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 9) {
    napi_throw_type_error(env, NULL, "udp_recv.open: 9 arguments expected");
    return NULL;
  }
  char host[64];
  size_t hl;
  uint32_t port, rcvbuf;
  bool v6;
  if (napi_get_value_string_utf8(env, a[0], host, sizeof host, &hl) != napi_ok ||
      napi_get_value_uint32(env, a[1], &port) != napi_ok || port > 65535 ||
      napi_get_value_bool(env, a[2], &v6) != napi_ok ||
      napi_get_value_uint32(env, a[3], &rcvbuf) != napi_ok) {
    napi_throw_type_error(env, NULL, "udp_recv.open(host, port, v6, rcvbuf, ...): bad argument");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (v6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) goto bad_host;
    sl = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) goto bad_host;
    sl = sizeof *s4;
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int size = (int)rcvbuf;
  if (size > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  int on = 1; /* without it, every datagram is stamped with the batch's read time instead */
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  return start(env, fd, a + 4);
bad_host:
  napi_throw_type_error(env, NULL, "udp_recv.open: host must be a numeric address");
  return NULL;
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  napi_value out;
  Sock *s = sock_arg(env, info);
  if (!s) return NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (s->closed || getsockname(s->fd, (struct sockaddr *)&ss, &sl) != 0) {
    napi_throw_error(env, NULL, "udp_recv.localPort: socket is closed");
    return NULL;
  }
  uint16_t p = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port;
  napi_create_uint32(env, ntohs(p), &out);
  return out;
}

static napi_value js_receive_buffer(napi_env env, napi_callback_info info) {
  napi_value out;
  Sock *s = sock_arg(env, info);
  if (!s) return NULL;
  int size = 0;
  socklen_t sl = sizeof size;
  if (s->closed || getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, &sl) != 0) size = 0;
  napi_create_int32(env, size, &out);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  Sock *s = sock_arg(env, info);
  if (!s) return NULL;
  if (!s->closed) {
    napi_remove_env_cleanup_hook(env, on_teardown, s);
    stop(s, 0);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"receiveBuffer", NULL, js_receive_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value meta_words;
  napi_create_uint32(env, META_WORDS, &meta_words);
  napi_set_named_property(env, exports, "META_WORDS", meta_words);
  napi_value api;
  napi_create_uint32(env, API_VERSION, &api);
  napi_set_named_property(env, exports, "API_VERSION", api);
  if (napi_define_properties(env, exports, sizeof p / sizeof p[0], p) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
