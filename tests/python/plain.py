# A program whose output and exit code are known: the probe must change neither.
import multiprocessing as mp
import sys


def child(q, n):
    # One write of a whole line (a pipe keeps it whole), so lines never interleave.
    sys.stdout.write("child %d\n" % n)
    sys.stdout.flush()
    q.put(n * n)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    ps = [mp.Process(target=child, args=(q, n)) for n in range(3)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    got = sorted(q.get() for _ in ps)
    print("squares", got)
    print("args", sys.argv[2:])
    print("to stderr", file=sys.stderr)
    sys.exit(3)
