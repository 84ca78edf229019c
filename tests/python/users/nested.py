# Processes that start processes: a grandchild writes the shared value.
import multiprocessing as mp
import sys


def grandchild(v, n):
    with v.get_lock():
        v.value += n
    # One write of a whole line (a pipe keeps it whole), so lines never interleave.
    sys.stdout.write("grandchild %d\n" % n)
    sys.stdout.flush()


def child(v, n):
    p = mp.Process(target=grandchild, args=(v, n))
    p.start()
    p.join()
    sys.stdout.write("child %d grandchild exit %s\n" % (n, p.exitcode))
    sys.stdout.flush()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    v = mp.Value("i", 0)
    ps = [mp.Process(target=child, args=(v, n)) for n in (1, 2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print("total", v.value)
