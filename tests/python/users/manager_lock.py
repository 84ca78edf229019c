# A Manager's Lock (a proxy: the lock lives in the manager's process) guarding a Manager's
# dict that three processes add to; each process's takes are lock steps of one lock.
import multiprocessing as mp
import sys


def add(d, ml, n):
    for _ in range(5):
        with ml:
            d["total"] = d["total"] + n


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    with mp.Manager() as m:
        d = m.dict(total=0)
        ml = m.Lock()
        ps = [mp.Process(target=add, args=(d, ml, n)) for n in (1, 2, 3)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        print("total", d["total"])
