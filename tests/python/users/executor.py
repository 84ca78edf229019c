# concurrent.futures on processes: the pool of futures, not multiprocessing.Pool, and what the
# script's process waits in: a future's result, as_completed, wait, a threading Event.
import concurrent.futures as cf
import multiprocessing as mp
import sys
import threading

go = None


def init(event):
    global go
    go = event


def square(x):
    return x * x


def when_let_go(x):
    go.wait()
    return x + 1


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    ready = ctx.Event()
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx, initializer=init,
                                initargs=(ready,)) as ex:
        print("squares", list(ex.map(square, range(8))))
        print("one", ex.submit(square, 12).result())
        # Certain to wait: its job cannot end before `ready` is set, after the timeout.
        held = ex.submit(when_let_go, 6)
        try:
            held.result(timeout=0.05)
        except cf.TimeoutError:
            print("not yet")
        ready.set()
        print("then", held.result())
        futs = [ex.submit(square, x) for x in (3, 4)]
        print("as completed", sorted(f.result() for f in cf.as_completed(futs)))
        done, _ = cf.wait(futs)
        print("waited for", len(done))
    flag = threading.Event()
    print("flag", flag.wait(0.02))
