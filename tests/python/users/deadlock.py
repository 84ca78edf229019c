# Two processes take two locks in opposite orders, and each waits for the other's: a deadlock
# (the Barrier makes sure both hold their first lock before either asks for its second). It
# never ends by itself.
import multiprocessing as mp
import sys


def one(first, second, both):
    with first:
        both.wait()
        with second:
            print("never printed")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        mp.set_start_method(sys.argv[1])
    la = mp.Lock()
    lb = mp.Lock()
    both = mp.Barrier(2)
    ps = [
        mp.Process(target=one, args=(la, lb, both)),
        mp.Process(target=one, args=(lb, la, both)),
    ]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
