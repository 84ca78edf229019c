# concurrent.futures on processes: the pool of futures, not multiprocessing.Pool.
import concurrent.futures as cf
import multiprocessing as mp
import sys


def square(x):
    return x * x


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as ex:
        print("squares", list(ex.map(square, range(8))))
        print("one", ex.submit(square, 12).result())
