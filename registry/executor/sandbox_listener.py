"""Runs first inside an unprivileged sandbox: makes the Runtime API's listener, then the runtime.

Without root the executor cannot enter the sandbox's private network namespace, so this helper
binds 127.0.0.1:9001 there (the address Lambda's runtimes expect), hands the listening socket to
the executor over the unix socket named in argv[1] (visible only inside this sandbox) and execs
the runtime, argv[2:]. Connections made before the executor accepts wait in the backlog.
Standard library only; run with -S -I, as the cold start pays for its interpreter startup.
"""

import _socket  # not `socket`: its enum and selectors imports would triple this helper's cost
import os
import sys


def main():
    handoff, runtime = sys.argv[1], sys.argv[2:]
    listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 9001))
    listener.listen(8)
    executor = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    executor.connect(handoff)
    rights = listener.fileno().to_bytes(4, sys.byteorder)
    executor.sendmsg([b"L"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    executor.close()
    listener.close()
    os.execv(runtime[0], runtime)


if __name__ == "__main__":
    main()
