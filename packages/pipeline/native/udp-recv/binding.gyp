{
  "targets": [
    {
      "target_name": "udp_recv",
      "sources": ["udp_recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
