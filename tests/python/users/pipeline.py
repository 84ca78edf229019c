# A pipeline a class can watch: the main process hands out jobs on a JoinableQueue, slowly;
# two workers, let go together by an Event, take them, sleep on each and put the result on a
# second queue. On mpviz's screen each queue is a panel (who put each item, who took it) and
# each process's state is what it waits in (`in ev.wait()`, `in jobs.get()`, `in jobs.join()`).
import multiprocessing as mp
import sys
import time


def worker(jobs, results, go):
    go.wait()
    while True:
        n = jobs.get()
        if n is None:
            jobs.task_done()
            return
        time.sleep(0.1)
        results.put(n * n)
        jobs.task_done()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    jobs, results, go = mp.JoinableQueue(), mp.Queue(), mp.Event()
    ps = [mp.Process(target=worker, args=(jobs, results, go)) for _ in range(2)]
    for p in ps:
        p.start()
    time.sleep(0.3)
    go.set()
    for n in range(6):
        jobs.put(n)
        time.sleep(0.25)
    for _ in ps:
        jobs.put(None)
    jobs.join()
    print(sorted(results.get() for _ in range(6)))
    for p in ps:
        p.join()
