"""The forked-runtime builder: a root process of the runtime's own interpreter that forks one child
per environment, which builds the sandbox bubblewrap would build and runs the bootstrap in the
interpreter it inherited, instead of starting a new one (forked.py starts and talks to it).

It runs under the function's Python version with the standard library and forked_sandbox.py
only, is started with -S and its program on stdin (every sandbox's pid 1 is a fork of it, and its
command line names no host path), in an environment of PATH, LANG and TZ as every runtime's and
where forked_sandbox.py is (forked.py). Whatever it imports beyond an interpreter's start is
removed from sys.modules before the bootstrap runs.

Protocol, on the socket it is given (SOCK_SEQPACKET, one message per request):
- spawn: {"op": "spawn", "cgroups": [dir, ...]} with descriptors [log, info, block, spec, ready].
  A child takes a mount namespace of its own, says so with a byte on `ready`, joins the cgroups
  and waits for its spec on `spec`. The reply is {"pid": pid} with a pidfd of the child. When
  that child ends, {"exit": pid, "status": wait status} follows.
- The spec (JSON on the spec pipe, then EOF): {"options": bwrap's options, "argv": [...],
  "uid": uid, "seccomp": hex}. An empty spec ends the child.
"""

import sys

_BASELINE = set(sys.modules)  # what the runtime's interpreter has loaded at its start

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402

if __name__ == "__main__":
    sys.path[:] = [entry for entry in sys.path if entry]  # not the working directory ("-")
    # The sandbox's module beside this one, after the standard library (forked.py names it).
    sys.path.append(os.environ["STRATA_BUILDER_DIR"])
    import forked_sandbox as sandbox

    del sys.path[-1]
else:
    from registry.executor import forked_sandbox as sandbox


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


# ---- the child, before its spec ------------------------------------------------------------------


def _spawned(cgroups, fds):
    log, info, block, spec, ready = fds
    os.setsid()
    sandbox.die_with_parent()
    sandbox.own_mount_namespace()
    # Only now may the executor mount in the child's namespace. The joins below wait for the
    # kernel (a grace period each) while it does, and end before the spec is read.
    os.write(ready, b"x")
    os.close(ready)
    for directory in cgroups:
        _write(os.path.join(directory, "cgroup.procs"), str(os.getpid()))
    data = b""
    while True:
        chunk = os.read(spec, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(spec)
    if not data:
        os._exit(0)
    _launch(json.loads(data), log, info, block)


# ---- the sandbox -------------------------------------------------------------------------------


def _launch(spec, log, info, block):
    options = sandbox.Options(spec["options"])
    sandbox.unshare_namespaces(options)
    pid = os.fork()
    if pid == 0:
        os.close(info)
        try:
            _init(spec, options, log, block)
        except BaseException as error:
            os.write(2, f"strata sandbox: {error}\n".encode())
        os._exit(125)
    # Outside, as bubblewrap's own process: say who the sandbox is, then live as long as it.
    os.close(block)
    os.close(log)
    os.write(info, json.dumps({"child-pid": pid}).encode())
    os.close(info)
    _, status = os.waitpid(pid, 0)
    os._exit(_exit_code(status))


def _exit_code(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _init(spec, options, log, block):
    """pid 1 of the sandbox: builds it, starts the runtime, reaps orphans, ends with it."""
    sandbox.die_with_parent()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    # A mount namespace of the sandbox's own: the pivots below must not move the outer process.
    sandbox.own_mount_namespace()
    sandbox.build(options)
    if not options.share_net:
        sandbox.loopback_up()
    runtime = os.fork()
    if runtime == 0:
        os._exit(_run(spec, options, block))
    os.close(block)
    sandbox.close_from(3)
    sandbox.drop(spec["uid"])
    # A change of credentials clears the parent-death signal: the sandbox ends with its outer
    # process, as bubblewrap's does.
    sandbox.die_with_parent()
    program = bytes.fromhex(spec.get("seccomp", ""))
    if program:
        sandbox.apply_filter(program)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(125)
        if pid == runtime:
            os._exit(_exit_code(status))


def _run(spec, options, block):
    """The runtime's process, ending as an interpreter would: its exit code, atexit's handlers
    run, its streams flushed."""
    code = 0
    try:
        _runtime(spec, options, block)
    except SystemExit as exit:
        code = _system_exit_code(exit.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    return code


def _system_exit_code(value):
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    sys.stderr.write(f"{value}\n")
    return 1


def _runtime(spec, options, block):
    """Waits for the executor, leaves root, and becomes the bootstrap."""
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if block >= 0:
        os.read(block, 1)
        os.close(block)
    os.chdir(options.chdir)
    sandbox.drop(spec["uid"])
    program = bytes.fromhex(spec.get("seccomp", ""))
    if program:
        sandbox.apply_filter(program)
    sandbox.close_from(3)
    environ = dict(options.env if options.env is not None else {})
    if _COERCED_CTYPE and not {"LC_ALL", "LC_CTYPE"} & set(environ):
        environ["LC_CTYPE"] = _COERCED_CTYPE  # as the interpreter's start would have set it
    os.environ.clear()
    os.environ.update(environ)
    _become(spec["argv"], environ)


def _become(argv, environ):
    """What `python -S script args` would be: the script's directory first, then PYTHONPATH, then
    the standard library this interpreter found; the script run as a fresh __main__."""
    script = argv[0]
    with open(script, "rb") as source:
        data = source.read()
    if script.endswith(".pyc"):
        import marshal

        code = marshal.loads(data[16:])
    else:
        code = compile(data, script, "exec")
    for name in list(sys.modules):
        if name not in _BASELINE:
            del sys.modules[name]
    extra = [entry for entry in environ.get("PYTHONPATH", "").split(":") if entry]
    sys.path[:] = [os.path.dirname(script), *extra, *_STDLIB_PATH]
    sys.path_importer_cache.clear()
    sys.argv[:] = argv
    main = type(sys)("__main__")
    main.__file__ = script
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


# ---- the builder's loop ----------------------------------------------------------------------


def _serve(control):
    children = set()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    waiting = select.poll()
    waiting.register(control, select.POLLIN)
    waiting.register(wake_r, select.POLLIN)
    while True:
        ready = {fd for fd, _ in waiting.poll()}
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 512):
                        break
                except BlockingIOError:
                    break
            _reap(control, children)
        if control.fileno() not in ready:
            continue
        message, fds, _flags, _address = socket.recv_fds(control, 1 << 16, 8)
        if not message:
            return
        request = json.loads(message)
        if request.get("op") != "spawn" or len(fds) != 5:
            for fd in fds:
                os.close(fd)
            control.send(json.dumps({"error": "bad request"}).encode())
            continue
        gc.freeze()  # collections in the children leave the builder's objects (and pages) alone
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            os.close(wake_r)
            os.close(wake_w)
            try:
                _spawned(request["cgroups"], fds)
            except BaseException as error:
                os.write(fds[0], f"strata sandbox: {error}\n".encode())
            os._exit(125)
        for fd in fds:
            os.close(fd)
        children.add(pid)
        # A pidfd made before the child can be reaped (only here): the executor's signals can
        # never reach another process that took the number.
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(control, [json.dumps({"pid": pid}).encode()], [pidfd])
        finally:
            os.close(pidfd)
        _reap(control, children)


def _reap(control, children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        control.send(json.dumps({"exit": pid, "status": status}).encode())


_STDLIB_PATH = [entry for entry in sys.path if entry]
# The builder starts with the runtimes' locale variables and none of LC_*: one here is the C locale
# coerced to UTF-8 at the interpreter's start (PEP 538), which a runtime's start would do too.
_COERCED_CTYPE = os.environ.get("LC_CTYPE")


if __name__ == "__main__":
    sandbox.die_with_parent()
    _serve(socket.socket(fileno=int(sys.argv[1])))
