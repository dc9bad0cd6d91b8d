{
  "targets": [
    {
      "target_name": "outpost_sendfile",
      "sources": ["src/sendfile.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "ldflags": ["-pthread"]
    }
  ]
}
