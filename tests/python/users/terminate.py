# Pool.terminate: the workers are ended by SIGTERM in the middle of their tasks.
import multiprocessing as mp
import sys
import time

began = None


def init(sem):
    global began
    began = sem


def slow(x):
    began.release()
    time.sleep(30)
    return x


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    sem = mp.Semaphore(0)
    with mp.Pool(2, initializer=init, initargs=(sem,)) as pool:
        r = pool.map_async(slow, range(4), chunksize=1)
        # Both workers are in a task before they are ended.
        sem.acquire()
        sem.acquire()
        pool.terminate()
    print("terminated")
