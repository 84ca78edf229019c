# The tutorial's §1.5 (assets/python/mp_pool.py) with the start method from the command line.
import multiprocessing as mp
import sys


def job(x):
    return x * x


if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    with mp.Pool(processes=2) as pool:
        print(pool.map(job, range(10)))
        print(pool.apply_async(job, (2,)).get())
        try:
            pool.apply_async(job, (2, 3, 4)).get()
        except TypeError as e:
            print('TypeError:', e)
