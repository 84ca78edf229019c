# Three processes, two locks: `la` guards `a`, `lb` guards `b`, and once both are taken, one
# inside the other (in the same order everywhere, so no deadlock). Each lock is a lane panel
# of its own on mpviz's screen, named as the program names it.
import multiprocessing as mp
import sys


def work(a, b, la, lb):
    for _ in range(5):
        with la:
            a.value += 1
        with lb:
            b.value += 2
    with la:
        with lb:
            a.value += 100
            b.value += 100


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    a = mp.Value("i", 0)
    b = mp.Value("i", 0)
    la = mp.Lock()
    lb = mp.Lock()
    ps = [mp.Process(target=work, args=(a, b, la, lb)) for _ in range(3)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print("a", a.value, "b", b.value)
