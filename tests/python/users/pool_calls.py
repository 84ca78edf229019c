# A pool's other calls: starmap, a map over a list that is no range, map_async with its wait,
# and imap. Each task is named as the call it makes; the script's process is seen waiting in
# each of them.
import multiprocessing as mp
import sys


def add(a, b):
    return a + b


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    pool = mp.Pool(2)
    print(pool.starmap(add, [(1, 2), (3, 4)], chunksize=1))
    print(pool.map(abs, [5, -1, 9], chunksize=3))
    r = pool.map_async(abs, range(-4, 0), chunksize=2)
    r.wait()
    print(r.get())
    print(list(pool.imap(abs, [-7], chunksize=1)))
    pool.close()
    pool.join()
