# §1.7 Two processes add 1 and 3 to a shared value: without a lock, then with one.
import multiprocessing as mp
import time


def job(v, num):
    for _ in range(10):
        time.sleep(0.1)  # @sleep
        v.value += num  # @write
        print(v.value)


def job_locked(v, num, l):
    l.acquire()  # @lock_acquired
    for _ in range(5):
        time.sleep(0.1)
        v.value += num  # @locked
        print(v.value)
    l.release()  # @lock_released


def multicore(target, *extra):
    v = mp.Value('i', 0)
    p1 = mp.Process(target=target, args=(v, 1) + extra)
    p2 = mp.Process(target=target, args=(v, 3) + extra)
    p1.start()
    p2.start()
    p1.join()
    p2.join()
    print('final:', v.value)


if __name__ == '__main__':
    multicore(job)  # @unlocked
    multicore(job_locked, mp.Lock())
