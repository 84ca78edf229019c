# A child gives up on a lock the parent holds: once with acquire(False), once with a timeout.
# It is then no longer waiting; it ends and says so.
import multiprocessing as mp
import sys


def child(l, q):
    q.put(l.acquire(False))
    q.put(l.acquire(timeout=0.05))


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    l = mp.Lock()
    q = mp.Queue()
    with l:
        p = mp.Process(target=child, args=(l, q))
        p.start()
        print("took it:", q.get(), q.get())
        p.join()
