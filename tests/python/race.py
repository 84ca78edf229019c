# Two processes add 1 and 3 to a shared Value: without a lock, then with one (the
# tutorial's §1.7, with the start method and the number of steps from the command line).
import multiprocessing as mp
import sys

def job(v, n, steps):
    for _ in range(steps):
        v.value += n

def job_locked(v, n, steps, l):
    for _ in range(steps):
        with l:
            v.value += n

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    steps = int(sys.argv[2])
    for locked in (False, True):
        v = mp.Value('i', 0)
        extra = (mp.Lock(),) if locked else ()
        ps = [mp.Process(target=job_locked if locked else job, args=(v, k, steps) + extra) for k in (1, 3)]
        for p in ps: p.start()
        for p in ps: p.join()
        print('locked' if locked else 'unlocked', v.value, 4 * steps)
