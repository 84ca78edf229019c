# §1.4 The same job: normal (twice in one process), by 2 threads, by 2 processes.
import multiprocessing as mp
import threading as td
import time

N = 1_000_000  # the tutorial uses 10_000_000; smaller here so it finishes quickly


def job(q):
    res = 0
    for i in range(N):
        res += i + i**2 + i**3
    q.put(res)


def normal():
    res = 0
    for _ in range(2):  # @normal
        for i in range(N):
            res += i + i**2 + i**3
    print('normal:', res)


def multithread():
    q = mp.Queue()
    t1 = td.Thread(target=job, args=(q,))  # @threads
    t2 = td.Thread(target=job, args=(q,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    print('multithread:', q.get() + q.get())


def multicore():
    q = mp.Queue()
    p1 = mp.Process(target=job, args=(q,))  # @processes
    p2 = mp.Process(target=job, args=(q,))
    p1.start()
    p2.start()
    p1.join()
    p2.join()
    print('multicore:', q.get() + q.get())


if __name__ == '__main__':
    for f in (normal, multithread, multicore):
        st = time.time()
        f()
        print(f.__name__, 'time:', round(time.time() - st, 3))
