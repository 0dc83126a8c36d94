"""Built-in runtime for python3.x functions: speaks the Lambda Runtime API, runs the handler.

It runs inside the sandbox under the function's own interpreter, so it uses the standard library
only and keeps its imports small (every import is cold-start time): the C parts of json and socket
(`_json`, `_socket`) serve it directly, since the Python modules around them pull in re, enum,
functools and collections, which doubled the interpreter's start-up CPU (about 12 ms of 23).
A handler that imports json or socket itself pays for them in its init, as it would anyway.
Handler semantics follow Lambda's python runtime: `mod.func` or `pkg/mod.func`, JSON in and out,
the context object, and errors reported as {errorMessage, errorType, requestId, stackTrace}.
"""

import _json
import _socket
import os
import sys
import time

# The runtime's own directory must not shadow the function's modules.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

_API = "/2018-06-01/runtime/"


class _Client:
    """HTTP/1.1 keep-alive client for the Runtime API (http.client costs ~10 ms to import)."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self._addr = (host, int(port))
        self._sock = None
        self._buf = b""

    def _connect(self):
        host, port = self._addr
        self._sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        # An address as bytes: a str would load the idna codec to encode it.
        self._sock.connect((host.encode("ascii"), port))
        self._sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        self._buf = b""

    def request(self, method, path, body=b"", headers=()):
        if self._sock is None:
            self._connect()
        head = "%s %s HTTP/1.1\r\nHost: runtime\r\nContent-Length: %d\r\n" % (
            method,
            path,
            len(body),
        )
        head += "".join("%s: %s\r\n" % h for h in headers)
        self._sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        while b"\r\n\r\n" not in self._buf:
            self._recv()
        raw, _, self._buf = self._buf.partition(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        length = int(fields.get("content-length", "0"))
        while len(self._buf) < length:
            self._recv()
        data, self._buf = self._buf[:length], self._buf[length:]
        if fields.get("connection", "").lower() == "close":
            # The API closes after refusing a body (e.g. an oversized response): reconnect next.
            self._sock.close()
            self._sock = None
        return status, fields, data

    def _recv(self):
        chunk = self._sock.recv(262144)
        if not chunk:
            raise ConnectionError("the Runtime API closed the connection")
        self._buf += chunk


class _Json:
    """json.loads and json.dumps with their default options, on the C scanner and encoder; any
    input the scanner refuses (or an unusual encoding) goes to the json module itself, so that
    errors read exactly as json's."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int

    @staticmethod
    def parse_constant(name):
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]

    @staticmethod
    def _default(o):
        raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

    def __init__(self):
        self._scan = _json.make_scanner(self)

    def loads(self, data):
        if isinstance(data, bytes):
            if data[:3] == b"\xef\xbb\xbf" or b"\x00" in data[:4]:
                return self._module().loads(data)  # a BOM or UTF-16/32: json detects it
            data = data.decode("utf-8", "surrogatepass")
        start = len(data) - len(data.lstrip(" \t\n\r"))
        try:
            value, end = self._scan(data, start)
        except StopIteration:
            return self._module().loads(data)
        if end != len(data) and data[end:].strip(" \t\n\r"):
            return self._module().loads(data)
        return value

    def dumps(self, value):
        encode = _json.make_encoder(
            {}, self._default, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
        )
        return "".join(encode(value, 0))

    @staticmethod
    def _module():
        import json

        return json


json = _Json()


class LambdaContext:
    def __init__(self, headers, deadline_ms):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id")
        self._deadline_ms = deadline_ms
        self.identity = None
        self.client_context = None
        raw = headers.get("lambda-runtime-client-context")
        if raw:
            try:
                self.client_context = json.loads(raw)
            except ValueError:
                self.client_context = None

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def log(self, message):
        sys.stdout.write(str(message))
        sys.stdout.flush()

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
            )
        )


class _Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


def _stack(tb):
    """The frames of the function's code only: Lambda's runtime leaves its own frames (the loop
    that called the handler) out of the trace it reports."""
    import traceback

    frames = traceback.extract_tb(tb)
    while frames and frames[0].filename == __file__:
        del frames[0]
    return traceback.format_list(frames)


def _error_document(exc, request_id=""):
    """Lambda's error document: every key is always there; an init error has no request yet, so
    its requestId is empty."""
    if isinstance(exc, _Fault):
        message, error_type, trace = exc.message, exc.error_type, exc.trace
    else:
        message, error_type, trace = str(exc), type(exc).__name__, _stack(exc.__traceback__)
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def _log_error(doc):
    text = "[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"])
    if doc.get("stackTrace"):
        text += "\nTraceback (most recent call last):\n" + "".join(doc["stackTrace"]).rstrip("\n")
    sys.stdout.write(text + "\n")


def load_handler(spec):
    module_path, dot, name = spec.rpartition(".")
    if not dot or not module_path or not name:
        raise _Fault(
            "Runtime.MalformedHandlerName",
            "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % spec,
        )
    module_name = module_path.replace("/", ".")
    try:
        # importlib.import_module's lookup, without importing importlib and warnings on every
        # cold start.
        __import__(module_name)
        module = sys.modules[module_name]
    except SyntaxError as exc:
        raise _Fault(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (module_path, exc),
            ['  File "%s" Line %s\n    %s' % (exc.filename, exc.lineno, exc.text)],
        ) from None
    except ImportError as exc:
        # Lambda reports no frames for a module that cannot be imported.
        raise _Fault(
            "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_path, exc)
        ) from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise _Fault(
            "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (name, module_path)
        ) from None


class _LambdaLogFormat:
    """Lambda's text format for the logging module, with the current request id."""

    request_id = ""

    @classmethod
    def install_if_imported(cls):
        logging = sys.modules.get("logging")
        if logging is None or getattr(logging, "_strata_lambda_format", False):
            return
        logging._strata_lambda_format = True

        class _Filter(logging.Filter):
            def filter(self, record):
                record.aws_request_id = cls.request_id
                return True

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
        handler.formatter.converter = time.gmtime
        handler.addFilter(_Filter())
        handler.terminator = ""
        logging.getLogger().addHandler(handler)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def main():
    client = _Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as exc:
        doc = _error_document(exc)
        _log_error(doc)
        _flush()
        client.request(
            "POST",
            _API + "init/error",
            json.dumps(doc).encode(),
            [("Lambda-Runtime-Function-Error-Type", doc["errorType"])],
        )
        sys.exit(1)
    _LambdaLogFormat.install_if_imported()
    while True:
        status, headers, body = client.request("GET", _API + "invocation/next")
        if status != 200:
            sys.exit("Runtime API answered %d to /next" % status)
        request_id = headers["lambda-runtime-aws-request-id"]
        _LambdaLogFormat.request_id = request_id
        _LambdaLogFormat.install_if_imported()
        context = LambdaContext(headers, int(headers.get("lambda-runtime-deadline-ms", "0")))
        try:
            try:
                event = json.loads(body) if body else None
            except ValueError as exc:
                raise _Fault(
                    "Runtime.UnmarshalError", "Unable to unmarshal input: %s" % exc
                ) from None
            result = handler(event, context)
            try:
                payload = json.dumps(result).encode()
            except (TypeError, ValueError) as exc:
                raise _Fault(
                    "Runtime.MarshalError", "Unable to marshal response: %s" % exc
                ) from None
        except Exception as exc:
            doc = _error_document(exc, request_id)
            _log_error(doc)
            _flush()
            client.request(
                "POST",
                _API + "invocation/%s/error" % request_id,
                json.dumps(doc).encode(),
                [("Lambda-Runtime-Function-Error-Type", "Unhandled")],
            )
            continue
        _flush()
        client.request("POST", _API + "invocation/%s/response" % request_id, payload)


if __name__ == "__main__":
    main()
