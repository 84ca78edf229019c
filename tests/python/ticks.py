# The tutorial's §1.7 at a pace one can watch: two processes add 1 and 3 to a shared Value
# every 20 ms, without a lock, then with one around each increment.
import multiprocessing as mp
import time


def job(v, n, l=None):
    for _ in range(40):
        time.sleep(0.02)
        if l is None:
            v.value += n
        else:
            with l:
                v.value += n


if __name__ == '__main__':
    for lock in (None, mp.Lock()):
        v = mp.Value('i', 0)
        ps = [mp.Process(target=job, args=(v, n, lock)) for n in (1, 3)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        print('final:', v.value)
