"""Child side of the sandbox: started by ``sandbox.run_program`` as ``python -I -B _child.py CONFIG``.

Runs with the standard library only. The parent wrote CONFIG (JSON, mode 0600) into a
directory only it can list; we read it and delete it before any untrusted code runs,
because it holds the nonce that proves a clean finish.

Two layouts, chosen by the parent:

* ``namespaces``: we were started by ``unshare --mount --net --pid --ipc --fork
  --kill-child --mount-proc`` as root. We are PID 1 of a fresh PID namespace, so the
  kernel kills every process left in the namespace the moment we exit, and nothing inside
  can see or signal processes outside it. We rebuild the file system view (private tmpfs
  work dir, everything else read-only), fork the program's process, and reap until it exits.
* ``fallback`` (no usable ``unshare``): this process itself becomes the program's
  process; rlimits, the uid switch and a Python-level socket block are all we have.

The program's process then: sets rlimits, drops to the unprivileged uid the parent picked,
sets ``no_new_privs``, ``chdir``s into the work dir, signals "started" on the marker pipe
(the parent's wall-clock limit counts from here, so interpreter start-up under load does not
eat the program's budget) and ``exec``s the source. Only if ``exec`` returns normally does it
write the nonce to the marker pipe; the parent scores ``passed`` only on that exact byte
string, so ``sys.exit(0)``, ``os._exit(0)`` or a forged marker read as failures.
Known residual hole: code that digs this module's frames out with ``sys._getframe`` could
find the nonce; the models we train are not expected to find it, and every other effect of
such code is still contained.
"""

import builtins
import ctypes
import json
import os
import resource
import signal
import sys
import traceback
import types

SETUP_FAILED = 121  # exit code the parent maps to status "error"
STARTED = b"S"

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC = 32, 4096, 16384
_PR_SET_NO_NEW_PRIVS = 38
_LIBC = ctypes.CDLL(None, use_errno=True)

# Besides /tmp, the directories anyone may write to on a typical Linux host.
_WRITABLE_DIRS = ("/var/tmp", "/dev/shm", "/run/lock")

# In fallback mode the interpreter may live where the sandbox uid cannot read it (pyenv
# under /root, mode 0700), so modules imported after the uid switch would fail to load.
# We import what HumanEval/MBPP programs use while still privileged.
_PREIMPORT = [
    "array",
    "base64",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "contextlib",
    "copy",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "itertools",
    "json",
    "math",
    "numbers",
    "operator",
    "pathlib",
    "pprint",
    "queue",
    "random",
    "re",
    "signal",
    "statistics",
    "string",
    "struct",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "typing",
    "unicodedata",
    "warnings",
]


def main() -> None:
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            cfg = json.load(f)
        os.unlink(sys.argv[1])
        if cfg["namespaces"]:
            _build_filesystem(cfg)
            child = os.fork()
            if child:
                _supervise(child, cfg["hard_limit_seconds"])
        _enter_sandbox(cfg)
    except BaseException:
        traceback.print_exc()
        os._exit(SETUP_FAILED)
    _run_program(cfg)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None):
    enc = lambda s: s.encode() if s is not None else None
    if _LIBC.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} -> {target}: {os.strerror(err)}")


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, nosuid/nodev/noexec flags to keep) for every mount we can see."""
    keep = {"nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC}
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # \040 etc. for spaces
            flags = sum(keep.get(opt, 0) for opt in fields[5].split(","))
            points.append((point, flags))
    return points


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _outermost(paths) -> list[str]:
    """The paths not inside another one of them (a recursive bind brings those along)."""
    paths = set(paths)
    return sorted(p for p in paths if not any(p != q and _inside(p, q) for q in paths))


def _closed_ancestor(path: str) -> str | None:
    """The first directory between / and ``path`` that others may not pass (no o+x), if any."""
    parts = path.strip("/").split("/")
    for i in range(1, len(parts)):
        d = "/" + "/".join(parts[:i])
        if not os.stat(d).st_mode & 0o001:
            return d
    return None


def _interpreter_dirs() -> list[str]:
    """Where the interpreter reads its files once the program runs, under the names it uses and
    their real paths (a venv's symlinks lead to the base installation)."""
    wanted = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    wanted |= {os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))}
    wanted |= {p for p in sys.path if p and os.path.isdir(p)}
    return _outermost({os.path.abspath(p) for p in wanted} | {os.path.realpath(p) for p in wanted})


def _build_filesystem(cfg: dict) -> None:
    """Private writable tmpfs for the work dir; the rest of the file system read-only.

    The mount namespace is private (unshare's default propagation), so none of this is
    visible outside and it all disappears with the namespace.

    Root-owned 0755 tmpfs cover every place anyone may write (the work dir inside /tmp is the
    one writable directory the program has) and every directory the sandbox uid could not
    pass on the way to the interpreter (pyenv under /root, mode 0700; the cover also hides the
    rest of /root). Interpreter directories under a cover (a venv in /tmp) are bound back at
    the same paths, read-only like their source mounts.
    """
    covers = ["/tmp"] + [d for d in _WRITABLE_DIRS if os.path.isdir(d)]
    keep = _interpreter_dirs()
    # Decided before anything is covered: under a cover these paths no longer resolve.
    closed = _outermost(a for a in (_closed_ancestor(p) for p in keep if not any(_inside(p, c) for c in covers)) if a)
    hidden = [p for p in keep if any(_inside(p, c) and p != c for c in covers + closed)]
    # A handle opened now still reaches the directory after a cover hides its path.
    handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in hidden}
    # Read-only first, while every original mount point is still visible by its path.
    for point, flags in _mount_points():
        if not point.startswith(("/proc", "/sys", "/dev")):
            _mount("none", point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags)
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={cfg['tmpfs_bytes']},mode=755")
    for d in covers[1:]:
        _mount("tmpfs", d, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=755")
    for d in closed:
        _mount("tmpfs", d, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=755")
    for path, fd in handles.items():
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
        os.close(fd)
    os.makedirs(cfg["workdir"], mode=0o700)
    if cfg["uid"] is not None:
        os.chown(cfg["workdir"], cfg["uid"], cfg["uid"])


def _supervise(child: int, hard_limit: int) -> None:
    """PID 1: reap everything, exit with the program's status (kills the namespace).

    The parent normally kills us at its deadline; the alarm is the backstop for when the
    parent died first, so that an orphaned sandbox cannot sleep on forever.
    """
    signal.signal(signal.SIGALRM, lambda *_: os._exit(128 + signal.SIGALRM))
    signal.alarm(hard_limit)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _enter_sandbox(cfg: dict) -> None:
    """Limits, privileges, network block and work dir for the program's process."""
    if not cfg["namespaces"]:
        for name in _PREIMPORT:
            __import__(name)
        _block_sockets()
    cpu = cfg["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # At the soft limit the kernel sends SIGXCPU; the hard limit one second later is SIGKILL,
    # for programs that ignore SIGXCPU.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"],) * 2)
    resource.setrlimit(resource.RLIMIT_AS, (cfg["memory_bytes"],) * 2)
    uid = cfg["uid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    # Setuid binaries (su, mount, ...) must not hand privileges back.
    if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.chdir(cfg["workdir"])
    os.umask(0o077)


def _block_sockets() -> None:
    """Fallback network block: refuse to create sockets from Python.

    Best effort only: ctypes can still reach libc's socket(). The namespace layout, where
    the program's network namespace has nothing but a downed loopback, is the real fix.
    """
    import _socket
    import socket

    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled in the sandbox")

    for module in (socket, _socket):
        for name in ("socket", "socketpair", "fromfd", "create_connection", "create_server", "getaddrinfo"):
            if hasattr(module, name):
                setattr(module, name, refuse)


def _run_program(cfg: dict) -> None:
    marker_fd, nonce = cfg["marker_fd"], cfg["nonce"].encode()
    module = types.ModuleType(cfg["module_name"])
    module.__builtins__ = builtins
    sys.modules[cfg["module_name"]] = module
    sys.argv = ["<program>"]
    try:
        code = compile(cfg["source"], "<program>", "exec")
        del cfg
        os.write(marker_fd, STARTED)
        exec(code, module.__dict__)
    except BaseException as exc:
        try:
            # Start the traceback at the program's frame, not at this function's.
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
            sys.stderr.flush()
        finally:
            os._exit(1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(marker_fd, nonce)
    except BaseException:
        os._exit(1)
    os._exit(0)  # skip atexit hooks and non-daemon threads the program left behind


if __name__ == "__main__":
    main()
