# A SimpleQueue the program makes: followed as a Queue is, named as the program names it
# (a Pool's own SimpleQueues, and a ProcessPoolExecutor's result queue, are not).
import multiprocessing as mp
import sys


def work(q, k):
    q.put(k * 100)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    results = mp.SimpleQueue()
    ps = [mp.Process(target=work, args=(results, k)) for k in range(3)]
    for p in ps:
        p.start()
    print(sorted(results.get() for _ in ps))
    for p in ps:
        p.join()
