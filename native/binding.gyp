{
  "targets": [
    {
      "target_name": "glance_rbd",
      "sources": ["src/glance_rbd.cc"],
      "libraries": ["-lrbd", "-lrados"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror"]
    },
    {
      "target_name": "glance_sendfile",
      "sources": ["src/glance_sendfile.cc"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
