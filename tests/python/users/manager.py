# A Manager's proxies: the shared dict and list live in the manager's own process.
import multiprocessing as mp
import sys


def fill(d, l, n):
    d[n] = n * 10
    l.append(n)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    with mp.Manager() as m:
        d, l = m.dict(), m.list()
        ps = [mp.Process(target=fill, args=(d, l, n)) for n in range(3)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        print("dict", sorted(d.items()))
        print("list", sorted(l))
