# Runs until it is ended from outside: two children add to a shared Value every 10 ms.
import multiprocessing as mp
import time


def job(v):
    while True:
        v.value += 1
        time.sleep(0.01)


if __name__ == '__main__':
    v = mp.Value('i', 0)
    ps = [mp.Process(target=job, args=(v,)) for _ in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
