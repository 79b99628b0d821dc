# Accepts OTLP/HTTP exports on 127.0.0.1:4318 and answers 200, counting bytes.
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    total = 0
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0)); self.rfile.read(n)
        H.total += n
        self.send_response(200); self.send_header('Content-Type', 'application/x-protobuf'); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', 4318), H).serve_forever()
