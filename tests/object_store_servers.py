# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Local object-store servers for the remote tests (127.0.0.1 only).

* S3: moto's server mode (`moto[server]`), a `ThreadedMotoServer`.
* GCS: `gcp-storage-emulator`.  Two gaps between the emulator and GCS are
  closed here, because TensorStore relies on both: media downloads carry no
  `x-goog-generation` header (TensorStore reads the object generation from
  it), and object listings ignore `startOffset`/`endOffset` and never page
  (TensorStore lists and deletes key ranges with them); and it fails on
  empty media uploads.  The emulator's upload, download and list handlers
  are wrapped to behave as GCS documents; pages
  are small (`GCS_PAGE_SIZE`) so that every listing is paginated.
* `FaultProxy`: an HTTP proxy in front of either server that counts
  requests and answers chosen ones with an error status (429, 500, 503,
  403) instead of forwarding them.

Every server binds 127.0.0.1 on a free port and is stopped by its fixture.
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import json
import re
import socket
import threading
import urllib.parse
import urllib.request
from typing import Optional

GCS_PAGE_SIZE = 20


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


# ---------------------------------------------------------------------------
# S3 (moto)

class S3Server:
  """moto's S3 in server mode."""

  def __init__(self):
    from moto.server import ThreadedMotoServer  # pylint: disable=g-import-not-at-top
    import logging  # pylint: disable=g-import-not-at-top
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    self.port = free_port()
    self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port,
                                      verbose=False)
    self._server.start()
    self.endpoint = f"http://127.0.0.1:{self.port}"

  def create_bucket(self, name: str) -> None:
    req = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
    urllib.request.urlopen(req, timeout=10).read()

  def stop(self) -> None:
    self._server.stop()


# ---------------------------------------------------------------------------
# GCS (gcp-storage-emulator)

_PATCHED = []


def _patch_gcs_emulator() -> None:
  """Makes the emulator's downloads and listings behave as GCS's."""
  if _PATCHED:
    return
  from gcp_storage_emulator import server as server_mod  # pylint: disable=g-import-not-at-top
  from gcp_storage_emulator.handlers import objects  # pylint: disable=g-import-not-at-top

  download = objects.download
  ls = objects.ls

  def download_with_generation(request, response, storage, *args, **kwargs):
    try:
      obj = storage.get_file_obj(request.params["bucket_name"],
                                 request.params["object_id"])
      response["x-goog-generation"] = str(obj["generation"])
      response["x-goog-metageneration"] = str(obj["metageneration"])
    except Exception:  # pylint: disable=broad-except
      pass  # a missing object: the wrapped handler answers 404
    return download(request, response, storage, *args, **kwargs)

  def ls_with_ranges_and_pages(request, response, storage, *args, **kwargs):
    ls(request, response, storage, *args, **kwargs)
    if response.status != 200:
      return
    q = request.query
    first = lambda name: q[name][0] if q.get(name) else None  # noqa: E731
    doc = json.loads(response._content)  # pylint: disable=protected-access
    items = sorted(doc.get("items") or [], key=lambda o: o["name"])
    start, end = first("startOffset"), first("endOffset")
    token = first("pageToken")
    items = [o for o in items
             if (start is None or o["name"] >= start)
             and (end is None or o["name"] < end)
             and (token is None or o["name"] > token)]
    size = min(int(first("maxResults") or GCS_PAGE_SIZE), GCS_PAGE_SIZE)
    page = items[:size]
    doc["items"] = page
    if len(items) > size:
      doc["nextPageToken"] = page[-1]["name"]
    response.json(doc)

  read_data = server_mod._read_data  # pylint: disable=protected-access

  def read_data_allowing_empty(handler, query):
    data = read_data(handler, query)
    if data is None and (query.get("uploadType") or [None])[0] == "media":
      return b""  # an empty object (the emulator fails on these)
    return data

  server_mod._read_data = read_data_allowing_empty  # pylint: disable=protected-access
  objects.download = download_with_generation
  objects.ls = ls_with_ranges_and_pages
  # The route table holds the handler functions themselves.
  routes = []
  for pattern, methods in server_mod.HANDLERS:
    methods = {m: {download: download_with_generation,
                   ls: ls_with_ranges_and_pages}.get(h, h)
               for m, h in methods.items()}
    routes.append((pattern, methods))
  server_mod.HANDLERS = tuple(routes)
  _PATCHED.append(True)


class GcsServer:
  """gcp-storage-emulator, in memory."""

  def __init__(self):
    from gcp_storage_emulator.server import create_server  # pylint: disable=g-import-not-at-top
    import logging  # pylint: disable=g-import-not-at-top
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    _patch_gcs_emulator()
    self.port = free_port()
    self._server = create_server("127.0.0.1", self.port, in_memory=True)
    self._server.start()
    self.endpoint = f"http://127.0.0.1:{self.port}"

  def create_bucket(self, name: str) -> None:
    req = urllib.request.Request(
        f"{self.endpoint}/storage/v1/b?project=test",
        data=json.dumps({"name": name}).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()

  def stop(self) -> None:
    self._server.stop()


# ---------------------------------------------------------------------------
# Fault-injecting, counting proxy

@dataclasses.dataclass
class Fault:
  """Answer the next `count` requests matching `method` and `path` (a
  regex searched in the request path) with `status`."""

  method: str
  path: str
  status: int
  count: int


_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "upgrade", "te", "trailer"}


class FaultProxy:
  """A forward proxy on 127.0.0.1 that injects `Fault`s and counts
  requests (`requests`: a list of (method, path, status))."""

  def __init__(self, upstream: str):
    u = urllib.parse.urlparse(upstream)
    self._up = (u.hostname, u.port)
    self.faults: list[Fault] = []
    self.requests: list[tuple[str, str, int]] = []
    self._lock = threading.Lock()
    proxy = self

    class Handler(http.server.BaseHTTPRequestHandler):
      protocol_version = "HTTP/1.1"

      def log_message(self, *args):  # quiet
        pass

      def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        fault = proxy._take(self.command, self.path)
        if fault is not None:
          payload = b"<Error><Code>Injected</Code></Error>"
          self.send_response(fault)
          self.send_header("Content-Length", str(len(payload)))
          self.send_header("Content-Type", "application/xml")
          self.end_headers()
          self.wfile.write(payload)
          proxy._log(self.command, self.path, fault)
          return
        conn = http.client.HTTPConnection(*proxy._up, timeout=60)
        try:
          headers = {k: v for k, v in self.headers.items()
                     if k.lower() not in _HOP}
          conn.request(self.command, self.path, body=body, headers=headers)
          resp = conn.getresponse()
          data = resp.read()
          self.send_response(resp.status)
          for k, v in resp.getheaders():
            if k.lower() not in _HOP and k.lower() != "content-length":
              self.send_header(k, v)
          self.send_header("Content-Length", str(len(data)))
          self.end_headers()
          if self.command != "HEAD":
            self.wfile.write(data)
          proxy._log(self.command, self.path, resp.status)
        finally:
          conn.close()

      do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _any

    self.port = free_port()
    self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                   Handler)
    self._server.daemon_threads = True
    self._thread = threading.Thread(target=self._server.serve_forever,
                                    daemon=True)
    self._thread.start()
    self.endpoint = f"http://127.0.0.1:{self.port}"

  def _take(self, method: str, path: str) -> Optional[int]:
    with self._lock:
      for f in self.faults:
        if f.count > 0 and f.method == method and re.search(f.path, path):
          f.count -= 1
          return f.status
    return None

  def _log(self, method, path, status):
    with self._lock:
      self.requests.append((method, path, status))

  def count(self, method: str, path: str = "", status: Optional[int] = None
            ) -> int:
    with self._lock:
      return sum(1 for m, p, s in self.requests
                 if m == method and re.search(path, p)
                 and (status is None or s == status))

  def stop(self) -> None:
    self._server.shutdown()
    self._server.server_close()
