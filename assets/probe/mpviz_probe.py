"""mpviz's probe: reports what a CPython multiprocessing program does, as mpviz events.

Pure standard library. mpviz writes this file to a private directory of the run, starts the
program under it (`main`), and every Python process of the run connects to the run's socket
(MPVIZ_PROBE_SOCK) and sends its events: the hot ones (shared reads and writes, lock steps, the
line it is at) as binary records (`src/python/record.rs` gives the layout), the rest as JSON
lines, the same objects `mpviz run --json` prints (without worker and pid: mpviz knows which
connection is which process).

How it reaches every process:
- spawn and forkserver children are started by `multiprocessing.util.spawnv_passfds` with a
  `python -c PROGRAM`; the program is prefixed with an import of this module (so it installs
  itself before `spawn_main` or the fork server's `main` runs);
- fork children (and the fork server's) inherit it; `os.register_at_fork` makes the child drop
  the parent's connection and open its own at its first event.

What it reports: each process's start and exit code (`BaseProcess._bootstrap`), reads and writes
of a shared `Value` (the `value` property of `sharedctypes.Synchronized`, wrapped rather than its
lock: each get and set runs under the Value's own lock, and the write learns the store it
replaces there, so lost updates are exact), and each `Lock`'s and `RLock`'s requests,
acquisitions, releases and give-ups (`synchronize.SemLock`), numbered per lock (the number
travels with the lock to children) and named where it was made. Events are buffered and sent
at every blocking point (a lock wait, a sleep, a join) and at every exit. It never uses
multiprocessing's own Lock or Queue for itself and never starts a thread. A store is named
(worker, seq): a shared tag beside each Value holds the last store's name, changed under the
Value's lock with the value itself.
"""

import _thread
import atexit
import json
import linecache
import os
import socket
import struct
import sys
import time

_SOCK = os.environ.get("MPVIZ_PROBE_SOCK", "")
_mono = time.monotonic_ns
_getframe = sys._getframe
_DIR = os.path.dirname(os.path.abspath(__file__))
# The run's steering file, mapped read-only (see `_steer_map`); False if there is none.
_steer = None
# The program's own file, as its frames name it: a line in it is what the code pane marks.
_MAIN = os.environ.get("MPVIZ_PROBE_MAIN", "")
_BATCH = 256

# The binary records (little-endian, unpadded; the first byte is the tag).
# A store's name is one u64, worker << 32 | seq, as the shared tag beside the value holds it.
_P_READ_I = struct.Struct("<BHIqQQ").pack
_P_READ_F = struct.Struct("<BHIdQQ").pack
_P_WRITE_I = struct.Struct("<BHIqqIQQQ").pack
_P_WRITE_F = struct.Struct("<BHIddIQQQ").pack
_P_REQUESTED = struct.Struct("<BHQ").pack
_P_ACQUIRED = struct.Struct("<BHQBQ").pack
_P_TAKEN = struct.Struct("<BHQQ").pack
_P_RELEASED = struct.Struct("<BHQQ").pack
_P_AT = struct.Struct("<BIQ").pack
_PackError = struct.error

# Everything this process knows of its connection. Reset in a fork child.
_conn = None
_installed = False
_dropped = 0


class _Conn:
    def __init__(self, sock, worker):
        self.sock = sock
        self.worker = worker
        self.pid = os.getpid()
        self.buf = []
        # Held while the buffer is being sent (see `_flush_conn`).
        self.sending = _thread.allocate_lock()
        # Held while the worker number is read (see `_worker_of`).
        self.replying = _thread.allocate_lock()
        self.seq = 0
        # cell -> (store name, value) of this process's last read of it
        self.last_read = {}
        # This process has said how it ended (its exit event is in the buffer or sent).
        self.said_exit = False
        # The line of the program's file it said it was at last (0: none yet).
        self.line = 0


# Held while this process makes its connection: two of its threads making their first events
# at once make one connection, not two (re-made in a fork child, which may inherit it held).
_connecting = _thread.allocate_lock()


def _connect():
    with _connecting:
        c = _conn
        if c is not None and c.pid == os.getpid():
            return c
        return _open()


def _open():
    global _conn
    _conn = _dial({})
    return _conn


def _dial(more):
    """A new connection: the hello (with `more`), and the worker number mpviz gives it."""
    if not _SOCK:
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(_SOCK)
        hello = {"hello": 1, "pid": os.getpid(), "ppid": os.getppid(), "argv": sys.argv[:3],
                 "t_ns": time.monotonic_ns()}
        hello.update(more)
        s.sendall((json.dumps(hello) + "\n").encode())
    except OSError:
        s.close()
        return None
    # Not inherited by programs the script runs with exec.
    os.set_inheritable(s.fileno(), False)
    # The reply (the worker number) is read when first needed, not waited for here: a
    # child's start would wait for mpviz to be scheduled, on cores its siblings keep busy.
    return _Conn(s, None)


def _worker_of(c):
    """`c`'s worker number, its reply read now if it was not yet (once, whichever thread
    asks first; 0 if mpviz closed the connection)."""
    with c.replying:
        if c.worker is None:
            reply = b""
            try:
                while not reply.endswith(b"\n"):
                    chunk = c.sock.recv(64 - len(reply))
                    if not chunk:
                        break
                    reply += chunk
                c.worker = int(reply)
            except (OSError, ValueError):
                c.worker = 0
    return c.worker


def _here():
    """This thread's connection: the process's, made at its first event (a fork child makes
    its own: the fork hook forgets the parent's), or a program thread's own."""
    if _threaded:
        return _tconn()
    c = _conn
    if c is not None:
        return c
    return _connect()


# ---- threads -------------------------------------------------------------------------------
# A thread the program starts (its target is not the standard library's) has a connection of
# its own, so it is a worker of its own on screen ("job() thread"): its events, its line, its
# lock waits. `_threaded` stays False, and the hot paths test only it, until such a thread
# starts in this process. multiprocessing's own threads (a queue's feeder, a pool's handlers)
# keep using the process's connection.
_threaded = False
_threads = {}
_get_ident = _thread.get_ident


def _tconn():
    """The connection of the thread calling (made lazily for the process's)."""
    c = _threads.get(_get_ident())
    if c is not None:
        return c
    return _conn or _connect()


def _mine():
    """The calling thread's connection if it has one, without making one."""
    if _threaded:
        c = _threads.get(_get_ident())
        if c is not None:
            return c
    return _conn


def _emit(kind, t_ns=None):
    """An event given as a dict (the rare ones: JSON-encoded here)."""
    # Connected first: the process's start (stamped at its hello) comes before its events.
    _here()
    kind["t_ns"] = time.monotonic_ns() if t_ns is None else t_ns
    _line(json.dumps(kind, separators=(",", ":")))


def _line(text):
    """An event already written as a JSON object."""
    _put((text + "\n").encode())


def _put(data):
    """An event as it goes on the wire: a JSON line or a binary record (the hot paths append
    their own records to the buffer)."""
    global _dropped
    c = _tconn() if _threaded else (_conn or _connect())
    if c is None:
        _dropped += 1
        return
    c.buf.append(data)
    if len(c.buf) >= _BATCH:
        _flush()


def _flush():
    """Sends the buffer (and gives the connection a fresh one: a caller holding the old list
    must fetch `c.buf` again)."""
    _flush_conn(_mine())


def _flush_all():
    """Sends every thread's buffer (the process ends)."""
    _flush_conn(_conn, 0.2)
    for c in list(_threads.values()):
        _flush_conn(c, 0.2)


def _flush_conn(c, wait=0):
    """Sends `c`'s buffer. One sender at a time per connection (the process's end flushes
    every thread's, which may be flushing its own): bytes of two sends never interleave. A
    flush that finds another under way leaves the buffer for the next (a signal handler that
    flushes inside a flush must not wait for itself); the last ones wait up to `wait` s."""
    global _dropped
    if c is None or c.pid != os.getpid() or not c.buf:
        return
    if not c.sending.acquire(wait > 0, wait if wait > 0 else -1):
        return
    try:
        # The list is swapped before it is read: an append from another thread meanwhile
        # goes into the one being sent, not nowhere.
        buf = c.buf
        c.buf = []
        data = b"".join(buf)
        try:
            c.sock.sendall(data)
        except OSError:
            _dropped += len(buf)
    finally:
        c.sending.release()


def _say_exit(code=None, signal=None):
    """This process's exit event, once (the script's own process is given its exit by mpviz,
    from its real status)."""
    c = _conn
    if c is None or c.pid != os.getpid() or c.said_exit or _worker_of(c) == 1:
        return
    c.said_exit = True
    # On the process's own connection, whichever thread ends it.
    if signal is not None:
        ev = {"type": "exit", "signal": signal}
    else:
        ev = {"type": "exit", "code": code if isinstance(code, int) else 1}
    ev["t_ns"] = time.monotonic_ns()
    c.buf.append((json.dumps(ev) + "\n").encode())


def _at(c, depth):
    """Says the line of the program's own file this process is at, if it is not the one said
    last: the nearest frame in that file, from `depth` frames above the caller up."""
    if c is None or not _MAIN:
        return
    f = sys._getframe(depth)
    for _ in range(8):
        if f is None:
            return
        if f.f_code.co_filename == _MAIN:
            n = f.f_lineno
            if n != c.line:
                c.line = n
                _put(_P_AT(9, n, _mono()))
            return
        f = f.f_back


def _at_def(c, fn):
    """Says the line where `fn` is defined, if it is the program's own."""
    code = getattr(fn, "__code__", None)
    if c is not None and code is not None and code.co_filename == _MAIN \
            and code.co_firstlineno != c.line:
        c.line = code.co_firstlineno
        _put(_P_AT(9, c.line, _mono()))


# ---- steering ------------------------------------------------------------------------------

def _steer_map():
    """The run's steering file: bytes 0..8 the factor sleeps are multiplied by (f64), byte 8 is
    1 while step mode is on. Mapped once per process image (a fork child keeps the mapping)."""
    global _steer
    if _steer is None:
        _steer = False
        try:
            import mmap
            fd = os.open(os.path.join(_DIR, "steer"), os.O_RDONLY | os.O_CLOEXEC)
            try:
                _steer = mmap.mmap(fd, 16, mmap.MAP_SHARED, mmap.PROT_READ)
            finally:
                os.close(fd)
        except (OSError, ValueError, ImportError):
            pass
    return _steer


def _interval():
    m = _steer
    if not m:
        return 1.0
    f = struct.unpack_from("<d", m, 0)[0]
    return f if f == f and 0.0 < f < 1e6 else 1.0


def _gate(c, access):
    """Step mode: says it waits before `access`, then waits until mpviz lets it go (one byte on
    its connection; a closed connection lets it go too)."""
    if c is None or c.pid != os.getpid():
        return
    # The reply comes first on the connection, then the gates' bytes.
    _worker_of(c)
    _line('{"type":"gate","access":"%s","t_ns":%d}' % (access, time.monotonic_ns()))
    _flush()
    try:
        while True:
            b = c.sock.recv(1)
            if not b or b == b"g":
                return
    except OSError:
        return


def _read_record(cell, index, v, name):
    """A read as its binary record: an integer that fits 64 bits or a float; anything else
    (a big integer, a char Array's bytes, a bool) as a JSON line."""
    try:
        if type(v) is float:
            return _P_READ_F(2, cell, index, v, name, _mono())
        return _P_READ_I(1, cell, index, v, name, _mono())
    except _PackError:
        return ('{"type":"read","cell":%d,"index":%d,"value":%s,"from":{"worker":%d,'
                '"seq":%d},"t_ns":%d}\n'
                % (cell, index, _num(v), name >> 32, name & 0xFFFFFFFF, _mono())).encode()


def _write_record(cell, index, old, new, seq, origin, replaced):
    """A write as its binary record, or a JSON line (as `_read_record`)."""
    try:
        if type(new) is float and type(old) is float:
            return _P_WRITE_F(4, cell, index, old, new, seq, origin, replaced, _mono())
        if type(new) is not float and type(old) is not float:
            return _P_WRITE_I(3, cell, index, old, new, seq, origin, replaced, _mono())
    except _PackError:
        pass
    return ('{"type":"write","cell":%d,"index":%d,"old":%s,"new":%s,"seq":%d,'
            '"from":{"worker":%d,"seq":%d},"replaced":{"worker":%d,"seq":%d},"t_ns":%d}\n'
            % (cell, index, _num(old), _num(new), seq, origin >> 32, origin & 0xFFFFFFFF,
               replaced >> 32, replaced & 0xFFFFFFFF, _mono())).encode()


def _num(v):
    """A value as JSON text: an int or float as such (JSON has no NaN or infinity: those, and
    anything else, as a string); a bool is an int to mpviz."""
    t = type(v)
    if t is int:
        return str(v)
    if t is float and v == v and v not in (float("inf"), float("-inf")):
        return repr(v)
    if t is bool:
        return str(int(v))
    if t is bytes and len(v) == 1:  # an element of a char Array: its code
        return str(v[0])
    return json.dumps(str(v))


# ---- fork ----------------------------------------------------------------------------------

def _before_fork():
    _flush()


def _after_fork_in_child():
    global _conn, _connecting, _threaded, _threads
    _connecting = _thread.allocate_lock()
    # Only the thread that forked goes on here: it is the child's main thread.
    _waiting.clear()
    for t in _threads.values():
        try:
            t.sock.close()
        except OSError:
            pass
    _threaded, _threads = False, {}
    # The parent's socket and buffer are the parent's: forget them (never send, never close
    # the parent's connection from here: closing our copy of the descriptor is harmless).
    c = _conn
    _conn = None
    if c is not None:
        try:
            c.sock.close()
        except OSError:
            pass


# ---- processes -----------------------------------------------------------------------------

def _wrap_bootstrap(process_mod):
    orig = process_mod.BaseProcess._bootstrap

    def _bootstrap(self, *args, **kwargs):
        target = getattr(self, "_target", None)
        name = getattr(target, "__name__", None) or type(self).__name__
        _emit({"type": "phase", "name": name})
        _at_def(_here(), target)
        code = 1
        try:
            code = orig(self, *args, **kwargs)
            return code
        finally:
            _say_exit(code)
            _flush_all()

    process_mod.BaseProcess._bootstrap = _bootstrap

    orig_join = process_mod.BaseProcess.join

    def join(self, timeout=None):
        _at(_here(), 2)
        # Its state on screen: waiting for the process, then on again (`Stage::Join`).
        _line('{"type":"phase","name":"in join()","t_ns":%d}' % _mono())
        _flush()
        try:
            return orig_join(self, timeout)
        finally:
            _line('{"type":"phase","name":"join() returned","t_ns":%d}' % _mono())

    process_mod.BaseProcess.join = join

    orig_start = process_mod.BaseProcess.start

    def start(self):
        _at(_here(), 2)
        return orig_start(self)

    process_mod.BaseProcess.start = start


def _wrap_threads(threading_mod):
    """A program thread's start and end, and its connection (see `_threads`)."""
    orig = threading_mod.Thread._bootstrap_inner
    lib = os.path.dirname(threading_mod.__file__)

    def _bootstrap_inner(self):
        global _threaded
        fn = getattr(self, "_target", None) or type(self).run
        code = getattr(fn, "__code__", None)
        c = None
        if code is not None and not code.co_filename.startswith(lib) \
                and code.co_filename != __file__ and _conn is not None:
            c = _dial({"thread": self.name, "tid": threading_mod.get_native_id(),
                       "of": _worker_of(_conn)})
        if c is not None:
            _threads[_get_ident()] = c
            _threaded = True
            name = getattr(fn, "__name__", None) or type(self).__name__
            c.buf.append(('{"type":"phase","name":%s,"t_ns":%d}\n'
                          % (json.dumps(name), time.monotonic_ns())).encode())
            _at_def(c, fn)
            # Shown as what it runs from its start, not from its first blocking point.
            _flush_conn(c)
        try:
            return orig(self)
        finally:
            if c is not None:
                c.buf.append(b'{"type":"exit","t_ns":%d}\n' % time.monotonic_ns())
                _flush_conn(c)
                _threads.pop(_get_ident(), None)

    threading_mod.Thread._bootstrap_inner = _bootstrap_inner


def _in_place_of(wrapper, orig):
    """`wrapper`, named as `orig` is: pickled by reference (`pool.apply_async(time.sleep,
    …)`), a wrapper is looked up by its module and name, and must be found where it stands —
    a wrapper named for the probe's insides could not be pickled, and the program would fail
    where it does not without the probe."""
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(orig, attr))
        except (AttributeError, TypeError):
            pass
    return wrapper


def _wrap_exit():
    """`os._exit` skips every clean-up, so this process's buffer is sent and its exit said
    before it goes (multiprocessing's fork children always end this way)."""
    orig = os._exit

    def _exit(code):
        _say_exit(code)
        _flush_all()
        orig(code)

    os._exit = _in_place_of(_exit, orig)


def _wrap_spawn(util_mod):
    orig = util_mod.spawnv_passfds
    boot = "import sys;sys.path.append(%r);import mpviz_probe;mpviz_probe.install();" % _DIR

    def spawnv_passfds(path, args, passfds):
        args = list(args)
        if "-c" in args:
            i = args.index("-c") + 1
            prog = args[i] if i < len(args) else ""
            # Children and the fork server, not multiprocessing's resource tracker.
            if "spawn_main" in prog or "forkserver" in prog:
                args[i] = boot + prog
        _flush()
        return orig(path, args, passfds)

    util_mod.spawnv_passfds = _in_place_of(spawnv_passfds, orig)


# ---- shared values -------------------------------------------------------------------------

_next_cell = 0
_pending_tag = None
_pending_own = False


def _new_cell():
    global _next_cell
    c = _here()
    w = _worker_of(c) if c is not None else 0
    _next_cell += 1
    # Unique across the run's processes: the maker's worker number and its own count.
    return ((w & 0xFF) << 8) | (_next_cell & 0xFF)


def _made_at(lib):
    """Where the program made an object (a shared value, a lock) and what it calls it: the
    first frame outside multiprocessing and the probe, and the variable its line assigns
    (`v = mp.Value('i', 0)` names it `v`; a line that assigns no single name names nothing)."""
    f = sys._getframe(2)
    while f is not None and (f.f_code.co_filename.startswith(lib)
                             or f.f_code.co_filename == __file__):
        f = f.f_back
    name, at = "", "?"
    if f is not None:
        path, line = f.f_code.co_filename, f.f_lineno
        at = "%s:%d" % (os.path.basename(path), line)
        text = linecache.getline(path, line)
        lhs, eq, rhs = text.partition("=")
        lhs = lhs.strip()
        if eq and not rhs.startswith("=") and _is_name(lhs.replace(".", "")):
            name = lhs
        elif eq and not rhs.startswith("=") and "," in lhs:
            name = _unpacked_name(f, text, lhs)
    return name, at


def _is_name(text):
    """`v`, `_lock2`: a Python name (ASCII or not), not a number or an expression."""
    return bool(text) and not text[0].isdigit() and text.replace("_", "a").isalnum()


def _unpacked_name(f, text, lhs):
    """`tasks, done = mp.Queue(), mp.Queue()`: the name whose place on the left is the place
    on the right of the call being made (its column, from the code's positions, 3.11 on)."""
    names = [n.strip() for n in lhs.strip("()[] ").split(",")]
    positions = getattr(f.f_code, "co_positions", None)
    if not all(_is_name(n) for n in names) or positions is None:
        return ""
    try:
        col = list(positions())[f.f_lasti // 2][2]
    except (IndexError, TypeError):
        return ""
    if col is None:
        return ""
    depth, k = 0, 0
    for ch in text[text.index("=") + 1:col]:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            k += 1
    return names[k] if k < len(names) else ""


def _say_cell(cell, obj, array, lib):
    """Says what the program calls a shared value it made, what it is and where it was made."""
    name, at = _made_at(lib)
    try:
        code = type(obj)._type_ if not array else type(obj)._type_._type_
        code = code if isinstance(code, str) else "?"
    except AttributeError:
        code = "?"
    what = "Array(%r, %d)" % (code, len(obj)) if array else "Value(%r)" % code
    _emit({"type": "cell", "cell": cell, "name": name, "what": what, "at": at})
    return name


def _own_lock(s):
    """A Value's own lock: the value's reads and writes take it untraced (they are reads and
    writes), while the program's own takes of it (`with v.get_lock():`) are lock steps."""
    raw = getattr(s._lock, "_mpviz_raw", None)
    if raw is not None:
        s.acquire, s.release = raw
    s._mpviz_own = True


def _wrap_values(sct):
    orig_init = sct.SynchronizedBase.__init__

    # `Value(..., lock=True)` (the default) makes the value its own lock: said to `__init__`.
    for maker in ("Value", "Array"):
        def make(*args, _orig=getattr(sct, maker), **kwargs):
            global _pending_own
            _pending_own = kwargs.get("lock", True) is True
            try:
                return _orig(*args, **kwargs)
            finally:
                _pending_own = False

        setattr(sct, maker, _in_place_of(make, getattr(sct, maker)))

    # `with array:` (an element's read or write) takes the lock as the value's accesses do:
    # untraced if it is the value's own (see `_own_lock`), a lock step if it is the program's.
    sct.SynchronizedBase.__enter__ = lambda self: self.acquire()
    sct.SynchronizedBase.__exit__ = lambda self, *args: self.release()

    def __init__(self, obj, lock=None, ctx=None):
        global _pending_tag, _pending_own
        orig_init(self, obj, lock, ctx)
        tag, _pending_tag = _pending_tag, None
        own, _pending_own = _pending_own, False
        if tag is None:
            # The last store's name, worker << 32 | seq, in shared memory (one per element of
            # an Array); the cell's number.
            array = isinstance(self, sct.SynchronizedArray)
            if array:
                tag = (sct.RawArray("q", max(len(obj), 1)), _new_cell())
            else:
                tag = (sct.RawValue("q", 0), _new_cell())
            name = _say_cell(tag[1], obj, array, os.path.dirname(sct.__file__))
            if own:
                _own_lock(self)
                made = getattr(self._lock, "_mpviz_lock", None)
                if made is not None:
                    made[1] = name + ".get_lock()" if name else ""
        self._mpviz_tag = tag

    def __reduce__(self):
        sct.assert_spawning(self)
        own = getattr(self, "_mpviz_own", False)
        return _rebuild, (self._obj, self._lock, self._mpviz_tag, own)

    # The hot paths: every name they use is a local or a global read once, and the line check
    # is inlined for the common case (the access is in the program's own file).
    def get(self):
        c = _tconn() if _threaded else (_conn or _connect())
        if c is not None:
            f = _getframe(1)
            if f.f_code.co_filename != _MAIN or f.f_lineno != c.line:
                _at(c, 2)
        if _steer and _steer[8]:
            _gate(c, "read")
        store, cell = self._mpviz_tag
        self.acquire()
        try:
            v = self._obj.value
            name = store.value
        finally:
            self.release()
        if c is None:
            _line("")
            return v
        c.last_read[cell] = (name, v)
        buf = c.buf
        try:
            buf.append(_P_READ_I(1, cell, 0, v, name, _mono()) if type(v) is int
                       else _read_record(cell, 0, v, name))
        except _PackError:
            buf.append(_read_record(cell, 0, v, name))
        if len(buf) >= _BATCH:
            _flush()
        return v

    def set(self, value):
        c = _tconn() if _threaded else (_conn or _connect())
        if c is not None:
            f = _getframe(1)
            if f.f_code.co_filename != _MAIN or f.f_lineno != c.line:
                _at(c, 2)
        if _steer and _steer[8]:
            _gate(c, "write")
        store, cell = self._mpviz_tag
        seq = stored = 0
        if c is not None:
            c.seq += 1
            seq = c.seq
            # This store's name, made before the Value's lock is taken.
            stored = ((c.worker or _worker_of(c)) << 32) | seq
        self.acquire()
        try:
            replaced = store.value
            before = self._obj.value
            self._obj.value = value
            new = self._obj.value
            if c is not None:
                store.value = stored
        finally:
            self.release()
        if c is None:
            _line("")
            return
        origin, old = c.last_read.get(cell) or (replaced, before)
        buf = c.buf
        try:
            buf.append(_P_WRITE_I(3, cell, 0, old, new, seq, origin, replaced, _mono())
                       if type(old) is int and type(new) is int
                       else _write_record(cell, 0, old, new, seq, origin, replaced))
        except _PackError:
            buf.append(_write_record(cell, 0, old, new, seq, origin, replaced))
        if len(buf) >= _BATCH:
            _flush()

    sct.SynchronizedBase.__init__ = __init__
    sct.SynchronizedBase.__reduce__ = __reduce__
    sct.Synchronized.value = property(get, set)
    _wrap_arrays(sct)


def _element(obj, i):
    """The element index `i` names in an array of len(obj), or None (a slice, out of range:
    left to the array itself, which raises as it would)."""
    if type(i) is not int:
        return None
    n = len(obj)
    j = i + n if i < 0 else i
    return j if 0 <= j < n else None


def _wrap_arrays(sct):
    """An Array's elements, read and written by index, as Values are: each element has its own
    store name beside it, changed under the Array's lock with the element."""
    arr = sct.SynchronizedArray
    orig_get, orig_set = arr.__getitem__, arr.__setitem__

    def __getitem__(self, i):
        tag = getattr(self, "_mpviz_tag", None)
        j = _element(self._obj, i) if tag is not None else None
        if j is None:
            return orig_get(self, i)
        c = _tconn() if _threaded else (_conn or _connect())
        _at(c, 2)
        if _steer and _steer[8]:
            _gate(c, "read")
        store, cell = tag
        with self:
            v = self._obj[j]
            name = store[j]
        if c is None:
            _line("")
            return v
        c.last_read[(cell, j)] = (name, v)
        _put(_read_record(cell, j, v, name))
        return v

    def __setitem__(self, i, value):
        tag = getattr(self, "_mpviz_tag", None)
        j = _element(self._obj, i) if tag is not None else None
        if j is None:
            return orig_set(self, i, value)
        c = _tconn() if _threaded else (_conn or _connect())
        _at(c, 2)
        if _steer and _steer[8]:
            _gate(c, "write")
        store, cell = tag
        seq = stored = 0
        if c is not None:
            c.seq += 1
            seq = c.seq
            stored = ((c.worker or _worker_of(c)) << 32) | seq
        with self:
            replaced = store[j]
            before = self._obj[j]
            self._obj[j] = value
            new = self._obj[j]
            if c is not None:
                store[j] = stored
        if c is None:
            _line("")
            return
        origin, old = c.last_read.get((cell, j)) or (replaced, before)
        _put(_write_record(cell, j, old, new, seq, origin, replaced))

    arr.__getitem__ = __getitem__
    arr.__setitem__ = __setitem__


def _rebuild(obj, lock, tag, own):
    global _pending_tag
    import multiprocessing.sharedctypes as sct
    _pending_tag = tag
    s = sct.synchronized(obj, lock)
    if own:
        _own_lock(s)
    return s


# ---- locks ---------------------------------------------------------------------------------

_next_lock = 0


def _new_lock(lib, what):
    """A lock's number, unique across the run's processes as a cell's is, with what the
    program calls it, where it was made, what it is and whether it is machinery (a queue's,
    an Event's): [number, name, at, what, internal], carried with the lock to its children."""
    global _next_lock
    c = _here()
    w = _worker_of(c) if c is not None else 0
    _next_lock += 1
    name, at = _made_at(lib)
    return [((w & 0xFF) << 8) | (_next_lock & 0xFF), name, at, what, False]


def _wrap_locks(syn):
    orig_init = syn.SemLock.__init__
    orig_make = syn.SemLock._make_methods
    orig_getstate = syn.SemLock.__getstate__
    orig_setstate = syn.SemLock.__setstate__
    lib = os.path.dirname(syn.__file__)

    def __init__(self, *args, **kwargs):
        # Numbered and named before the methods are made, which read it.
        if isinstance(self, (syn.Lock, syn.RLock)):
            what = "RLock()" if isinstance(self, syn.RLock) else "Lock()"
            self._mpviz_lock = _new_lock(lib, what)
        orig_init(self, *args, **kwargs)

    # A lock sent to a spawned child keeps its number and name: carried beside its state.
    def __getstate__(self):
        made = getattr(self, "_mpviz_lock", None)
        state = orig_getstate(self)
        return state if made is None else ("mpviz", made, state)

    def __setstate__(self, state):
        if len(state) == 3 and state[0] == "mpviz":
            self._mpviz_lock, state = state[1], state[2]
        orig_setstate(self, state)

    def _make_methods(self):
        orig_make(self)
        made = getattr(self, "_mpviz_lock", None)
        if made is None or made[4]:
            return
        raw_acquire, raw_release = self.acquire, self.release
        # What `_mark_internal` puts back, for a lock that is machinery, not the program's.
        self._mpviz_raw = (raw_acquire, raw_release)
        lock = made[0]
        # An RLock's takes inside its owner's own are no steps: only the outermost are.
        rec = isinstance(self, syn.RLock)
        is_mine, count = self._semlock._is_mine, self._semlock._count
        # Said by each process before its first step with the lock (a queue's locks, made the
        # same way, never take a traced step: they are never said).
        said = [False]
        # When this process took it (one holder at a time: the lock's own, not the connection's,
        # so a lock taken inside another is timed apart from it).
        since = [0]

        def acquire(block=True, timeout=None):
            c = _tconn() if _threaded else (_conn or _connect())
            if c is None:
                _line("")
                return raw_acquire(block, timeout)
            if rec and is_mine():
                return raw_acquire(block, timeout)
            if not said[0]:
                said[0] = True
                _emit({"type": "lock_made", "lock": lock, "name": made[1], "what": made[3],
                       "at": made[2]})
            f = _getframe(1)
            if f.f_code.co_filename != _MAIN or f.f_lineno != c.line:
                _at(c, 2)
            t0 = _mono()
            if raw_acquire(False):
                now = _mono()
                buf = c.buf
                buf.append(_P_TAKEN(7, lock, t0, now))
            else:
                c.buf.append(_P_REQUESTED(5, lock, t0))
                if not block:
                    _emit({"type": "lock_gave_up", "lock": lock})
                    return False
                _flush()
                if not raw_acquire(True, timeout):
                    # Timed out: it waits no more (else it would be shown waiting for good).
                    _emit({"type": "lock_gave_up", "lock": lock})
                    return False
                now = _mono()
                buf = c.buf  # the flush gave the connection a new buffer
                buf.append(_P_ACQUIRED(6, lock, now - t0, 1, now))
            since[0] = now
            if len(buf) >= _BATCH:
                _flush()
            return True

        def release():
            c = _tconn() if _threaded else (_conn or _connect())
            if c is None:
                _line("")
                return raw_release()
            if rec and count() > 1:
                return raw_release()
            f = _getframe(1)
            if f.f_code.co_filename != _MAIN or f.f_lineno != c.line:
                _at(c, 2)
            now = _mono()
            held = now - since[0] if since[0] else 0
            raw_release()
            buf = c.buf
            buf.append(_P_RELEASED(8, lock, held, now))
            if len(buf) >= _BATCH:
                _flush()

        self.acquire = acquire
        self.release = release

    syn.SemLock.__init__ = __init__
    syn.SemLock.__getstate__ = __getstate__
    syn.SemLock.__setstate__ = __setstate__
    syn.SemLock._make_methods = _make_methods
    syn.SemLock.__enter__ = lambda self: self.acquire()
    syn.SemLock.__exit__ = lambda self, *args: self.release()


class _Patcher(object):
    """Patches a module as it is first imported, in whichever process imports it (a spawned
    child imports a Manager's module when it unpickles a proxy)."""

    def __init__(self, name, patch):
        self.name, self.patch, self.busy = name, patch, False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name or self.busy:
            return None
        import importlib.util
        self.busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.busy = False
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        orig_exec, patch = loader.exec_module, self.patch

        def exec_module(module):
            orig_exec(module)
            patch(module)

        loader.exec_module = exec_module
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        return spec


def _when_imported(name, patch):
    if name in sys.modules:
        patch(sys.modules[name])
    else:
        sys.meta_path.insert(0, _Patcher(name, patch))


def _wrap_manager_locks(managers):
    """A Manager's `Lock()`: a proxy, the lock itself in the manager's process, each step a
    call over the proxy's connection. Known by its referent's id in the manager (the same for
    every proxy of it, in every process), named where `m.Lock()` was called. (A Manager's
    RLock and Condition are not followed: their re-entrance is the manager's.)"""
    import zlib
    proxy = managers.AcquirerProxy
    orig_init, orig_acquire, orig_release = proxy.__init__, proxy.acquire, proxy.release
    lib = os.path.dirname(managers.__file__)

    def __init__(self, token, *args, **kwargs):
        orig_init(self, token, *args, **kwargs)
        if type(self) is not proxy or getattr(token, "typeid", None) != "Lock":
            return
        key = ("%s/%s" % (token.address, token.id)).encode()
        # Apart from the probe's own numbers (worker << 8 | n), which stay below 0x8000.
        self._mpviz_lock = 0x8000 | (zlib.crc32(key) & 0x7FFF)
        if kwargs.get("manager") is not None:
            # The maker's own proxy (a child's is rebuilt from a pickle, with no manager).
            name, at = _made_at(lib)
            _emit({"type": "lock_made", "lock": self._mpviz_lock, "name": name,
                   "what": "Manager().Lock()", "at": at})

    def acquire(self, blocking=True, timeout=None):
        lock = getattr(self, "_mpviz_lock", None)
        c = _tconn() if _threaded else (_conn or _connect())
        if lock is None or c is None:
            return orig_acquire(self, blocking, timeout)
        _at(c, 2)
        t0 = _mono()
        if orig_acquire(self, False):
            now = _mono()
            c.buf.append(_P_TAKEN(7, lock, t0, now))
        else:
            c.buf.append(_P_REQUESTED(5, lock, t0))
            if blocking:
                _flush()  # about to wait: what it did so far is known first
            if not blocking or not orig_acquire(self, True, timeout):
                _emit({"type": "lock_gave_up", "lock": lock})
                return False
            now = _mono()
            c.buf.append(_P_ACQUIRED(6, lock, now - t0, 1, now))  # (a new buffer since the flush)
        self._mpviz_since = now
        return True

    def release(self):
        lock = getattr(self, "_mpviz_lock", None)
        c = _tconn() if _threaded else (_conn or _connect())
        if lock is None or c is None:
            return orig_release(self)
        _at(c, 2)
        since = getattr(self, "_mpviz_since", 0)
        result = orig_release(self)
        now = _mono()
        c.buf.append(_P_RELEASED(8, lock, now - since if since else 0, now))
        return result

    proxy.__init__ = __init__
    proxy.acquire = acquire
    proxy.release = release
    proxy.__enter__ = lambda self: self.acquire()
    proxy.__exit__ = lambda self, *args: self.release()


# ---- queues --------------------------------------------------------------------------------

class _Tagged(object):
    """An item on a queue with the worker that put it (unwrapped by `get`)."""

    __slots__ = ("worker", "obj")

    def __init__(self, worker, obj):
        self.worker = worker
        self.obj = obj

    def __reduce__(self):
        return (_Tagged, (self.worker, self.obj))


def _mark_internal(*locks):
    """These locks are machinery (a queue's, a Value's own), not the program's: their takes
    are not lock events, and they get their untraced methods back."""
    for lock in locks:
        if lock is not None:
            try:
                made = getattr(lock, "_mpviz_lock", None)
                if made is not None:
                    made[4] = True  # kept so in a child it is sent to
                raw = getattr(lock, "_mpviz_raw", None)
                if raw is not None:
                    lock.acquire, lock.release = raw
            except AttributeError:
                pass


def _machinery_of(obj):
    """An object's own locks (a queue's, an Event's condition's): machinery."""
    cond = getattr(obj, "_cond", None)
    _mark_internal(getattr(obj, "_rlock", None), getattr(obj, "_wlock", None),
                   getattr(cond, "_lock", None))


def _wrap_machinery(syn):
    # An Event's and a Barrier's condition are how they work, not locks the program takes.
    for cls in (syn.Event, syn.Barrier):
        def __init__(self, *args, _orig=cls.__init__, **kwargs):
            _orig(self, *args, **kwargs)
            _machinery_of(self)

        cls.__init__ = __init__
    # What a process waits in, on screen while it waits.
    lib = os.path.dirname(syn.__file__)
    # A Pipe's end, where the program's line calls recv (multiprocessing's own recvs, a
    # Manager's calls among them, are its machinery), and only when nothing is there yet.
    import multiprocessing.connection as connection
    base = connection._ConnectionBase
    base.recv = _blocking(base.recv, lib, ("recv",), None, lambda c, *a, **k: c.poll())
    for cls, default in ((syn.Event, "Event.wait()"), (syn.Condition, "Condition.wait()"),
                         (syn.Barrier, "Barrier.wait()")):
        cls.wait = _blocking(cls.wait, lib, ("wait",), default)


# ---- blocking calls ------------------------------------------------------------------------

def _waits_words(lib, methods, default):
    """What a process waits in, as its program's line writes the call (`tasks.get()`,
    `pool.map()`): the first frame outside multiprocessing and the probe, its line's receiver
    of one of `methods`; else `default` (`Event.wait()`)."""
    f = sys._getframe(2)
    while f is not None and (f.f_code.co_filename.startswith(lib)
                             or f.f_code.co_filename == __file__):
        f = f.f_back
    if f is None:
        return default
    key = (f.f_code, f.f_lineno, default)
    words = _words_at.get(key)
    if words is None:
        words = default
        text = linecache.getline(f.f_code.co_filename, f.f_lineno)
        for m in methods:
            end = text.find("." + m + "(")
            start = end
            while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.[]"):
                start -= 1
            if end > 0 and start < end:
                words = "%s.%s()" % (text[start:end], m)
                break
        _words_at[key] = words
    return words


# The threads now in a blocking call that was said.
_waiting = set()
# What the calls a line makes are called, once found (a consumer's loop asks again and again).
_words_at = {}


def _blocking(orig, lib, methods, default, ready=None):
    """`orig`, a call that may block, said (`blocked`, sent before it waits; `unblocked`,
    sent as it returns, so the screen never shows it waiting while it runs on). With no
    `default`, only a call the program's own line makes is said; with `ready`, only one that
    will wait (`ready(self)` false)."""
    def call(*args, **kwargs):
        me = _thread.get_ident()
        # One at a time per thread: an Event's wait is its Condition's, a pool's map its
        # result's get; the outermost says what the program called.
        if me in _waiting or (_tconn() if _threaded else (_conn or _connect())) is None:
            return orig(*args, **kwargs)
        words = _waits_words(lib, methods, default)
        if words is None:
            return orig(*args, **kwargs)
        try:
            quick = ready is not None and ready(*args, **kwargs)
        except Exception:
            quick = True  # a closed end, arguments it refuses: the call itself says so
        if quick:
            return orig(*args, **kwargs)
        _at(_here(), 2)
        _emit({"type": "blocked", "on": words})
        _flush()
        _waiting.add(me)
        try:
            return orig(*args, **kwargs)
        finally:
            _waiting.discard(me)
            _emit({"type": "unblocked"})
            _flush()

    return _in_place_of(call, orig)


def _wrap_thread_waits(threading_mod):
    """A threading Event's, Condition's and Barrier's wait, where the program's own line calls
    it (`ready.wait()`; the standard library's own waits — a thread's start, a queue's feeder
    — are not said), and an Event's only when it is not set yet."""
    lib = os.path.dirname(threading_mod.__file__)
    ev = threading_mod.Event
    ev.wait = _blocking(ev.wait, lib, ("wait",), None, lambda e, *a, **k: e.is_set())
    for cls, methods in ((threading_mod.Condition, ("wait", "wait_for")),
                         (threading_mod.Barrier, ("wait",))):
        for m in methods:
            setattr(cls, m, _blocking(getattr(cls, m), lib, (m,), None))


def _wrap_futures(base):
    """concurrent.futures (a ProcessPoolExecutor's, a ThreadPoolExecutor's): what the program
    waits in — a future's `result()` or `exception()`, `ex.map()`'s next result, `wait()`,
    `as_completed()`'s next future — as its line writes the call, and only when it will wait
    (the futures it waits for are not done yet)."""
    lib = os.path.dirname(base.__file__)
    fut = base.Future
    done = lambda f, *a, **k: f.done()  # noqa: E731
    fut.result = _blocking(fut.result, lib, ("result", "map"), "Future.result()", done)
    fut.exception = _blocking(fut.exception, lib, ("exception",), "Future.exception()", done)

    def enough(fs, timeout=None, return_when=base.ALL_COMPLETED):
        # (`fs` is a list: `wait` below made it one, so an iterator is not read here first.)
        if return_when == base.FIRST_COMPLETED:
            return any(f.done() for f in fs)
        if return_when == base.FIRST_EXCEPTION and any(
                f.done() and not f.cancelled() and f.exception() is not None for f in fs):
            return True
        return all(f.done() for f in fs)

    orig_wait, orig_as_completed = base.wait, base.as_completed
    said_wait = _blocking(orig_wait, lib, ("wait",), "wait()", enough)

    def wait(fs, *args, **kwargs):
        return said_wait(list(fs), *args, **kwargs)

    def as_completed(fs, timeout=None):
        fs = list(fs)
        pending = set(fs)
        step = _blocking(orig_as_completed(fs, timeout).__next__, lib, ("as_completed",),
                         "as_completed()", lambda: any(f.done() for f in pending))
        while True:
            try:
                f = step()
            except StopIteration:
                return
            pending.discard(f)
            yield f

    base.wait = _in_place_of(wait, orig_wait)
    base.as_completed = _in_place_of(as_completed, orig_as_completed)
    # `concurrent.futures` takes them from `_base` as it is imported: after this, unless it was
    # imported before the probe was.
    package = sys.modules.get("concurrent.futures")
    if package is not None:
        package.wait, package.as_completed = base.wait, base.as_completed


_next_queue = 0
# The queues this process has said `queue_made` of (a fork child inherits the parent's: what
# the parent said before the fork is known).
_said_queues = set()


def _new_queue(lib, q):
    """A queue's number, unique across the run's processes as a lock's is, with what the
    program calls it, where it was made and what it is: [number, name, at, what]."""
    global _next_queue
    c = _here()
    w = _worker_of(c) if c is not None else 0
    _next_queue += 1
    name, at = _made_at(lib)
    return [((w & 0xFF) << 8) | (_next_queue & 0xFF), name, at, type(q).__name__ + "()"]


def _made_by_program():
    """Whether the object being made is the program's own: made by a line of its code (or a
    package it installed), not by the standard library — a Pool's SimpleQueues, a
    ProcessPoolExecutor's result queue, which their own code reads past `get`."""
    # The maker: the first frame past the probe and the context's factory method
    # (`mp.SimpleQueue()`); a Pool making its own is in multiprocessing itself.
    f = sys._getframe(2)
    while f is not None and (f.f_code.co_filename == __file__
                             or f.f_code.co_filename == _MP_CONTEXT):
        f = f.f_back
    if f is None:
        return False
    path = f.f_code.co_filename
    return not path.startswith(_STDLIB) or "-packages" + os.sep in path


def _queue_of(q):
    """A queue's number, said by this process (`queue_made`) before its first put or get."""
    made = getattr(q, "_mpviz_queue", None)
    if made is None:
        return 0
    if made[0] not in _said_queues:
        _said_queues.add(made[0])
        _emit({"type": "queue_made", "queue": made[0], "name": made[1], "what": made[3],
               "at": made[2]})
    return made[0]


# Where multiprocessing's context and the standard library are (set by `install`).
_MP_CONTEXT = _STDLIB = "\0"


def _wrap_queues(queues):
    global _MP_CONTEXT, _STDLIB
    lib = os.path.dirname(queues.__file__)
    _MP_CONTEXT = os.path.join(lib, "context.py")
    _STDLIB = os.path.dirname(os.__file__) + os.sep
    # A queue's own locks are its machinery, not the program's locks. A Queue and a
    # JoinableQueue are numbered where they are made, a SimpleQueue where the program makes it
    # (multiprocessing's and the standard library's own are read past their `get`).
    for cls in (queues.Queue, queues.SimpleQueue, queues.JoinableQueue):
        orig_init, orig_setstate = cls.__init__, cls.__setstate__
        simple = cls is queues.SimpleQueue

        def __init__(self, *args, _orig=orig_init, _simple=simple, **kwargs):
            # (A JoinableQueue's __init__ runs Queue's inside: numbered once, as what it is.)
            if getattr(self, "_mpviz_queue", None) is None and (
                    not _simple or _made_by_program()):
                self._mpviz_queue = _new_queue(lib, self)
            _orig(self, *args, **kwargs)
            _machinery_of(self)

        def __setstate__(self, state, _orig=orig_setstate):
            if len(state) == 3 and state[0] == "mpviz":
                self._mpviz_queue, state = state[1], state[2]
            _orig(self, state)
            _machinery_of(self)

        cls.__init__ = __init__
        cls.__setstate__ = __setstate__

    # A queue sent to a spawned child keeps its number and name, carried beside its state (a
    # JoinableQueue's state is Queue's and two more, so it carries them too).
    for cls in (queues.Queue, queues.SimpleQueue):
        def __getstate__(self, _orig=cls.__getstate__):
            state = _orig(self)
            made = getattr(self, "_mpviz_queue", None)
            return state if made is None else ("mpviz", made, state)

        cls.__getstate__ = __getstate__
    q = queues.Queue
    orig_get = q.get

    def got(self, take, wait):
        """A get of a followed queue: said waiting first if it will wait (nothing in the pipe
        yet: a poll, no more, when an item is there, so a busy consumer pays nothing for it),
        the item unwrapped and said with who put it."""
        if wait:
            _emit({"type": "blocked", "on": _waits_words(lib, ("get",), "q.get()")})
        _flush()
        try:
            item = take()
        finally:
            if wait:
                _emit({"type": "unblocked"})
        if isinstance(item, _Tagged):
            _emit({"type": "queue_get", "queue": _queue_of(self), "from": item.worker,
                   "value": _value_of(item.obj)})
            item = item.obj
        if wait:
            _flush()  # it runs on: the screen must not show it waiting
        return item

    def tagged(self, obj):
        """The item as it goes on a followed queue: with the worker that put it."""
        c = _here()
        _at(c, 3)
        return _Tagged(_worker_of(c) if c is not None else 0, obj)

    # A JoinableQueue's put is its own (it counts the task), not Queue's: both are followed.
    for cls in (queues.Queue, queues.JoinableQueue):
        def put(self, obj, block=True, timeout=None, _orig=cls.put):
            _orig(self, tagged(self, obj), block, timeout)
            _emit({"type": "queue_put", "queue": _queue_of(self), "value": _value_of(obj)})

        cls.put = put

    def get(self, block=True, timeout=None):
        _at(_here(), 2)
        return got(self, lambda: orig_get(self, block, timeout), block and not self._poll())

    q.get = get
    queues.JoinableQueue.join = _blocking(queues.JoinableQueue.join, lib, ("join",), "q.join()")

    # A SimpleQueue of the program's, followed as a Queue is (one put and get, no feeder).
    sq = queues.SimpleQueue
    orig_sput, orig_sget = sq.put, sq.get

    def sput(self, obj):
        if getattr(self, "_mpviz_queue", None) is None:
            return orig_sput(self, obj)
        orig_sput(self, tagged(self, obj))
        _emit({"type": "queue_put", "queue": _queue_of(self), "value": _value_of(obj)})

    def sget(self):
        if getattr(self, "_mpviz_queue", None) is None:
            return orig_sget(self)
        _at(_here(), 2)
        return got(self, lambda: orig_sget(self), not self._poll())

    sq.put = _in_place_of(sput, orig_sput)
    sq.get = _in_place_of(sget, orig_sget)


def _value_of(obj):
    """An item as mpviz shows it: a number as such, anything else as its repr (cut) without
    the addresses a default repr gives (`<_CallItem object>`): the getter's copy lives at
    another address than the putter's, and the item is matched to its put by these words."""
    if type(obj) in (int, float) and obj == obj and obj not in (float("inf"), float("-inf")):
        return obj
    text = repr(obj)
    at = text.find(" at 0x")
    while at >= 0:
        end = at + 6
        while end < len(text) and text[end] in "0123456789abcdefABCDEF":
            end += 1
        text = text[:at] + text[end:]
        at = text.find(" at 0x", at)
    return text[:200]


# ---- pools ---------------------------------------------------------------------------------

class _TaskTap(object):
    """A pool worker's task queue, seen through: each task's function is wrapped so that its
    start and end are events. Everything else is the queue's own."""

    def __init__(self, queue, pool_mod):
        self._queue = queue
        self._pool = pool_mod

    def __getattr__(self, name):
        return getattr(self._queue, name)

    def get(self):
        # Sent before waiting: a worker ended while it waits (Pool.terminate's SIGTERM, at its
        # default) loses nothing. (No SIGTERM handler: a Python-level handler can miss the
        # signal when it lands just before SemLock's wait blocks, and the worker would hang.)
        _flush()
        task = self._queue.get()
        if task is None:
            return task
        job, i, func, args, kwds = task
        if func is getattr(self._pool, "_helper_reraises_exception", None):
            return task
        return (job, i, _traced_task(self._pool, job, i, func, args, kwds), args, kwds)


def _name_of(f):
    return getattr(f, "__name__", None) or repr(f)[:60]


def _call_words(func, args, kwds):
    """`square(6)`, `job(2, 3, 4)`, `f(x=1)`: a task's call as Python writes it (the
    arguments' reprs, cut short)."""
    try:
        words = [repr(a)[:60] for a in args]
        words += ["%s=%s" % (k, repr(v)[:60]) for k, v in (kwds or {}).items()]
    except Exception:  # a repr of the user's that fails: the call is still named
        words = ["…"]
    return ("%s(%s)" % (_name_of(func), ", ".join(words)))[:120]


def _chunk_words(fn, chunk, star):
    """A map chunk as the screen says it: (the function's name, first, count) for a run of
    two or more consecutive integers (`job(x) for x in range(0, 3)` — `map(job, range(10))`'s
    chunks), else the calls themselves (`abs(-1)`, `add(1, 2)`, `abs(x) for x in [5, 1, 9]`)
    with first 0."""
    count = len(chunk)
    first = chunk[0] if chunk and type(chunk[0]) is int and abs(chunk[0]) < 1 << 62 else None
    if not star and count > 1 and first is not None and all(
            type(x) is int and x == first + k for k, x in enumerate(chunk)):
        return _name_of(fn), first, count
    if count == 1:
        args = chunk[0] if star and isinstance(chunk[0], tuple) else (chunk[0],)
        return _call_words(fn, args, None), 0, 1
    try:
        items = ", ".join(repr(x)[:40] for x in chunk[:8]) + (", …" if count > 8 else "")
    except Exception:  # a repr of the user's that fails
        items = "…"
    form = "%s(*a) for a in [%s]" if star else "%s(x) for x in [%s]"
    return (form % (_name_of(fn), items))[:120], 0, count


def _traced_task(pool_mod, job, i, func, args, kwds=None):
    task = ((job & 0xFFFF) << 16) | (i & 0xFFFF)
    # map's chunks: mapstar((fn, chunk)), the chunk a tuple of the values.
    packed = args[0] if len(args) == 1 else None
    if func in (pool_mod.mapstar, pool_mod.starmapstar) and isinstance(packed, tuple) \
            and len(packed) == 2 and isinstance(packed[1], tuple):
        fn, chunk = packed
        call, first, count = _chunk_words(fn, chunk, func is pool_mod.starmapstar)
        body = fn
    else:
        call = _call_words(func, args, kwds)
        first, count = 0, 1
        body = func

    def run(*a, **k):
        _emit({"type": "task_start", "task": task, "call": call, "first": first,
               "count": count})
        _at_def(_here(), body)
        # Sent at once: the grid shows the task running while it runs, and a worker ended
        # mid-task (Pool.terminate's SIGTERM) has said which task it was in.
        _flush()
        try:
            result = func(*a, **k)
        except BaseException as e:
            _emit({"type": "task_end", "task": task, "ok": False,
                   "error": ("%s: %s" % (type(e).__name__, e))[:300]})
            _flush()
            raise
        _emit({"type": "task_end", "task": task, "ok": True})
        return result

    return run


def _wrap_pool(pool_mod):
    orig = pool_mod.worker

    def worker(inqueue, outqueue, *args, **kwargs):
        return orig(_TaskTap(inqueue, pool_mod), outqueue, *args, **kwargs)

    # The script's process waits for a pool's results: in `pool.map()`, `r.get()`,
    # `r.wait()`, `pool.imap()` (each next item).
    lib = os.path.dirname(pool_mod.__file__)
    res = pool_mod.ApplyResult
    res.get = _blocking(res.get, lib, ("map", "starmap", "apply", "get"), "result.get()")
    res.wait = _blocking(res.wait, lib, ("wait",), "result.wait()")
    it = pool_mod.IMapIterator
    it.next = it.__next__ = _blocking(
        it.next, lib, ("imap_unordered", "imap", "next"), "next(results)")
    # Pickled by reference for spawn children: it must be found under the original's name.
    pool_mod.worker = _in_place_of(worker, orig)


# ---- time ----------------------------------------------------------------------------------

def _wrap_sleep():
    orig = time.sleep

    def sleep(seconds):
        _at(_here(), 2)
        _line('{"type":"phase","name":"sleep","t_ns":%d}' % time.monotonic_ns())
        _flush()
        return orig(seconds * _interval())

    time.sleep = _in_place_of(sleep, orig)


# ---- entry points --------------------------------------------------------------------------

def install():
    """Patches this process (idempotent). Called first thing in every process of the run."""
    global _installed
    if _installed:
        return
    _installed = True
    import multiprocessing.pool as pool_mod
    import multiprocessing.process as process_mod
    import multiprocessing.queues as queues
    import multiprocessing.sharedctypes as sct
    import multiprocessing.synchronize as syn
    import multiprocessing.util as util_mod

    _wrap_bootstrap(process_mod)
    _wrap_spawn(util_mod)
    _wrap_values(sct)
    _wrap_locks(syn)
    _wrap_machinery(syn)
    # Patched when the program imports it, not imported for it: importing it changes what
    # multiprocessing can pickle (dict views, as lists).
    _when_imported("multiprocessing.managers", _wrap_manager_locks)
    _wrap_queues(queues)
    _wrap_pool(pool_mod)
    _wrap_sleep()
    _wrap_exit()
    _when_imported("concurrent.futures._base", _wrap_futures)
    import threading
    _wrap_threads(threading)
    _wrap_thread_waits(threading)
    _steer_map()
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    atexit.register(_at_exit)


def _at_exit():
    if _dropped:
        _emit({"type": "dropped", "count": _dropped})
    _flush_all()


def _default_start_method(method):
    """Makes `method` multiprocessing's default without setting it: a script that calls
    `set_start_method` itself still may, and gets its own."""
    import multiprocessing.context as ctx
    default = getattr(ctx, "_default_context", None)
    concrete = getattr(ctx, "_concrete_contexts", {})
    if default is not None and method in concrete and hasattr(default, "_default_context"):
        default._default_context = concrete[method]
    else:
        import multiprocessing
        multiprocessing.set_start_method(method, force=True)


def main():
    """`python -c ... SCRIPT ARGS`: runs SCRIPT as `__main__` under the probe, as Python would."""
    import runpy
    if len(sys.argv) < 2:
        sys.stderr.write("mpviz probe: no script given\n")
        sys.exit(2)
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    global _MAIN
    _MAIN = os.path.abspath(script)
    # Children started by spawn or forkserver learn it from their environment.
    os.environ["MPVIZ_PROBE_MAIN"] = _MAIN
    method = os.environ.pop("MPVIZ_PROBE_START_METHOD", "")
    # As `python SCRIPT` does: the script's directory first on the path; the probe's last.
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    if _DIR not in sys.path:
        sys.path.append(_DIR)
    install()
    if method:
        _default_start_method(method)
    # Connected before the script runs, so the script's own process is always worker 1.
    _here()
    # `__main__.__file__` is absolute, as Python makes it (tracebacks name the same file);
    # sys.argv[0] stays as the user typed it.
    runpy.run_path(os.path.abspath(script), run_name="__main__")
