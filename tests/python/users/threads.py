# A child process whose two threads add to a shared Value under its lock: each thread is a
# worker of its own on mpviz's screen, its writes its own.
import multiprocessing as mp
import sys
import threading


def add(v, n):
    for _ in range(5):
        with v.get_lock():
            v.value += n


def child(v):
    ts = [threading.Thread(target=add, args=(v, n)) for n in (1, 10)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    v = mp.Value("i", 0)
    p = mp.Process(target=child, args=(v,))
    p.start()
    p.join()
    print("total", v.value)
