"""The sandbox of a forked runtime (forked_main.py), built as bubblewrap builds it from the same
options (sandbox.bwrap_options): namespaces and mounts by a root process, then the uid, the
capabilities and the seccomp filter dropped or set as setpriv and bubblewrap do.

Standard library only: it runs in the runtime's own interpreter, whatever its version.
"""

import ctypes
import fcntl
import os
import signal
import socket
import struct

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_SILENT = 0x20, 0x1000, 0x4000, 0x40000, 0x8000
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 22, 24, 38
SECCOMP_MODE_FILTER = 2
_CAPABILITY_VERSION_3 = 0x20080522
SIOCSIFFLAGS, IFF_UP, IFF_RUNNING = 0x8914, 0x1, 0x40
_SYS_PIVOT_ROOT = 155  # x86_64 numbers; other machines keep bubblewrap (forked.py)
SYS_CLOSE_RANGE = 436
_DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
# Where the old root is seen while the new one is built (bubblewrap's layout).
_BASE = "/tmp"

_libc = ctypes.CDLL(None, use_errno=True)


class Refused(Exception):
    pass


def die_with_parent():
    check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")


def own_mount_namespace():
    """A private copy of the caller's mount namespace: nothing mounted in it goes back."""
    check(_libc.unshare(CLONE_NEWNS), "unshare the mount namespace")
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def unshare_namespaces(options):
    """bubblewrap's --unshare-all but the user namespace (the uid is a real one here): the pid
    namespace takes the caller's next child as its pid 1."""
    flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    if not options.share_net:
        flags |= CLONE_NEWNET
    check(_libc.unshare(flags), "unshare")


def close_from(first):
    check(_libc.syscall(SYS_CLOSE_RANGE, first, 0xFFFFFFFF, 0), "close_range")


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


class Options:
    """bubblewrap's options as sandbox.bwrap_options writes them; anything else is refused."""

    def __init__(self, options):
        self.ops = []
        self.env = None
        self.chdir = "/"
        self.share_net = False
        size, perms = None, None
        args = iter(options)
        for option in args:
            if option in (
                "--unshare-all",
                "--die-with-parent",
                "--new-session",
                "--unshare-user",
                "--disable-userns",
            ):
                continue
            if option == "--share-net":
                self.share_net = True
            elif option in ("--ro-bind", "--ro-bind-try", "--bind", "--symlink"):
                self.ops.append((option, next(args), next(args)))
            elif option in ("--proc", "--dev", "--dir", "--remount-ro"):
                self.ops.append((option, next(args), None))
            elif option == "--size":
                size = int(next(args))
            elif option == "--perms":
                perms = next(args)
            elif option == "--tmpfs":
                self.ops.append((option, next(args), (size, perms)))
                size, perms = None, None
            elif option == "--chdir":
                self.chdir = next(args)
            elif option in ("--info-fd", "--block-fd"):
                next(args)  # the descriptors come with the spawn request
            elif option == "--seccomp":
                next(args)  # the program comes in the spec
            elif option == "--clearenv":
                self.env = {}
            elif option == "--setenv":
                name, value = next(args), next(args)
                self.env[name] = value
            else:
                raise Refused(f"unknown sandbox option {option!r}")


def build(options):
    """bubblewrap's steps: a tmpfs becomes the root with the old one below it at /oldroot, the
    view is built at /newroot from /oldroot's paths, and /newroot becomes the root."""
    # Sources are resolved in the host's view: a link such as /etc/localtime points there.
    sources = {
        first: os.path.realpath(first)
        for option, first, _ in options.ops
        if option in ("--ro-bind", "--ro-bind-try", "--bind")
    }
    mount("tmpfs", _BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.chdir(_BASE)
    os.mkdir("newroot", 0o755)
    os.mkdir("oldroot", 0o755)
    _pivot_root(_BASE, "oldroot")
    os.chdir("/")
    mount("/newroot", "/newroot", None, MS_BIND | MS_REC | MS_SILENT)
    # Read once: each bind's flags follow from the mounts its source lies in and holds.
    table = _mount_table("/oldroot/proc")
    remount = []
    for option, first, second in options.ops:
        if option in ("--ro-bind", "--ro-bind-try", "--bind"):
            source, target = "/oldroot" + sources[first], "/newroot" + second
            if not os.path.exists(source):
                if option == "--ro-bind-try":
                    continue
                raise Refused(f"cannot bind {first}: it does not exist")
            _make_target(target, os.path.isdir(source))
            mount(source, target, None, MS_BIND | MS_REC | MS_SILENT)
            readonly = MS_RDONLY if option != "--bind" else 0
            _restrict(table, source, target, readonly | MS_NOSUID | MS_NODEV)
        elif option == "--symlink":
            _make_parent("/newroot" + second)
            os.symlink(first, "/newroot" + second)
        elif option == "--dir":
            _make_target("/newroot" + first, True)
        elif option == "--proc":
            _make_target("/newroot" + first, True)
            mount("proc", "/newroot" + first, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        elif option == "--dev":
            _dev(table, "/newroot" + first)
        elif option == "--tmpfs":
            size, perms = second
            data = f"mode={perms or '0755'}"
            if size is not None:
                data += f",size={size}"
            _make_target("/newroot" + first, True)
            mount("tmpfs", "/newroot" + first, "tmpfs", MS_NOSUID | MS_NODEV, data)
        elif option == "--remount-ro":
            remount.append(first)
    mount(None, "/oldroot", None, MS_REC | MS_PRIVATE | MS_SILENT)
    check(_libc.umount2(b"/oldroot", MNT_DETACH), "umount the old root")
    os.chdir("/newroot")
    _pivot_root(".", ".")
    check(_libc.umount2(b".", MNT_DETACH), "umount the build's tmpfs")
    os.chdir("/")
    if remount:
        flags = dict(_mount_table("/proc"))
        for path in remount:
            path = os.path.realpath(path)
            mount(None, path, None, MS_REMOUNT | MS_BIND | flags.get(path, 0) | MS_RDONLY)


def _pivot_root(new, old):
    check(_libc.syscall(_SYS_PIVOT_ROOT, new.encode(), old.encode()), "pivot_root")


def _make_parent(path):
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)


def _make_target(path, directory):
    _make_parent(path)
    if os.path.lexists(path):
        return
    if directory:
        os.mkdir(path, 0o755)
    else:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o444))


def _restrict(table, source, target, flags):
    """Remounts the bind of `source` at `target`, and the binds of the mounts below `source`,
    with `flags` added to those of the mounts they copy (`table`, read before the binds)."""
    inside = source.rstrip("/") + "/"
    holder = max(
        (p for p, _ in table if p == source or inside.startswith(p.rstrip("/") + "/")),
        key=len,
        default="/",
    )
    for point, existing in table:
        if point == holder:
            mount(None, target, None, MS_REMOUNT | MS_BIND | existing | flags)
        elif point.startswith(inside):
            mount(
                None, target + point[len(source) :], None, MS_REMOUNT | MS_BIND | existing | flags
            )


_MOUNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
_ATIME_FLAGS = {"noatime": 0x400, "nodiratime": 0x800, "relatime": 0x200000}


def _mount_table(proc):
    """(mount point, its per-mount flags) of every mount this process sees."""
    found = []
    with open(proc + "/self/mountinfo", "rb") as table:
        for line in table:
            fields = line.split()
            flags = 0
            for name in fields[5].decode().split(","):
                flags |= _MOUNT_FLAGS.get(name, 0) | _ATIME_FLAGS.get(name, 0)
            found.append((_unescape(fields[4].decode()), flags))
    return found


def _unescape(text):
    for escape, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escape, char)
    return text


def _dev(table, path):
    """bubblewrap's --dev: a small tmpfs with the harmless nodes bound from the host, ptys of
    its own, shm and the usual links."""
    _make_target(path, True)
    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for node in _DEV_NODES:
        _make_target(f"{path}/{node}", False)
        mount("/oldroot/dev/" + node, f"{path}/{node}", None, MS_BIND | MS_SILENT)
        _restrict(table, "/oldroot/dev/" + node, f"{path}/{node}", MS_NOSUID)
    for name, target in (
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("fd", "/proc/self/fd"),
        ("core", "/proc/kcore"),
    ):
        os.symlink(target, f"{path}/{name}")
    os.mkdir(path + "/shm", 0o755)
    os.mkdir(path + "/pts", 0o755)
    mount(
        "devpts",
        path + "/pts",
        "devpts",
        MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620",
    )
    os.symlink("pts/ptmx", path + "/ptmx")


def loopback_up():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", IFF_UP | IFF_RUNNING))
    finally:
        sock.close()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def drop(uid):
    """setpriv's --clear-groups --bounding-set=-all --inh-caps=-all --no-new-privs and the uid."""
    if not isinstance(uid, int) or uid <= 0:
        raise Refused(f"not a sandbox uid: {uid!r}")
    for capability in range(64):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # Leaving root empties the permitted, effective and ambient sets; the inheritable one stays.
    sets = (ctypes.c_uint32 * 6)()
    check(_libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), sets), "capset")
    check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def apply_filter(program):
    buffer = ctypes.create_string_buffer(program)
    prog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")
