# Two queues: a JoinableQueue of tasks that two workers take from (each says task_done), and
# a Queue their results go back on. Each queue is a panel of its own on mpviz's screen, named
# as the program names it, also when one line makes both.
import multiprocessing as mp
import sys


def worker(tasks, done):
    while True:
        n = tasks.get()
        if n is None:
            tasks.task_done()
            break
        done.put((n, n ** 2))
        tasks.task_done()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    # Made on one line: each named by its place (`tasks` the first, `done` the second).
    tasks, done = mp.JoinableQueue(), mp.Queue()
    ws = [mp.Process(target=worker, args=(tasks, done)) for _ in range(2)]
    for w in ws:
        w.start()
    for n in range(6):
        tasks.put(n)
    for _ in ws:
        tasks.put(None)
    tasks.join()
    print(sorted(done.get() for _ in range(6)))
    for w in ws:
        w.join()
