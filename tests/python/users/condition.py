# A Condition the program waits on, an Event and a Barrier (whose own locks are how they work,
# not the program's), and a Value's own lock taken with `with v.get_lock():`.
import multiprocessing as mp
import sys


def consumer(cond, ev, v):
    with cond:
        while v.value == 0:
            cond.wait()
    ev.wait()
    with v.get_lock():
        v.value += 10


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    cond = mp.Condition()
    ev = mp.Event()
    v = mp.Value("i", 0)
    ps = [mp.Process(target=consumer, args=(cond, ev, v)) for _ in range(2)]
    for p in ps:
        p.start()
    with cond:
        v.value = 1
        cond.notify_all()
    ev.set()
    for p in ps:
        p.join()
    mp.Barrier(1).wait()
    print("v", v.value)
