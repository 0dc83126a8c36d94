"""The request threads' side of the front worker (worker.py): running the application on a
complete request, and gunicorn's error pages for the requests the loop refuses."""

from __future__ import annotations

import errno
from datetime import datetime

from gunicorn.http import wsgi
from gunicorn.http.message import Request

from registry.front.connection import Connection
from registry.front.responses import OutgoingSocket, ResponseBody


class Serving:
    def _serve(self, conn: Connection, request: Request) -> bool | ResponseBody:
        """Runs the application on a complete request. Whether the connection may be kept, or,
        when the client is not reading fast enough, the rest of the response for the loop."""
        try:
            # A small answer a client does not read must not hold this thread for long either.
            conn.sock.settimeout(self._limits.body_timeout)
            return self._respond(conn, request)
        except StopIteration:
            pass
        except OSError as error:
            if error.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.debug("Socket error serving a request: %s", error)
        except Exception as error:
            self.handle_error(request, conn.sock, conn.client, error)
        return False

    def _respond(self, conn: Connection, request: Request) -> bool | ResponseBody:
        """gunicorn's handle_request, except that a file body is written only as fast as the
        socket takes it; what is left becomes the loop's."""
        environ, response, iterable, started = {}, None, None, datetime.now()
        handed_over = False
        try:
            self.cfg.pre_request(self, request)
            out = OutgoingSocket(conn.sock)
            response, environ = wsgi.create(request, out, conn.client, conn.server, self.cfg)
            environ["wsgi.multithread"] = True
            self.nr += 1
            if self.nr >= self.max_requests:
                if self.alive:
                    self.log.info("Autorestarting worker after current request.")
                    self.alive = False
                response.force_close()
            if not self.alive or not self.cfg.keepalive:
                response.force_close()
            iterable = self.wsgi(environ, response.start_response)
            body = ResponseBody(response, iterable, out)
            if isinstance(iterable, environ["wsgi.file_wrapper"]):
                out.hold_back()
            if not (body.advance() and out.flush()):
                handed_over = True
                return body
            return not response.should_close()
        except Exception:
            if response is not None and response.headers_sent:
                # Writing an error page into a started answer would corrupt it.
                self.log.exception("Error handling request")
                raise StopIteration() from None
            raise
        finally:
            if response is not None:
                self.log.access(response, request, environ, datetime.now() - started)
            if iterable is not None and not handed_over and hasattr(iterable, "close"):
                iterable.close()
            try:
                self.cfg.post_request(self, request, environ, response)
            except Exception:
                self.log.exception("Exception in post_request hook")

    def _write_error(self, conn: Connection, error: Exception) -> bool:
        try:
            conn.sock.settimeout(self._limits.body_timeout)
            self.handle_error(conn.request, conn.sock, conn.client, error)
        except OSError:
            pass
        return False
